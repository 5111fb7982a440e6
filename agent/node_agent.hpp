// The node agent (Skiff's kubelet): registers Nodes, heartbeats them through Leases and status, and
// makes the pods bound to them real through a container runtime plugin (skiff.runtime.v1),
// reporting their status back.
//
// Pod sync runs on the kernel's reconcile loop: PodSync is a controller whose keys are pods; the
// runner gives it an informer cache, a work queue with per-key backoff and requeue_after. One agent
// may serve many nodes (the simulated runtime hosts thousands in one process); a pod is ours when
// its spec.nodeName is one of them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "skiff/plugin/client.hpp"
#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/host.hpp"
#include "agent/periodic.hpp"
#include "agent/pod_status.hpp"
#include "agent/pod_volumes.hpp"
#include "agent/probes.hpp"
#include "skiff/plugin/runtime.hpp"

namespace skiff::agent {

struct NodeCapacity {
  std::string cpu = "2";           // Kubernetes quantities
  std::string memory = "8Gi";
  std::string pods = "110";
  std::string ephemeral_storage = "100Gi";
};

struct AgentOptions {
  std::vector<std::string> nodes;  // node names this agent serves
  NodeCapacity capacity;
  std::string host_ip = "127.0.0.1";
  std::string runtime_name = "sim";  // containerID scheme and nodeInfo
  std::string log_dir;               // container logs: <log_dir>/<ns>_<pod>_<uid>/<container>/<attempt>.log
  std::string pods_dir;              // pod volumes: <pods_dir>/<uid>/volumes/… (empty: only hostPath volumes)
  std::int64_t lease_duration_seconds = 40;
  std::int64_t heartbeat_interval_ms = 10'000;
  // Longest real-time wait before looking at a pod again (a restart in backoff, a container still
  // starting). Decisions use the Clock; tests with a fake clock set this low.
  std::int64_t max_requeue_ms = 10'000;
  bool events = true;  // Created / Started / Killing / BackOff events, as the kubelet records them
  // CrashLoopBackOff: the first restart delay and its cap (Kubernetes: 10 s doubling to 5 min).
  // Tests with real containers shorten them.
  std::int64_t restart_backoff_base_ms = 10'000;
  std::int64_t restart_backoff_max_ms = 300'000;
  // The agent's last word on a pod being deleted whose containers it has stopped: a DELETE with
  // gracePeriodSeconds=0 and the pod's uid as precondition (the plugin SDK's Client has no grace
  // period, so the daemon wires in its API client's). Unset: such a pod stays Terminating.
  std::function<plugin::Status(const std::string& ns, const std::string& name, const std::string& uid)> delete_pod;
};

// Restart delay after the container's `restarts`-th exit: none for the first, then `base_ms`
// doubling to `max_ms`, as the kubelet's CrashLoopBackOff.
std::int64_t restart_backoff_ms(std::uint32_t restarts, std::int64_t base_ms = 10'000, std::int64_t max_ms = 300'000);

class PodSync final : public plugin::controller::Controller {
 public:
  PodSync(AgentOptions options, plugin::runtime::Runtime& runtime);
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  // A ConfigMap or Secret event → the pods of this agent that refer to it (env, envFrom, volumes),
  // so a container waiting for it starts once it exists and volumes follow its changes.
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

  // Sandboxes the runtime already runs (an earlier agent's) are adopted, not duplicated.
  plugin::Status adopt();
  std::size_t sandboxes() const;
  // What the kubelet's PLEG does: lists the runtime's containers and returns the keys of the pods
  // whose containers changed state since the last call (a container that exited, OOM-killed or
  // crashed, is noticed here; nothing else would wake its pod up). See PodRelist.
  std::vector<std::string> relist();
  // The informer cache (pods, nodes, leases) once bound; null before.
  const plugin::Cache* cache() const noexcept { return host_ ? &host_->cache : nullptr; }

 private:
  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& key);
  plugin::Status tear_down(const std::string& key, const char* reason);
  std::int64_t backoff_ms(std::uint32_t restarts) const {
    return restart_backoff_ms(restarts, options_.restart_backoff_base_ms, options_.restart_backoff_max_ms);
  }
  // True the first time `message` is reported for (pod key, what) since it last changed: a
  // warning that persists is recorded once, not on every pass.
  bool first_report(const std::string& key, const std::string& what, const std::string& message);
  void clear_report(const std::string& key, const std::string& what);
  // Graceful termination of a pod being deleted: every running container gets SIGTERM and, after
  // the pod's deletion grace period, SIGKILL (all at once, so the pod takes one grace period).
  void stop_containers(const Json& pod, const std::string& sandbox_id,
                       const std::function<void(const std::string& container)>& killing);

  const AgentOptions options_;
  const std::set<std::string> nodes_;
  plugin::runtime::Runtime& runtime_;
  std::unique_ptr<plugin::controller::Host> host_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> sandbox_of_;  // pod key → sandbox id
  std::map<std::string, std::string> uid_of_;      // pod key → the pod uid the sandbox is for
  // Probe results of each container's current instance (a new instance starts afresh).
  struct ContainerProbes {
    std::string container_id;
    ProbeState startup, liveness, readiness;
    bool reported_bad = false;  // a FailedProbeSpec event was recorded
  };
  std::map<std::string, std::map<std::string, ContainerProbes>> probes_;  // pod key → container name →
  std::map<std::string, std::map<std::string, std::string>> reported_;  // pod key → what → last warning
  std::mutex relist_mu_;
  std::map<std::string, plugin::runtime::ContainerState> relisted_;  // container id → state at the last relist
  PodVolumes volumes_;
};

// Calls PodSync::relist() every `interval_ms` on a thread and hands the changed pods' keys to
// `enqueue` (the agent's work queue), until stop().
class PodRelist {
 public:
  PodRelist(PodSync& sync, std::int64_t interval_ms, std::function<void(const std::string&)> enqueue);
  ~PodRelist();
  void start();
  void stop();

 private:
  PodSync& sync_;
  const std::int64_t interval_ms_;
  const std::function<void(const std::string&)> enqueue_;
  Periodic periodic_;
};

// Node objects and their heartbeats.
class NodeHeartbeat {
 public:
  NodeHeartbeat(AgentOptions options, plugin::Client& client, const plugin::Clock& clock, plugin::Logger& logger,
                std::string runtime_version);
  ~NodeHeartbeat();
  // Creates every Node that does not exist yet, with Ready=True.
  plugin::Status register_nodes(const plugin::Cache& cache);
  // Renews every Lease and asserts each Node's Ready=True with a fresh heartbeat time (reading the
  // current objects from `cache`, writing with their resourceVersion). The first error is returned
  // after every node had its turn.
  plugin::Status beat(const plugin::Cache& cache);
  // beat() every heartbeat_interval_ms on a thread, until stop(). `cache` must outlive it.
  void start(const plugin::Cache& cache);
  void stop();

 private:
  plugin::Status beat_node(const plugin::Cache& cache, const std::string& name);

  const AgentOptions options_;
  plugin::Client& client_;
  const plugin::Clock& clock_;
  plugin::Logger& logger_;
  const std::string runtime_version_;
  Periodic periodic_;
};

}  // namespace skiff::agent
