// Builders for the scheduler's value types, shared by the table-driven plugin tests: a node and a pod
// in a line each, and a Snapshot over a few nodes.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing::sched {

namespace sp = plugin::scheduler;
constexpr std::int64_t kMi = 1024 * 1024;
constexpr std::int64_t kGi = 1024 * kMi;

inline sp::NodeInfo node(std::string name, std::int64_t milli_cpu = 4000, std::int64_t memory = 8 * kGi,
                         std::int64_t pods = 110) {
  sp::NodeInfo n;
  n.name = std::move(name);
  n.allocatable.milli_cpu = milli_cpu;
  n.allocatable.memory = memory;
  n.allocatable.pods = pods;
  n.allocatable.ephemeral_storage = 100 * kGi;
  n.labels = {{"kubernetes.io/hostname", n.name}};
  return n;
}

inline sp::PodInfo pod(std::string name, std::int64_t milli_cpu = 0, std::int64_t memory = 0) {
  sp::PodInfo p;
  p.ns = "default";
  p.name = std::move(name);
  p.uid = "uid-" + p.name;
  p.requests.milli_cpu = milli_cpu;
  p.requests.memory = memory;
  p.non_zero_requests.milli_cpu = milli_cpu ? milli_cpu : 100;
  p.non_zero_requests.memory = memory ? memory : 200 * kMi;
  return p;
}

inline sp::PodInfoPtr share(sp::PodInfo p) { return std::make_shared<const sp::PodInfo>(std::move(p)); }

inline void set_label(sp::NodeInfo& n, std::string k, std::string v) {
  for (auto& [lk, lv] : n.labels)
    if (lk == k) {
      lv = std::move(v);
      return;
    }
  n.labels.emplace_back(std::move(k), std::move(v));
  std::sort(n.labels.begin(), n.labels.end());
}

inline sp::LabelSelector selector(plugin::StringPairs match_labels) {
  sp::LabelSelector s;
  s.match_labels = std::move(match_labels);
  return s;
}

class TestSnapshot final : public sp::Snapshot {
 public:
  // The affinity lists as the loop keeps them (only the nodes whose counters say so), so plugin tests
  // see what a plugin that trusts them would miss.
  explicit TestSnapshot(std::vector<sp::NodeInfo>& nodes) {
    for (auto& n : nodes) {
      ptrs_.push_back(&n);
      if (n.pods_with_affinity > 0) affinity_.push_back(&n);
      if (n.pods_with_required_anti_affinity > 0) anti_.push_back(&n);
    }
  }
  std::span<const sp::NodeInfo* const> nodes() const noexcept override { return ptrs_; }
  std::span<const sp::NodeInfo* const> nodes_with_pod_affinity() const noexcept override { return affinity_; }
  std::span<const sp::NodeInfo* const> nodes_with_required_anti_affinity() const noexcept override { return anti_; }
  const sp::NodeInfo* node(std::string_view name) const noexcept override {
    for (auto* n : ptrs_)
      if (n->name == name) return n;
    return nullptr;
  }

 private:
  std::vector<const sp::NodeInfo*> ptrs_, affinity_, anti_;
};

// Runs pre_filter then filter, as the loop does. Returns "" for ok, else the message.
inline std::string run_filter(sp::FilterPlugin& f, const sp::PodInfo& p, const sp::NodeInfo& n, const sp::Snapshot& s) {
  std::unique_ptr<sp::PodState> state;
  if (auto st = f.pre_filter(p, s, state); !st) return "prefilter: " + st.message();
  auto st = f.filter(state.get(), p, n);
  if (st) return "";
  return st.code() == plugin::Code::kUnschedulable ? st.message() : "error: " + st.message();
}

// pre_score, score on every node of the snapshot, normalize: the final 0..100 scores in node order.
inline std::vector<std::int64_t> run_score(sp::ScorePlugin& p, const sp::PodInfo& pod, const sp::Snapshot& s) {
  std::unique_ptr<sp::PodState> state;
  if (!p.pre_score(pod, s, s.nodes(), state)) return {};
  std::vector<std::int64_t> out;
  for (const sp::NodeInfo* n : s.nodes()) {
    auto r = p.score(state.get(), pod, *n);
    out.push_back(r ? *r : -999);
  }
  if (!p.normalize(state.get(), pod, out)) return {};
  return out;
}

// Creates a plugin through its factory, as the loader would (these read no config).
template <class T, class F>
std::shared_ptr<T> make(F factory) {
  static TestPluginContext ctx("scheduler.test", {}, "/tmp");
  static plugin::PluginContext context = ctx.context();
  auto r = factory(context);
  if (!r) return nullptr;
  return std::shared_ptr<T>(std::move(r.value()));
}

}  // namespace skiff::testing::sched
