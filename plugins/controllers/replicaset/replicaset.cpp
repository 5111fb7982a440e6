#include "replicaset.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "skiff/plugin/time.hpp"
#include "workloads.hpp"

namespace skiff::plugins::controllers {
namespace {

namespace ctl = plugin::controller;
const plugin::ResourceId kReplicaSets{"apps", "v1", "replicasets"};
const plugin::ResourceId kPods{"", "v1", "pods"};

std::string str(const Json& j, std::string_view key) { return string_field(j, key); }

const Json& labels_of(const Json& object) {
  static const Json kEmpty = Json::object();
  auto meta = object.find("metadata");
  if (meta == object.end()) return kEmpty;
  auto labels = meta->find("labels");
  return labels != meta->end() && labels->is_object() ? *labels : kEmpty;
}

const Json* ready_condition(const Json& pod) {
  auto status = pod.find("status");
  if (status == pod.end() || !status->contains("conditions")) return nullptr;
  for (const auto& c : (*status)["conditions"])
    if (str(c, "type") == "Ready") return &c;
  return nullptr;
}

// Kubernetes' ActivePods order: the pod to delete first sorts first.
bool delete_first(const Json& a, const Json& b) {
  std::string na = a["spec"].value("nodeName", ""), nb = b["spec"].value("nodeName", "");
  if (na.empty() != nb.empty()) return na.empty();
  auto phase_rank = [](const Json& p) {
    std::string phase = p.contains("status") ? p["status"].value("phase", "Pending") : "Pending";
    return phase == "Pending" ? 0 : phase == "Unknown" ? 1 : 2;
  };
  if (phase_rank(a) != phase_rank(b)) return phase_rank(a) < phase_rank(b);
  bool ra = pod_is_ready(a), rb = pod_is_ready(b);
  if (ra != rb) return !ra;
  if (ra && rb) {  // ready for a shorter time first
    auto ta = plugin::parse_rfc3339(str(*ready_condition(a), "lastTransitionTime"));
    auto tb = plugin::parse_rfc3339(str(*ready_condition(b), "lastTransitionTime"));
    if (ta && tb && *ta != *tb) return *ta > *tb;
  }
  auto restarts = [](const Json& p) {
    std::int64_t n = 0;
    if (p.contains("status") && p["status"].contains("containerStatuses"))
      for (const auto& c : p["status"]["containerStatuses"]) n = std::max(n, c.value("restartCount", std::int64_t{0}));
    return n;
  };
  if (restarts(a) != restarts(b)) return restarts(a) > restarts(b);
  auto ca = plugin::parse_rfc3339(str(a["metadata"], "creationTimestamp"));
  auto cb = plugin::parse_rfc3339(str(b["metadata"], "creationTimestamp"));
  if (ca && cb && *ca != *cb) return *ca > *cb;  // newest first
  return str(a["metadata"], "name") > str(b["metadata"], "name");
}

Json pod_from_template(const Json& rs, const std::string& ns) {
  const Json& tmpl = rs["spec"]["template"];
  Json meta = {{"generateName", str(rs["metadata"], "name") + "-"},
               {"namespace", ns},
               {"ownerReferences", Json::array({controller_reference(rs, "apps/v1", "ReplicaSet")})}};
  if (tmpl.contains("metadata"))
    for (const char* k : {"labels", "annotations", "finalizers"})
      if (tmpl["metadata"].contains(k)) meta[k] = tmpl["metadata"][k];
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", tmpl.value("spec", Json::object())}};
}

// True when every label of the pod template is on the pod (status.fullyLabeledReplicas).
bool fully_labeled(const Json& pod, const Json& template_labels) {
  const Json& have = labels_of(pod);
  for (const auto& [k, v] : template_labels.items()) {
    auto it = have.find(k);
    if (it == have.end() || *it != v) return false;
  }
  return true;
}

}  // namespace

std::vector<ctl::WatchSpec> ReplicaSetController::watches() const noexcept {
  // Pods map through map_event: owned pods to their ReplicaSet, orphans to every ReplicaSet whose
  // selector matches them (which may adopt them).
  return {{kReplicaSets, ctl::KeyMapping::kSelf, {}}, {kPods, ctl::KeyMapping::kController, {}}};
}

void ReplicaSetController::bind(const ctl::Host& host) noexcept {
  host_.emplace(host);
  events_.emplace(host.client, host.clock, "replicaset-controller");
}

std::vector<std::string> ReplicaSetController::map_event(const ctl::WatchSpec&, const plugin::Object& object) noexcept {
  std::vector<std::string> keys;
  try {
    Json pod = Json::parse(object.json);
    if (auto ref = controller_of(pod)) {
      if (str(*ref, "kind") == "ReplicaSet" && str(*ref, "apiVersion").rfind("apps/", 0) == 0) {
        keys.push_back(object.ns + "/" + str(*ref, "name"));
        std::lock_guard lock(mutex_);
        touched_[keys.back()].insert(object.name);
      }
      return keys;
    }
    if (object.deleting) return keys;
    auto sets = host_->cache.list(kReplicaSets, {object.ns, ""});
    if (!sets) return keys;
    const Json& labels = labels_of(pod);
    for (const auto& rs : *sets) {
      Json j = Json::parse(rs->json);
      if (j.contains("spec") && selector_matches(j["spec"].value("selector", Json()), labels)) keys.push_back(rs->key());
    }
  } catch (const std::exception&) {
    keys.clear();  // an unparsable object maps to nothing; the next event or resync tries again
  }
  return keys;
}

bool ReplicaSetController::expectations_satisfied(const std::string& key, const std::string& ns) {
  std::lock_guard lock(mutex_);
  auto it = expectations_.find(key);
  if (it == expectations_.end()) return true;
  Expectations& e = it->second;
  std::erase_if(e.adds, [&](const std::string& pod) { return host_->cache.get(kPods, ns, pod) != nullptr; });
  if (!e.adds.empty()) {
    // A pod deleted before the cache ever saw it would wait for the timeout: ask the API (a live
    // read) which of the expected pods still exist; the ones that do not were observed, and gone.
    if (auto live = host_->client.list(kPods, {.ns = ns})) {
      std::set<std::string> existing;
      for (const auto& p : *live) existing.insert(p->name);
      std::erase_if(e.adds, [&](const std::string& pod) { return !existing.contains(pod); });
    }
  }
  std::erase_if(e.deletes, [&](const std::string& pod) {
    auto p = host_->cache.get(kPods, ns, pod);
    return p == nullptr || p->deleting;
  });
  if ((e.adds.empty() && e.deletes.empty()) || host_->clock.now_ms() - e.since_ms > options_.expectations_timeout_ms) {
    expectations_.erase(it);
    return true;
  }
  return false;
}

plugin::Result<ctl::ReconcileResult> ReplicaSetController::reconcile(std::string_view key) noexcept {
  return guarded_reconcile("replicaset", key, [this](const std::string& ns, const std::string& name) { return sync(ns, name); });
}

plugin::Result<ctl::ReconcileResult> ReplicaSetController::sync(const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  auto object = host_->cache.get(kReplicaSets, ns, name);
  if (!object) {
    std::lock_guard lock(mutex_);
    expectations_.erase(key);
    touched_.erase(key);
    return ctl::ReconcileResult{};
  }
  Json rs = parse(*object);
  const Json spec = rs.value("spec", Json::object());
  const std::int64_t replicas = spec.value("replicas", std::int64_t{1});
  const std::int64_t min_ready = spec.value("minReadySeconds", std::int64_t{0});
  const Json selector = spec.value("selector", Json());
  const std::string uid = object->uid;
  plugin::Status error = plugin::Status::ok();
  auto note = [&](const plugin::Status& s) {
    if (error.is_ok()) error = s;
  };

  // Claim: keep owned pods that still match, release those that don't, adopt matching orphans.
  // Candidates: the pods the selector lists (cheap: the cache matches labels without parsing) and
  // the pods whose recent events named this ReplicaSet (an owned pod relabelled out of the selector).
  auto wanted = selector_string(selector);
  if (!wanted || wanted->empty()) return ctl::ReconcileResult{};  // the API refuses such ReplicaSets
  // Expectations before the pod list, as Kubernetes orders them: a pod the cache shows the
  // expectations check is then in the list too. The other order let a pod this controller created
  // reach the cache between a list that lacked it and the check that then found the expectations met,
  // and the replica was created twice (a rolling update surged past maxSurge).
  const bool may_scale = !object->deleting && expectations_satisfied(key, ns);
  auto pods = host_->cache.list(kPods, {ns, *wanted});
  if (!pods) return pods.status();
  std::set<std::string> touched;
  {
    std::lock_guard lock(mutex_);
    if (auto it = touched_.find(key); it != touched_.end()) {
      touched.swap(it->second);
      touched_.erase(it);
    }
  }
  for (const auto& p : *pods) touched.erase(p->name);
  for (const auto& pod_name : touched)
    if (auto p = host_->cache.get(kPods, ns, pod_name)) pods->push_back(std::move(p));
  std::vector<Json> owned;
  for (const auto& p : *pods) {
    Json pod = parse(*p);
    bool matches = selector_matches(selector, labels_of(pod));
    auto ref = controller_of(pod);
    if (ref && str(*ref, "uid") != uid) continue;
    if (ref && matches) {
      owned.push_back(std::move(pod));
      continue;
    }
    if (p->deleting || (!ref && (!matches || object->deleting))) continue;
    Json& refs = pod["metadata"]["ownerReferences"];
    if (ref) {  // release: the pod no longer matches
      Json kept = Json::array();
      for (const auto& r : refs)
        if (str(r, "uid") != uid) kept.push_back(r);
      if (kept.empty())
        pod["metadata"].erase("ownerReferences");
      else
        refs = kept;
    } else {  // adopt
      if (!refs.is_array()) refs = Json::array();
      refs.push_back(controller_reference(rs, "apps/v1", "ReplicaSet"));
    }
    auto updated = host_->client.update(kPods, pod.dump());
    if (!updated) {
      if (updated.status().code() != plugin::Code::kNotFound) note(updated.status());
      continue;
    }
    if (!ref) owned.push_back(parse(*updated.value()));
  }

  std::vector<Json> active;
  for (auto& pod : owned)
    if (pod_is_active(pod)) active.push_back(std::move(pod));

  if (may_scale) {
    const auto diff = static_cast<std::int64_t>(active.size()) - replicas;
    if (diff < 0) {
      // Slow start: batches of 1, 2, 4, … so that a template the API refuses fails once, not N times.
      std::int64_t remaining = std::min(-diff, options_.burst_replicas);
      Json pod = pod_from_template(rs, ns);
      std::string body = pod.dump();
      for (std::int64_t batch = 1; remaining > 0 && error.is_ok(); batch *= 2) {
        std::int64_t n = std::min(batch, remaining);
        for (std::int64_t i = 0; i < n; ++i) {
          auto created = host_->client.create(kPods, ns, body);
          if (!created) {
            note(created.status());
            (void)events_->record(rs, "Warning", "FailedCreate", "Error creating: " + created.status().message());
            break;
          }
          {
            std::lock_guard lock(mutex_);
            auto& e = expectations_[key];
            if (e.adds.empty() && e.deletes.empty()) e.since_ms = host_->clock.now_ms();
            e.adds.insert(created.value()->name);
          }
          active.push_back(parse(*created.value()));
          (void)events_->record(rs, "Normal", "SuccessfulCreate", "Created pod: " + created.value()->name);
        }
        remaining -= n;
      }
    } else if (diff > 0) {
      std::stable_sort(active.begin(), active.end(), delete_first);
      std::int64_t n = std::min(diff, options_.burst_replicas);
      for (std::int64_t i = 0; i < n; ++i) {
        const Json& victim = active[static_cast<std::size_t>(i)];
        std::string pod_name = str(victim["metadata"], "name");
        {
          std::lock_guard lock(mutex_);
          auto& e = expectations_[key];
          if (e.adds.empty() && e.deletes.empty()) e.since_ms = host_->clock.now_ms();
          e.deletes.insert(pod_name);
        }
        auto removed = host_->client.remove(kPods, ns, pod_name, {.precondition_uid = str(victim["metadata"], "uid")});
        if (!removed && removed.status().code() != plugin::Code::kNotFound) {
          std::lock_guard lock(mutex_);
          expectations_[key].deletes.erase(pod_name);
          note(removed.status());
          (void)events_->record(rs, "Warning", "FailedDelete", "Error deleting: " + removed.status().message());
          continue;
        }
        if (removed) (void)events_->record(rs, "Normal", "SuccessfulDelete", "Deleted pod: " + pod_name);
      }
      active.erase(active.begin(), active.begin() + n);
    }
  }

  // Status, from the pods as this reconcile leaves them.
  const std::int64_t now = host_->clock.now_ms();
  const Json template_labels = spec.contains("template") ? labels_of(spec["template"]) : Json::object();
  std::int64_t fully = 0, ready = 0, available = 0;
  std::int64_t next_available_ms = std::numeric_limits<std::int64_t>::max();
  for (const auto& pod : active) {
    if (fully_labeled(pod, template_labels)) ++fully;
    if (!pod_is_ready(pod)) continue;
    ++ready;
    if (pod_is_available(pod, min_ready, now)) {
      ++available;
    } else if (auto since = plugin::parse_rfc3339(str(*ready_condition(pod), "lastTransitionTime"))) {
      next_available_ms = std::min(next_available_ms, *since + min_ready * 1000 - now);
    }
  }
  Json status = rs.value("status", Json::object());
  Json want = status;
  want["replicas"] = static_cast<std::int64_t>(active.size());
  want["fullyLabeledReplicas"] = fully;
  want["readyReplicas"] = ready;
  want["availableReplicas"] = available;
  want["observedGeneration"] = rs["metadata"].value("generation", std::int64_t{1});
  if (want != status) {
    rs["status"] = want;
    // Unconditional (no resourceVersion): only this controller writes the status, one reconcile per
    // key at a time from a cache that only moves forward, so a concurrent spec change (a Deployment
    // scaling this ReplicaSet) must not turn the write into a conflict and a rate-limited retry.
    rs["metadata"].erase("resourceVersion");
    auto written = host_->client.update_status(kReplicaSets, rs.dump());
    if (!written && written.status().code() != plugin::Code::kNotFound) note(written.status());
  }
  if (!error.is_ok()) {
    std::lock_guard lock(mutex_);
    touched_[key].merge(touched);  // look at them again on the retry
    return error;
  }

  ctl::ReconcileResult result;
  if (next_available_ms != std::numeric_limits<std::int64_t>::max()) {
    // A ready pod turns available once minReadySeconds pass, with no event to say so: look again then.
    result.requeue_after_ms = std::max<std::int64_t>(next_available_ms, 1);
    if (options_.max_requeue_ms > 0) result.requeue_after_ms = std::min(result.requeue_after_ms, options_.max_requeue_ms);
  }
  return result;
}

}  // namespace skiff::plugins::controllers
