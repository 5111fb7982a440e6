// The manifest of libskiff-scheduler-imagelocality.so: nothing but what the loader reads.
#include <array>

#include "imagelocality.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace imagelocality = skiff::plugins::scheduler::imagelocality;

const sp::Manifest* skiff_scheduler_imagelocality_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::ScorePlugin>("image_locality", "Prefers nodes that already have the pod's images", &imagelocality::make_imagelocality)};
  static const sp::Manifest manifest{sp::make_header("imagelocality", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_imagelocality_manifest)
