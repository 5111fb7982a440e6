#include "noderesources.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace skiff::plugins::scheduler::noderesources {
namespace {

class Fit final : public sp::FilterPlugin {
 public:
  std::string_view name() const noexcept override { return "node_resources_fit"; }
  // Every shortfall is reported (one per line), so the summary counts each, as Kubernetes does.
  plugin::Status filter(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    std::string reasons;
    auto fail = [&](std::string_view r) {
      if (!reasons.empty()) reasons += '\n';
      reasons += r;
    };
    if (static_cast<std::int64_t>(node.pods.size()) + 1 > node.allocatable.pods) fail("Too many pods");
    const sp::Resources& want = pod.requests;
    const sp::Resources& have = node.allocatable;
    const sp::Resources& used = node.requested;
    if (want.milli_cpu > 0 && want.milli_cpu > have.milli_cpu - used.milli_cpu) fail("Insufficient cpu");
    if (want.memory > 0 && want.memory > have.memory - used.memory) fail("Insufficient memory");
    if (want.ephemeral_storage > 0 && want.ephemeral_storage > have.ephemeral_storage - used.ephemeral_storage)
      fail("Insufficient ephemeral-storage");
    for (const auto& [name, v] : want.scalar)
      if (v > 0 && v > have.scalar_value(name) - used.scalar_value(name)) fail("Insufficient " + name);
    if (reasons.empty()) return plugin::Status::ok();
    return {plugin::Code::kUnschedulable, reasons};
  }
};

// cpu and memory, weight 1 each, on the requests with scoring defaults (as Kubernetes scores).
template <class PerResource>
std::int64_t score_cpu_memory(const sp::PodInfo& pod, const sp::NodeInfo& node, PerResource per_resource) {
  std::int64_t cpu = per_resource(node.non_zero_requested.milli_cpu + pod.non_zero_requests.milli_cpu, node.allocatable.milli_cpu);
  std::int64_t mem = per_resource(node.non_zero_requested.memory + pod.non_zero_requests.memory, node.allocatable.memory);
  return (cpu + mem) / 2;
}

class LeastAllocated final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "node_resources_least_allocated"; }
  plugin::Result<std::int64_t> score(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    return score_cpu_memory(pod, node, [](std::int64_t requested, std::int64_t capacity) -> std::int64_t {
      if (capacity <= 0 || requested > capacity) return 0;
      return (capacity - requested) * sp::kMaxScore / capacity;
    });
  }
};

class MostAllocated final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "node_resources_most_allocated"; }
  plugin::Result<std::int64_t> score(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    return score_cpu_memory(pod, node, [](std::int64_t requested, std::int64_t capacity) -> std::int64_t {
      if (capacity <= 0) return 0;
      return std::min(requested, capacity) * sp::kMaxScore / capacity;
    });
  }
};

class BalancedAllocation final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "node_resources_balanced_allocation"; }
  // 100 × (1 − standard deviation of the cpu and memory fractions); with two resources the deviation
  // is half their difference. Uses the real requests, not the scoring defaults.
  plugin::Result<std::int64_t> score(const sp::PodState*, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    auto fraction = [](std::int64_t requested, std::int64_t capacity) {
      if (capacity <= 0) return 1.0;
      return std::min(1.0, static_cast<double>(requested) / static_cast<double>(capacity));
    };
    double cpu = fraction(node.requested.milli_cpu + pod.requests.milli_cpu, node.allocatable.milli_cpu);
    double mem = fraction(node.requested.memory + pod.requests.memory, node.allocatable.memory);
    double std_dev = std::abs(cpu - mem) / 2;
    return static_cast<std::int64_t>((1 - std_dev) * static_cast<double>(sp::kMaxScore));
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_fit(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::FilterPlugin, Fit>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_leastallocated(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, LeastAllocated>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_mostallocated(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, MostAllocated>(c);
}
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_balancedallocation(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, BalancedAllocation>(c);
}

}  // namespace skiff::plugins::scheduler::noderesources
