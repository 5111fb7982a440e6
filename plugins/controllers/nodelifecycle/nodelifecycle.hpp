// The node lifecycle controller: notices nodes that stopped heartbeating, marks them (Ready=Unknown,
// NoExecute taints) and evicts their pods once their tolerations run out. See README.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::plugins::controllers::nodelifecycle {

inline constexpr std::string_view kName = "nodelifecycle";
inline constexpr std::string_view kLeaseNamespace = "kube-node-lease";
inline constexpr std::string_view kUnreachableTaint = "node.kubernetes.io/unreachable";
inline constexpr std::string_view kNotReadyTaint = "node.kubernetes.io/not-ready";

inline constexpr std::array<plugin::OptionSpec, 3> kOptions{{
    {"grace-period-seconds", "40",
     "how long a node may go without a heartbeat (Lease renewTime or Ready lastHeartbeatTime) before it is "
     "marked Ready=Unknown and tainted unreachable"},
    {"monitor-period-ms", "5000", "how often each node's heartbeats and its pods' tolerations are checked"},
    {"default-toleration-seconds", "300",
     "how long a pod without a toleration for the not-ready/unreachable NoExecute taints stays on a tainted node "
     "(what Kubernetes' DefaultTolerationSeconds admission gives every pod)"},
}};

struct Options {
  std::int64_t grace_period_ms = 40'000;
  std::int64_t monitor_period_ms = 5'000;
  std::int64_t default_toleration_seconds = 300;
};

// Reads kOptions from the plugin's config section; a bad value fails naming the key.
plugin::Result<Options> read_options(const plugin::ConfigSection& config);
plugin::Result<std::unique_ptr<plugin::controller::Controller>> make(const plugin::PluginContext& context);

class NodeLifecycleController final : public plugin::controller::Controller {
 public:
  explicit NodeLifecycleController(Options options) : options_(options) {}

  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  // Leases in kube-node-lease → the node of that name; pods → the node they run on.
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

 private:
  // When this controller last saw a node's heartbeat move (its own clock, as Kubernetes does, so that
  // a kubelet's skewed clock cannot make a node look alive or dead).
  struct Probe {
    std::string heartbeat;  // lease renewTime + Ready lastHeartbeatTime, as last seen
    std::int64_t seen_ms = 0;
  };
  bool silent(const std::string& node, const std::string& heartbeat, std::int64_t now);
  // Deletes the node's pods whose toleration of its NoExecute taints has run out; returns how long
  // until the next one runs out (0: none pending).
  plugin::Result<std::int64_t> evict(const std::string& node, const nlohmann::json& taints, std::int64_t now);
  // A silent node's pods are no longer known to be ready: Ready=False, so that Services stop
  // sending them traffic (the kubelet, if it comes back, sets it again).
  plugin::Status mark_pods_not_ready(const std::string& node, std::int64_t now);

  const Options options_;
  std::optional<plugin::controller::Host> host_;
  std::mutex mutex_;
  std::map<std::string, Probe> probes_;
};

}  // namespace skiff::plugins::controllers::nodelifecycle
