// Informers: a local, read-only cache of one resource kept current by list + watch, and event
// handlers told about every change (client-go's SharedIndexInformer, without its Go plumbing).
//
// The informer's thread lists the resource, then watches from the list's resourceVersion. When the
// watch fails (kExpired: the watcher fell behind) or ends, it lists again and diffs the new list
// against its cache, so handlers still see a correct add / update / delete for everything that
// changed while it was not watching. The cache is updated before handlers run, and handlers run on
// the informer's thread, one event at a time, in order: they must be quick (enqueue a key, never
// block on I/O) and must not call back into remove_handlers() or stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kernel/store/object_store.hpp"
#include "kernel/store/selector.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::kernel {

// The cache key of an object: "ns/name", or "name" for a cluster-scoped one (as Object::key()).
std::string object_key(std::string_view ns, std::string_view name);
// "group/version/resource": how informers are keyed by resource.
std::string resource_key(const plugin::ResourceId& resource);

// Where an informer gets its objects: client-go's ListerWatcher. The kernel's is StoreListerWatcher;
// tests can script one.
class ListerWatcher {
 public:
  virtual ~ListerWatcher() = default;
  virtual Result<ListResult> list() = 0;
  // Every change after `resource_version`.
  virtual Result<std::unique_ptr<Watch>> watch(std::int64_t resource_version) = 0;
  // What is listed, for log lines ("pods", "deployments.apps").
  virtual std::string describe() const = 0;
};

// Lists and watches one resource of the kernel's ObjectStore, optionally narrowed by namespace and selectors.
class StoreListerWatcher final : public ListerWatcher {
 public:
  // `store` and `type` must outlive this.
  StoreListerWatcher(ObjectStore& store, const ResourceType& type, ListOptions filter = {});
  Result<ListResult> list() override;
  Result<std::unique_ptr<Watch>> watch(std::int64_t resource_version) override;
  std::string describe() const override { return type_.qualified_name(); }

 private:
  ObjectStore& store_;
  const ResourceType& type_;
  ListOptions filter_;
};

struct InformerOptions {
  // Every cached object is re-delivered as on_update(obj, obj) this often; 0 = never.
  std::chrono::milliseconds resync_period{0};
  // After a failed list (or a watch that could not start or ended at once), wait this long before
  // listing again, doubling up to relist_backoff_max. An expired watch is re-listed at once.
  std::chrono::milliseconds relist_backoff{100};
  std::chrono::milliseconds relist_backoff_max{std::chrono::seconds(10)};
  // Warnings (failed lists, ended watches) go here; null = silent. Must outlive the informer.
  plugin::Logger* logger = nullptr;
};

struct EventHandlers {
  std::function<void(const ObjectPtr& object)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  // The last state the informer knew.
  std::function<void(const ObjectPtr& object)> on_delete;
};

class Informer {
 public:
  // Index values of one object, e.g. a pod's spec.nodeName.
  using IndexFunc = std::function<std::vector<std::string>(const Object& object)>;
  using HandlerId = std::uint64_t;

  explicit Informer(std::unique_ptr<ListerWatcher> source, InformerOptions options = {});
  // The usual case: every object of `type` in `store`.
  Informer(ObjectStore& store, const ResourceType& type, InformerOptions options = {});
  ~Informer();  // stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers added after the informer has synced first get on_add for every cached object (from the
  // calling thread), then every later event. Returns an id for remove_handlers().
  HandlerId add_handlers(EventHandlers handlers);
  // After it returns, the handlers are not running and will not run again.
  void remove_handlers(HandlerId id);
  // A named index over the cache; may be added at any time (existing objects are indexed at once).
  // kAlreadyExists if the name is taken.
  Status add_indexer(std::string name, IndexFunc index);

  // Starts the informer's thread (once; later calls do nothing). stop() joins it; a stopped informer
  // does not start again.
  void start();
  void stop();
  bool started() const noexcept { return started_.load(); }

  // True once the first list is in the cache and every handler has seen it.
  bool has_synced() const noexcept { return synced_.load(); }
  bool wait_for_sync(std::chrono::milliseconds timeout) const;
  // The resourceVersion of the last list or event applied.
  std::int64_t last_resource_version() const noexcept { return last_rv_.load(); }

  // Read-only snapshots from the cache.
  ObjectPtr get(std::string_view ns, std::string_view name) const;
  ObjectPtr get(std::string_view key) const;  // "ns/name", or "name" for cluster-scoped objects
  std::vector<ObjectPtr> list() const;        // ordered by key
  // Objects in `ns` ("" = every namespace) whose labels match.
  std::vector<ObjectPtr> list(std::string_view ns, const LabelSelector& selector = {}) const;
  // Objects whose index `index` produced `value`; kNotFound for an unknown index.
  Result<std::vector<ObjectPtr>> by_index(std::string_view index, std::string_view value) const;
  std::size_t size() const;
  const std::string& description() const noexcept { return description_; }

 private:
  struct Entry {
    ObjectPtr object;
    std::vector<std::pair<std::string, std::string>> index_values;  // (index name, value)
  };
  struct Index {
    IndexFunc func;
    std::map<std::string, std::set<std::string>, std::less<>> keys;  // value → object keys
  };
  struct Handlers {
    HandlerId id;
    EventHandlers handlers;
  };
  // Wakes the informer's thread: new watch events, or stop(). Shared with the watch's notify callback,
  // which may still run briefly after the watch was stopped.
  struct Wake {
    std::mutex mutex;
    std::condition_variable cv;
    bool poked = false;
    bool stopping = false;
    void poke();
    // False when stopping.
    bool wait_until(std::chrono::steady_clock::time_point deadline);
  };

  void run();
  enum class WatchEnd { kStopped, kExpired, kEnded, kFailed };
  WatchEnd watch_from(std::int64_t resource_version, std::chrono::steady_clock::time_point& next_resync);
  void replace(const std::vector<ObjectPtr>& items);
  void upsert(const ObjectPtr& object);
  void erase(const ObjectPtr& object);
  void resync();

  // Cache edits, with cache_mutex_ held exclusively.
  ObjectPtr put_locked(const ObjectPtr& object);
  ObjectPtr remove_locked(const std::string& key);
  void index_locked(const std::string& key, Entry& entry);
  void unindex_locked(const std::string& key, const Entry& entry);

  // Delivery, with handlers_mutex_ held.
  void deliver_add(const ObjectPtr& object);
  void deliver_update(const ObjectPtr& old_object, const ObjectPtr& new_object);
  void deliver_delete(const ObjectPtr& object);
  void each_handler(std::string_view what, const std::function<void(const EventHandlers&)>& call);
  void warn(std::string_view message, std::initializer_list<plugin::LogField> fields) const;

  std::unique_ptr<ListerWatcher> source_;
  const InformerOptions options_;
  const std::string description_;

  mutable std::shared_mutex cache_mutex_;
  std::map<std::string, Entry, std::less<>> items_;                         // by key
  std::map<std::string, std::set<std::string>, std::less<>> by_namespace_;  // ns → keys
  std::map<std::string, Index, std::less<>> indexes_;

  mutable std::mutex handlers_mutex_;  // also serialises delivery
  std::vector<Handlers> handlers_;
  HandlerId next_handler_id_ = 1;

  std::shared_ptr<Wake> wake_;
  std::atomic<bool> started_{false};
  std::atomic<bool> synced_{false};
  std::atomic<std::int64_t> last_rv_{0};
  mutable std::mutex sync_mutex_;
  mutable std::condition_variable sync_cv_;
  std::mutex lifecycle_mutex_;
  std::thread thread_;
};

// One informer per resource, shared by every controller that watches it.
class SharedInformerFactory {
 public:
  // Makes the ListerWatcher of one resource's informer.
  using SourceFactory = std::function<std::unique_ptr<ListerWatcher>(const ResourceType& type)>;

  // `store` must outlive the factory. `options` apply to every informer it creates.
  explicit SharedInformerFactory(ObjectStore& store, InformerOptions options = {});
  // Informers over other sources (a remote API server's list and watch); `registry` must outlive it.
  SharedInformerFactory(const ResourceRegistry& registry, SourceFactory source, InformerOptions options = {});
  ~SharedInformerFactory();  // stop()
  SharedInformerFactory(const SharedInformerFactory&) = delete;
  SharedInformerFactory& operator=(const SharedInformerFactory&) = delete;

  // The informer of `resource`, created (not started) on first use; kNotFound for a resource the
  // store's registry does not know.
  Result<std::shared_ptr<Informer>> informer_for(const plugin::ResourceId& resource);
  // Starts every informer not started yet; call again after asking for more.
  void start();
  void stop();
  std::vector<std::shared_ptr<Informer>> informers() const;

 private:
  const ResourceRegistry& registry_;
  SourceFactory source_;
  const InformerOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Informer>> informers_;  // by "group/version/resource"
};

}  // namespace skiff::kernel
