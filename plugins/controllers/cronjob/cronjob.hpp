// The CronJob controller (batch/v1 CronJob): creates a Job for each due schedule time, applies the
// concurrency policy and the history limits, keeps status.active / lastScheduleTime /
// lastSuccessfulTime. See README.md.
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

namespace skiff::plugins::controllers::cronjob {

inline constexpr std::string_view kName = "cronjob";
inline constexpr std::string_view kScheduledTimestamp = "batch.kubernetes.io/cronjob-scheduled-timestamp";
// More missed start times than this are not worth listing (Kubernetes' figure).
inline constexpr int kMaxMissedTimes = 100;

// Config section "controller.cronjob".
inline constexpr std::array<plugin::OptionSpec, 2> kOptions{{
    {"max-requeue-ms", "0",
     "longest wait before looking at a CronJob again for its next schedule time (0: wait exactly until it "
     "is due); tests on a fake clock set it low"},
    {"zoneinfo-dir", "/usr/share/zoneinfo", "where spec.timeZone names are looked up (TZif files)"},
}};

struct Options {
  std::int64_t max_requeue_ms = 0;  // 0: no cap
  std::string zoneinfo_dir = "/usr/share/zoneinfo";
};

// Reads and validates the section; a bad value gives a Status naming "controller.cronjob.<key>".
plugin::Result<Options> parse_options(const plugin::PluginContext& context);

class CronJobController final : public plugin::controller::Controller {
 public:
  explicit CronJobController(Options options = {}) : options_(std::move(options)) {}

  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;

 private:
  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& ns, const std::string& name);
  std::int64_t cap(std::int64_t delay_ms) const { return batch::capped_delay(delay_ms, options_.max_requeue_ms); }

  const Options options_;
  std::optional<plugin::controller::Host> host_;
  std::unique_ptr<EventRecorder> events_;
  // Created Jobs the cache has not shown yet, our last status write; by CronJob key.
  batch::ExpectationsMap<batch::Expectations> memory_;
};

}  // namespace skiff::plugins::controllers::cronjob
