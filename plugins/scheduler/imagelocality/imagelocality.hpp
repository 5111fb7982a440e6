// Scheduler plugin imagelocality (see README.md).
#pragma once

#include <memory>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::plugins::scheduler::imagelocality {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

// Prefers nodes that already have the pod's images.
plugin::Result<std::unique_ptr<sp::ScorePlugin>> make_imagelocality(const plugin::PluginContext& context);

}  // namespace skiff::plugins::scheduler::imagelocality
