// Plugin manifest of the DaemonSet controller (role skiff.controller.v1).
#include <array>

#include "daemonset.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace ctl = skiff::plugin::controller;

skiff::plugin::Result<std::unique_ptr<ctl::Controller>> make(const skiff::plugin::PluginContext&) {
  return std::unique_ptr<ctl::Controller>(std::make_unique<skiff::plugins::controllers::DaemonSetController>());
}

const skiff::plugin::Manifest* manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<ctl::Controller>(
      "daemonset", "Runs one pod of every DaemonSet (apps/v1) on each eligible node", &make)};
  static const skiff::plugin::Manifest m{skiff::plugin::make_header("daemonset", "0.1.0"), exports};
  return &m;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(manifest)
