// The manifest of libskiff-scheduler-nodeunschedulable.so: nothing but what the loader reads.
#include <array>

#include "nodeunschedulable.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace nodeunschedulable = skiff::plugins::scheduler::nodeunschedulable;

const sp::Manifest* skiff_scheduler_nodeunschedulable_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("node_unschedulable", "Cordoned nodes (spec.unschedulable) take only pods tolerating node.kubernetes.io/unschedulable", &nodeunschedulable::make_nodeunschedulable)};
  static const sp::Manifest manifest{sp::make_header("nodeunschedulable", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_nodeunschedulable_manifest)
