// Scheduler plugin nodeaffinity (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::nodeaffinity {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// spec.nodeSelector and required node affinity.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_nodeaffinityfilter(const plugin::PluginContext& context);
// Sum of the weights of matching preferred node affinity terms.
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_nodeaffinityscore(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::nodeaffinity
