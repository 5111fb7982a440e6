// The daemon component that runs the scheduler: the filter and score plugins the loader found,
// arranged into profiles by the scheduler.* keys, one Scheduler over the daemon's API client.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/config/daemon_config.hpp"
#include "kernel/daemon/daemon.hpp"
#include "kernel/scheduler/scheduler.hpp"

namespace skiff::kernel::scheduler {

// scheduler.enabled, scheduler.profiles, scheduler.filters, scheduler.scores,
// scheduler.percentage-of-nodes-to-score, scheduler.preemption, scheduler.pod-initial-backoff-seconds,
// scheduler.pod-max-backoff-seconds.
std::vector<ComponentOption> scheduler_options();

// One profile as configured, before plugins are looked up.
struct ProfileSpec {
  std::string scheduler_name;
  std::vector<std::string> filters;
  std::vector<std::pair<std::string, std::int64_t>> scores;  // plugin, weight
};

// Parses the profile keys. `profiles`: "name[:filters=a,b][:scores=x=1,y=2]" entries separated by ';';
// a profile without filters= or scores= takes `filters` / `scores` ("a,b" and "x=1,y=2"). kInvalid
// names the key.
plugin::Result<std::vector<ProfileSpec>> parse_profiles(std::string_view profiles, std::string_view filters,
                                                        std::string_view scores);

// Builds profiles from specs with the given plugins; kInvalid names `key` and the unknown plugin.
plugin::Result<std::vector<Profile>> build_profiles(
    const std::vector<ProfileSpec>& specs, const std::map<std::string, std::shared_ptr<sp::FilterPlugin>>& filters,
    const std::map<std::string, std::shared_ptr<sp::ScorePlugin>>& scores);

Daemon::ComponentFactory scheduler_component();

}  // namespace skiff::kernel::scheduler
