// Scheduler plugin noderesources (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::noderesources {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// Requests (cpu, memory, ephemeral-storage, extended resources, pod count) fit the allocatable room.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_fit(const plugin::PluginContext& context);
// Prefers nodes with the most free cpu and memory (spreading).
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_leastallocated(const plugin::PluginContext& context);
// Prefers the fullest nodes (bin-packing).
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_mostallocated(const plugin::PluginContext& context);
// Prefers nodes whose cpu and memory use stay in balance.
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_balancedallocation(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::noderesources
