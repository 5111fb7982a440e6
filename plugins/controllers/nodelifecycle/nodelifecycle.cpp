#include "nodelifecycle.hpp"

#include <algorithm>
#include <exception>
#include <limits>

#include "cluster_resources.hpp"
#include "controller_common.hpp"
#include "skiff/plugin/time.hpp"

namespace skiff::plugins::controllers::nodelifecycle {
namespace {

namespace ctl = plugin::controller;
using plugin::Code;
using resources::kLeases, resources::kNodes, resources::kPods;
constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

const Json* find_condition(const Json& node, std::string_view type) {
  auto status = node.find("status");
  if (status == node.end() || !status->is_object()) return nullptr;
  auto conds = status->find("conditions");
  if (conds == status->end() || !conds->is_array()) return nullptr;
  for (const auto& c : *conds)
    if (c.is_object() && c.value("type", "") == type) return &c;
  return nullptr;
}

bool tolerates(const Json& toleration, const Json& taint) {
  std::string effect = toleration.value("effect", "");
  if (!effect.empty() && effect != taint.value("effect", "")) return false;
  std::string key = toleration.value("key", "");
  std::string op = toleration.value("operator", "Equal");
  if (key.empty()) return op == "Exists";  // an empty key with Exists tolerates every taint
  if (key != taint.value("key", "")) return false;
  return op == "Exists" || toleration.value("value", "") == taint.value("value", "");
}

// How long `pod` may stay on a node with this NoExecute taint, in ms: kForever when a matching
// toleration has no tolerationSeconds; the default toleration for not-ready/unreachable when none
// matches (what DefaultTolerationSeconds admission would have added); 0 for any other taint.
std::int64_t tolerated_ms(const Json& pod, const Json& taint, std::int64_t default_seconds) {
  bool matched = false;
  std::int64_t best = 0;
  for (const auto& t : pod.value("spec", Json::object()).value("tolerations", Json::array())) {
    if (!t.is_object() || !tolerates(t, taint)) continue;
    if (!t.contains("tolerationSeconds") || !t["tolerationSeconds"].is_number_integer()) return kForever;
    std::int64_t ms = std::max<std::int64_t>(0, t["tolerationSeconds"].get<std::int64_t>()) * 1000;
    best = matched ? std::min(best, ms) : ms;
    matched = true;
  }
  if (matched) return best;
  std::string key = taint.value("key", "");
  if (key == kUnreachableTaint || key == kNotReadyTaint) return default_seconds * 1000;
  return 0;
}

Json taint(std::string_view key, std::string_view effect, const std::string& now) {
  return {{"key", key}, {"effect", effect}, {"timeAdded", now}};
}

bool managed_taint(const Json& t) {
  std::string key = t.value("key", "");
  std::string effect = t.value("effect", "");
  return (key == kUnreachableTaint || key == kNotReadyTaint) && (effect == "NoExecute" || effect == "NoSchedule");
}

}  // namespace

plugin::Result<Options> read_options(const plugin::ConfigSection& config) {
  Options o;
  auto read = [&config](std::string_view key, std::int64_t fallback, std::int64_t min,
                        std::int64_t max) -> plugin::Result<std::int64_t> {
    if (!config.has(key)) return fallback;
    return config.get_int(key, min, max);
  };
  auto grace = read("grace-period-seconds", 40, 1, 86400);
  if (!grace) return grace.status();
  auto period = read("monitor-period-ms", 5000, 10, 3'600'000);
  if (!period) return period.status();
  auto toleration = read("default-toleration-seconds", 300, 0, 86400 * 365);
  if (!toleration) return toleration.status();
  o.grace_period_ms = *grace * 1000;
  o.monitor_period_ms = *period;
  o.default_toleration_seconds = *toleration;
  return o;
}

plugin::Result<std::unique_ptr<ctl::Controller>> make(const plugin::PluginContext& context) {
  auto options = read_options(context.config);
  if (!options) return options.status();
  return std::unique_ptr<ctl::Controller>(std::make_unique<NodeLifecycleController>(*options));
}

std::vector<ctl::WatchSpec> NodeLifecycleController::watches() const noexcept {
  return {{kNodes, ctl::KeyMapping::kSelf, {}},
          {kLeases, ctl::KeyMapping::kController, {}},
          {kPods, ctl::KeyMapping::kController, {}}};
}

void NodeLifecycleController::bind(const ctl::Host& host) noexcept { host_.emplace(host); }

std::vector<std::string> NodeLifecycleController::map_event(const ctl::WatchSpec& spec,
                                                            const plugin::Object& object) noexcept {
  try {
    if (spec.resource == kLeases) {
      if (object.ns == kLeaseNamespace) return {object.name};
      return {};
    }
    if (const std::string* node = object.field("spec.nodeName"); node != nullptr && !node->empty()) return {*node};
    return {};
  } catch (const std::exception&) {
    return {};
  }
}

bool NodeLifecycleController::silent(const std::string& node, const std::string& heartbeat, std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto [it, fresh] = probes_.try_emplace(node, Probe{heartbeat, now});
  if (!fresh && it->second.heartbeat != heartbeat) it->second = Probe{heartbeat, now};
  return now - it->second.seen_ms > options_.grace_period_ms;
}

plugin::Result<ctl::ReconcileResult> NodeLifecycleController::reconcile(std::string_view key) noexcept {
  try {
    const std::string name(key);
    plugin::ObjectPtr node = host_->cache.get(kNodes, "", name);
    if (!node) {
      std::lock_guard lock(mutex_);
      probes_.erase(name);
      return ctl::ReconcileResult{};
    }
    const std::int64_t now = host_->clock.now_ms();
    const std::string now_text = plugin::format_rfc3339(now);
    Json j = parse(*node);

    std::string heartbeat;
    if (plugin::ObjectPtr lease = host_->cache.get(kLeases, kLeaseNamespace, name))
      heartbeat = parse(*lease).value("spec", Json::object()).value("renewTime", "");
    // Copied out: `j` is replaced by what the status write returns.
    const Json* ready = find_condition(j, "Ready");
    const std::string reported_ready = ready != nullptr ? ready->value("status", "") : "";
    heartbeat += "|" + (ready != nullptr ? ready->value("lastHeartbeatTime", "") : std::string());
    const bool is_silent = silent(name, heartbeat, now);

    if (is_silent) {
      // Ready (and the kubelet's other conditions) become Unknown: nobody knows any more.
      Json status = j;
      Json& conds = status["status"]["conditions"];
      if (!conds.is_array()) conds = Json::array();
      bool changed = false, has_ready = false;
      for (auto& c : conds) {
        std::string type = c.value("type", "");
        if (type == "Ready") has_ready = true;
        if (type != "Ready" && type != "MemoryPressure" && type != "DiskPressure" && type != "PIDPressure") continue;
        if (c.value("status", "") == "Unknown") continue;
        c["status"] = "Unknown";
        c["reason"] = "NodeStatusUnknown";
        c["message"] = "Kubelet stopped posting node status.";
        c["lastTransitionTime"] = now_text;
        changed = true;
      }
      if (!has_ready) {
        std::string created = j["metadata"].value("creationTimestamp", now_text);
        conds.push_back({{"type", "Ready"}, {"status", "Unknown"}, {"reason", "NodeStatusNeverUpdated"},
                         {"message", "Kubelet never posted node status."}, {"lastHeartbeatTime", created},
                         {"lastTransitionTime", now_text}});
        changed = true;
      }
      if (changed) {
        auto written = host_->client.update_status(kNodes, status.dump());
        if (!written) return written.status().with_context("node " + name + ": mark Ready=Unknown");
        j = parse(**written);
      }
    }

    // The taints that say why the node cannot be trusted. A node that heartbeats again loses the
    // unreachable taint; its conditions are the kubelet's to put right.
    std::string_view want_key = is_silent ? kUnreachableTaint : (reported_ready == "False" ? kNotReadyTaint : "");
    Json taints = j.value("spec", Json::object()).value("taints", Json::array());
    Json next = Json::array();
    for (const auto& t : taints)
      if (!managed_taint(t) || t.value("key", "") == want_key) next.push_back(t);
    if (!want_key.empty())
      for (std::string_view effect : {"NoSchedule", "NoExecute"}) {
        bool present = std::any_of(next.begin(), next.end(), [&](const Json& t) {
          return t.value("key", "") == want_key && t.value("effect", "") == effect;
        });
        if (!present) next.push_back(taint(want_key, effect, now_text));
      }
    if (next != taints) {
      Json spec_update = j;
      if (next.empty())
        spec_update["spec"].erase("taints");
      else
        spec_update["spec"]["taints"] = next;
      auto written = host_->client.update(kNodes, spec_update.dump());
      if (!written) return written.status().with_context("node " + name + ": taints");
    }

    if (is_silent)
      if (auto s = mark_pods_not_ready(name, now); !s) return s;
    auto next_eviction = evict(name, next, now);
    if (!next_eviction) return next_eviction.status();
    std::int64_t requeue = options_.monitor_period_ms;
    if (*next_eviction > 0) requeue = std::min(requeue, *next_eviction);
    return ctl::ReconcileResult{requeue};
  } catch (const std::exception& e) {
    return plugin::internal("nodelifecycle " + std::string(key) + ": " + e.what());
  }
}

plugin::Status NodeLifecycleController::mark_pods_not_ready(const std::string& node, std::int64_t now) {
  auto pods = host_->cache.list(kPods, {});
  if (!pods) return pods.status();
  for (const auto& p : *pods) {
    const std::string* on = p->field("spec.nodeName");
    if (on == nullptr || *on != node || p->deleting) continue;
    Json pod = parse(*p);
    if (!pod_is_ready(pod)) continue;
    for (auto& c : pod["status"]["conditions"])
      if (c.is_object() && c.value("type", "") == "Ready") {
        c["status"] = "False";
        c["lastTransitionTime"] = plugin::format_rfc3339(now);
      }
    auto written = host_->client.update_status(kPods, pod.dump());
    if (!written && written.status().code() != Code::kNotFound)
      return written.status().with_context("mark pod " + p->key() + " not ready");
  }
  return plugin::Status::ok();
}

plugin::Result<std::int64_t> NodeLifecycleController::evict(const std::string& node, const Json& taints,
                                                           std::int64_t now) {
  std::vector<Json> no_execute;
  for (const auto& t : taints)
    if (t.value("effect", "") == "NoExecute") no_execute.push_back(t);
  if (no_execute.empty()) return std::int64_t{0};

  auto pods = host_->cache.list(kPods, {});
  if (!pods) return pods.status();
  std::int64_t next = 0;
  EventRecorder events(host_->client, host_->clock, std::string(kName));
  for (const auto& p : *pods) {
    const std::string* on = p->field("spec.nodeName");
    if (on == nullptr || *on != node || p->deleting) continue;
    Json pod = parse(*p);
    // The pod may stay until the first of its tolerations of the node's NoExecute taints runs out,
    // each counted from when its taint was added.
    std::int64_t deadline = kForever;
    for (const auto& t : no_execute) {
      std::int64_t ms = tolerated_ms(pod, t, options_.default_toleration_seconds);
      if (ms == kForever) continue;
      std::int64_t added = plugin::parse_rfc3339(t.value("timeAdded", "")).value_or(now);
      deadline = std::min(deadline, added + ms);
    }
    if (deadline == kForever) continue;
    if (deadline > now) {
      std::int64_t wait = deadline - now;
      next = next == 0 ? wait : std::min(next, wait);
      continue;
    }
    plugin::DeleteOptions options;
    options.precondition_uid = p->uid;
    auto removed = host_->client.remove(kPods, p->ns, p->name, options);
    if (!removed && removed.status().code() != Code::kNotFound && removed.status().code() != Code::kConflict)
      return removed.status().with_context("evict pod " + p->key() + " from node " + node);
    if (removed) (void)events.record(pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod " + p->key());
  }
  return next;
}

}  // namespace skiff::plugins::controllers::nodelifecycle
