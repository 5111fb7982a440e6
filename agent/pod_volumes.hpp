// A pod's volumes on the node, as the kubelet makes them: emptyDir (a directory of the pod's own, or
// a tmpfs with `medium: Memory`), hostPath (with its `type` checks), configMap and secret (the
// object's keys written as files, `items`, `defaultMode`, `optional`; secrets on a tmpfs so they
// never reach the disk), and the bind mounts a container's volumeMounts ask for (`mountPath`,
// `readOnly`, `subPath`, `subPathExpr`). The runtime only sees those mounts.
//
// Layout: <pods-dir>/<pod uid>/volumes/kubernetes.io~<kind>/<volume name>, as the kubelet's
// /var/lib/kubelet/pods. Everything under a pod's directory goes when the pod does.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/container_env.hpp"
#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::agent {

// One volume ready on the node.
struct NodeVolume {
  std::filesystem::path host_path;
  bool read_only = false;  // configMap and secret volumes are always mounted read-only, as in Kubernetes
};
using NodeVolumes = std::map<std::string, NodeVolume>;  // by volume name

class PodVolumes {
 public:
  // `pods_dir` empty: pods with volumes that need a directory (emptyDir, configMap, secret) fail
  // to mount with a message saying so.
  explicit PodVolumes(std::filesystem::path pods_dir) : pods_dir_(std::move(pods_dir)) {}

  // Creates the pod's volumes, or brings configMap and secret files up to date with their objects.
  // An error is the kubelet's FailedMount message (`MountVolume.SetUp failed for volume "cfg" :
  // configmap "x" not found`). A configMap or secret volume set up before keeps its files when its
  // object goes away (a running container keeps what it saw).
  plugin::Result<NodeVolumes> set_up(const nlohmann::json& pod, const ObjectLookup& lookup) const;

  // Unmounts whatever is mounted under the pod's directory (tmpfs volumes) and removes it.
  plugin::Status tear_down(std::string_view pod_uid) const;
  // Removes the directories of pods not in `keep` (uids): what an agent that was down when a pod
  // went away left behind.
  plugin::Status remove_all_but(const std::set<std::string>& keep) const;

  std::filesystem::path pod_dir(std::string_view pod_uid) const { return pods_dir_ / std::string(pod_uid); }

 private:
  std::filesystem::path pods_dir_;
};

// The bind mounts of `container` (volumeMounts in order) over the pod's volumes. subPathExpr is
// expanded against the container's `env`; a subPath that is missing is created as a directory and
// one that leads out of its volume (through a symlink) is refused. An error is the kubelet's
// CreateContainerConfigError message.
plugin::Result<std::vector<plugin::runtime::Mount>> container_mounts(const nlohmann::json& container,
                                                                     const NodeVolumes& volumes, const EnvList& env);

}  // namespace skiff::agent
