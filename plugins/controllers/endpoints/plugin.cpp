// The manifest of libskiff-controllers-endpoints.so: nothing but what the loader reads.
#include <array>
#include <memory>

#include "endpoints.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace ep = skiff::plugins::controllers::endpoints;
namespace ctl = skiff::plugin::controller;

skiff::plugin::Result<std::unique_ptr<ctl::Controller>> make(const skiff::plugin::PluginContext&) {
  return std::unique_ptr<ctl::Controller>(std::make_unique<ep::EndpointsController>());
}

const skiff::plugin::Manifest* skiff_controllers_endpoints_manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<ctl::Controller>(
      ep::kName.data(), "Endpoints and EndpointSlices for every Service with a selector", &make)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("endpoints", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_controllers_endpoints_manifest)
