#include "tainttoleration.hpp"

#include <algorithm>
#include <string>

namespace skiff::plugins::scheduler::tainttoleration {
namespace {

bool tolerated(const std::vector<sp::Toleration>& tolerations, const sp::Taint& taint) {
  return std::any_of(tolerations.begin(), tolerations.end(), [&](const sp::Toleration& t) { return sp::tolerates(t, taint); });
}

class TaintTolerationFilter final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "taint_toleration"; }
  plugin::Status filter(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    for (const auto& taint : node.taints) {
      if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
      if (!tolerated(pod.tolerations, taint))
        return {plugin::Code::kUnschedulable, "node(s) had untolerated taint {" + taint.key + ": " + taint.value + "}"};
    }
    return plugin::Status::ok();
  }
  bool preemption_can_help() const noexcept override { return false; }
};

class TaintTolerationScore final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "taint_toleration"; }
  // Raw score: how many PreferNoSchedule taints the pod does not tolerate (only tolerations for that
  // effect, or for every effect, count).
  plugin::Result<std::int64_t> score(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    std::int64_t count = 0;
    for (const auto& taint : node.taints) {
      if (taint.effect != "PreferNoSchedule") continue;
      bool ok = std::any_of(pod.tolerations.begin(), pod.tolerations.end(), [&](const sp::Toleration& t) {
        return (t.effect.empty() || t.effect == "PreferNoSchedule") && sp::tolerates(t, taint);
      });
      if (!ok) ++count;
    }
    return count;
  }
  // Fewer is better: 100 for none, 0 for the most.
  plugin::Status normalize(const sp::PodState*, const sp::PodInfo&, std::span<std::int64_t> scores) const noexcept override {
    std::int64_t max = 0;
    for (auto s : scores) max = std::max(max, s);
    for (auto& s : scores) s = max == 0 ? sp::kMaxScore : sp::kMaxScore - s * sp::kMaxScore / max;
    return plugin::Status::ok();
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_tainttolerationfilter(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, TaintTolerationFilter>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_tainttolerationscore(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, TaintTolerationScore>(c);
}

}  // namespace skiff::plugins::scheduler::tainttoleration
