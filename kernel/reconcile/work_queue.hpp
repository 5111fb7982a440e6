// The reconcile loop's work queue, with client-go's semantics (k8s.io/client-go/util/workqueue):
//
// - A key is queued at most once: adding a key that is already waiting to be handed out does nothing.
// - A key handed out by get() is "processing" until done(key). Adding it meanwhile marks it dirty; it
//   is queued again by done(), so one key never reaches two workers at once.
// - add_after(key, d) queues the key once `d` has passed (the earliest of several schedules wins).
// - add_rate_limited(key) = add_after(key, max(per-key exponential backoff, overall token bucket)),
//   as workqueue.DefaultControllerRateLimiter does; forget(key) resets the key's backoff.
//
// Time comes from a QueueClock, so tests drive delays with a manual clock instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "skiff/plugin/host.hpp"

namespace skiff::kernel {

// Monotonic time for the queue's delays.
class QueueClock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~QueueClock() = default;
  virtual TimePoint now() const noexcept = 0;
  // Blocks on `cv` (whose mutex `lock` holds) until notified or until `deadline` on this clock. May wake
  // early; callers re-check their condition.
  virtual void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint deadline) const = 0;

  // std::chrono::steady_clock.
  static const QueueClock& steady() noexcept;
};

// A clock that moves only when told to. Waiters re-check it every millisecond of real time, so a
// getter blocked on a delayed key wakes shortly after advance() passes the key's time.
class ManualQueueClock final : public QueueClock {
 public:
  TimePoint now() const noexcept override { return TimePoint(Duration(offset_.load())); }
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, TimePoint deadline) const override;
  void advance(Duration d) noexcept { offset_ += d.count(); }

 private:
  std::atomic<Duration::rep> offset_{0};
};

struct WorkQueueOptions {
  // Per-key exponential backoff: base, 2×base, 4×base, … up to max (client-go: 5 ms … 1000 s).
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{std::chrono::seconds(1000)};
  // Overall token bucket shared by every key (client-go: 10 qps, burst 100). qps <= 0 turns it off.
  double qps = 10;
  int burst = 100;
  // Where the queue reads time; null means QueueClock::steady(). Must outlive the queue.
  const QueueClock* clock = nullptr;
  // Set to the number of keys ready to hand out whenever that changes. Must outlive the queue.
  plugin::Gauge* depth = nullptr;
};

class WorkQueue {
 public:
  using Duration = QueueClock::Duration;

  explicit WorkQueue(WorkQueueOptions options = {});
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // All adds are ignored after shutdown().
  void add(std::string_view key);
  void add_after(std::string_view key, Duration delay);
  // Schedules the key after its backoff and counts a requeue; returns the delay it chose.
  Duration add_rate_limited(std::string_view key);
  // The key succeeded: its backoff starts again from base_delay.
  void forget(std::string_view key);
  // How many times add_rate_limited was called for the key since the last forget().
  int num_requeues(std::string_view key) const;

  // Blocks until a key is ready (it is then "processing" until done()) or the queue shuts down
  // (nullopt). Keys still queued at shutdown are not handed out: reconcile is level-triggered, so
  // the next start re-lists and re-queues everything.
  std::optional<std::string> get();
  // get() without blocking: nullopt when nothing is ready.
  std::optional<std::string> try_get();
  void done(std::string_view key);

  // Wakes every blocked get(); they return nullopt.
  void shutdown();
  bool shutting_down() const;

  // Keys ready to hand out (excludes keys being processed and keys waiting for their delay).
  std::size_t len();
  // Keys scheduled by add_after / add_rate_limited whose time has not come yet.
  std::size_t waiting();
  // Nothing queued, scheduled or being processed.
  bool idle();

 private:
  using TimePoint = QueueClock::TimePoint;

  // With mutex_ held.
  void add_locked(const std::string& key);
  void promote_locked(TimePoint now);
  void publish_depth_locked();
  std::optional<std::string> pop_locked();
  Duration bucket_delay_locked(TimePoint now);

  const WorkQueueOptions options_;
  const QueueClock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool shutting_down_ = false;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;       // queued, or added again while processing
  std::unordered_set<std::string> processing_;  // handed out, not yet done()
  std::map<std::string, TimePoint, std::less<>> waiting_;  // key → when it becomes ready
  std::set<std::pair<TimePoint, std::string>> waiting_order_;
  std::unordered_map<std::string, int> failures_;
  double tokens_ = 0;
  TimePoint tokens_at_{};
};

}  // namespace skiff::kernel
