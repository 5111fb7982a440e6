// The manifest of libskiff-scheduler-nodeaffinity.so: nothing but what the loader reads.
#include <array>

#include "nodeaffinity.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace nodeaffinity = skiff::plugins::scheduler::nodeaffinity;

const sp::Manifest* skiff_scheduler_nodeaffinity_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("node_affinity", "spec.nodeSelector and required node affinity", &nodeaffinity::make_nodeaffinityfilter),
      sp::make_export<sp::scheduler::ScorePlugin>("node_affinity", "Sum of the weights of matching preferred node affinity terms", &nodeaffinity::make_nodeaffinityscore)};
  static const sp::Manifest manifest{sp::make_header("nodeaffinity", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_nodeaffinity_manifest)
