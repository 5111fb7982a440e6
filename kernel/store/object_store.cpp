#include "kernel/store/object_store.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "kernel/store/object_json.hpp"
#include "kernel/util/json_parse.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::kernel {

namespace store = plugin::store;
using plugin::Code;

std::string_view watch_event_type_name(WatchEventType type) noexcept {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "ERROR";
}

namespace {

// Optimistic-concurrency retries (an unconditional update, update_with, delete) go on until they win
// or a deadline passes; after the first few tries they back off with jitter so that writers racing
// for one key take turns instead of starving one another.
class Retry {
 public:
  explicit Retry(std::chrono::milliseconds budget) : deadline_(std::chrono::steady_clock::now() + budget) {}
  // False when the budget is spent; otherwise sleeps as the attempt number asks and returns true.
  bool next() {
    if (attempt_++ < 4) return true;
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    thread_local std::minstd_rand jitter{std::random_device{}()};
    auto cap = std::min<std::int64_t>(10'000, 50LL << std::min(attempt_, 8));
    std::this_thread::sleep_for(std::chrono::microseconds(jitter() % static_cast<std::uint64_t>(cap)));
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  int attempt_ = 0;
};
constexpr std::size_t kRangePage = 5000;
// Revisions of history start() replays into the watch rings at most (see start()).
constexpr std::size_t kReplayOnStart = 10000;

// "/core/pods/" or "/apps/deployments/": every key of one resource starts with it.
std::string prefix_of(const ResourceType& type) {
  std::string p = "/";
  p += type.id.group.empty() ? "core" : type.id.group;
  p += '/';
  p += type.id.resource;
  p += '/';
  return p;
}

// The resource prefix of a backend key: everything up to and including the third '/'.
std::string_view key_prefix(std::string_view key) {
  std::size_t slash = 0;
  for (int i = 0; i < 3; ++i) {
    slash = key.find('/', slash + (i == 0 ? 0 : 1));
    if (slash == std::string_view::npos) return {};
  }
  return key.substr(0, slash + 1);
}

const Json* find_path(const Json& root, std::string_view dotted) {
  const Json* node = &root;
  while (!dotted.empty()) {
    std::size_t dot = dotted.find('.');
    std::string_view part = dotted.substr(0, dot);
    if (!node->is_object()) return nullptr;
    auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  return node;
}

// A string member, or "" when absent or not a string (client input must never make us throw).
std::string string_member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

// The immutable cached form of an object without its text: the metadata the selectors and indexes
// read without parsing again.
std::shared_ptr<Object> object_fields(const ResourceType& type, const Json& j, std::int64_t revision) {
  auto obj = std::make_shared<Object>();
  const Json& meta = j["metadata"];
  obj->resource_version = revision;
  if (auto it = meta.find("name"); it != meta.end() && it->is_string()) obj->name = it->get<std::string>();
  if (auto it = meta.find("namespace"); it != meta.end() && it->is_string()) obj->ns = it->get<std::string>();
  if (auto it = meta.find("uid"); it != meta.end() && it->is_string()) obj->uid = it->get<std::string>();
  if (auto it = meta.find("deletionTimestamp"); it != meta.end() && !it->is_null()) obj->deleting = true;
  if (auto it = meta.find("labels"); it != meta.end() && it->is_object()) {
    obj->labels.reserve(it->size());
    for (auto l = it->begin(); l != it->end(); ++l) obj->labels.emplace_back(l.key(), scalar_text(l.value()));
  }
  for (const auto& field : type.selectable_fields) {
    if (const Json* v = find_path(j, field)) {
      obj->fields.emplace_back(field, scalar_text(*v));
    } else if (field == "spec.hostNetwork" || field == "spec.unschedulable") {
      obj->fields.emplace_back(field, "false");  // Go's zero value, which the field selector compares against
    }
  }
  std::sort(obj->fields.begin(), obj->fields.end());
  return obj;
}

// The cached form of an object: its JSON text with resourceVersion set, plus object_fields().
ObjectPtr make_object(const ResourceType& type, Json& j, std::int64_t revision) {
  j["metadata"]["resourceVersion"] = std::to_string(revision);
  auto obj = object_fields(type, j, revision);
  obj->json = j.dump();
  return obj;
}

// The writer's side of a write: the stored text and the cached object already built around a
// resourceVersion placeholder, so that the sink (which runs serially inside the backend's commit)
// only checks the bytes and splices the revision in, instead of parsing and dumping again.
constexpr std::string_view kRevisionPlaceholder = "\u0001skiff-rv\u0001";  // cannot occur in a stored object

struct Prepared {
  std::string value;  // exactly what the backend stores
  std::shared_ptr<Object> object;  // json holds kRevisionPlaceholder where the revision goes
};

// The placeholder as dump() escapes it.
const std::string& escaped_placeholder() {
  static const std::string text = Json(std::string(kRevisionPlaceholder)).dump();
  return text;
}

// One dump serves both texts: the stored value is the cached text less its resourceVersion member
// (metadata always has a name before it, so the member is removed with its leading comma).
Prepared prepare(const ResourceType& type, Json& object) {
  Prepared p;
  Json& meta = object["metadata"];
  meta["resourceVersion"] = std::string(kRevisionPlaceholder);
  p.object = object_fields(type, object, 0);
  p.object->json = object.dump();
  meta.erase("resourceVersion");
  const std::string member = "\"resourceVersion\":" + escaped_placeholder();
  p.value = p.object->json;
  std::size_t at = p.value.find(member);
  if (at > 0 && p.value[at - 1] == ',') {
    p.value.erase(at - 1, member.size() + 1);
  } else if (at + member.size() < p.value.size() && p.value[at + member.size()] == ',') {
    p.value.erase(at, member.size() + 1);
  } else {
    p.value.erase(at, member.size());
  }
  return p;
}

// Completes the prepared object in place (it is handed over, not copied: one write commits once).
ObjectPtr finish_prepared(std::shared_ptr<Object> obj, std::int64_t revision) {
  const std::string& ph = escaped_placeholder();
  auto at = obj->json.find(ph);
  obj->json.replace(at, ph.size(), "\"" + std::to_string(revision) + "\"");
  obj->resource_version = revision;
  return obj;
}

// Whether a prepared text (resourceVersion still the placeholder) says exactly what a cached
// object's text says, its resourceVersion aside. Both are dumps of the same canonical form (sorted
// keys, no spaces), so equal bytes mean an equal object; like the apiserver, which compares the
// encoded bytes, an update that changes nothing then writes nothing.
bool same_but_revision(const std::string& prepared_json, const std::string& cached_json) {
  const std::string& ph = escaped_placeholder();
  std::size_t at = prepared_json.find(ph);
  if (at == std::string::npos || cached_json.size() <= at || cached_json.compare(0, at, prepared_json, 0, at) != 0 ||
      cached_json[at] != '"')
    return false;
  std::size_t close = cached_json.find('"', at + 1);
  return close != std::string::npos &&
         cached_json.compare(close + 1, std::string::npos, prepared_json, at + ph.size(), std::string::npos) == 0;
}

ObjectPtr decode(const ResourceType& type, std::string_view value, std::int64_t revision) {
  Json j = parse_json_or_discarded(value);
  if (!j.is_object()) j = Json::object();
  return make_object(type, j, revision);
}

std::string not_found_message(const ResourceType& type, std::string_view name) {
  return type.qualified_name() + " \"" + std::string(name) + "\" not found";
}

std::string conflict_message(const ResourceType& type, std::string_view name) {
  return "Operation cannot be fulfilled on " + type.qualified_name() + " \"" + std::string(name) +
         "\": the object has been modified; please apply your changes to the latest version and try again";
}

// Continue tokens carry the snapshot revision and the last key returned, base64-encoded JSON like
// Kubernetes' ({"v":"meta.k8s.io/v1","rv":N,"start":"…"}), so clients treat them as opaque.
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t n = (static_cast<std::uint8_t>(in[i]) << 16) | (static_cast<std::uint8_t>(in[i + 1]) << 8) |
                      static_cast<std::uint8_t>(in[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<std::uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<std::uint8_t>(in[i + 1]) << 8;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    auto pos = kB64.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buf = (buf << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

std::string encode_continue(std::int64_t revision, std::string_view start_after) {
  return base64_encode(Json{{"v", "meta.k8s.io/v1"}, {"rv", revision}, {"start", start_after}}.dump());
}

struct ContinueToken {
  std::int64_t revision = 0;
  std::string start_after;
};

Result<ContinueToken> decode_continue(std::string_view token) {
  auto raw = base64_decode(token);
  if (raw) {
    Json j = parse_json_or_discarded(*raw);
    if (j.is_object() && string_member(j, "v") == "meta.k8s.io/v1" && j.contains("rv") && j["rv"].is_number_integer() &&
        j.contains("start") && j["start"].is_string()) {
      return ContinueToken{j["rv"].get<std::int64_t>(), j["start"].get<std::string>()};
    }
  }
  return plugin::bad_request("continue key is not valid: the token is not one this server issued");
}

struct Filter {
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;

  bool matches(const Object& o) const {
    if (!ns.empty() && o.ns != ns) return false;
    if (!labels.empty() && !labels.matches(o.labels)) return false;
    if (!fields.empty() && !fields.matches(o)) return false;
    return true;
  }
};

Result<Filter> make_filter(std::string_view ns, std::string_view label_selector, std::string_view field_selector) {
  Filter f;
  f.ns = ns;
  auto labels = LabelSelector::parse(label_selector);
  if (!labels) return labels.status().with_context("labelSelector");
  f.labels = std::move(*labels);
  auto fields = FieldSelector::parse(field_selector);
  if (!fields) return fields.status().with_context("fieldSelector");
  f.fields = std::move(*fields);
  return f;
}

// Whether anything outside metadata and status differs (a change there bumps metadata.generation),
// compared member by member in place: copying both objects less those two cost as much again.
bool spec_changed(const Json& before, const Json& after) {
  auto counted = [](const std::string& key) { return key != "metadata" && key != "status"; };
  std::size_t members = 0;
  for (auto it = before.begin(); it != before.end(); ++it) {
    if (!counted(it.key())) continue;
    ++members;
    auto other = after.find(it.key());
    if (other == after.end() || *other != it.value()) return true;
  }
  for (auto it = after.begin(); it != after.end(); ++it)
    if (counted(it.key())) --members;
  return members != 0;
}

std::vector<std::string> finalizers_of(const Json& j) {
  std::vector<std::string> out;
  const Json* f = find_path(j, "metadata.finalizers");
  if (f && f->is_array())
    for (const auto& v : *f)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// metadata.deletionGracePeriodSeconds; 0 when absent. > 0 on an object being deleted: a graceful
// deletion is pending and the one who deletes gracefully (the node agent, for a pod) finishes it.
std::int64_t deletion_grace_of(const Json& j) {
  const Json* g = find_path(j, "metadata.deletionGracePeriodSeconds");
  return g && g->is_number_integer() ? g->get<std::int64_t>() : 0;
}

}  // namespace

ObjectPtr object_from_json(const ResourceType& type, Json object) {
  std::int64_t revision = 0;
  if (object.contains("metadata") && object["metadata"].is_object()) {
    std::string rv = string_member(object["metadata"], "resourceVersion");
    if (!rv.empty()) revision = std::strtoll(rv.c_str(), nullptr, 10);
  }
  return make_object(type, object, revision);
}

// One committed change as the watch cache keeps it.
struct CachedEvent {
  std::int64_t revision;
  WatchEventType type;  // kAdded, kModified or kDeleted
  ObjectPtr object;     // the new state (for kDeleted: the last state, at the deleting revision)
  ObjectPtr prev;       // the state before, or null
};

class WatchImpl;

// The watch cache of one resource: the current objects and a ring of recent events.
struct ResourceCache {
  const ResourceType* type = nullptr;
  std::string prefix;

  mutable std::shared_mutex mutex;
  std::map<std::string, ObjectPtr, std::less<>> objects;  // by "namespace/name" (or "name"): list order
  std::deque<CachedEvent> ring;
  std::int64_t revision = 0;      // the last revision applied to this resource (or the load revision)
  std::int64_t window_start = 0;  // every event with revision > window_start is in the ring

  std::mutex watchers_mutex;
  std::vector<std::shared_ptr<WatchImpl>> watchers;

  static std::string object_key(std::string_view ns, std::string_view name) {
    if (ns.empty()) return std::string(name);
    std::string k;
    k.reserve(ns.size() + name.size() + 1);
    k.append(ns).append("/").append(name);
    return k;
  }

  // Under a shared lock: the event with exactly this revision, if still in the ring.
  ObjectPtr object_at(std::int64_t rev) const {
    auto it = std::lower_bound(ring.begin(), ring.end(), rev,
                               [](const CachedEvent& e, std::int64_t r) { return e.revision < r; });
    if (it != ring.end() && it->revision == rev) return it->object;
    return nullptr;
  }
};

class WatchImpl final : public Watch, public std::enable_shared_from_this<WatchImpl> {
 public:
  WatchImpl(ResourceCache* cache, Filter filter, const WatchOptions& options)
      : cache_(cache), filter_(std::move(filter)), bookmarks_(options.bookmarks),
        bookmark_interval_(options.bookmark_interval), last_sent_(std::chrono::steady_clock::now()) {}

  // Called with the cache's lock held (shared or exclusive) when the watch starts.
  void begin(std::optional<std::int64_t> from, std::int64_t current_revision, std::int64_t window_start) {
    if (!from) {
      for (const auto& [key, obj] : cache_->objects)
        if (filter_.matches(*obj)) initial_.push_back(WatchEvent{WatchEventType::kAdded, obj, obj->resource_version, {}});
      cursor_ = current_revision;
    } else if (*from < window_start) {
      fail(plugin::expired("too old resource version: " + std::to_string(*from) + " (" +
                           std::to_string(window_start + 1) + ")"));
    } else {
      cursor_ = *from;
    }
  }

  std::vector<WatchEvent> poll(std::size_t max) override {
    std::vector<WatchEvent> out;
    std::lock_guard lock(mutex_);
    pending_.store(false, std::memory_order_release);
    if (done_) return out;
    if (max == 0) max = SIZE_MAX;
    while (!initial_.empty() && out.size() < max) {
      out.push_back(std::move(initial_.front()));
      initial_.pop_front();
    }
    if (error_) {
      if (out.size() < max) {
        out.push_back(WatchEvent{WatchEventType::kError, nullptr, 0, *error_});
        finish_locked();
      }
      return out;
    }
    bool progressed = false;
    {
      std::shared_lock cache_lock(cache_->mutex);
      if (cursor_ < cache_->window_start) {
        error_ = plugin::expired("watcher fell behind: events after resourceVersion " + std::to_string(cursor_) +
                                 " are no longer retained; re-list and watch again");
      } else {
        auto& ring = cache_->ring;
        auto it = std::upper_bound(ring.begin(), ring.end(), cursor_,
                                   [](std::int64_t r, const CachedEvent& e) { return r < e.revision; });
        for (; it != ring.end() && out.size() < max; ++it) {
          cursor_ = it->revision;
          progressed = true;
          if (auto ev = translate(*it)) out.push_back(std::move(*ev));
        }
        if (it != ring.end()) pending_.store(true, std::memory_order_release);  // more to read
      }
    }
    if (error_ && out.size() < max) {
      out.push_back(WatchEvent{WatchEventType::kError, nullptr, 0, *error_});
      finish_locked();
      return out;
    }
    auto now = std::chrono::steady_clock::now();
    if (!out.empty()) {
      last_sent_ = now;
    } else if (bookmarks_ && now - last_sent_ >= bookmark_interval_ && (progressed || cursor_ > last_bookmark_)) {
      out.push_back(WatchEvent{WatchEventType::kBookmark, nullptr, cursor_, {}});
      last_bookmark_ = cursor_;
      last_sent_ = now;
    }
    return out;
  }

  std::vector<WatchEvent> wait(std::size_t max, std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto events = poll(max);
      if (!events.empty() || done()) return events;
      std::unique_lock lock(wake_mutex_);
      if (!wake_cv_.wait_until(lock, deadline, [&] { return pending_.load(std::memory_order_acquire) || stopped_; }))
        return {};
    }
  }

  void set_notify(std::function<void()> notify) override {
    std::lock_guard lock(wake_mutex_);
    notify_ = std::move(notify);
  }

  bool done() const override {
    std::lock_guard lock(mutex_);
    return done_;
  }

  void stop() override;

  // From the writer side, after new events were appended. Coalesced: a watcher already flagged
  // as pending is not woken again, so a burst costs one wake-up per watcher.
  void notify() {
    if (pending_.exchange(true, std::memory_order_acq_rel)) return;
    std::function<void()> cb;
    {
      std::lock_guard lock(wake_mutex_);
      cb = notify_;
    }
    wake_cv_.notify_all();
    if (cb) cb();
  }

  void fail(plugin::Status status) {
    error_ = std::move(status);
    pending_.store(true);
  }

 private:
  // Selector semantics of Kubernetes' watch cache: an object that stops matching is reported as
  // DELETED, one that starts matching as ADDED.
  std::optional<WatchEvent> translate(const CachedEvent& e) const {
    bool now = filter_.matches(*e.object);
    bool before = e.prev && filter_.matches(*e.prev);
    switch (e.type) {
      case WatchEventType::kAdded:
        if (now) return WatchEvent{WatchEventType::kAdded, e.object, e.revision, {}};
        return std::nullopt;
      case WatchEventType::kModified:
        if (now && before) return WatchEvent{WatchEventType::kModified, e.object, e.revision, {}};
        if (now) return WatchEvent{WatchEventType::kAdded, e.object, e.revision, {}};
        if (before) return WatchEvent{WatchEventType::kDeleted, e.object, e.revision, {}};
        return std::nullopt;
      case WatchEventType::kDeleted:
        if (before || now) return WatchEvent{WatchEventType::kDeleted, e.object, e.revision, {}};
        return std::nullopt;
      default: return std::nullopt;
    }
  }

  void finish_locked() { done_ = true; }

  ResourceCache* cache_;
  Filter filter_;
  bool bookmarks_;
  std::chrono::milliseconds bookmark_interval_;

  mutable std::mutex mutex_;  // guards the fields below
  std::deque<WatchEvent> initial_;
  std::int64_t cursor_ = 0;  // every event with revision <= cursor_ has been looked at
  std::optional<plugin::Status> error_;
  bool done_ = false;
  std::chrono::steady_clock::time_point last_sent_;
  std::int64_t last_bookmark_ = 0;

  std::atomic<bool> pending_{true};
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  std::function<void()> notify_;
  bool stopped_ = false;
};

void WatchImpl::stop() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  {
    std::lock_guard lock(wake_mutex_);
    stopped_ = true;
    notify_ = nullptr;
  }
  wake_cv_.notify_all();
  std::lock_guard lock(cache_->watchers_mutex);
  auto& w = cache_->watchers;
  w.erase(std::remove_if(w.begin(), w.end(), [this](const auto& p) { return p.get() == this; }), w.end());
}

// What a caller holds: stops the shared watcher when dropped.
class WatchHandle final : public Watch {
 public:
  explicit WatchHandle(std::shared_ptr<WatchImpl> impl) : impl_(std::move(impl)) {}
  ~WatchHandle() override { impl_->stop(); }
  std::vector<WatchEvent> poll(std::size_t max) override { return impl_->poll(max); }
  std::vector<WatchEvent> wait(std::size_t max, std::chrono::milliseconds timeout) override {
    return impl_->wait(max, timeout);
  }
  void set_notify(std::function<void()> notify) override { impl_->set_notify(std::move(notify)); }
  bool done() const override { return impl_->done(); }
  void stop() override { impl_->stop(); }

 private:
  std::shared_ptr<WatchImpl> impl_;
};

struct ObjectStore::Impl final : public store::EventSink {
  store::Backend* backend = nullptr;
  const plugin::Clock* clock = nullptr;
  ObjectStoreOptions options;
  std::map<std::string, std::unique_ptr<ResourceCache>, std::less<>> caches;  // by prefix; fixed after start()
  std::mutex sink_mutex;                                                      // one batch at a time, in order

  // Writes in flight, by key: the sink uses them instead of decoding the stored value.
  std::mutex prepared_mutex;
  std::unordered_map<std::string, Prepared> prepared;

  // Registers a write's prepared object until the write returns.
  struct PreparedGuard {
    Impl* impl;
    std::string key;
    ~PreparedGuard() {
      std::lock_guard lock(impl->prepared_mutex);
      impl->prepared.erase(key);
    }
  };
  PreparedGuard expect(const std::string& key, Prepared p) {
    std::lock_guard lock(prepared_mutex);
    prepared[key] = std::move(p);
    return PreparedGuard{this, key};
  }
  // The cached object for a committed put: from the writer's prepared object when it matches the
  // stored bytes exactly, else decoded.
  ObjectPtr object_for(const ResourceType& type, const plugin::store::Event& e) {
    {
      std::lock_guard lock(prepared_mutex);
      auto it = prepared.find(e.kv.key);
      if (it != prepared.end() && it->second.object && it->second.value == e.kv.value)
        return finish_prepared(std::move(it->second.object), e.kv.mod_revision);
    }
    return decode(type, e.kv.value, e.kv.mod_revision);
  }

  std::mutex applied_mutex;
  std::condition_variable applied_cv;
  std::atomic<std::int64_t> applied{0};
  bool watching = false;

  ResourceCache* cache_for(const ResourceType& type) const {
    auto it = caches.find(prefix_of(type));
    return it == caches.end() ? nullptr : it->second.get();
  }

  void on_events(std::span<const store::Event> events) noexcept override {
    std::lock_guard order(sink_mutex);
    std::int64_t last = 0;
    for (const auto& e : events) {
      last = std::max(last, e.kv.mod_revision);
      auto it = caches.find(key_prefix(e.kv.key));
      if (it == caches.end()) continue;  // a key of a resource this kernel does not serve
      try {
        apply(*it->second, e);
      } catch (...) {
        // A value that cannot be decoded must not stop the stream; it stays out of the cache.
      }
    }
    {
      std::lock_guard lock(applied_mutex);
      if (last > applied.load()) applied.store(last);
    }
    applied_cv.notify_all();
  }

  void apply(ResourceCache& cache, const store::Event& e) {
    std::string_view rest = std::string_view(e.kv.key).substr(cache.prefix.size());
    std::vector<std::shared_ptr<WatchImpl>> to_notify;
    {
      std::unique_lock lock(cache.mutex);
      if (e.kv.mod_revision <= cache.revision) return;  // already loaded (watch catch-up overlap)
      auto it = cache.objects.find(rest);
      ObjectPtr prev = it == cache.objects.end() ? nullptr : it->second;
      CachedEvent ce{e.kv.mod_revision, WatchEventType::kAdded, nullptr, prev};
      if (e.type == store::EventType::kDelete) {
        ce.type = WatchEventType::kDeleted;
        ce.object = decode(*cache.type, e.kv.value, e.kv.mod_revision);
        if (it != cache.objects.end()) cache.objects.erase(it);
      } else {
        ce.type = prev ? WatchEventType::kModified : WatchEventType::kAdded;
        ce.object = object_for(*cache.type, e);
        if (it != cache.objects.end()) {
          it->second = ce.object;
        } else {
          cache.objects.emplace(std::string(rest), ce.object);
        }
      }
      cache.revision = e.kv.mod_revision;
      cache.ring.push_back(std::move(ce));
      while (cache.ring.size() > options.watch_window) {
        cache.window_start = cache.ring.front().revision;
        cache.ring.pop_front();
      }
    }
    std::lock_guard wl(cache.watchers_mutex);
    for (const auto& w : cache.watchers) w->notify();
  }

  // Waits until the caches have applied `revision` (immediate for in-process backends).
  bool wait_applied(std::int64_t revision) {
    if (applied.load() >= revision) return true;
    std::unique_lock lock(applied_mutex);
    return applied_cv.wait_for(lock, options.write_visibility_timeout, [&] { return applied.load() >= revision; });
  }

  // The object our write produced, from the cache (so callers share the cached copy).
  ObjectPtr written(ResourceCache& cache, const ResourceType& type, std::int64_t revision, Json& fallback) {
    if (wait_applied(revision)) {
      std::shared_lock lock(cache.mutex);
      if (auto obj = cache.object_at(revision)) return obj;
    }
    return make_object(type, fallback, revision);
  }

  ObjectPtr current(const ResourceCache& cache, std::string_view ns, std::string_view name) const {
    std::shared_lock lock(cache.mutex);
    auto it = cache.objects.find(ResourceCache::object_key(ns, name));
    return it == cache.objects.end() ? nullptr : it->second;
  }
};

ObjectStore::ObjectStore(std::shared_ptr<store::Backend> backend, const ResourceRegistry& registry,
                         const plugin::Clock& clock, ObjectStoreOptions options)
    : backend_(std::move(backend)), registry_(registry), impl_(std::make_unique<Impl>()) {
  impl_->backend = backend_.get();
  impl_->clock = &clock;
  impl_->options = options;
  if (impl_->options.watch_window == 0) impl_->options.watch_window = 1;
}

ObjectStore::~ObjectStore() { stop(); }

std::string ObjectStore::key_of(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::string key = prefix_of(type);
  if (type.namespaced) key.append(ns).append("/");
  key.append(name);
  return key;
}

Status ObjectStore::start() {
  auto rev = backend_->current_revision();
  if (!rev) return rev.status().with_context("store");
  const std::int64_t at = *rev;
  // The caches are loaded as of a revision somewhat in the past and the backend's history is then
  // replayed on top, so the watch rings of a restarted server already hold recent events: a client
  // that watched the previous process resumes from its resourceVersion instead of getting 410 and
  // listing everything again (a control-plane restart would otherwise make every agent re-list).
  // The look-back is bounded so a large store still starts quickly.
  const std::int64_t look_back =
      static_cast<std::int64_t>(std::min<std::size_t>(impl_->options.watch_window, kReplayOnStart));
  std::int64_t from = std::max({std::int64_t{0}, at - look_back, backend_->compacted_revision()});
  Status loaded = load_caches(from);
  if (!loaded && loaded.code() == Code::kExpired && from != at) {
    // Compacted under us (another writer, e.g. an etcd shared by several servers): start at `at`.
    from = at;
    loaded = load_caches(from);
  }
  if (!loaded) return loaded;
  impl_->applied.store(from);
  if (auto st = backend_->watch(from, impl_.get()); !st) return st.with_context("store: watch");
  impl_->watching = true;
  // In-process backends replay inside watch(); a remote one (etcd) streams it: wait for it so the
  // first read after start sees the latest state.
  if (!impl_->wait_applied(at))
    return plugin::unavailable("store: replaying history from revision " + std::to_string(from) + " to " +
                               std::to_string(at) + " did not finish in time");
  return Status::ok();
}

Status ObjectStore::load_caches(std::int64_t at) {
  impl_->caches.clear();
  for (const ResourceType* type : registry_.all()) {
    auto cache = std::make_unique<ResourceCache>();
    cache->type = type;
    cache->prefix = prefix_of(*type);
    cache->revision = at;
    cache->window_start = at;
    std::string start_after;
    // At revision 0 nothing existed yet (and a range at revision 0 would mean "the latest").
    while (at > 0) {
      store::RangeRequest req{cache->prefix, start_after, at, kRangePage};
      auto page = backend_->range(req);
      if (!page) return page.status().with_context("store: loading " + type->qualified_name());
      for (auto& kv : page->kvs) {
        auto obj = decode(*type, kv.value, kv.mod_revision);
        cache->objects.emplace(kv.key.substr(cache->prefix.size()), std::move(obj));
      }
      if (!page->more || page->kvs.empty()) break;
      start_after = page->kvs.back().key;
    }
    impl_->caches.emplace(cache->prefix, std::move(cache));
  }
  return Status::ok();
}

void ObjectStore::stop() {
  if (impl_ && impl_->watching) {
    backend_->unwatch();
    impl_->watching = false;
  }
}

std::int64_t ObjectStore::current_revision() const { return impl_->applied.load(); }

Status ObjectStore::compact(std::int64_t revision) { return backend_->compact(revision); }

Result<ObjectPtr> ObjectStore::create(const ResourceType& type, std::string_view ns, Json object) {
  ResourceCache* cache = impl_->cache_for(type);
  if (!cache) return plugin::not_found("the server could not find the requested resource " + type.qualified_name());
  if (!object.is_object()) return plugin::bad_request("the body must be a JSON object");
  if (auto it = object.find("apiVersion"); it != object.end() && (!it->is_string() || *it != type.api_version()))
    return plugin::bad_request("the API version in the data (" + scalar_text(*it) +
                               ") does not match the expected API version (" + type.api_version() + ")");
  if (auto it = object.find("kind"); it != object.end() && (!it->is_string() || *it != type.kind))
    return plugin::bad_request("the kind in the data (" + scalar_text(*it) + ") does not match the expected kind (" +
                               type.kind + ")");
  object["apiVersion"] = type.api_version();
  object["kind"] = type.kind;
  Json& meta = object["metadata"];
  if (!meta.is_object()) return plugin::invalid("metadata: Invalid value: must be an object");

  std::vector<std::string> errors;
  std::string name = string_member(meta, "name");
  if (name.empty()) {
    std::string gen = string_member(meta, "generateName");
    if (gen.empty()) return plugin::invalid("metadata.name: Required value: name or generateName is required");
    name = gen + random_name_suffix();
    meta["name"] = name;
  }
  bool label_names = type.id.group.empty() && (type.id.resource == "namespaces" || type.id.resource == "services");
  std::string name_error = label_names ? dns1123_label_error(name) : dns1123_subdomain_error(name);
  if (!name_error.empty()) errors.push_back("metadata.name: Invalid value: \"" + name + "\": " + name_error);

  std::string object_ns = string_member(meta, "namespace");
  if (type.namespaced) {
    if (!ns.empty() && !object_ns.empty() && object_ns != ns)
      return plugin::bad_request("the namespace of the provided object does not match the namespace sent on the "
                                 "request");
    if (object_ns.empty()) object_ns = ns;
    if (object_ns.empty()) errors.push_back("metadata.namespace: Required value");
    meta["namespace"] = object_ns;
  } else {
    meta.erase("namespace");
    object_ns.clear();
  }
  if (meta.contains("resourceVersion") && !meta["resourceVersion"].is_null() && meta["resourceVersion"] != "")
    errors.push_back("metadata.resourceVersion: Invalid value: \"" + scalar_text(meta["resourceVersion"]) +
                     "\": must be empty on create");
  if (!errors.empty()) {
    std::string msg = type.kind + " \"" + name + "\" is invalid: ";
    for (std::size_t i = 0; i < errors.size(); ++i) msg += (i ? ", " : "") + errors[i];
    return plugin::invalid(msg);
  }

  meta.erase("resourceVersion");
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta.erase("selfLink");
  // A uid the API layer assigned before admission is kept; otherwise the store makes one.
  if (string_member(meta, "uid").empty()) meta["uid"] = new_uid();
  meta["creationTimestamp"] = format_rfc3339(impl_->clock->now_ms());
  meta["generation"] = 1;

  std::string key = key_of(type, object_ns, name);
  Prepared prepared = prepare(type, object);
  std::string value = prepared.value;
  auto guard = impl_->expect(key, std::move(prepared));
  auto rev = backend_->create(key, value);
  if (!rev) {
    if (rev.status().code() == Code::kAlreadyExists)
      return plugin::already_exists(type.qualified_name() + " \"" + name + "\" already exists");
    return rev.status();
  }
  return impl_->written(*cache, type, *rev, object);
}

Result<ObjectPtr> ObjectStore::get(const ResourceType& type, std::string_view ns, std::string_view name) const {
  ResourceCache* cache = impl_->cache_for(type);
  if (!cache) return plugin::not_found("the server could not find the requested resource " + type.qualified_name());
  if (auto obj = impl_->current(*cache, type.namespaced ? ns : "", name)) return obj;
  return plugin::not_found(not_found_message(type, name));
}

Result<ListResult> ObjectStore::list(const ResourceType& type, const ListOptions& options) const {
  ResourceCache* cache = impl_->cache_for(type);
  if (!cache) return plugin::not_found("the server could not find the requested resource " + type.qualified_name());
  auto filter = make_filter(type.namespaced ? options.ns : "", options.label_selector, options.field_selector);
  if (!filter) return filter.status();
  std::size_t limit = options.limit == 0 ? SIZE_MAX : options.limit;
  ListResult result;

  if (options.continue_token.empty()) {
    // First (or only) page: from the cache, a consistent snapshot at cache->revision.
    std::shared_lock lock(cache->mutex);
    result.resource_version = std::max(cache->revision, impl_->applied.load());
    auto it = cache->objects.begin();
    std::string ns_prefix;
    if (type.namespaced && !options.ns.empty()) {
      ns_prefix = options.ns + "/";
      it = cache->objects.lower_bound(ns_prefix);
    }
    for (; it != cache->objects.end(); ++it) {
      if (!ns_prefix.empty() && it->first.compare(0, ns_prefix.size(), ns_prefix) != 0) break;
      if (!filter->matches(*it->second)) continue;
      if (result.items.size() == limit) {
        // More remain: later pages read the backend at the snapshot's revision.
        result.resource_version = cache->revision;
        result.continue_token = encode_continue(cache->revision, cache->prefix + result.items.back()->key());
        break;
      }
      result.items.push_back(it->second);
    }
    return result;
  }

  auto token = decode_continue(options.continue_token);
  if (!token) return token.status();
  if (token->start_after.compare(0, cache->prefix.size(), cache->prefix) != 0)
    return plugin::bad_request("continue key is not valid: it belongs to another resource");
  result.resource_version = token->revision;
  std::string scan_prefix = cache->prefix;
  if (type.namespaced && !options.ns.empty()) scan_prefix += options.ns + "/";
  std::string start_after = token->start_after;
  while (true) {
    store::RangeRequest req{scan_prefix, start_after, token->revision, std::min<std::size_t>(limit + 1, kRangePage)};
    auto page = backend_->range(req);
    if (!page) {
      if (page.status().code() == Code::kExpired)
        return plugin::expired("The provided continue parameter is too old to display a consistent list result. "
                               "You can start a new list without the continue parameter.");
      return page.status();
    }
    for (auto& kv : page->kvs) {
      start_after = kv.key;
      auto obj = decode(type, kv.value, kv.mod_revision);
      if (!filter->matches(*obj)) continue;
      if (result.items.size() == limit) {
        result.continue_token = encode_continue(token->revision, cache->prefix + result.items.back()->key());
        return result;
      }
      result.items.push_back(std::move(obj));
    }
    if (!page->more || page->kvs.empty()) break;
  }
  return result;
}

Result<ObjectPtr> ObjectStore::update(const ResourceType& type, Json object, UpdateOptions options) {
  return update_known(type, std::move(object), options, nullptr, Json());
}

Result<ObjectPtr> ObjectStore::update_known(const ResourceType& type, Json object, UpdateOptions options,
                                            const ObjectPtr& known, Json known_json) {
  ResourceCache* cache = impl_->cache_for(type);
  if (!cache) return plugin::not_found("the server could not find the requested resource " + type.qualified_name());
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object())
    return plugin::bad_request("the body must be a JSON object with metadata");
  Json& meta = object["metadata"];
  std::string name = string_member(meta, "name");
  std::string ns = type.namespaced ? string_member(meta, "namespace") : "";
  if (name.empty()) return plugin::invalid("metadata.name: Required value");
  if (type.namespaced && ns.empty()) return plugin::invalid("metadata.namespace: Required value");

  std::int64_t expected = 0;
  if (auto it = meta.find("resourceVersion"); it != meta.end() && !it->is_null() && *it != "") {
    std::string text = scalar_text(*it);
    char* end = nullptr;
    expected = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || expected <= 0)
      return plugin::bad_request("metadata.resourceVersion: Invalid value: \"" + text + "\": must be a number");
  }

  std::string key = key_of(type, ns, name);
  for (Retry retry(impl_->options.write_visibility_timeout); retry.next();) {
    ObjectPtr old_obj = impl_->current(*cache, ns, name);
    if (!old_obj) return plugin::not_found(not_found_message(type, name));
    if (expected != 0 && expected != old_obj->resource_version) {
      // The cache can trail the backend for remote writers; the backend has the final word below.
      if (expected > old_obj->resource_version) impl_->wait_applied(expected);
      old_obj = impl_->current(*cache, ns, name);
      if (!old_obj) return plugin::not_found(not_found_message(type, name));
      if (expected != old_obj->resource_version) return plugin::conflict(conflict_message(type, name));
    }
    Json old_json =
        known && old_obj == known && known_json.is_object() ? std::move(known_json) : parse_json(old_obj->json);
    // Only an unconditional update goes round again (on a conflict), so only it needs `object` kept.
    Json next = expected == 0 ? object : std::move(object);
    Json& nm = next["metadata"];
    const Json& om = old_json["metadata"];

    if (auto it = next.find("apiVersion"); it != next.end() && *it != type.api_version())
      return plugin::bad_request("the API version in the data does not match the expected API version (" +
                                 type.api_version() + ")");
    if (auto it = next.find("kind"); it != next.end() && *it != type.kind)
      return plugin::bad_request("the kind in the data does not match the expected kind (" + type.kind + ")");
    next["apiVersion"] = type.api_version();
    next["kind"] = type.kind;
    if (auto it = nm.find("uid"); it != nm.end() && !it->is_null() && *it != "" && *it != string_member(om, "uid"))
      return plugin::conflict("Precondition failed: UID in precondition: " + scalar_text(*it) +
                              ", UID in object meta: " + string_member(om, "uid"));

    if (options.status) {
      // /status: only status changes; everything else stays as stored.
      Json merged = old_json;
      if (next.contains("status")) {
        merged["status"] = next["status"];
      } else {
        merged.erase("status");
      }
      next = std::move(merged);
    } else {
      // Immutable and server-owned metadata stays as stored.
      for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"}) {
        if (om.contains(k)) {
          nm[k] = om[k];
        } else {
          nm.erase(k);
        }
      }
      nm.erase("selfLink");
      if (type.has_status && !options.with_status) {
        if (old_json.contains("status")) {
          next["status"] = old_json["status"];
        } else {
          next.erase("status");
        }
      }
      // The internal write (pods/binding) keeps the generation: Kubernetes' binding storage writes
      // below the pod strategy that counts spec changes.
      if (!options.with_status && spec_changed(old_json, next)) {
        auto gen = om.find("generation");
        nm["generation"] = (gen != om.end() && gen->is_number_integer() ? gen->get<std::int64_t>() : 0) + 1;
      }
    }
    next["metadata"].erase("resourceVersion");

    auto old_finalizers = finalizers_of(old_json);
    auto new_finalizers = finalizers_of(next);
    if (old_obj->deleting) {
      for (const auto& f : new_finalizers)
        if (std::find(old_finalizers.begin(), old_finalizers.end(), f) == old_finalizers.end())
          return plugin::invalid(type.kind + " \"" + name + "\" is invalid: metadata.finalizers: Forbidden: no new " +
                                 "finalizers can be added if the object is being deleted, found new finalizers [\"" +
                                 f + "\"]");
    }

    Prepared prepared = prepare(type, next);
    if (same_but_revision(prepared.object->json, old_obj->json)) return old_obj;  // no write, same resourceVersion

    if (old_obj->deleting && new_finalizers.empty() && deletion_grace_of(old_json) == 0) {
      // The last finalizer is gone and no graceful deletion is pending: the object goes.
      auto rev = backend_->erase(key, old_obj->resource_version);
      if (!rev) {
        if (rev.status().code() == Code::kConflict && expected == 0) continue;
        if (rev.status().code() == Code::kConflict) return plugin::conflict(conflict_message(type, name));
        if (rev.status().code() == Code::kNotFound) return plugin::not_found(not_found_message(type, name));
        return rev.status();
      }
      return impl_->written(*cache, type, *rev, next);
    }

    std::string value = prepared.value;
    auto guard = impl_->expect(key, std::move(prepared));
    auto rev = backend_->update(key, value, old_obj->resource_version);
    if (!rev) {
      if (rev.status().code() == Code::kConflict && expected == 0) continue;  // unconditional: retry on fresh state
      if (rev.status().code() == Code::kConflict) return plugin::conflict(conflict_message(type, name));
      if (rev.status().code() == Code::kNotFound) return plugin::not_found(not_found_message(type, name));
      return rev.status();
    }
    return impl_->written(*cache, type, *rev, next);
  }
  return plugin::conflict(conflict_message(type, name) + " (too many concurrent writers)");
}

Result<ObjectPtr> ObjectStore::update_with(const ResourceType& type, std::string_view ns, std::string_view name,
                                           const std::function<Status(Json&)>& mutate, UpdateOptions options) {
  for (Retry retry(impl_->options.write_visibility_timeout); retry.next();) {
    auto cur = get(type, ns, name);
    if (!cur) return cur.status();
    Json old_json = parse_json((*cur)->json);
    Json j = old_json;
    if (auto st = mutate(j); !st) return st;
    j["metadata"]["resourceVersion"] = std::to_string((*cur)->resource_version);
    auto res = update_known(type, std::move(j), options, *cur, std::move(old_json));
    if (res || res.status().code() != Code::kConflict) return res;
  }
  return plugin::conflict(conflict_message(type, name) + " (too many concurrent writers)");
}

Result<DeleteResult> ObjectStore::remove(const ResourceType& type, std::string_view ns, std::string_view name,
                                         const DeleteOptions& options) {
  ResourceCache* cache = impl_->cache_for(type);
  if (!cache) return plugin::not_found("the server could not find the requested resource " + type.qualified_name());
  std::string_view object_ns = type.namespaced ? ns : "";
  std::string key = key_of(type, object_ns, name);
  for (Retry retry(impl_->options.write_visibility_timeout); retry.next();) {
    ObjectPtr cur = impl_->current(*cache, object_ns, name);
    if (!cur) return plugin::not_found(not_found_message(type, name));
    if (options.precondition_uid && *options.precondition_uid != cur->uid)
      return plugin::conflict("Precondition failed: UID in precondition: " + *options.precondition_uid +
                              ", UID in object meta: " + cur->uid);
    if (options.precondition_resource_version && *options.precondition_resource_version != cur->resource_version)
      return plugin::conflict("Precondition failed: ResourceVersion in precondition: " +
                              std::to_string(*options.precondition_resource_version) +
                              ", ResourceVersion in object meta: " + std::to_string(cur->resource_version));
    Json j = parse_json(cur->json);
    Json& meta = j["metadata"];
    const bool finalizers = !finalizers_of(j).empty();
    const std::int64_t now = impl_->clock->now_ms();
    std::optional<std::int64_t> grace = options.grace_period_seconds;
    if (grace && *grace < 0) grace = 1;  // as Kubernetes: a negative grace period means one second
    bool mark = false;                   // write j (marked for deletion) instead of erasing it
    if (cur->deleting) {
      if (std::int64_t pending = deletion_grace_of(j); pending > 0) {
        // A graceful deletion is pending: only a shorter grace period changes it, moving the
        // deadline closer by the difference.
        if (!grace || *grace >= pending) return DeleteResult{cur, false};
        std::int64_t deadline = parse_rfc3339(string_member(meta, "deletionTimestamp")).value_or(now + pending * 1000);
        meta["deletionTimestamp"] = format_rfc3339(deadline - (pending - *grace) * 1000);
        meta["deletionGracePeriodSeconds"] = *grace;
        mark = *grace > 0 || finalizers;
      } else if (finalizers) {
        return DeleteResult{cur, false};
      }
    } else if (grace && *grace > 0) {
      meta["deletionTimestamp"] = format_rfc3339(now + *grace * 1000);
      meta["deletionGracePeriodSeconds"] = *grace;
      if (auto gen = meta.find("generation"); gen != meta.end() && gen->is_number_integer() && gen->get<std::int64_t>() > 0)
        *gen = gen->get<std::int64_t>() + 1;
      mark = true;
    } else if (finalizers) {
      meta["deletionTimestamp"] = format_rfc3339(now);
      meta["deletionGracePeriodSeconds"] = 0;
      mark = true;
    }
    if (mark) {
      meta.erase("resourceVersion");
      auto rev = backend_->update(key, j.dump(), cur->resource_version);
      if (!rev) {
        if (rev.status().code() == Code::kConflict || rev.status().code() == Code::kNotFound) continue;
        return rev.status();
      }
      return DeleteResult{impl_->written(*cache, type, *rev, j), false};
    }
    auto rev = backend_->erase(key, cur->resource_version);
    if (!rev) {
      if (rev.status().code() == Code::kConflict) continue;
      if (rev.status().code() == Code::kNotFound) return plugin::not_found(not_found_message(type, name));
      return rev.status();
    }
    return DeleteResult{impl_->written(*cache, type, *rev, j), true};
  }
  return plugin::conflict(conflict_message(type, name) + " (too many concurrent writers)");
}

Result<std::unique_ptr<Watch>> ObjectStore::watch(const ResourceType& type, const WatchOptions& options) {
  ResourceCache* cache = impl_->cache_for(type);
  if (!cache) return plugin::not_found("the server could not find the requested resource " + type.qualified_name());
  auto filter = make_filter(type.namespaced ? options.ns : "", options.label_selector, options.field_selector);
  if (!filter) return filter.status();
  auto impl = std::make_shared<WatchImpl>(cache, std::move(*filter), options);
  {
    std::shared_lock lock(cache->mutex);
    // Registering under the cache lock means no event can slip between the snapshot and the cursor.
    impl->begin(options.resource_version, cache->revision, cache->window_start);
    std::lock_guard wl(cache->watchers_mutex);
    cache->watchers.push_back(impl);
  }
  return std::unique_ptr<Watch>(std::make_unique<WatchHandle>(std::move(impl)));
}

}  // namespace skiff::kernel
