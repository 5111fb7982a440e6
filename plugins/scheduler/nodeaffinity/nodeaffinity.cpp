#include "nodeaffinity.hpp"

#include <algorithm>

namespace skiff::plugins::scheduler::nodeaffinity {
namespace {

class NodeAffinityFilter final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "node_affinity"; }
  plugin::Status filter(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    if (sp::node_matches_pod_selector(pod, node)) return plugin::Status::ok();
    return {plugin::Code::kUnschedulable, "node(s) didn't match Pod's node affinity/selector"};
  }
  bool preemption_can_help() const noexcept override { return false; }
};

class NodeAffinityScore final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "node_affinity"; }
  plugin::Result<std::int64_t> score(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    std::int64_t sum = 0;
    for (const auto& p : pod.preferred_node_affinity)
      if (p.weight != 0 && sp::node_term_matches(p.term, node)) sum += p.weight;
    return sum;
  }
  // The best node gets 100, the others in proportion.
  plugin::Status normalize(const sp::PodState*, const sp::PodInfo&, std::span<std::int64_t> scores) const noexcept override {
    std::int64_t max = 0;
    for (auto s : scores) max = std::max(max, s);
    if (max == 0) return plugin::Status::ok();
    for (auto& s : scores) s = s * sp::kMaxScore / max;
    return plugin::Status::ok();
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodeaffinityfilter(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, NodeAffinityFilter>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_nodeaffinityscore(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, NodeAffinityScore>(c);
}

}  // namespace skiff::plugins::scheduler::nodeaffinity
