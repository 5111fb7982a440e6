// What the batch controllers (job, cronjob) share: small JSON readers and Job conditions.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "controller_common.hpp"
#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::plugins::controllers::batch {

// The member `key` of `j`, or a null JSON when `j` is not an object or has no such member.
const Json& member(const Json& j, std::string_view key);
// A string member, or "" when absent or not a string.
std::string text(const Json& j, std::string_view key);
// An integer member, or nullopt when absent or not an integer.
std::optional<std::int64_t> integer(const Json& j, std::string_view key);

// status.conditions: the condition of `type` (null if none), whether it is "True", and setting one
// (lastTransitionTime moves only when the status flips, as the API conventions ask).
const Json* condition(const Json& status, std::string_view type);
bool condition_true(const Json& status, std::string_view type);
void set_condition(Json& status, std::string_view type, std::string_view value, std::string_view reason,
                   std::string_view message, std::int64_t now_ms);

// "Complete" or "Failed" when the Job has that condition True; nullopt while it runs.
std::optional<std::string> job_finished(const Json& job);

// What a controller wrote that its cache may not show yet (client-go's "expectations"), for one
// primary object: the next reconcile must not act on a view older than its own writes.
struct Expectations {
  std::string uid;                  // the incarnation they belong to
  std::int64_t status_version = 0;  // resourceVersion our last status write produced
  std::map<std::string, std::chrono::steady_clock::time_point> created;  // names created, not yet seen
  // Forgets the created names now in `seen`, and those older than five minutes (assumed lost).
  void observe(const std::set<std::string>& seen);
};

// Expectations by key; `M` derives from Expectations. Entries are reset when the uid changes. A key
// is never reconciled by two workers at once, so an entry is only used by one thread at a time.
template <class M>
class ExpectationsMap {
 public:
  M& at(const std::string& key, const std::string& uid) {
    std::lock_guard lock(mutex_);
    M& m = map_[key];
    if (m.uid != uid) {
      m = M{};
      m.uid = uid;
    }
    return m;
  }
  void forget(const std::string& key) {
    std::lock_guard lock(mutex_);
    map_.erase(key);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, M> map_;  // std::map: references stay valid while other keys come and go
};

// "ns/name" → {ns, name}; nullopt without a slash.
std::optional<std::pair<std::string, std::string>> split_key(std::string_view key);

// Runs `sync(ns, name)` for a work-queue key, so that no exception leaves the plugin: one becomes
// kInternal naming `what` and the key.
template <class Sync>
plugin::Result<plugin::controller::ReconcileResult> reconcile_key(std::string_view what, std::string_view key,
                                                                  Sync&& sync) noexcept {
  try {
    auto parts = split_key(key);
    if (!parts) return plugin::controller::ReconcileResult{};
    return sync(parts->first, parts->second);
  } catch (const std::exception& e) {
    return plugin::internal(std::string(what) + " " + std::string(key) + ": " + e.what());
  }
}

// Option "max-requeue-ms" both batch controllers declare: how long a requeue for a time-based
// decision (deadline, TTL, next schedule) may be at most; 0 = no cap.
plugin::Result<std::int64_t> max_requeue_ms(const plugin::ConfigSection& config);
// `delay_ms` (at least 1 ms) capped at `max_ms` when that is > 0.
std::int64_t capped_delay(std::int64_t delay_ms, std::int64_t max_ms);

// Deletes `name` with Background propagation, only the incarnation `uid`. Already gone (kNotFound)
// or replaced by a new incarnation (kConflict) is success: either way that object is no more.
plugin::Status remove_incarnation(plugin::Client& client, const plugin::ResourceId& resource, const std::string& ns,
                                  const std::string& name, const std::string& uid);

}  // namespace skiff::plugins::controllers::batch
