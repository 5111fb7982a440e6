// The manifest of libskiff-controllers-namespace.so: nothing but what the loader reads.
#include <array>
#include <memory>

#include "namespace.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace nsc = skiff::plugins::controllers::ns;
namespace ctl = skiff::plugin::controller;

skiff::plugin::Result<std::unique_ptr<ctl::Controller>> make(const skiff::plugin::PluginContext&) {
  return std::unique_ptr<ctl::Controller>(std::make_unique<nsc::NamespaceController>());
}

const skiff::plugin::Manifest* skiff_controllers_namespace_manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<ctl::Controller>(
      nsc::kName.data(), "Empties a Terminating namespace, then removes its \"kubernetes\" finalizer", &make)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("namespace", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_controllers_namespace_manifest)
