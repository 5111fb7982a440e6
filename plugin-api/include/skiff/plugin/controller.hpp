// Role skiff.controller.v1: a level-triggered reconciler on the kernel's reconcile loop.
//
// A controller declares what it watches; the kernel runs the informers (list + watch + local cache),
// turns every event into a work-queue key ("namespace/name" of the primary object), dedups keys,
// retries failures with per-key exponential backoff, and never hands one key to two workers at once.
// The controller implements reconcile(key): read the cache, compute the desired state, write the
// difference through the client. Reads from the cache are read-only snapshots.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/client.hpp"
#include "skiff/plugin/object.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::plugin::controller {

// How events of a watched resource become keys of the controller's primary resource.
enum class KeyMapping : std::uint8_t {
  kSelf,        // the object's own "ns/name" (use for the primary resource)
  kOwner,       // the ownerReference with controller=true whose kind is `owner_kind`
  kController,  // ask Controller::map_event (for example pods → the services selecting them)
};

struct WatchSpec {
  ResourceId resource;
  KeyMapping mapping = KeyMapping::kSelf;
  std::string owner_kind;  // with kOwner
};

// The read and write sides live in client.hpp (the scheduler uses them too); these names stay for
// controllers written against them.
using ListFilter = plugin::ListFilter;
using Cache = plugin::Cache;
using Client = plugin::Client;

struct Host {
  Cache& cache;
  Client& client;
  const Clock& clock;
};

struct ReconcileResult {
  std::int64_t requeue_after_ms = 0;  // > 0: look at this key again later even if nothing changes
};

class Controller {
 public:
  static constexpr std::string_view kRole = "skiff.controller.v1";
  virtual ~Controller() = default;

  // The first entry is the primary resource; keys are its "ns/name".
  virtual std::vector<WatchSpec> watches() const noexcept = 0;
  // Called once, before any reconcile, with services that outlive the controller.
  virtual void bind(const Host& host) noexcept = 0;
  // Must be idempotent: called again for the same key until it returns ok. An error is retried with
  // backoff; the key is dropped from the retry schedule once a call succeeds.
  virtual Result<ReconcileResult> reconcile(std::string_view key) noexcept = 0;
  // For KeyMapping::kController watches.
  virtual std::vector<std::string> map_event(const WatchSpec& /*spec*/, const Object& /*object*/) noexcept { return {}; }
};

}  // namespace skiff::plugin::controller
