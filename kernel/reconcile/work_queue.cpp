#include "kernel/reconcile/work_queue.hpp"

#include <algorithm>
#include <cmath>

namespace skiff::kernel {
namespace {

class SteadyQueueClock final : public QueueClock {
 public:
  TimePoint now() const noexcept override { return std::chrono::steady_clock::now(); }
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, TimePoint deadline) const override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace

const QueueClock& QueueClock::steady() noexcept {
  static const SteadyQueueClock clock;
  return clock;
}

void ManualQueueClock::wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                                  TimePoint deadline) const {
  if (now() >= deadline) return;
  cv.wait_for(lock, std::chrono::milliseconds(1));
}

WorkQueue::WorkQueue(WorkQueueOptions options)
    : options_(options), clock_(options.clock != nullptr ? *options.clock : QueueClock::steady()) {
  tokens_ = static_cast<double>(std::max(options_.burst, 1));
  tokens_at_ = clock_.now();
  publish_depth_locked();
}

void WorkQueue::add(std::string_view key) {
  std::lock_guard lock(mutex_);
  add_locked(std::string(key));
}

void WorkQueue::add_locked(const std::string& key) {
  if (shutting_down_ || dirty_.contains(key)) return;
  dirty_.insert(key);
  if (processing_.contains(key)) return;  // done() queues it
  queue_.push_back(key);
  publish_depth_locked();
  cv_.notify_one();
}

void WorkQueue::add_after(std::string_view key, Duration delay) {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return;
  std::string k(key);
  if (delay <= Duration::zero()) {
    add_locked(k);
    return;
  }
  TimePoint ready = clock_.now() + delay;
  auto it = waiting_.find(k);
  if (it != waiting_.end()) {
    if (it->second <= ready) return;  // already due earlier
    waiting_order_.erase({it->second, k});
    it->second = ready;
  } else {
    waiting_.emplace(k, ready);
  }
  waiting_order_.emplace(ready, std::move(k));
  // A getter sleeping towards a later deadline (or none) must look again.
  cv_.notify_all();
}

WorkQueue::Duration WorkQueue::bucket_delay_locked(TimePoint now) {
  if (options_.qps <= 0) return Duration::zero();
  double burst = static_cast<double>(std::max(options_.burst, 1));
  if (now > tokens_at_) {
    double elapsed = std::chrono::duration<double>(now - tokens_at_).count();
    tokens_ = std::min(burst, tokens_ + elapsed * options_.qps);
    tokens_at_ = now;
  }
  // Like rate.Limiter.Reserve: the token is taken even when it is only available later.
  tokens_ -= 1;
  if (tokens_ >= 0) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-tokens_ / options_.qps));
}

WorkQueue::Duration WorkQueue::add_rate_limited(std::string_view key) {
  Duration delay{};
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return Duration::zero();
    int exp = failures_[std::string(key)]++;
    Duration base = options_.base_delay;
    Duration max = options_.max_delay;
    Duration backoff = max;
    // base × 2^exp, without overflowing.
    if (exp < 62 && base.count() > 0) {
      double scaled = static_cast<double>(base.count()) * std::ldexp(1.0, exp);
      if (scaled < static_cast<double>(max.count())) backoff = Duration(static_cast<Duration::rep>(scaled));
    } else if (base.count() <= 0) {
      backoff = Duration::zero();
    }
    delay = std::max(backoff, bucket_delay_locked(clock_.now()));
  }
  add_after(key, delay);
  return delay;
}

void WorkQueue::forget(std::string_view key) {
  std::lock_guard lock(mutex_);
  failures_.erase(std::string(key));
}

int WorkQueue::num_requeues(std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(std::string(key));
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promote_locked(TimePoint now) {
  while (!waiting_order_.empty() && waiting_order_.begin()->first <= now) {
    auto node = waiting_order_.extract(waiting_order_.begin());
    waiting_.erase(node.value().second);
    add_locked(node.value().second);
  }
}

std::optional<std::string> WorkQueue::pop_locked() {
  if (shutting_down_ || queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  publish_depth_locked();
  return key;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  while (true) {
    promote_locked(clock_.now());
    if (shutting_down_) return std::nullopt;
    if (!queue_.empty()) return pop_locked();
    if (waiting_order_.empty()) {
      cv_.wait(lock);
    } else {
      clock_.wait_until(cv_, lock, waiting_order_.begin()->first);
    }
  }
}

std::optional<std::string> WorkQueue::try_get() {
  std::lock_guard lock(mutex_);
  promote_locked(clock_.now());
  return pop_locked();
}

void WorkQueue::done(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = processing_.find(std::string(key));
  if (it == processing_.end()) return;
  processing_.erase(it);
  if (dirty_.contains(std::string(key)) && !shutting_down_) {
    queue_.emplace_back(key);
    publish_depth_locked();
    cv_.notify_one();
  }
}

void WorkQueue::shutdown() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

std::size_t WorkQueue::len() {
  std::lock_guard lock(mutex_);
  promote_locked(clock_.now());
  return queue_.size();
}

std::size_t WorkQueue::waiting() {
  std::lock_guard lock(mutex_);
  promote_locked(clock_.now());
  return waiting_order_.size();
}

bool WorkQueue::idle() {
  std::lock_guard lock(mutex_);
  promote_locked(clock_.now());
  return queue_.empty() && processing_.empty() && waiting_order_.empty();
}

void WorkQueue::publish_depth_locked() {
  if (options_.depth != nullptr) options_.depth->set(static_cast<double>(queue_.size()));
}

}  // namespace skiff::kernel
