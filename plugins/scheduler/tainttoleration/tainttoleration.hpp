// Scheduler plugin tainttoleration (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::tainttoleration {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// NoSchedule and NoExecute taints must be tolerated.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_tainttolerationfilter(const plugin::PluginContext& context);
// Fewer untolerated PreferNoSchedule taints score higher.
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_tainttolerationscore(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::tainttoleration
