#include "kernel/reconcile/controller_runner.hpp"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>

#include "kernel/util/json_parse.hpp"

namespace skiff::kernel {
namespace {

using plugin::controller::KeyMapping;
using plugin::controller::WatchSpec;

WorkQueueOptions with_depth(WorkQueueOptions options, plugin::Gauge& depth) {
  options.depth = &depth;
  return options;
}

}  // namespace

// ---- InformerCache --------------------------------------------------------------------------

void InformerCache::add(const plugin::ResourceId& resource, std::shared_ptr<Informer> informer) {
  informers_[resource_key(resource)] = std::move(informer);
}

std::shared_ptr<Informer> InformerCache::informer(const plugin::ResourceId& resource) const noexcept {
  try {
    auto it = informers_.find(resource_key(resource));
    return it == informers_.end() ? nullptr : it->second;
  } catch (...) {
    return nullptr;  // only allocation can fail here
  }
}

ObjectPtr InformerCache::get(const plugin::ResourceId& resource, std::string_view ns,
                             std::string_view name) const noexcept {
  try {
    auto informer = this->informer(resource);
    return informer ? informer->get(ns, name) : nullptr;
  } catch (...) {
    return nullptr;
  }
}

Result<std::vector<ObjectPtr>> InformerCache::list(const plugin::ResourceId& resource,
                                                   const plugin::ListFilter& filter) const noexcept {
  try {
    auto informer = this->informer(resource);
    if (!informer) return plugin::not_found("no informer for " + resource.to_string() + ": the controller does not watch it");
    auto selector = LabelSelector::parse(filter.label_selector);
    if (!selector) return selector.status();
    return informer->list(filter.ns, *selector);
  } catch (const std::exception& e) {
    return plugin::internal(std::string("list ") + resource.to_string() + ": " + e.what());
  }
}

// ---- owner references -----------------------------------------------------------------------

std::optional<ControllerRef> controller_ref(const Object& object, std::string_view owner_kind) {
  Json doc = parse_json_or_discarded(object.json);
  if (!doc.is_object()) return std::nullopt;
  auto meta = doc.find("metadata");
  if (meta == doc.end() || !meta->is_object()) return std::nullopt;
  auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return std::nullopt;
  for (const auto& ref : *refs) {
    if (!ref.is_object() || !ref.value("controller", false)) continue;
    // At most one reference is the controller; if it is of another kind, this object has no owner of ours.
    if (ref.value("kind", "") != owner_kind) return std::nullopt;
    std::string name = ref.value("name", "");
    if (name.empty()) return std::nullopt;
    // Owners live in their dependent's namespace (or are cluster-scoped, for a cluster-scoped dependent).
    return ControllerRef{object_key(object.ns, name), ref.value("uid", "")};
  }
  return std::nullopt;
}

// ---- ControllerRunner -----------------------------------------------------------------------

ControllerRunner::ControllerRunner(std::string name, std::shared_ptr<plugin::controller::Controller> controller,
                                   plugin::Client& client, SharedInformerFactory& informers, MetricsRegistry& metrics,
                                   plugin::Logger& logger, const plugin::Clock& clock, ControllerRunnerOptions options)
    : name_(std::move(name)), controller_(std::move(controller)), informers_(informers), logger_(logger),
      clock_(clock), options_(std::move(options)), client_(client),
      depth_(metrics.gauge("skiff_controller_queue_depth", "Keys ready in a controller's work queue",
                           render_labels({{"controller", name_}}))),
      succeeded_(metrics.counter("skiff_controller_reconcile_total", "Reconcile calls by controller and result",
                                 render_labels({{"controller", name_}, {"result", "success"}}))),
      failed_(metrics.counter("skiff_controller_reconcile_total", "Reconcile calls by controller and result",
                              render_labels({{"controller", name_}, {"result", "error"}}))),
      requeued_after_(metrics.counter("skiff_controller_reconcile_total", "Reconcile calls by controller and result",
                                      render_labels({{"controller", name_}, {"result", "requeue_after"}}))),
      latency_(metrics.histogram("skiff_controller_reconcile_duration_seconds", "Time spent in reconcile calls",
                                 render_labels({{"controller", name_}}))),
      queue_(with_depth(options_.queue, depth_)) {}

ControllerRunner::~ControllerRunner() { stop(); }

Status ControllerRunner::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return plugin::bad_request("controller " + name_ + " was already started");
  started_ = true;
  auto fail = [&](const Status& s) {
    detach();
    logger_.error("controller failed to start", {{"controller", name_}, {"error", s.message()}});
    return s.with_context("controller " + name_);
  };

  watches_ = controller_->watches();
  if (watches_.empty()) return fail(plugin::invalid("watches() is empty: the first entry must be the primary resource"));
  std::vector<std::shared_ptr<Informer>> used;
  for (const auto& spec : watches_) {
    if (spec.mapping == KeyMapping::kOwner && spec.owner_kind.empty())
      return fail(plugin::invalid("watch of " + spec.resource.to_string() + ": KeyMapping::kOwner needs owner_kind"));
    auto informer = informers_.informer_for(spec.resource);
    if (!informer) return fail(informer.status());
    cache_.add(spec.resource, *informer);
    used.push_back(*informer);
  }
  primary_ = used.front();

  controller_->bind(plugin::controller::Host{cache_, client_, clock_});

  for (std::size_t i = 0; i < watches_.size(); ++i) {
    const WatchSpec* spec = &watches_[i];
    EventHandlers h;
    h.on_add = [this, spec](const ObjectPtr& o) { add_keys(*spec, nullptr, o); };
    h.on_update = [this, spec](const ObjectPtr& old_o, const ObjectPtr& new_o) { add_keys(*spec, old_o, new_o); };
    h.on_delete = [this, spec](const ObjectPtr& o) { add_keys(*spec, nullptr, o); };
    handlers_.emplace_back(used[i], used[i]->add_handlers(std::move(h)));
  }

  informers_.start();
  auto deadline = std::chrono::steady_clock::now() + options_.sync_timeout;
  for (const auto& informer : used) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!informer->wait_for_sync(std::max(left, std::chrono::milliseconds(0))))
      return fail(plugin::unavailable("informer for " + informer->description() + " did not sync within " +
                                      std::to_string(options_.sync_timeout.count()) + " ms"));
  }

  int workers = std::max(options_.workers, 1);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  logger_.info("controller started", {{"controller", name_}, {"workers", std::to_string(workers)}});
  return Status::ok();
}

void ControllerRunner::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  detach();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void ControllerRunner::detach() {
  for (const auto& [informer, id] : handlers_) informer->remove_handlers(id);
  handlers_.clear();
  queue_.shutdown();
}

void ControllerRunner::map_keys(const WatchSpec& spec, const Object& object, std::vector<std::string>& keys) {
  switch (spec.mapping) {
    case KeyMapping::kSelf: keys.push_back(object.key()); break;
    case KeyMapping::kOwner: {
      auto owner = controller_ref(object, spec.owner_kind);
      if (!owner) break;
      // An owner of that name but another uid is a different object (client-go's resolveControllerRef).
      if (!owner->uid.empty()) {
        ObjectPtr cached = primary_->get(owner->key);
        if (cached && !cached->uid.empty() && cached->uid != owner->uid) break;
      }
      keys.push_back(std::move(owner->key));
      break;
    }
    case KeyMapping::kController: {
      auto mapped = controller_->map_event(spec, object);
      keys.insert(keys.end(), std::make_move_iterator(mapped.begin()), std::make_move_iterator(mapped.end()));
      break;
    }
  }
}

void ControllerRunner::add_keys(const WatchSpec& spec, const ObjectPtr& old_object, const ObjectPtr& new_object) {
  std::vector<std::string> keys;
  // A change can move an object from one owner (or selecting object) to another: both must look.
  if (old_object && old_object != new_object) map_keys(spec, *old_object, keys);
  if (new_object) map_keys(spec, *new_object, keys);
  // Old and new state usually map to the same key; adding it twice could let a worker that took
  // the first add reconcile it again for nothing.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const auto& k : keys)
    if (!k.empty()) queue_.add(k);
}

void ControllerRunner::work() {
  while (auto key = queue_.get()) {
    auto started = std::chrono::steady_clock::now();
    Result<plugin::controller::ReconcileResult> result = controller_->reconcile(*key);
    latency_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!result) {
      failed_.add();
      auto delay = queue_.add_rate_limited(*key);
      auto delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
      logger_.warn("reconcile failed; will retry",
                   {{"controller", name_},
                    {"key", *key},
                    {"code", plugin::code_name(result.status().code())},
                    {"error", result.status().message()},
                    {"retries", std::to_string(queue_.num_requeues(*key))},
                    {"retry_in_ms", std::to_string(delay_ms)}});
    } else {
      queue_.forget(*key);
      if (result->requeue_after_ms > 0) {
        requeued_after_.add();
        queue_.add_after(*key, std::chrono::milliseconds(result->requeue_after_ms));
      } else {
        succeeded_.add();
      }
    }
    queue_.done(*key);
  }
}

}  // namespace skiff::kernel
