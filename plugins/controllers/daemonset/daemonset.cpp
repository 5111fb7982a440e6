#include "daemonset.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "skiff/plugin/time.hpp"
#include "workloads.hpp"

namespace skiff::plugins::controllers {
namespace {

namespace ctl = plugin::controller;
const plugin::ResourceId kDaemonSets{"apps", "v1", "daemonsets"};
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
constexpr const char* kHashLabel = "controller-revision-hash";

std::string str(const Json& j, std::string_view key) { return string_field(j, key); }

const Json& field(const Json& j, std::string_view key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

bool tolerates(const Json& toleration, const Json& taint) {
  std::string effect = str(toleration, "effect");
  if (!effect.empty() && effect != str(taint, "effect")) return false;
  std::string key = str(toleration, "key"), op = str(toleration, "operator");
  if (op.empty()) op = "Equal";
  if (key.empty()) return op == "Exists";  // an empty key with Exists tolerates everything
  if (key != str(taint, "key")) return false;
  return op == "Exists" || str(toleration, "value") == str(taint, "value");
}

// One nodeSelectorTerm: every matchExpressions entry on the node's labels, every matchFields entry
// on metadata.name.
bool term_matches(const Json& term, const Json& node) {
  const Json& labels = field(field(node, "metadata"), "labels");
  bool any = false;
  for (const char* kind : {"matchExpressions", "matchFields"}) {
    const Json& reqs = field(term, kind);
    if (!reqs.is_array()) continue;
    for (const auto& r : reqs) {
      any = true;
      std::string key = str(r, "key"), op = str(r, "operator");
      std::optional<std::string> have;
      if (std::string_view(kind) == "matchFields") {
        if (key == "metadata.name") have = str(node["metadata"], "name");
      } else if (labels.is_object() && labels.contains(key) && labels[key].is_string()) {
        have = labels[key].get<std::string>();
      }
      auto in = [&] {
        if (!have || !r.contains("values")) return false;
        for (const auto& v : r["values"])
          if (v.is_string() && v.get<std::string>() == *have) return true;
        return false;
      };
      auto number = [](const std::string& s) -> std::optional<long long> {
        try {
          return std::stoll(s);
        } catch (...) {
          return std::nullopt;
        }
      };
      bool ok = false;
      if (op == "In") ok = in();
      else if (op == "NotIn") ok = !in();
      else if (op == "Exists") ok = have.has_value();
      else if (op == "DoesNotExist") ok = !have.has_value();
      else if ((op == "Gt" || op == "Lt") && have && r.contains("values") && r["values"].size() == 1) {
        auto a = number(*have), b = number(r["values"][0].get<std::string>());
        ok = a && b && (op == "Gt" ? *a > *b : *a < *b);
      }
      if (!ok) return false;
    }
  }
  return any;  // an empty term matches nothing, as in Kubernetes
}

}  // namespace

void add_daemon_tolerations(Json& pod_spec) {
  struct Auto {
    const char* key;
    const char* effect;
  };
  static constexpr Auto kAuto[] = {{"node.kubernetes.io/not-ready", "NoExecute"},
                                   {"node.kubernetes.io/unreachable", "NoExecute"},
                                   {"node.kubernetes.io/disk-pressure", "NoSchedule"},
                                   {"node.kubernetes.io/memory-pressure", "NoSchedule"},
                                   {"node.kubernetes.io/pid-pressure", "NoSchedule"},
                                   {"node.kubernetes.io/unschedulable", "NoSchedule"}};
  Json& tolerations = pod_spec["tolerations"];
  if (!tolerations.is_array()) tolerations = Json::array();
  for (const auto& a : kAuto) {
    bool present = false;
    for (const auto& t : tolerations)
      present = present || (str(t, "key") == a.key && str(t, "operator") == "Exists" && str(t, "effect") == a.effect);
    if (!present) tolerations.push_back({{"key", a.key}, {"operator", "Exists"}, {"effect", a.effect}});
  }
}

bool daemon_should_run(const Json& pod_spec, const Json& node) {
  const Json& labels = field(field(node, "metadata"), "labels");
  const Json& selector = field(pod_spec, "nodeSelector");
  if (selector.is_object())
    for (const auto& [k, v] : selector.items())
      if (!labels.is_object() || !labels.contains(k) || labels[k] != v) return false;
  const Json& required =
      field(field(field(pod_spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
  if (required.is_object()) {
    bool any = false;
    for (const auto& term : field(required, "nodeSelectorTerms")) any = any || term_matches(term, node);
    if (!any) return false;
  }
  Json taints = field(field(node, "spec"), "taints");
  if (!taints.is_array()) taints = Json::array();
  // A cordoned node carries this taint in Kubernetes (the node lifecycle controller adds it).
  if (field(field(node, "spec"), "unschedulable") == true)
    taints.push_back({{"key", "node.kubernetes.io/unschedulable"}, {"effect", "NoSchedule"}});
  const Json& tolerations = field(pod_spec, "tolerations");
  for (const auto& taint : taints) {
    std::string effect = str(taint, "effect");
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    bool ok = false;
    if (tolerations.is_array())
      for (const auto& t : tolerations) ok = ok || tolerates(t, taint);
    if (!ok) return false;
  }
  return true;
}

std::vector<ctl::WatchSpec> DaemonSetController::watches() const noexcept {
  return {{kDaemonSets, ctl::KeyMapping::kSelf, {}},
          {kPods, ctl::KeyMapping::kOwner, "DaemonSet"},
          {kNodes, ctl::KeyMapping::kController, {}}};
}

void DaemonSetController::bind(const ctl::Host& host) noexcept {
  host_.emplace(host);
  events_.emplace(host.client, host.clock, "daemonset-controller");
}

std::vector<std::string> DaemonSetController::map_event(const ctl::WatchSpec&, const plugin::Object&) noexcept {
  // A node came, went or changed: every DaemonSet looks again (Kubernetes does the same, filtered
  // by whether the change matters; a reconcile that finds nothing to do writes nothing).
  std::vector<std::string> keys;
  auto sets = host_->cache.list(kDaemonSets, {});
  if (sets)
    for (const auto& ds : *sets) keys.push_back(ds->key());
  return keys;
}

plugin::Result<ctl::ReconcileResult> DaemonSetController::reconcile(std::string_view key) noexcept {
  return guarded_reconcile("daemonset", key, [this](const std::string& ns, const std::string& name) { return sync(ns, name); });
}

plugin::Result<ctl::ReconcileResult> DaemonSetController::sync(const std::string& ns, const std::string& name) {
  auto object = host_->cache.get(kDaemonSets, ns, name);
  if (!object || object->deleting) {
    std::lock_guard lock(mutex_);
    pending_.erase(ns + "/" + name);
    return ctl::ReconcileResult{};
  }
  Json ds = parse(*object);
  const Json spec = ds.value("spec", Json::object());
  const Json tmpl = spec.value("template", Json::object());
  const std::string hash = pod_template_hash(tmpl);
  Json pod_spec = tmpl.value("spec", Json::object());
  add_daemon_tolerations(pod_spec);
  const std::int64_t min_ready = spec.value("minReadySeconds", std::int64_t{0});
  const std::int64_t now = host_->clock.now_ms();

  auto selector = selector_string(spec.value("selector", Json()));
  if (!selector || selector->empty()) return ctl::ReconcileResult{};
  auto pods = host_->cache.list(kPods, {ns, *selector});
  if (!pods) return pods.status();
  auto nodes = host_->cache.list(kNodes, {});
  if (!nodes) return nodes.status();

  // Pods by the node they are for (spec.nodeName).
  std::map<std::string, std::vector<Json>> by_node;
  for (const auto& p : *pods) {
    Json pod = parse(*p);
    if (!is_controlled_by(pod, object->uid)) continue;
    by_node[str(pod["spec"], "nodeName")].push_back(std::move(pod));
  }
  plugin::Status error = plugin::Status::ok();
  auto note = [&](const plugin::Status& s) {
    if (error.is_ok() && s.code() != plugin::Code::kNotFound) error = s;
  };
  auto remove = [&](const Json& pod) {
    std::string pod_name = str(pod["metadata"], "name");
    // At the version this sync saw (as the StatefulSet controller does): a pod already terminating,
    // which graceful deletion keeps listed while the informer lags, is not deleted and recorded twice.
    // A pod changed since brings its own event, and with it the next sync.
    auto r = host_->client.remove(kPods, ns, pod_name,
                                  {.precondition_uid = str(pod["metadata"], "uid"),
                                   .precondition_resource_version =
                                       std::strtoll(str(pod["metadata"], "resourceVersion").c_str(), nullptr, 10)});
    if (!r) {
      if (r.status().code() != plugin::Code::kConflict) note(r.status());
      return;
    }
    (void)events_->record(ds, "Normal", "SuccessfulDelete", "Deleted pod: " + pod_name);
  };

  std::int64_t desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
  std::vector<std::string> create_on;
  std::vector<Json> old_available;  // rolling update candidates
  std::int64_t unavailable = 0;
  std::map<std::string, bool> node_names;
  for (const auto& n : *nodes) {
    Json node = parse(*n);
    bool run = daemon_should_run(pod_spec, node);
    node_names[n->name] = run;
    auto it = by_node.find(n->name);
    std::vector<Json> active;
    if (it != by_node.end())
      for (auto& pod : it->second) {
        if (pod["metadata"].contains("deletionTimestamp")) continue;
        if (str(pod.value("status", Json::object()), "phase") == "Failed") {
          remove(pod);  // a failed daemon pod is replaced, as Kubernetes does
          continue;
        }
        active.push_back(pod);
      }
    if (!run) {
      if (!active.empty()) ++misscheduled;
      for (const auto& pod : active) remove(pod);
      continue;
    }
    ++desired;
    if (active.empty()) {
      create_on.push_back(n->name);
      ++unavailable;
      continue;
    }
    ++current;
    // More than one pod for the node: keep the oldest.
    std::stable_sort(active.begin(), active.end(), [](const Json& a, const Json& b) {
      return str(a["metadata"], "creationTimestamp") < str(b["metadata"], "creationTimestamp");
    });
    for (std::size_t i = 1; i < active.size(); ++i) remove(active[i]);
    const Json& pod = active[0];
    bool is_updated = str(field(pod["metadata"], "labels"), kHashLabel) == hash;
    if (is_updated) ++updated;
    if (pod_is_ready(pod)) ++ready;
    bool avail = pod_is_available(pod, min_ready, now);
    if (avail) ++available;
    if (!avail) ++unavailable;
    if (!is_updated) {
      if (avail)
        old_available.push_back(pod);
      else
        remove(pod);  // an old pod that is not available anyway is replaced at once
    }
  }
  // Pods on nodes that no longer exist.
  for (const auto& [node, list] : by_node)
    if (!node_names.count(node))
      for (const auto& pod : list)
        if (!pod["metadata"].contains("deletionTimestamp")) {
          ++misscheduled;
          remove(pod);
        }

  // RollingUpdate: replace old available pods while at most maxUnavailable nodes lack an
  // available pod (Kubernetes rounds a percentage up here).
  const Json strategy = spec.value("updateStrategy", Json::object());
  if (str(strategy, "type") != "OnDelete") {
    auto max_unavailable = int_or_percent(
        strategy.value("rollingUpdate", Json::object()).value("maxUnavailable", Json(1)), desired, true);
    if (!max_unavailable) return max_unavailable.status();
    std::int64_t budget = std::max<std::int64_t>(*max_unavailable, 1) - unavailable;
    for (std::size_t i = 0; i < old_available.size() && budget > 0; ++i, --budget) remove(old_available[i]);
  }

  {
    // Leave out nodes whose pod was created but is not in the cache yet (1 minute at most).
    std::lock_guard lock(mutex_);
    auto& pending = pending_[ns + "/" + name];
    // Seen means seen in the snapshot this sync decided from: a pod that reached the cache after
    // the list above was taken is still pending here, or its node would get a second pod.
    std::set<std::string> listed;
    for (const auto& p : *pods) listed.insert(p->name);
    std::erase_if(pending, [&](const auto& entry) {
      return listed.contains(entry.second.first) || now - entry.second.second > 60'000;
    });
    if (!pending.empty()) {
      // A pod deleted before the cache ever saw it would hold its node back for the minute: ask the
      // API (a live read) which pending pods still exist; the others came and went.
      if (auto live = host_->client.list(kPods, {.ns = ns, .label_selector = *selector})) {
        std::set<std::string> existing;
        for (const auto& p : *live) existing.insert(p->name);
        std::erase_if(pending, [&](const auto& entry) { return !existing.contains(entry.second.first); });
      }
    }
    std::erase_if(create_on, [&](const std::string& node) { return pending.count(node) > 0; });
  }
  for (const auto& node : create_on) {
    Json meta = {{"generateName", str(ds["metadata"], "name") + "-"},
                 {"namespace", ns},
                 {"ownerReferences", Json::array({controller_reference(ds, "apps/v1", "DaemonSet")})}};
    if (tmpl.contains("metadata"))
      for (const char* k : {"labels", "annotations"})
        if (tmpl["metadata"].contains(k)) meta[k] = tmpl["metadata"][k];
    meta["labels"][kHashLabel] = hash;
    Json spec_for_node = pod_spec;
    // The node is named both ways: spec.nodeName (there is no scheduler to bind the pod) and the
    // required node affinity Kubernetes puts on daemon pods, so a scheduler would agree.
    spec_for_node["nodeName"] = node;
    Json term = {{"matchFields", Json::array({{{"key", "metadata.name"}, {"operator", "In"}, {"values", {node}}}})}};
    spec_for_node["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
        {"nodeSelectorTerms", Json::array({term})}};
    Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec_for_node}};
    auto created = host_->client.create(kPods, ns, pod.dump());
    if (!created) {
      note(created.status());
      (void)events_->record(ds, "Warning", "FailedCreate", "Error creating: " + created.status().message());
      break;
    }
    {
      std::lock_guard lock(mutex_);
      pending_[ns + "/" + name][node] = {created.value()->name, now};
    }
    (void)events_->record(ds, "Normal", "SuccessfulCreate", "Created pod: " + created.value()->name);
  }

  Json status = ds.value("status", Json::object());
  Json want = status;
  want["desiredNumberScheduled"] = desired;
  want["currentNumberScheduled"] = current;
  want["numberMisscheduled"] = misscheduled;
  want["numberReady"] = ready;
  want["numberAvailable"] = available;
  want["numberUnavailable"] = desired - available;
  want["updatedNumberScheduled"] = updated;
  want["observedGeneration"] = ds["metadata"].value("generation", std::int64_t{1});
  if (want != status) {
    ds["status"] = want;
    auto w = host_->client.update_status(kDaemonSets, ds.dump());
    if (!w) note(w.status());
  }
  if (!error.is_ok()) return error;
  return ctl::ReconcileResult{};
}

}  // namespace skiff::plugins::controllers
