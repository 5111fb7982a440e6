// The manifest of libskiff-controllers-nodelifecycle.so: nothing but what the loader reads.
#include <array>

#include "nodelifecycle.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace nl = skiff::plugins::controllers::nodelifecycle;

const skiff::plugin::Manifest* skiff_controllers_nodelifecycle_manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::controller::Controller>(
      nl::kName.data(), "Marks silent nodes Ready=Unknown, taints them NoExecute and evicts their pods",
      &nl::make, nl::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("nodelifecycle", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_controllers_nodelifecycle_manifest)
