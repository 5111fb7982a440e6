// A pod's network: its own network namespace, kept alive by a bind mount under the sandbox's state
// directory (no process holds it), with `lo` up from the start, wired up through CNI: bridge +
// host-local for the pod IP, then portmap when the pod publishes hostPorts. The CNI plugins run in the node's
// network namespace (`node_netns`; empty: the daemon's own), which is where the bridge, the pod's
// veth peer and the portmap rules end up.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::plugins::runtime::runc {

struct NetworkOptions {
  std::string plugin_dir = "/usr/lib/cni";
  std::string pod_cidr = "10.88.0.0/16";
  std::string bridge = "skiff0";
  std::string node_netns;
  std::filesystem::path ipam_dir;  // host-local's allocations
  bool ip_masq = false;
};

// A new network namespace, bind-mounted at `path` (a file that is created), whose only interface
// is `lo`, up.
plugin::Status create_netns(const std::filesystem::path& path);
// Unmounts and deletes it; the veth inside goes with the namespace. Idempotent.
plugin::Status destroy_netns(const std::filesystem::path& path);
// The namespace bind-mounted at `from` is mounted at `to` (a file that is created) instead: a
// second bind mount of it, then the first goes. Nothing inside changes.
plugin::Status move_netns(const std::filesystem::path& from, const std::filesystem::path& to);

class PodNetwork {
 public:
  explicit PodNetwork(NetworkOptions options) : options_(std::move(options)) {}
  const NetworkOptions& options() const { return options_; }

  // CNI ADD of the whole chain; returns the pod IP. `result_file` keeps the bridge's result, which DEL needs.
  plugin::Result<std::string> add(const std::string& sandbox_id, const std::string& netns,
                                  const std::vector<plugin::runtime::PortMapping>& ports,
                                  const std::filesystem::path& result_file);
  // CNI DEL of the chain in reverse; idempotent (the plugins accept a DEL of what is gone).
  plugin::Status del(const std::string& sandbox_id, const std::string& netns,
                     const std::vector<plugin::runtime::PortMapping>& ports, const std::filesystem::path& result_file);

 private:
  plugin::Result<std::string> invoke(const std::string& command, const std::string& type, const std::string& ifname,
                                     const std::string& sandbox_id, const std::string& netns, const std::string& config);
  std::string bridge_config() const;
  std::string portmap_config(const std::vector<plugin::runtime::PortMapping>& ports, const std::string& prev) const;

  NetworkOptions options_;
};

}  // namespace skiff::plugins::runtime::runc
