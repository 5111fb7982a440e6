// The manifest of libskiff-scheduler-noderesources.so: nothing but what the loader reads.
#include <array>

#include "noderesources.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace noderesources = skiff::plugins::scheduler::noderesources;

const sp::Manifest* skiff_scheduler_noderesources_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("node_resources_fit", "Requests (cpu, memory, ephemeral-storage, extended resources, pod count) fit the allocatable room", &noderesources::make_fit),
      sp::make_export<sp::scheduler::ScorePlugin>("node_resources_least_allocated", "Prefers nodes with the most free cpu and memory (spreading)", &noderesources::make_leastallocated),
      sp::make_export<sp::scheduler::ScorePlugin>("node_resources_most_allocated", "Prefers the fullest nodes (bin-packing)", &noderesources::make_mostallocated),
      sp::make_export<sp::scheduler::ScorePlugin>("node_resources_balanced_allocation", "Prefers nodes whose cpu and memory use stay in balance", &noderesources::make_balancedallocation)};
  static const sp::Manifest manifest{sp::make_header("noderesources", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_noderesources_manifest)
