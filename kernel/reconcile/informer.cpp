#include "kernel/reconcile/informer.hpp"

#include <algorithm>
#include <exception>
#include <unordered_set>

namespace skiff::kernel {
namespace {

using Clock = std::chrono::steady_clock;

// A watch can end without telling us (its notify is best effort); look at it at least this often.
constexpr std::chrono::milliseconds kWatchCheckInterval{250};
constexpr std::size_t kWatchBatch = 512;

}  // namespace

std::string object_key(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string k;
  k.reserve(ns.size() + name.size() + 1);
  k.append(ns).append("/").append(name);
  return k;
}

std::string resource_key(const plugin::ResourceId& resource) {
  return resource.group + "/" + resource.version + "/" + resource.resource;
}

// ---------------------------------------------------------------------------------------------

StoreListerWatcher::StoreListerWatcher(ObjectStore& store, const ResourceType& type, ListOptions filter)
    : store_(store), type_(type), filter_(std::move(filter)) {
  filter_.limit = 0;
  filter_.continue_token.clear();
}

Result<ListResult> StoreListerWatcher::list() { return store_.list(type_, filter_); }

Result<std::unique_ptr<Watch>> StoreListerWatcher::watch(std::int64_t resource_version) {
  WatchOptions options;
  options.ns = filter_.ns;
  options.label_selector = filter_.label_selector;
  options.field_selector = filter_.field_selector;
  options.resource_version = resource_version;
  return store_.watch(type_, options);
}

// ---------------------------------------------------------------------------------------------

void Informer::Wake::poke() {
  {
    std::lock_guard lock(mutex);
    poked = true;
  }
  cv.notify_all();
}

bool Informer::Wake::wait_until(Clock::time_point deadline) {
  std::unique_lock lock(mutex);
  cv.wait_until(lock, deadline, [&] { return poked || stopping; });
  poked = false;
  return !stopping;
}

Informer::Informer(std::unique_ptr<ListerWatcher> source, InformerOptions options)
    : source_(std::move(source)), options_(options), description_(source_->describe()),
      wake_(std::make_shared<Wake>()) {}

Informer::Informer(ObjectStore& store, const ResourceType& type, InformerOptions options)
    : Informer(std::make_unique<StoreListerWatcher>(store, type), options) {}

Informer::~Informer() { stop(); }

void Informer::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_.exchange(true)) return;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  {
    std::lock_guard wake_lock(wake_->mutex);
    wake_->stopping = true;
  }
  wake_->cv.notify_all();
  started_ = true;  // a stopped informer never starts
  if (thread_.joinable()) thread_.join();
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(sync_mutex_);
  return sync_cv_.wait_for(lock, timeout, [&] { return synced_.load(); });
}

void Informer::warn(std::string_view message, std::initializer_list<plugin::LogField> fields) const {
  if (options_.logger == nullptr) return;
  std::vector<plugin::LogField> all{{"informer", description_}};
  all.insert(all.end(), fields.begin(), fields.end());
  options_.logger->log(plugin::LogLevel::kWarn, message, all);
}

// ---- the thread ----------------------------------------------------------------------------

void Informer::run() {
  auto backoff = options_.relist_backoff;
  auto next_resync = Clock::time_point::max();
  bool relist_now = true;  // false: wait `backoff` first
  while (true) {
    if (!relist_now) {
      if (!wake_->wait_until(Clock::now() + backoff)) return;
      backoff = std::min(backoff * 2, options_.relist_backoff_max);
    }
    {
      std::lock_guard lock(wake_->mutex);
      if (wake_->stopping) return;
    }
    auto listed = source_->list();
    if (!listed) {
      warn("list failed; retrying", {{"error", listed.status().message()}});
      relist_now = false;
      continue;
    }
    replace(listed->items);
    last_rv_ = listed->resource_version;
    if (!synced_) {
      {
        std::lock_guard lock(sync_mutex_);
        synced_ = true;
      }
      sync_cv_.notify_all();
    }
    if (options_.resync_period.count() > 0 && next_resync == Clock::time_point::max())
      next_resync = Clock::now() + options_.resync_period;

    auto watch_started = Clock::now();
    switch (watch_from(listed->resource_version, next_resync)) {
      case WatchEnd::kStopped: return;
      case WatchEnd::kExpired:
        relist_now = true;
        backoff = options_.relist_backoff;
        break;
      case WatchEnd::kFailed: relist_now = false; break;
      case WatchEnd::kEnded:
        // A watch that keeps ending at once must not turn into a busy loop of lists.
        relist_now = Clock::now() - watch_started >= options_.relist_backoff_max;
        if (relist_now) backoff = options_.relist_backoff;
        break;
    }
  }
}

Informer::WatchEnd Informer::watch_from(std::int64_t resource_version, Clock::time_point& next_resync) {
  auto started = source_->watch(resource_version);
  if (!started) {
    if (started.status().code() == plugin::Code::kExpired) return WatchEnd::kExpired;
    warn("watch failed; re-listing", {{"error", started.status().message()}});
    return WatchEnd::kFailed;
  }
  std::unique_ptr<Watch> watch = std::move(started.value());
  std::weak_ptr<Wake> wake = wake_;
  watch->set_notify([wake] {
    if (auto w = wake.lock()) w->poke();
  });
  WatchEnd end = WatchEnd::kEnded;
  bool running = true;
  while (running) {
    std::vector<WatchEvent> events = watch->poll(kWatchBatch);
    for (const auto& e : events) {
      switch (e.type) {
        case WatchEventType::kAdded:
        case WatchEventType::kModified:
          if (e.object) upsert(e.object);
          break;
        case WatchEventType::kDeleted:
          if (e.object) erase(e.object);
          break;
        case WatchEventType::kBookmark: break;
        case WatchEventType::kError:
          if (e.error.code() == plugin::Code::kExpired) {
            end = WatchEnd::kExpired;
          } else {
            warn("watch error; re-listing", {{"error", e.error.message()}});
            end = WatchEnd::kFailed;
          }
          running = false;
          break;
      }
      if (!running) break;
      if (e.revision > 0) last_rv_ = e.revision;
    }
    if (!running) break;
    auto now = Clock::now();
    if (now >= next_resync) {
      resync();
      next_resync = now + options_.resync_period;
    }
    if (!events.empty()) continue;
    if (watch->done()) {
      warn("watch ended; re-listing", {});
      break;
    }
    if (!wake_->wait_until(std::min(next_resync, now + kWatchCheckInterval))) {
      end = WatchEnd::kStopped;
      break;
    }
  }
  watch->stop();
  return end;
}

// ---- cache edits and delivery -------------------------------------------------------------

void Informer::replace(const std::vector<ObjectPtr>& items) {
  std::lock_guard handlers_lock(handlers_mutex_);
  std::unordered_set<std::string> listed;
  listed.reserve(items.size());
  for (const auto& object : items) {
    std::string key = object->key();
    listed.insert(key);
    ObjectPtr old;
    {
      std::unique_lock lock(cache_mutex_);
      auto it = items_.find(key);
      if (it != items_.end() && it->second.object->resource_version == object->resource_version &&
          it->second.object->uid == object->uid)
        continue;  // unchanged while we were away
      old = put_locked(object);
    }
    if (!old) {
      deliver_add(object);
    } else if (old->uid != object->uid) {
      // Deleted and created again while we were not watching.
      deliver_delete(old);
      deliver_add(object);
    } else {
      deliver_update(old, object);
    }
  }
  std::vector<ObjectPtr> gone;
  {
    std::unique_lock lock(cache_mutex_);
    std::vector<std::string> gone_keys;
    for (const auto& [key, entry] : items_)
      if (!listed.contains(key)) gone_keys.push_back(key);
    for (const auto& key : gone_keys) gone.push_back(remove_locked(key));
  }
  for (const auto& object : gone) deliver_delete(object);
}

void Informer::upsert(const ObjectPtr& object) {
  std::lock_guard handlers_lock(handlers_mutex_);
  ObjectPtr old;
  {
    std::unique_lock lock(cache_mutex_);
    old = put_locked(object);
  }
  if (old) deliver_update(old, object);
  else deliver_add(object);
}

void Informer::erase(const ObjectPtr& object) {
  std::lock_guard handlers_lock(handlers_mutex_);
  {
    std::unique_lock lock(cache_mutex_);
    if (!remove_locked(object->key())) return;  // never seen: nothing to tell
  }
  deliver_delete(object);
}

void Informer::resync() {
  std::lock_guard handlers_lock(handlers_mutex_);
  for (const auto& object : list()) deliver_update(object, object);
}

ObjectPtr Informer::put_locked(const ObjectPtr& object) {
  std::string key = object->key();
  ObjectPtr old;
  auto it = items_.find(key);
  if (it != items_.end()) {
    old = it->second.object;
    unindex_locked(key, it->second);
    it->second.object = object;
  } else {
    it = items_.emplace(key, Entry{object, {}}).first;
    by_namespace_[object->ns].insert(key);
  }
  index_locked(key, it->second);
  return old;
}

ObjectPtr Informer::remove_locked(const std::string& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = it->second.object;
  unindex_locked(key, it->second);
  if (auto ns = by_namespace_.find(old->ns); ns != by_namespace_.end()) {
    ns->second.erase(key);
    if (ns->second.empty()) by_namespace_.erase(ns);
  }
  items_.erase(it);
  return old;
}

void Informer::index_locked(const std::string& key, Entry& entry) {
  entry.index_values.clear();
  for (auto& [name, index] : indexes_) {
    std::vector<std::string> values;
    try {
      values = index.func(*entry.object);
    } catch (const std::exception& e) {
      warn("indexer threw; object left out of the index",
           {{"index", name}, {"object", key}, {"error", e.what()}});
    }
    for (auto& v : values) {
      index.keys[v].insert(key);
      entry.index_values.emplace_back(name, std::move(v));
    }
  }
}

void Informer::unindex_locked(const std::string& key, const Entry& entry) {
  for (const auto& [name, value] : entry.index_values) {
    auto index = indexes_.find(name);
    if (index == indexes_.end()) continue;
    auto bucket = index->second.keys.find(value);
    if (bucket == index->second.keys.end()) continue;
    bucket->second.erase(key);
    if (bucket->second.empty()) index->second.keys.erase(bucket);
  }
}

// Handlers are kernel code, but one that throws must not take the informer's thread down.
void Informer::each_handler(std::string_view what, const std::function<void(const EventHandlers&)>& call) {
  for (const auto& h : handlers_) {
    try {
      call(h.handlers);
    } catch (const std::exception& e) {
      warn("event handler threw", {{"handler", what}, {"error", e.what()}});
    }
  }
}

void Informer::deliver_add(const ObjectPtr& object) {
  each_handler("on_add", [&](const EventHandlers& h) {
    if (h.on_add) h.on_add(object);
  });
}

void Informer::deliver_update(const ObjectPtr& old_object, const ObjectPtr& new_object) {
  each_handler("on_update", [&](const EventHandlers& h) {
    if (h.on_update) h.on_update(old_object, new_object);
  });
}

void Informer::deliver_delete(const ObjectPtr& object) {
  each_handler("on_delete", [&](const EventHandlers& h) {
    if (h.on_delete) h.on_delete(object);
  });
}

// ---- handlers and indexes -------------------------------------------------------------------

Informer::HandlerId Informer::add_handlers(EventHandlers handlers) {
  std::lock_guard handlers_lock(handlers_mutex_);
  // Late joiners hear about what is already cached, as if it had just been added.
  if (handlers.on_add) {
    for (const auto& object : list()) {
      try {
        handlers.on_add(object);
      } catch (const std::exception& e) {
        warn("event handler threw", {{"handler", "on_add"}, {"error", e.what()}});
      }
    }
  }
  HandlerId id = next_handler_id_++;
  handlers_.push_back({id, std::move(handlers)});
  return id;
}

void Informer::remove_handlers(HandlerId id) {
  std::lock_guard handlers_lock(handlers_mutex_);
  std::erase_if(handlers_, [id](const Handlers& h) { return h.id == id; });
}

Status Informer::add_indexer(std::string name, IndexFunc index) {
  std::unique_lock lock(cache_mutex_);
  if (indexes_.contains(name))
    return plugin::already_exists("informer " + description_ + ": index " + name + " already exists");
  indexes_.emplace(name, Index{std::move(index), {}});
  // Re-index everything (index_locked recomputes every index of an entry).
  for (auto& [key, entry] : items_) {
    unindex_locked(key, entry);
    index_locked(key, entry);
  }
  return Status::ok();
}

// ---- reads ----------------------------------------------------------------------------------

ObjectPtr Informer::get(std::string_view ns, std::string_view name) const { return get(object_key(ns, name)); }

ObjectPtr Informer::get(std::string_view key) const {
  std::shared_lock lock(cache_mutex_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second.object;
}

std::vector<ObjectPtr> Informer::list() const {
  std::shared_lock lock(cache_mutex_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, entry] : items_) out.push_back(entry.object);
  return out;
}

std::vector<ObjectPtr> Informer::list(std::string_view ns, const LabelSelector& selector) const {
  std::shared_lock lock(cache_mutex_);
  std::vector<ObjectPtr> out;
  if (ns.empty()) {
    for (const auto& [key, entry] : items_)
      if (selector.matches(entry.object->labels)) out.push_back(entry.object);
    return out;
  }
  auto keys = by_namespace_.find(ns);
  if (keys == by_namespace_.end()) return out;
  for (const auto& key : keys->second) {
    const ObjectPtr& object = items_.find(key)->second.object;
    if (selector.matches(object->labels)) out.push_back(object);
  }
  return out;
}

Result<std::vector<ObjectPtr>> Informer::by_index(std::string_view index, std::string_view value) const {
  std::shared_lock lock(cache_mutex_);
  auto it = indexes_.find(index);
  if (it == indexes_.end())
    return plugin::not_found("informer " + description_ + ": no index named " + std::string(index));
  std::vector<ObjectPtr> out;
  auto bucket = it->second.keys.find(value);
  if (bucket == it->second.keys.end()) return out;
  for (const auto& key : bucket->second) out.push_back(items_.find(key)->second.object);
  return out;
}

std::size_t Informer::size() const {
  std::shared_lock lock(cache_mutex_);
  return items_.size();
}

// ---------------------------------------------------------------------------------------------

SharedInformerFactory::SharedInformerFactory(ObjectStore& store, InformerOptions options)
    : SharedInformerFactory(
          store.registry(),
          [&store](const ResourceType& type) { return std::make_unique<StoreListerWatcher>(store, type); }, options) {}

SharedInformerFactory::SharedInformerFactory(const ResourceRegistry& registry, SourceFactory source,
                                             InformerOptions options)
    : registry_(registry), source_(std::move(source)), options_(options) {}

SharedInformerFactory::~SharedInformerFactory() { stop(); }

Result<std::shared_ptr<Informer>> SharedInformerFactory::informer_for(const plugin::ResourceId& resource) {
  const ResourceType* type = registry_.find(resource);
  if (type == nullptr)
    return plugin::not_found("no resource " + resource.to_string() + " (version " + resource.version +
                             ") is registered");
  std::lock_guard lock(mutex_);
  auto& slot = informers_[resource_key(resource)];
  if (!slot) slot = std::make_shared<Informer>(source_(*type), options_);
  return slot;
}

void SharedInformerFactory::start() {
  for (const auto& informer : informers()) informer->start();
}

void SharedInformerFactory::stop() {
  for (const auto& informer : informers()) informer->stop();
}

std::vector<std::shared_ptr<Informer>> SharedInformerFactory::informers() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Informer>> out;
  for (const auto& [key, informer] : informers_) out.push_back(informer);
  return out;
}

}  // namespace skiff::kernel
