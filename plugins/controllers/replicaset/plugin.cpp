// Plugin manifest of the ReplicaSet controller (role skiff.controller.v1).
#include <array>

#include "replicaset.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace ctl = skiff::plugin::controller;

skiff::plugin::Result<std::unique_ptr<ctl::Controller>> make(const skiff::plugin::PluginContext&) {
  return std::unique_ptr<ctl::Controller>(std::make_unique<skiff::plugins::controllers::ReplicaSetController>());
}

const skiff::plugin::Manifest* manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<ctl::Controller>(
      "replicaset", "Keeps spec.replicas pods of every ReplicaSet (apps/v1)", &make)};
  static const skiff::plugin::Manifest m{skiff::plugin::make_header("replicaset", "0.1.0"), exports};
  return &m;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(manifest)
