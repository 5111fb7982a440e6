// The manifest of libskiff-scheduler-interpodaffinity.so: nothing but what the loader reads.
#include <array>

#include "interpodaffinity.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace interpodaffinity = skiff::plugins::scheduler::interpodaffinity;

const sp::Manifest* skiff_scheduler_interpodaffinity_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("inter_pod_affinity", "Required pod affinity and anti-affinity by topologyKey, both ways", &interpodaffinity::make_interpodaffinityfilter),
      sp::make_export<sp::scheduler::ScorePlugin>("inter_pod_affinity", "Preferred pod affinity and anti-affinity weights", &interpodaffinity::make_interpodaffinityscore)};
  static const sp::Manifest manifest{sp::make_header("interpodaffinity", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_interpodaffinity_manifest)
