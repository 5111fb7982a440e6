// Scheduler plugin nodeunschedulable (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::nodeunschedulable {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// Cordoned nodes (spec.unschedulable) take only pods tolerating node.kubernetes.io/unschedulable.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodeunschedulable(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::nodeunschedulable
