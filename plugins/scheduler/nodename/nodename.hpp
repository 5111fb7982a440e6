// Scheduler plugin nodename (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::nodename {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// spec.nodeName, when set, names the node.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodename(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::nodename
