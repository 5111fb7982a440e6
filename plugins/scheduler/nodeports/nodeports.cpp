#include "nodeports.hpp"

namespace skiff::plugins::scheduler::nodeports {
namespace {

bool wildcard(const std::string& ip) { return ip.empty() || ip == "0.0.0.0"; }

class NodePorts final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "node_ports"; }
  // Same port and protocol conflict when either side binds every address or both bind the same one.
  plugin::Status filter(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    for (const auto& want : pod.host_ports)
      for (const auto& used : node.used_ports)
        if (want.port == used.port && want.protocol == used.protocol &&
            (wildcard(want.host_ip) || wildcard(used.host_ip) || want.host_ip == used.host_ip))
          return {plugin::Code::kUnschedulable, "node(s) didn't have free ports for the requested pod ports"};
    return plugin::Status::ok();
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodeports(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, NodePorts>(c);
}

}  // namespace skiff::plugins::scheduler::nodeports
