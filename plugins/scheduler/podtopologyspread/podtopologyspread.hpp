// Scheduler plugin podtopologyspread (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::podtopologyspread {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// topologySpreadConstraints with whenUnsatisfiable: DoNotSchedule.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_podtopologyspreadfilter(const plugin::PluginContext& context);
// topologySpreadConstraints with whenUnsatisfiable: ScheduleAnyway.
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_podtopologyspreadscore(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::podtopologyspread
