#include "imagelocality.hpp"

#include <algorithm>
#include <string>

namespace skiff::plugins::scheduler::imagelocality {
namespace {

// Kubernetes' thresholds per container: below 23MB an image is not worth preferring a node for,
// above 1000MB every node that has it is equally good.
constexpr std::int64_t kMinThreshold = 23LL * 1024 * 1024;
constexpr std::int64_t kMaxThreshold = 1000LL * 1024 * 1024;

const std::int64_t* image_size(const sp::NodeInfo& node, const std::string& image) {
  auto it = std::lower_bound(node.images.begin(), node.images.end(), image,
                             [](const auto& p, const std::string& k) { return p.first < k; });
  return it != node.images.end() && it->first == image ? &it->second : nullptr;
}

struct State final : sp::PodState {
  std::vector<double> spread;  // per pod image: share of all nodes that have it
};

class ImageLocality final : public sp::ScorePlugin {
 public:
  std::string_view name() const noexcept override { return "image_locality"; }

  plugin::Status pre_score(const sp::PodInfo& pod, const sp::Snapshot& snapshot, std::span<const sp::NodeInfo* const> feasible,
                           std::unique_ptr<sp::PodState>& out) noexcept override {
    // Most clusters of a benchmark have no image anywhere: skip the cluster-wide count then.
    bool any = std::any_of(feasible.begin(), feasible.end(), [&](const sp::NodeInfo* n) {
      return std::any_of(pod.images.begin(), pod.images.end(), [&](const std::string& im) { return image_size(*n, im); });
    });
    if (!any) return plugin::Status::ok();
    auto state = std::make_unique<State>();
    const auto nodes = snapshot.nodes();
    for (const std::string& image : pod.images) {
      std::size_t have = 0;
      for (const sp::NodeInfo* n : nodes)
        if (image_size(*n, image)) ++have;
      state->spread.push_back(nodes.empty() ? 0.0 : static_cast<double>(have) / static_cast<double>(nodes.size()));
    }
    out = std::move(state);
    return plugin::Status::ok();
  }

  // Sum of the sizes of the pod's images present here, each scaled by how widely it is spread (so
  // an image on every node does not pull pods anywhere), mapped onto 0..100 between the thresholds.
  plugin::Result<std::int64_t> score(const sp::PodState* s, const sp::PodInfo& pod, const sp::NodeInfo& node) const noexcept override {
    if (s == nullptr || pod.images.empty()) return std::int64_t{0};
    const auto& state = static_cast<const State&>(*s);
    double sum = 0;
    for (std::size_t i = 0; i < pod.images.size(); ++i)
      if (const std::int64_t* size = image_size(node, pod.images[i])) sum += static_cast<double>(*size) * state.spread[i];
    const auto containers = static_cast<std::int64_t>(pod.images.size());
    const double lo = static_cast<double>(kMinThreshold), hi = static_cast<double>(kMaxThreshold * containers);
    sum = std::clamp(sum, lo, hi);
    return static_cast<std::int64_t>(static_cast<double>(sp::kMaxScore) * (sum - lo) / (hi - lo));
  }
};

}  // namespace

plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_imagelocality(const plugin::PluginContext& c) {
  return sp::make_plugin<sp::ScorePlugin, ImageLocality>(c);
}

}  // namespace skiff::plugins::scheduler::imagelocality
