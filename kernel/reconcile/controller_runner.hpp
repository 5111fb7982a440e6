// Hosts one skiff.controller.v1 plugin on the kernel's reconcile loop (sample-controller's shape):
// informers for what it watches → event handlers that map events to keys → a work queue → N
// workers calling reconcile(key), with retries and backoff owned by the queue.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kernel/metrics/registry.hpp"
#include "kernel/reconcile/informer.hpp"
#include "kernel/reconcile/work_queue.hpp"
#include "kernel/store/object_store.hpp"
#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::kernel {

// plugin::controller::Cache over a set of informers (those of the resources a controller watches).
class InformerCache final : public plugin::Cache {
 public:
  void add(const plugin::ResourceId& resource, std::shared_ptr<Informer> informer);
  // Null for a resource this cache has no informer for.
  std::shared_ptr<Informer> informer(const plugin::ResourceId& resource) const noexcept;

  ObjectPtr get(const plugin::ResourceId& resource, std::string_view ns, std::string_view name) const noexcept override;
  // kNotFound for a resource without an informer; kInvalid for a bad label selector.
  Result<std::vector<ObjectPtr>> list(const plugin::ResourceId& resource,
                                      const plugin::ListFilter& filter) const noexcept override;

 private:
  std::map<std::string, std::shared_ptr<Informer>> informers_;  // by "group/version/resource"
};

// The object's controlling owner (metadata.ownerReferences, the entry with controller: true) when it
// is of kind `owner_kind`: its key ("ns/name") and uid.
struct ControllerRef {
  std::string key;
  std::string uid;
};
std::optional<ControllerRef> controller_ref(const Object& object, std::string_view owner_kind);

struct ControllerRunnerOptions {
  int workers = 1;
  // Backoff and token bucket; its clock may be replaced in tests. `depth` is set by the runner.
  WorkQueueOptions queue;
  // start() fails with kUnavailable if the informers have not synced by then.
  std::chrono::milliseconds sync_timeout{std::chrono::seconds(60)};
};

class ControllerRunner {
 public:
  // Everything passed by reference must outlive the runner. `name` labels logs and metrics.
  // `client` is how the controller writes: the API's in-process client (api/client.hpp), so its
  // writes get the API's admission.
  ControllerRunner(std::string name, std::shared_ptr<plugin::controller::Controller> controller, plugin::Client& client,
                   SharedInformerFactory& informers, MetricsRegistry& metrics, plugin::Logger& logger,
                   const plugin::Clock& clock, ControllerRunnerOptions options = {});
  ~ControllerRunner();  // stop()
  ControllerRunner(const ControllerRunner&) = delete;
  ControllerRunner& operator=(const ControllerRunner&) = delete;

  // Sets up informers and handlers for every WatchSpec, calls bind(), starts the informers, waits
  // for them to sync, then starts the workers. Fails (having undone its work) on an unknown
  // resource, a bad WatchSpec or a sync timeout. Once only.
  Status start();
  // Detaches from the informers (which other controllers may share), shuts the queue down and
  // joins the workers; a reconcile in progress finishes first.
  void stop();

  const std::string& name() const noexcept { return name_; }
  WorkQueue& queue() noexcept { return queue_; }

 private:
  void add_keys(const plugin::controller::WatchSpec& spec, const ObjectPtr& old_object, const ObjectPtr& new_object);
  void map_keys(const plugin::controller::WatchSpec& spec, const Object& object, std::vector<std::string>& keys);
  void work();
  void detach();

  const std::string name_;
  std::shared_ptr<plugin::controller::Controller> controller_;
  SharedInformerFactory& informers_;
  plugin::Logger& logger_;
  const plugin::Clock& clock_;
  const ControllerRunnerOptions options_;

  plugin::Client& client_;
  InformerCache cache_;
  std::vector<plugin::controller::WatchSpec> watches_;
  std::shared_ptr<Informer> primary_;

  GaugeImpl& depth_;
  CounterImpl& succeeded_;
  CounterImpl& failed_;
  CounterImpl& requeued_after_;
  HistogramImpl& latency_;
  WorkQueue queue_;

  std::mutex lifecycle_mutex_;
  bool started_ = false;
  std::vector<std::pair<std::shared_ptr<Informer>, Informer::HandlerId>> handlers_;
  std::vector<std::thread> workers_;
};

}  // namespace skiff::kernel
