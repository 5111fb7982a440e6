#include "kernel/store/compactor.hpp"

namespace skiff::kernel {

Compactor::Compactor(ObjectStore& store, std::chrono::milliseconds interval, plugin::Logger& logger,
                     MetricsRegistry& metrics)
    : store_(store),
      interval_(interval),
      logger_(logger),
      compactions_(metrics.counter("skiff_store_compactions_total", "Compactions of the store's history")),
      failures_(metrics.counter("skiff_store_compaction_failures_total", "Compactions the store backend refused")),
      compacted_revision_(metrics.gauge("skiff_store_compacted_revision", "History at or below this revision is gone")) {}

Compactor::~Compactor() { stop(); }

void Compactor::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [&] { return stopping_; })) {
      lock.unlock();
      tick();
      lock.lock();
    }
  });
}

void Compactor::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t Compactor::tick() {
  std::int64_t target = previous_;
  previous_ = store_.current_revision();
  if (target <= compacted_) return 0;  // nothing written since the last compaction
  if (auto st = store_.compact(target); !st) {
    failures_.add();
    logger_.warn("store compaction failed", {{"revision", std::to_string(target)}, {"error", st.message()}});
    return 0;
  }
  compacted_ = target;
  compactions_.add();
  compacted_revision_.set(static_cast<double>(target));
  logger_.debug("store compacted", {{"revision", std::to_string(target)}});
  return target;
}

}  // namespace skiff::kernel
