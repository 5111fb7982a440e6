// Scheduler plugin interpodaffinity (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::interpodaffinity {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// Required pod affinity and anti-affinity by topologyKey, both ways.
plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_interpodaffinityfilter(const plugin::PluginContext& context);
// Preferred pod affinity and anti-affinity weights.
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_interpodaffinityscore(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::interpodaffinity
