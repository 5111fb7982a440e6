// The manifest of libskiff-controllers-garbagecollector.so: nothing but what the loader reads.
#include <array>
#include <memory>

#include "garbagecollector.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace gc = skiff::plugins::controllers::garbagecollector;
namespace ctl = skiff::plugin::controller;

skiff::plugin::Result<std::unique_ptr<ctl::Controller>> make(const skiff::plugin::PluginContext&) {
  return std::unique_ptr<ctl::Controller>(std::make_unique<gc::GarbageCollector>());
}

const skiff::plugin::Manifest* skiff_controllers_garbagecollector_manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<ctl::Controller>(
      gc::kName.data(), "Cascading deletion through ownerReferences (Background, Foreground, Orphan)", &make)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("garbagecollector", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_controllers_garbagecollector_manifest)
