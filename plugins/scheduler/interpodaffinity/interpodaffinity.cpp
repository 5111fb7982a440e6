#include "interpodaffinity.hpp"

#include <algorithm>
#include <memory_resource>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace skiff::plugins::scheduler::interpodaffinity {
namespace {

// Views into the labels of the cache's NodeInfos and the pods' terms, which do not change while one
// pod is being scheduled (the loop holds the cache); no copies in a pass that visits every pod.
// The sets live in the state's arena: with anti-affinity on every pod, one pass inserts a value per
// node, and a heap allocation (and later a free) per insert was most of the pass's time.
using ValueSet = std::pmr::unordered_set<std::string_view>;

// What one pod's required terms meet in the cluster, computed once per pod.
struct FilterState final : sp::PodState {
  std::pmr::monotonic_buffer_resource arena;  // first: outlives the containers below
  // Existing pods whose required anti-affinity selects the incoming pod: topology key → values.
  std::pmr::unordered_map<std::string_view, ValueSet> existing_anti{&arena};
  // Per required affinity term of the incoming pod: topology values holding a matching pod.
  std::pmr::vector<ValueSet> affinity{&arena};
  // Per required anti-affinity term of the incoming pod: the same.
  std::pmr::vector<ValueSet> anti{&arena};
  bool affinity_matched_somewhere = false;
  bool pod_matches_own_affinity = false;
};

class InterPodAffinityFilter final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "inter_pod_affinity"; }

  plugin::Status pre_filter(const sp::PodInfo& pod, const sp::Snapshot& snapshot,
                            std::unique_ptr<sp::PodState>& out) noexcept override {
    auto state = std::make_unique<FilterState>();
    state->affinity.resize(pod.required_affinity.size());
    state->anti.resize(pod.required_anti_affinity.size());
    const bool own_terms = !pod.required_affinity.empty() || !pod.required_anti_affinity.empty();
    bool any = own_terms;
    const std::size_t nodes = snapshot.nodes().size();
    for (auto& values : state->affinity) values.reserve(nodes);
    for (auto& values : state->anti) values.reserve(nodes);
    // The set of the topology key met last: existing pods' terms nearly always share one key.
    std::string_view last_key;
    ValueSet* last_set = nullptr;
    // Existing pods whose required anti-affinity rejects this pod: only nodes holding such pods.
    for (const sp::NodeInfo* node : snapshot.nodes_with_required_anti_affinity()) {
      if (node->pods_with_required_anti_affinity == 0) continue;
      for (const auto& existing : node->pods)
        for (const auto& term : existing->required_anti_affinity)
          if (const std::string* v = node->label(term.topology_key))
            if (sp::affinity_term_matches(term, existing->ns, pod)) {
              if (last_set == nullptr || last_key != term.topology_key) {
                auto [it, added] = state->existing_anti.try_emplace(term.topology_key);
                if (added) it->second.reserve(nodes);
                last_key = term.topology_key;
                last_set = &it->second;
              }
              last_set->insert(*v);
              any = true;
            }
    }
    // This pod's own terms against every placed pod.
    if (own_terms)
      for (const sp::NodeInfo* node : snapshot.nodes()) {
        if (node->pods.empty()) continue;
        // One matching pod puts the node's topology value in a term's set; the node's other pods need
        // not be looked at for that term (a zone-wide term meets its value again on many nodes).
        auto collect = [&](const sp::PodAffinityTerm& term, ValueSet& values) {
          const std::string* v = node->label(term.topology_key);
          if (!v || values.count(*v)) return false;
          for (const auto& existing : node->pods)
            if (sp::affinity_term_matches(term, pod.ns, *existing)) {
              values.insert(*v);
              return true;
            }
          return false;
        };
        for (std::size_t i = 0; i < pod.required_affinity.size(); ++i)
          if (collect(pod.required_affinity[i], state->affinity[i])) state->affinity_matched_somewhere = true;
        for (std::size_t i = 0; i < pod.required_anti_affinity.size(); ++i) collect(pod.required_anti_affinity[i], state->anti[i]);
      }
    // The first pod of a group that must be together may go anywhere its terms select itself.
    state->pod_matches_own_affinity = std::all_of(pod.required_affinity.begin(), pod.required_affinity.end(),
                                                  [&](const sp::PodAffinityTerm& t) { return sp::affinity_term_matches(t, pod.ns, pod); });
    if (any) out = std::move(state);
    return plugin::Status::ok();
  }

  plugin::Status filter(const sp::PodState* s, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    if (s == nullptr) return plugin::Status::ok();
    const auto& state = static_cast<const FilterState&>(*s);
    for (const auto& [key, values] : state.existing_anti)
      if (const std::string* v = node.label(key); v && values.count(*v))
        return {plugin::Code::kUnschedulable, "node(s) didn't satisfy existing pods anti-affinity rules"};
    if (!pod.required_affinity.empty()) {
      bool ok = true;
      for (std::size_t i = 0; i < pod.required_affinity.size() && ok; ++i) {
        const std::string* v = node.label(pod.required_affinity[i].topology_key);
        if (!v) ok = false;
        else if (!state.affinity[i].count(*v)) ok = !state.affinity_matched_somewhere && state.pod_matches_own_affinity;
      }
      if (!ok) return {plugin::Code::kUnschedulable, "node(s) didn't match pod affinity rules"};
    }
    for (std::size_t i = 0; i < pod.required_anti_affinity.size(); ++i)
      if (const std::string* v = node.label(pod.required_anti_affinity[i].topology_key); v && state.anti[i].count(*v))
        return {plugin::Code::kUnschedulable, "node(s) didn't match pod anti-affinity rules"};
    return plugin::Status::ok();
  }
};

// Topology key → value → summed weight.
struct ScoreState final : sp::PodState {
  std::unordered_map<std::string_view, std::unordered_map<std::string_view, std::int64_t>> weights;
};

class InterPodAffinityScore final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "inter_pod_affinity"; }

  plugin::Status pre_score(const sp::PodInfo& pod, const sp::Snapshot& snapshot, std::span<const sp::NodeInfo* const>,
                           std::unique_ptr<sp::PodState>& out) noexcept override {
    const bool own = !pod.preferred_affinity.empty() || !pod.preferred_anti_affinity.empty();
    auto state = std::make_unique<ScoreState>();
    bool any = false;
    auto add = [&](const sp::PodAffinityTerm& term, const sp::NodeInfo& node, std::int64_t w) {
      if (const std::string* v = node.label(term.topology_key)) {
        state->weights[term.topology_key][*v] += w;
        any = true;
      }
    };
    // Without preferences of its own, only the terms of placed pods matter: only nodes holding such pods.
    for (const sp::NodeInfo* node : own ? snapshot.nodes() : snapshot.nodes_with_pod_affinity()) {
      if (node->pods.empty() || (!own && node->pods_with_affinity == 0)) continue;
      for (const auto& existing : node->pods) {
        // The incoming pod's preferences about pods already placed…
        for (const auto& t : pod.preferred_affinity)
          if (sp::affinity_term_matches(t.term, pod.ns, *existing)) add(t.term, *node, t.weight);
        for (const auto& t : pod.preferred_anti_affinity)
          if (sp::affinity_term_matches(t.term, pod.ns, *existing)) add(t.term, *node, -t.weight);
        if (!existing->has_pod_affinity()) continue;
        // …and theirs about it (a required affinity counts with weight 1, Kubernetes' hard pod affinity weight).
        for (const auto& t : existing->preferred_affinity)
          if (sp::affinity_term_matches(t.term, existing->ns, pod)) add(t.term, *node, t.weight);
        for (const auto& t : existing->preferred_anti_affinity)
          if (sp::affinity_term_matches(t.term, existing->ns, pod)) add(t.term, *node, -t.weight);
        for (const auto& t : existing->required_affinity)
          if (sp::affinity_term_matches(t, existing->ns, pod)) add(t, *node, 1);
      }
    }
    if (any) out = std::move(state);
    return plugin::Status::ok();
  }

  plugin::Result<std::int64_t> score(const sp::PodState* s, const sp::PodInfo&, const sp::NodeInfo& node) const noexcept override {
    if (s == nullptr) return std::int64_t{0};
    std::int64_t sum = 0;
    for (const auto& [key, values] : static_cast<const ScoreState&>(*s).weights)
      if (const std::string* v = node.label(key))
        if (auto it = values.find(*v); it != values.end()) sum += it->second;
    return sum;
  }

  // Min–max onto 0..100 (scores can be negative); all equal → 0.
  plugin::Status normalize(const sp::PodState* s, const sp::PodInfo&, std::span<std::int64_t> scores) const noexcept override {
    if (s == nullptr || scores.empty()) return plugin::Status::ok();
    auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
    std::int64_t min = *lo, diff = *hi - *lo;
    for (auto& v : scores) v = diff > 0 ? (v - min) * sp::kMaxScore / diff : 0;
    return plugin::Status::ok();
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_interpodaffinityfilter(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, InterPodAffinityFilter>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_interpodaffinityscore(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, InterPodAffinityScore>(c);
}

}  // namespace skiff::plugins::scheduler::interpodaffinity
