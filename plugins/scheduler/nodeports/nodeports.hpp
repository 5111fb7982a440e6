// Scheduler plugin nodeports (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::nodeports {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// The pod's host ports are free on the node.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodeports(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::nodeports
