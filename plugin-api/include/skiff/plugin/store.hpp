// Role skiff.store.v1: the durable, revisioned key-value store under the kernel's object store.
//
// The model is etcd v3's: one cluster-wide revision counter, bumped by every successful write; each
// key remembers the revision that created it and the one that last modified it; the history of
// revisions is kept until compacted. The kernel's resourceVersion *is* this revision, so a backend
// never sees Kubernetes semantics (uids, finalizers, selectors): it stores opaque values by key.
//
// Keys are byte strings such as "/core/pods/default/web-0"; values are opaque (the kernel stores JSON).
// Every backend must pass tests/conformance/store.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugin::store {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;  // revision of the write that created this incarnation of the key
  std::int64_t mod_revision = 0;     // revision of the last write to it
};

enum class EventType : std::uint8_t { kPut, kDelete };

// One committed write. For kPut, kv is the new state (create_revision == mod_revision means the key was
// created by this write). For kDelete, kv holds the last value with mod_revision = the deleting revision.
// prev_value is the value before this write (empty when the write created the key).
struct Event {
  EventType type = EventType::kPut;
  KeyValue kv;
  std::string prev_value;
  std::int64_t prev_mod_revision = 0;  // 0 when the write created the key
};

struct RangeRequest {
  std::string_view prefix;       // every key starting with this
  std::string_view start_after;  // exclusive lower bound within the prefix ("" = from the start)
  std::int64_t revision = 0;     // read the state as of this revision; 0 = latest
  std::size_t limit = 0;         // 0 = no limit
};

struct RangeResponse {
  std::vector<KeyValue> kvs;  // ordered by key
  std::int64_t revision = 0;  // the revision the read was served at
  bool more = false;          // true when limit cut the result
};

// Receives every committed write, in revision order, exactly once. Called from a backend thread;
// must not call back into the backend's write methods.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_events(std::span<const Event> events) noexcept = 0;
};

// Keys are byte strings: for error messages, a key double-quoted with anything unprintable as \xNN.
inline std::string quote_key(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

class Backend {
 public:
  static constexpr std::string_view kRole = "skiff.store.v1";
  virtual ~Backend() = default;

  // Writes. Each success returns the new revision. A write is durable when it returns (as the backend
  // defines durable: fsync for sqlite, quorum for etcd, nothing for memory).
  // create: kAlreadyExists if the key exists.
  virtual Result<std::int64_t> create(std::string_view key, std::string_view value) noexcept = 0;
  // update: kNotFound if absent; kConflict if expected_mod_revision != 0 and differs from the key's.
  virtual Result<std::int64_t> update(std::string_view key, std::string_view value,
                                      std::int64_t expected_mod_revision) noexcept = 0;
  // erase: same preconditions as update.
  virtual Result<std::int64_t> erase(std::string_view key, std::int64_t expected_mod_revision) noexcept = 0;

  // Reads.
  virtual Result<KeyValue> get(std::string_view key) noexcept = 0;  // kNotFound if absent
  // kExpired if request.revision is older than the compacted revision; kInvalid if newer than current.
  virtual Result<RangeResponse> range(const RangeRequest& request) noexcept = 0;
  virtual Result<std::int64_t> current_revision() noexcept = 0;

  // History. Every event with revision > after_revision, oldest first, at most `limit` (0 = all).
  // kExpired if after_revision < compacted_revision().
  virtual Result<std::vector<Event>> history(std::int64_t after_revision, std::size_t limit) noexcept = 0;
  // Drops history at or below `revision` (the latest state of every key is always kept).
  virtual Status compact(std::int64_t revision) noexcept = 0;
  virtual std::int64_t compacted_revision() noexcept = 0;

  // Delivers every event after `after_revision` (catching up from history first), then every new
  // commit as it happens, to `sink`, until unwatch(). One sink at a time. Backends whose writers are
  // all in this process (sqlite, memory) deliver a commit before the write call returns, so the
  // kernel's cache has seen a write by the time the writer hears of it.
  virtual Status watch(std::int64_t after_revision, EventSink* sink) noexcept = 0;
  virtual void unwatch() noexcept = 0;
};

}  // namespace skiff::plugin::store
