#include "nodename.hpp"

namespace skiff::plugins::scheduler::nodename {
namespace {

class NodeName final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "node_name"; }
  plugin::Status filter(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    if (pod.node_name.empty() || pod.node_name == node.name) return plugin::Status::ok();
    return {plugin::Code::kUnschedulable, "node(s) didn't match the requested node name"};
  }
  bool preemption_can_help() const noexcept override { return false; }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodename(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, NodeName>(c);
}

}  // namespace skiff::plugins::scheduler::nodename
