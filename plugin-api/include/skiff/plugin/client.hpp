// How in-process plugins (controllers, the scheduler) read and write cluster state.
//
// Cache: the read side, the informer caches of the resources the plugin watches (no round trip,
// snapshots that never change). Client: the write side, through the API server's own write path,
// so every write gets the same admission (defaults, validation, DNS-1123 names) a kubectl write gets,
// and optimistic concurrency: a `json` carrying metadata.resourceVersion fails with kConflict when
// the object moved on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/object.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::plugin {

struct ListFilter {
  std::string_view ns;              // empty: all namespaces
  std::string_view label_selector;  // Kubernetes syntax, "" = everything
};

class Cache {
 public:
  virtual ~Cache() = default;
  virtual ObjectPtr get(const ResourceId& resource, std::string_view ns, std::string_view name) const noexcept = 0;
  // kNotFound for a resource the plugin does not watch; kInvalid for a bad label selector.
  virtual Result<std::vector<ObjectPtr>> list(const ResourceId& resource, const ListFilter& filter) const noexcept = 0;
};

// metav1.DeleteOptions.propagationPolicy.
enum class Propagation : std::uint8_t {
  kDefault,     // the resource's default (Background)
  kBackground,  // the object goes now; the garbage collector deletes its dependents afterwards
  kForeground,  // the object stays (finalizer foregroundDeletion) until its blocking dependents are gone
  kOrphan,      // the object stays (finalizer orphan) until its dependents no longer reference it
};

struct DeleteOptions {
  Propagation propagation = Propagation::kDefault;
  std::string precondition_uid;                   // non-empty: delete only that incarnation (kConflict otherwise)
  std::int64_t precondition_resource_version = 0;  // > 0: delete only at that version (kConflict otherwise)
};

class Client {
 public:
  virtual ~Client() = default;
  virtual Result<ObjectPtr> create(const ResourceId& resource, std::string_view ns, std::string_view json) noexcept = 0;
  virtual Result<ObjectPtr> update(const ResourceId& resource, std::string_view json) noexcept = 0;
  virtual Result<ObjectPtr> update_status(const ResourceId& resource, std::string_view json) noexcept = 0;
  // Returns the object as it stands after the call: gone (deleting() irrelevant) or, when finalizers
  // hold it, with its deletionTimestamp set.
  virtual Result<ObjectPtr> remove(const ResourceId& resource, std::string_view ns, std::string_view name,
                                   const DeleteOptions& options) noexcept = 0;
  // A live read from the API (not the cache), consistent at one revision: for the few decisions a
  // cache that lags must not make, such as "this namespace is now empty". Use Cache::list otherwise.
  virtual Result<std::vector<ObjectPtr>> list(const ResourceId& resource, const ListFilter& filter) noexcept = 0;
  // POST to a subresource that takes a body: pods/binding (a v1 Binding), pods/eviction (a policy/v1
  // Eviction). Returns the parent object after the call when the API returns it, else null.
  virtual Result<ObjectPtr> create_subresource(const ResourceId& resource, std::string_view ns, std::string_view name,
                                               std::string_view subresource, std::string_view json) noexcept = 0;
};

}  // namespace skiff::plugin
