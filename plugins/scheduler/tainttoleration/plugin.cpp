// The manifest of libskiff-scheduler-tainttoleration.so: nothing but what the loader reads.
#include <array>

#include "tainttoleration.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace tainttoleration = skiff::plugins::scheduler::tainttoleration;

const sp::Manifest* skiff_scheduler_tainttoleration_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("taint_toleration", "NoSchedule and NoExecute taints must be tolerated", &tainttoleration::make_tainttolerationfilter),
      sp::make_export<sp::scheduler::ScorePlugin>("taint_toleration", "Fewer untolerated PreferNoSchedule taints score higher", &tainttoleration::make_tainttolerationscore)};
  static const sp::Manifest manifest{sp::make_header("tainttoleration", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_tainttoleration_manifest)
