// A thread that runs a task every interval until stopped: the agent's relist, heartbeat and image
// GC loops. stop() wakes the wait, so it returns as soon as a task in progress ends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace skiff::agent {

class Periodic {
 public:
  Periodic() = default;
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;
  ~Periodic() { stop(); }

  // Runs `task` every `interval` (first at once with `run_at_start`, else after one interval).
  // A second start() while running does nothing.
  void start(std::chrono::milliseconds interval, std::function<void()> task, bool run_at_start = false) {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this, interval, task = std::move(task), run_at_start] {
      std::unique_lock wait_lock(mu_);
      bool due = run_at_start;
      while (!stopping_) {
        if (due) {
          wait_lock.unlock();
          task();
          wait_lock.lock();
        }
        due = !cv_.wait_for(wait_lock, interval, [this] { return stopping_; });
      }
    });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace skiff::agent
