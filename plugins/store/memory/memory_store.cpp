#include "memory_store.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace skiff::plugins::store::memory {
namespace {

using plugin::Result;
using plugin::Status;
using plugin::store::Event;
using plugin::store::EventSink;
using plugin::store::EventType;
using plugin::store::KeyValue;
using plugin::store::RangeRequest;
using plugin::store::RangeResponse;

Status error_from(const std::exception& e) { return plugin::internal(std::string("store memory: ") + e.what()); }

// One incarnation-step of a key. A tombstone keeps no value: the delete event's value is the previous
// version's, which compaction never drops while the tombstone is still visible in history.
struct Version {
  std::int64_t mod_revision = 0;
  std::int64_t create_revision = 0;
  std::string value;
  bool deleted = false;
};

using KeyMap = std::map<std::string, std::vector<Version>, std::less<>>;
using KeyEntry = KeyMap::value_type;  // map nodes never move, so the log may point at them

class MemoryBackend final : public plugin::store::Backend {
 public:
  explicit MemoryBackend(plugin::Metrics& metrics)
      : versions_gauge_(metrics.gauge("skiff_store_memory_versions",
                                      "Key versions (including tombstones) the memory store retains")) {}

  Result<std::int64_t> create(std::string_view key, std::string_view value) noexcept override {
    try {
      if (key.empty()) return plugin::invalid("store memory: empty key");
      std::unique_lock lock(state_mu_);
      auto it = keys_.find(key);
      if (it != keys_.end() && !it->second.back().deleted)
        return plugin::already_exists("store memory: key " + plugin::store::quote_key(key) + " already exists");
      if (it == keys_.end()) it = keys_.emplace(std::string(key), std::vector<Version>{}).first;
      std::int64_t rev = revision_ + 1;
      append(*it, Version{rev, rev, std::string(value), false});
      return finish_write(lock, rev);
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  Result<std::int64_t> update(std::string_view key, std::string_view value,
                              std::int64_t expected_mod_revision) noexcept override {
    try {
      std::unique_lock lock(state_mu_);
      auto found = live_entry(key, expected_mod_revision);
      if (!found) return found.status();
      KeyEntry& entry = **found;
      std::int64_t rev = revision_ + 1;
      append(entry, Version{rev, entry.second.back().create_revision, std::string(value), false});
      return finish_write(lock, rev);
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  Result<std::int64_t> erase(std::string_view key, std::int64_t expected_mod_revision) noexcept override {
    try {
      std::unique_lock lock(state_mu_);
      auto found = live_entry(key, expected_mod_revision);
      if (!found) return found.status();
      KeyEntry& entry = **found;
      std::int64_t rev = revision_ + 1;
      append(entry, Version{rev, entry.second.back().create_revision, std::string(), true});
      return finish_write(lock, rev);
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  Result<KeyValue> get(std::string_view key) noexcept override {
    try {
      std::shared_lock lock(state_mu_);
      auto it = keys_.find(key);
      if (it == keys_.end() || it->second.back().deleted)
        return plugin::not_found("store memory: key " + plugin::store::quote_key(key) + " not found");
      const Version& v = it->second.back();
      return KeyValue{it->first, v.value, v.create_revision, v.mod_revision};
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  Result<RangeResponse> range(const RangeRequest& request) noexcept override {
    try {
      std::shared_lock lock(state_mu_);
      std::int64_t at = request.revision == 0 ? revision_ : request.revision;
      if (Status s = check_readable(at); !s) return s;
      RangeResponse response;
      response.revision = at;
      auto it = request.start_after.empty() || request.start_after < request.prefix
                    ? keys_.lower_bound(request.prefix)
                    : keys_.upper_bound(request.start_after);
      for (; it != keys_.end() && it->first.starts_with(request.prefix); ++it) {
        const Version* v = visible_at(it->second, at);
        if (v == nullptr) continue;
        if (request.limit != 0 && response.kvs.size() == request.limit) {
          response.more = true;
          break;
        }
        response.kvs.push_back(KeyValue{it->first, v->value, v->create_revision, v->mod_revision});
      }
      return response;
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  Result<std::int64_t> current_revision() noexcept override {
    std::shared_lock lock(state_mu_);
    return revision_;
  }

  Result<std::vector<Event>> history(std::int64_t after_revision, std::size_t limit) noexcept override {
    try {
      std::shared_lock lock(state_mu_);
      if (Status s = check_history(after_revision); !s) return s;
      return events_after(after_revision, limit);
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  Status compact(std::int64_t revision) noexcept override {
    try {
      std::unique_lock lock(state_mu_);
      if (revision < 0 || revision > revision_)
        return plugin::invalid("store memory: cannot compact at revision " + std::to_string(revision) +
                               ", current revision is " + std::to_string(revision_));
      if (revision <= compacted_) return Status::ok();  // already done; compaction is idempotent
      std::int64_t dropped = 0;
      for (auto it = keys_.begin(); it != keys_.end();) {
        auto& versions = it->second;
        auto end = std::upper_bound(versions.begin(), versions.end(), revision,
                                    [](std::int64_t r, const Version& v) { return r < v.mod_revision; });
        // Keep the newest version at or below `revision` (the state as of then) unless it is a tombstone.
        if (end != versions.begin() && !std::prev(end)->deleted) --end;
        dropped += end - versions.begin();
        versions.erase(versions.begin(), end);
        it = versions.empty() ? keys_.erase(it) : std::next(it);
      }
      log_.erase(log_.begin(), log_.begin() + (revision - compacted_));
      compacted_ = revision;
      versions_gauge_.add(-static_cast<double>(dropped));
      return Status::ok();
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  std::int64_t compacted_revision() noexcept override {
    std::shared_lock lock(state_mu_);
    return compacted_;
  }

  Status watch(std::int64_t after_revision, EventSink* sink) noexcept override {
    try {
      if (sink == nullptr) return plugin::invalid("store memory: watch needs a sink");
      {
        std::unique_lock lock(state_mu_);
        if (watching_) return plugin::invalid("store memory: a watch is already active; unwatch first");
        if (Status s = check_history(after_revision); !s) return s;
        if (after_revision > revision_)
          return plugin::invalid("store memory: cannot watch after revision " + std::to_string(after_revision) +
                                 ", current revision is " + std::to_string(revision_));
        // The catch-up goes first in the queue, before any write that commits after we let go.
        std::vector<Event> catch_up = events_after(after_revision, 0);
        std::lock_guard pending(pending_mu_);
        pending_ = std::move(catch_up);
        sink_ = sink;
        watching_ = true;
      }
      deliver();
      return Status::ok();
    } catch (const std::exception& e) {
      return error_from(e);
    }
  }

  void unwatch() noexcept override {
    {
      std::unique_lock lock(state_mu_);
      std::lock_guard pending(pending_mu_);
      watching_ = false;
      sink_ = nullptr;
      pending_.clear();
    }
    // Wait out a delivery already under way, so the old sink is never called after we return.
    std::lock_guard delivering(delivery_mu_);
  }

 private:
  // The key's entry if it is live and matches the precondition.
  Result<KeyEntry*> live_entry(std::string_view key, std::int64_t expected_mod_revision) {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.back().deleted)
      return plugin::not_found("store memory: key " + plugin::store::quote_key(key) + " not found");
    std::int64_t mod = it->second.back().mod_revision;
    if (expected_mod_revision != 0 && expected_mod_revision != mod)
      return plugin::conflict("store memory: key " + plugin::store::quote_key(key) + " has mod_revision " + std::to_string(mod) +
                              ", expected " + std::to_string(expected_mod_revision));
    return &*it;
  }

  // Appends a version and its log entry; on failure leaves both as they were.
  void append(KeyEntry& entry, Version version) {
    std::size_t before = entry.second.size();
    try {
      entry.second.push_back(std::move(version));
      log_.push_back(&entry);
    } catch (...) {
      entry.second.resize(before);
      if (entry.second.empty()) keys_.erase(entry.first);
      throw;
    }
    ++revision_;
    versions_gauge_.add(1);
  }

  // Queues the event for the sink (in revision order, since we still hold the write lock), then
  // delivers it before the writer hears of the revision.
  std::int64_t finish_write(std::unique_lock<std::shared_mutex>& lock, std::int64_t rev) {
    bool watching = watching_;
    if (watching) {
      Event event = event_at(rev);
      std::lock_guard pending(pending_mu_);
      pending_.push_back(std::move(event));
    }
    lock.unlock();
    if (watching) deliver();
    return rev;
  }

  // Drains the queue to the sink. Whoever holds delivery_mu_ delivers everything queued so far, so
  // once a writer gets past here its own event has been delivered, by it or by another writer. The
  // state lock is not held, so a sink may read the store.
  void deliver() noexcept {
    std::lock_guard delivering(delivery_mu_);
    std::vector<Event> batch;
    EventSink* sink = nullptr;
    {
      std::lock_guard pending(pending_mu_);
      batch.swap(pending_);
      sink = sink_;
    }
    if (sink != nullptr && !batch.empty()) sink->on_events(batch);
  }

  Status check_readable(std::int64_t at) const {
    if (at < 0) return plugin::invalid("store memory: negative revision " + std::to_string(at));
    if (at < compacted_)
      return plugin::expired("store memory: revision " + std::to_string(at) + " is compacted (compacted revision " +
                             std::to_string(compacted_) + ")");
    if (at > revision_)
      return plugin::invalid("store memory: revision " + std::to_string(at) + " is newer than the current revision " +
                             std::to_string(revision_));
    return Status::ok();
  }

  Status check_history(std::int64_t after) const {
    if (after < 0) return plugin::invalid("store memory: negative revision " + std::to_string(after));
    if (after < compacted_)
      return plugin::expired("store memory: history after revision " + std::to_string(after) +
                             " is compacted (compacted revision " + std::to_string(compacted_) + ")");
    return Status::ok();
  }

  // The version a read at `at` sees, or null when the key did not exist then.
  static const Version* visible_at(const std::vector<Version>& versions, std::int64_t at) {
    if (versions.back().mod_revision <= at) return versions.back().deleted ? nullptr : &versions.back();
    auto it = std::upper_bound(versions.begin(), versions.end(), at,
                               [](std::int64_t r, const Version& v) { return r < v.mod_revision; });
    if (it == versions.begin()) return nullptr;
    --it;
    return it->deleted ? nullptr : &*it;
  }

  // Rebuilds the event of revision `rev` (compacted_ < rev <= revision_) from the key's versions.
  Event event_at(std::int64_t rev) const {
    const KeyEntry& entry = *log_[static_cast<std::size_t>(rev - compacted_ - 1)];
    const auto& versions = entry.second;
    auto it = std::lower_bound(versions.begin(), versions.end(), rev,
                               [](const Version& v, std::int64_t r) { return v.mod_revision < r; });
    const Version* prev = it == versions.begin() ? nullptr : &*std::prev(it);
    if (prev != nullptr && prev->deleted) prev = nullptr;  // this write re-created the key
    Event event;
    event.type = it->deleted ? EventType::kDelete : EventType::kPut;
    event.kv.key = entry.first;
    event.kv.value = !it->deleted ? it->value : prev != nullptr ? prev->value : std::string();
    event.kv.create_revision = it->create_revision;
    event.kv.mod_revision = rev;
    if (prev != nullptr) {
      event.prev_value = prev->value;
      event.prev_mod_revision = prev->mod_revision;
    }
    return event;
  }

  std::vector<Event> events_after(std::int64_t after, std::size_t limit) const {
    std::vector<Event> events;
    std::int64_t last = revision_;
    if (limit != 0 && after < last) last = std::min(last, after + static_cast<std::int64_t>(limit));
    for (std::int64_t rev = after + 1; rev <= last; ++rev) events.push_back(event_at(rev));
    return events;
  }

  // Lock order: state_mu_ → pending_mu_. delivery_mu_ is never taken while holding state_mu_.
  std::shared_mutex state_mu_;
  KeyMap keys_;
  std::deque<KeyEntry*> log_;  // log_[i] is the key written at revision compacted_ + 1 + i
  std::int64_t revision_ = 0;
  std::int64_t compacted_ = 0;
  bool watching_ = false;

  std::mutex pending_mu_;
  std::vector<Event> pending_;  // committed, not yet delivered, in revision order
  EventSink* sink_ = nullptr;

  std::mutex delivery_mu_;  // one delivery at a time, so the sink sees revisions in order

  plugin::Gauge& versions_gauge_;
};

}  // namespace

plugin::Result<std::unique_ptr<plugin::store::Backend>> make_backend(const plugin::PluginContext& context) noexcept {
  try {
    context.logger.info("memory store ready", {{"durability", "none"}});
    return std::unique_ptr<plugin::store::Backend>(std::make_unique<MemoryBackend>(context.metrics));
  } catch (const std::exception& e) {
    return error_from(e);
  }
}

}  // namespace skiff::plugins::store::memory
