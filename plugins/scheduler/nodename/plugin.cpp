// The manifest of libskiff-scheduler-nodename.so: nothing but what the loader reads.
#include <array>

#include "nodename.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace nodename = skiff::plugins::scheduler::nodename;

const sp::Manifest* skiff_scheduler_nodename_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("node_name", "spec.nodeName, when set, names the node", &nodename::make_nodename)};
  static const sp::Manifest manifest{sp::make_header("nodename", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_nodename_manifest)
