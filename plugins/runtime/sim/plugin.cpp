// The manifest of libskiff-runtime-sim.so: nothing but what the loader reads.
#include <array>

#include "sim_runtime.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

const skiff::plugin::Manifest* skiff_runtime_sim_manifest() noexcept {
  namespace sim = skiff::plugins::runtime::sim;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::runtime::Runtime>(
      sim::kName.data(), "Simulated container runtime: pods run without processes (for tests and benchmarks)",
      &sim::make_runtime, sim::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("sim", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_runtime_sim_manifest)
