// The manifest of libskiff-runtime-runc.so: nothing but what the loader reads.
#include <array>

#include "runc_runtime.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

const skiff::plugin::Manifest* skiff_runtime_runc_manifest() noexcept {
  namespace runc = skiff::plugins::runtime::runc;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::runtime::Runtime>(
      runc::kName.data(), "Containers on the runc (or crun) binary, pod networking through CNI, OCI images",
      &runc::make_runtime, runc::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("runc", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_runtime_runc_manifest)
