// The kernel's object store: Kubernetes object semantics over a skiff.store.v1 backend.
//
// Writes go to the backend; every committed event comes back through the backend's watch into
// per-resource caches (the "watch cache"), which serve get, unpaged list and watch from memory.
// Paged lists read the backend at the first page's revision, so all pages are one consistent
// snapshot. The resourceVersion of an object is the backend revision of its last write.
//
// Metadata the store owns: uid, resourceVersion, generation (bumped when anything outside metadata
// and status changes), creationTimestamp, deletionTimestamp (set when a delete meets finalizers;
// the object goes when the last finalizer is removed). Callers own everything else.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/store/resource.hpp"
#include "kernel/store/selector.hpp"
#include "skiff/plugin/object.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::kernel {

using plugin::Object;
using plugin::ObjectPtr;
using Json = nlohmann::json;

struct ListOptions {
  std::string ns;  // "" = all namespaces (or a cluster-scoped resource)
  std::string label_selector;
  std::string field_selector;
  std::size_t limit = 0;       // 0 = everything in one response
  std::string continue_token;  // from the previous page
};

struct ListResult {
  std::vector<ObjectPtr> items;  // ordered by namespace, then name
  std::int64_t resource_version = 0;
  std::string continue_token;  // non-empty when more items remain
};

struct UpdateOptions {
  bool status = false;  // a write to the /status subresource
  // A server-internal write that sets spec and status in one step (pods/binding sets nodeName and
  // the PodScheduled condition together, as Kubernetes' binding storage does). Ignored with status.
  bool with_status = false;
};

struct DeleteOptions {
  std::optional<std::string> precondition_uid;
  std::optional<std::int64_t> precondition_resource_version;
  // Graceful deletion (Kubernetes' BeforeDelete): set for a type whose API strategy deletes
  // gracefully (pods). > 0 marks the object (deletionTimestamp = now + grace,
  // deletionGracePeriodSeconds = grace) instead of removing it; on an object already marked, a
  // shorter grace moves its deadline closer and a longer or equal one changes nothing; 0 deletes
  // now (or, with finalizers left, marks it with grace 0). Unset: delete now.
  std::optional<std::int64_t> grace_period_seconds;
};

struct DeleteResult {
  ObjectPtr object;      // the last state (deleted), or the object now marked for deletion
  bool deleted = false;  // false: finalizers remain, deletionTimestamp is set
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view watch_event_type_name(WatchEventType type) noexcept;

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  ObjectPtr object;             // null for kBookmark and kError
  std::int64_t revision = 0;    // for kBookmark: progress of the watch
  plugin::Status error;         // for kError (kExpired when the watcher fell behind or started too early)
};

struct WatchOptions {
  std::string ns;
  std::string label_selector;
  std::string field_selector;
  // nullopt: first an ADDED event for every object that exists now, then every change.
  // A value: every change after that resourceVersion (kExpired if older than the retained window).
  std::optional<std::int64_t> resource_version;
  bool bookmarks = false;
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(10)};
};

// One watcher. Events are kept in the resource's shared ring; a watcher only holds a cursor, so a
// slow watcher costs no memory and blocks nobody. A watcher that falls out of the ring gets one
// kError (kExpired) event and ends.
class Watch {
 public:
  virtual ~Watch() = default;
  // Up to `max` ready events, without blocking. After the watch ended, returns empty and done() is true.
  virtual std::vector<WatchEvent> poll(std::size_t max) = 0;
  // Waits up to `timeout` for at least one event.
  virtual std::vector<WatchEvent> wait(std::size_t max, std::chrono::milliseconds timeout) = 0;
  // Called (from a writer's thread, so it must be quick, and must not call stop()) whenever new events
  // may be ready. Notifications are coalesced until the next poll, and a new watch starts "pending":
  // a consumer driven only by notifications polls once after set_notify.
  virtual void set_notify(std::function<void()> notify) = 0;
  virtual bool done() const = 0;
  virtual void stop() = 0;
};

struct ObjectStoreOptions {
  std::size_t watch_window = 65536;  // events kept per resource for watchers
  std::chrono::milliseconds write_visibility_timeout{std::chrono::seconds(10)};
};

class ObjectStore {
 public:
  ObjectStore(std::shared_ptr<plugin::store::Backend> backend, const ResourceRegistry& registry,
              const plugin::Clock& clock, ObjectStoreOptions options = {});
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Loads every registered resource from the backend into the caches and starts following it. The
  // last min(watch_window, 10 000) revisions of history are replayed into the watch rings, so a
  // watch from a resourceVersion the previous process handed out resumes after a restart.
  Status start();
  void stop();

  // `object` is the full Kubernetes object; namespace comes from metadata.namespace (or `ns` if that
  // is empty). metadata.uid is kept when set (the API layer assigns it before admission; clients
  // never choose it), else generated. Fails kAlreadyExists, kInvalid (bad name, namespace mismatch, …).
  Result<ObjectPtr> create(const ResourceType& type, std::string_view ns, Json object);
  Result<ObjectPtr> get(const ResourceType& type, std::string_view ns, std::string_view name) const;
  Result<ListResult> list(const ResourceType& type, const ListOptions& options) const;
  // metadata.resourceVersion in `object`, when set, must match (kConflict otherwise); absent means
  // "whatever is there now". Removing the last finalizer of an object being deleted deletes it,
  // unless a graceful deletion is pending (deletionGracePeriodSeconds > 0: its deleter finishes it).
  Result<ObjectPtr> update(const ResourceType& type, Json object, UpdateOptions options = {});
  // Read-modify-write with retries on conflict (Kubernetes' GuaranteedUpdate). `mutate` gets a copy
  // of the current object and may be called more than once.
  Result<ObjectPtr> update_with(const ResourceType& type, std::string_view ns, std::string_view name,
                                const std::function<Status(Json&)>& mutate, UpdateOptions options = {});
  Result<DeleteResult> remove(const ResourceType& type, std::string_view ns, std::string_view name,
                              const DeleteOptions& options = {});
  Result<std::unique_ptr<Watch>> watch(const ResourceType& type, const WatchOptions& options);

  std::int64_t current_revision() const;
  Status compact(std::int64_t revision);
  const ResourceRegistry& registry() const noexcept { return registry_; }
  plugin::store::Backend& backend() noexcept { return *backend_; }

  // Backend key of an object: "/<group or core>/<resource>/<namespace>/<name>".
  static std::string key_of(const ResourceType& type, std::string_view ns, std::string_view name);

  struct Impl;

 private:
  // update() with the stored object `known` already parsed as `known_json`: used while `known` is
  // still current, saving update_with a second parse of the same text.
  Result<ObjectPtr> update_known(const ResourceType& type, Json object, UpdateOptions options, const ObjectPtr& known,
                                 Json known_json);

  std::shared_ptr<plugin::store::Backend> backend_;
  // Fills the caches with every object as of `revision` (start() then replays what came after).
  Status load_caches(std::int64_t revision);

  const ResourceRegistry& registry_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::kernel
