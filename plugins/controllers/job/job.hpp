// The Job controller (batch/v1 Job): runs pods from spec.template until enough succeed, or gives up
// after backoffLimit failures or activeDeadlineSeconds; deletes finished Jobs after
// ttlSecondsAfterFinished. See README.md.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "batch_common.hpp"
#include "controller_common.hpp"
#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::plugins::controllers::job {

inline constexpr std::string_view kName = "job";
// Pods carry it until their end (Succeeded / Failed / deleted) is counted in the Job's status.
inline constexpr std::string_view kTrackingFinalizer = "batch.kubernetes.io/job-tracking";

// Config section "controller.job".
inline constexpr std::array<plugin::OptionSpec, 1> kOptions{{
    {"max-requeue-ms", "0",
     "longest wait before looking at a Job again for a deadline or TTL (0: wait exactly until it is due); "
     "tests on a fake clock set it low"},
}};

struct Options {
  std::int64_t max_requeue_ms = 0;  // 0: no cap
};

// Reads and validates the section; a bad value gives a Status naming "controller.job.<key>".
plugin::Result<Options> parse_options(const plugin::PluginContext& context);

class JobController final : public plugin::controller::Controller {
 public:
  explicit JobController(Options options = {}) : options_(options) {}

  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;

 private:
  // Beyond created pods and the last status write: deletes and finalizer removals not yet seen.
  struct Memory : batch::Expectations {
    std::set<std::string> deleted;            // pod uids we deleted
    std::set<std::string> finalizer_removed;  // pod uids whose tracking finalizer we removed
  };

  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& ns, const std::string& name);
  plugin::Status release_strays(const std::string& ns, const std::string& name, const std::string& job_uid);
  plugin::Status remove_finalizer(const Json& pod, Memory& memory);
  std::int64_t cap(std::int64_t delay_ms) const { return batch::capped_delay(delay_ms, options_.max_requeue_ms); }

  const Options options_;
  std::optional<plugin::controller::Host> host_;
  std::unique_ptr<EventRecorder> events_;
  batch::ExpectationsMap<Memory> memory_;  // by Job key
};

}  // namespace skiff::plugins::controllers::job
