// The manifest of libskiff-scheduler-nodeports.so: nothing but what the loader reads.
#include <array>

#include "nodeports.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace nodeports = skiff::plugins::scheduler::nodeports;

const sp::Manifest* skiff_scheduler_nodeports_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("node_ports", "The pod's host ports are free on the node", &nodeports::make_nodeports)};
  static const sp::Manifest manifest{sp::make_header("nodeports", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_nodeports_manifest)
