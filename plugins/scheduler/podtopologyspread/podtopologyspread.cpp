#include "podtopologyspread.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

namespace skiff::plugins::scheduler::podtopologyspread {
namespace {

struct Counted {
  const sp::TopologySpreadConstraint* constraint = nullptr;
  std::unordered_map<std::string, std::int64_t> counts;  // topology value → matching pods
  std::int64_t min = 0;
};

struct State final : sp::PodState {
  std::vector<Counted> constraints;
};

// Matching pods per domain over the nodes the pod could go to by its node selector and affinity
// (Kubernetes' nodeAffinityPolicy: Honor) that carry the topology key.
Counted count(const sp::TopologySpreadConstraint& c, const sp::PodInfo& pod, const sp::Snapshot& snapshot) {
  Counted out;
  out.constraint = &c;
  for (const sp::NodeInfo* node : snapshot.nodes()) {
    const std::string* v = node->label(c.topology_key);
    if (!v || !sp::node_matches_pod_selector(pod, *node)) continue;
    std::int64_t& n = out.counts[*v];
    for (const auto& p : node->pods)
      if (p->ns == pod.ns && c.selector.matches(p->labels)) ++n;
  }
  out.min = std::numeric_limits<std::int64_t>::max();
  for (const auto& [v, n] : out.counts) out.min = std::min(out.min, n);
  if (out.counts.empty() || static_cast<std::int64_t>(out.counts.size()) < c.min_domains) out.min = 0;
  return out;
}

State* build(const sp::PodInfo& pod, const sp::Snapshot& snapshot, bool hard, std::unique_ptr<sp::PodState>& out) {
  auto state = std::make_unique<State>();
  for (const auto& c : pod.topology_spread)
    if (c.do_not_schedule == hard) state->constraints.push_back(count(c, pod, snapshot));
  if (state->constraints.empty()) return nullptr;
  out = std::move(state);
  return static_cast<State*>(out.get());
}

class PodTopologySpreadFilter final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "pod_topology_spread"; }
  plugin::Status pre_filter(const sp::PodInfo& pod, const sp::Snapshot& snapshot,
                            std::unique_ptr<sp::PodState>& out) noexcept override {
    build(pod, snapshot, true, out);
    return plugin::Status::ok();
  }
  // Placing the pod here must keep (matching pods in this domain − the emptiest domain) ≤ maxSkew.
  plugin::Status filter(const sp::PodState* s, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    if (s == nullptr) return plugin::Status::ok();
    for (const Counted& c : static_cast<const State&>(*s).constraints) {
      const std::string* v = node.label(c.constraint->topology_key);
      if (!v)
        return {plugin::Code::kUnschedulable, "node(s) didn't match pod topology spread constraints (missing required label)"};
      auto it = c.counts.find(*v);
      std::int64_t here = it == c.counts.end() ? 0 : it->second;
      std::int64_t self = c.constraint->selector.matches(pod.labels) ? 1 : 0;
      if (here + self - c.min > c.constraint->max_skew)
        return {plugin::Code::kUnschedulable, "node(s) didn't match pod topology spread constraints"};
    }
    return plugin::Status::ok();
  }
};

constexpr std::int64_t kIgnored = -1;  // a node without a constraint's topology key
constexpr double kScale = 100;         // raw scores keep two decimals of the log weights

class PodTopologySpreadScore final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "pod_topology_spread"; }
  plugin::Status pre_score(const sp::PodInfo& pod, const sp::Snapshot& snapshot, std::span<const sp::NodeInfo* const>,
                           std::unique_ptr<sp::PodState>& out) noexcept override {
    build(pod, snapshot, false, out);
    return plugin::Status::ok();
  }
  // More matching pods in the node's domains → a higher raw score (worse); a constraint with more
  // domains weighs more (log(domains + 2)), as in Kubernetes.
  plugin::Result<std::int64_t> score(const sp::PodState* s, const sp::PodInfo&, const sp::NodeInfo& node) const noexcept override {
    if (s == nullptr) return std::int64_t{0};
    double sum = 0;
    for (const Counted& c : static_cast<const State&>(*s).constraints) {
      const std::string* v = node.label(c.constraint->topology_key);
      if (!v) return kIgnored;
      auto it = c.counts.find(*v);
      double n = it == c.counts.end() ? 0 : static_cast<double>(it->second);
      double weight = std::log(static_cast<double>(c.counts.size()) + 2);
      sum += n * weight + static_cast<double>(c.constraint->max_skew - 1);
    }
    return static_cast<std::int64_t>(std::llround(sum * kScale));
  }
  // Fewest matching pods → 100; ignored nodes → 0.
  plugin::Status normalize(const sp::PodState* s, const sp::PodInfo&, std::span<std::int64_t> scores) const noexcept override {
    if (s == nullptr) return plugin::Status::ok();
    std::int64_t min = std::numeric_limits<std::int64_t>::max(), max = 0;
    for (auto v : scores)
      if (v != kIgnored) {
        min = std::min(min, v);
        max = std::max(max, v);
      }
    for (auto& v : scores) {
      if (v == kIgnored) v = 0;
      else v = max == 0 ? sp::kMaxScore : sp::kMaxScore * (max + min - v) / max;
    }
    return plugin::Status::ok();
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_podtopologyspreadfilter(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, PodTopologySpreadFilter>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_podtopologyspreadscore(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, PodTopologySpreadScore>(c);
}

}  // namespace skiff::plugins::scheduler::podtopologyspread
