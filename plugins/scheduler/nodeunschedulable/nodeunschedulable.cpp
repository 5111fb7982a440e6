#include "nodeunschedulable.hpp"

namespace skiff::plugins::scheduler::nodeunschedulable {
namespace {

class NodeUnschedulable final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "node_unschedulable"; }
  // A cordoned node carries this taint in Kubernetes; pods tolerating it (DaemonSet pods) may still go.
  plugin::Status filter(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    if (!node.unschedulable) return plugin::Status::ok();
    const sp::Taint cordon{"node.kubernetes.io/unschedulable", "", "NoSchedule"};
    for (const auto& t : pod.tolerations)
      if (sp::tolerates(t, cordon)) return plugin::Status::ok();
    return {plugin::Code::kUnschedulable, "node(s) were unschedulable"};
  }
  bool preemption_can_help() const noexcept override { return false; }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodeunschedulable(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, NodeUnschedulable>(c);
}

}  // namespace skiff::plugins::scheduler::nodeunschedulable
