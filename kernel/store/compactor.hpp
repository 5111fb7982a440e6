// Periodic compaction of the store backend's history, as kube-apiserver compacts etcd
// (--etcd-compaction-interval, 5 minutes by default). Without it the history (the SQLite log) grows
// for ever. Each tick compacts to the revision the previous tick saw, so at least one interval of
// history stays: watches and paged lists from that far back still work, older ones get 410 and
// list again, as with Kubernetes.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "kernel/metrics/registry.hpp"
#include "kernel/store/object_store.hpp"

namespace skiff::kernel {

class Compactor {
 public:
  // `interval` > 0. The first compaction comes two intervals after start().
  Compactor(ObjectStore& store, std::chrono::milliseconds interval, plugin::Logger& logger, MetricsRegistry& metrics);
  ~Compactor();
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  void start();
  void stop() noexcept;

  // One tick, for tests and for the thread: compacts to the revision the previous tick saw (none at
  // the first tick), then remembers the current one. Returns the revision compacted to, or 0.
  std::int64_t tick();

 private:
  ObjectStore& store_;
  const std::chrono::milliseconds interval_;
  plugin::Logger& logger_;
  plugin::Counter& compactions_;
  plugin::Counter& failures_;
  plugin::Gauge& compacted_revision_;
  std::int64_t previous_ = 0;   // the revision the last tick saw
  std::int64_t compacted_ = 0;  // the revision of the last compaction

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace skiff::kernel
