#include "deployment.hpp"

#include <algorithm>
#include <climits>

#include "skiff/plugin/time.hpp"
#include "workloads.hpp"

namespace skiff::plugins::controllers {
namespace {

namespace ctl = plugin::controller;
const plugin::ResourceId kDeployments{"apps", "v1", "deployments"};
const plugin::ResourceId kReplicaSets{"apps", "v1", "replicasets"};

constexpr const char* kRevision = "deployment.kubernetes.io/revision";
constexpr const char* kRevisionHistory = "deployment.kubernetes.io/revision-history";
constexpr const char* kDesiredReplicas = "deployment.kubernetes.io/desired-replicas";
constexpr const char* kMaxReplicas = "deployment.kubernetes.io/max-replicas";
constexpr const char* kHashLabel = "pod-template-hash";

// Annotations of the Deployment that are not copied to its ReplicaSets (Kubernetes' list).
bool skipped_annotation(const std::string& k) {
  return k == "kubectl.kubernetes.io/last-applied-configuration" || k == kRevision || k == kRevisionHistory ||
         k == kDesiredReplicas || k == kMaxReplicas || k == "deprecated.deployment.rollback.to";
}

std::string str(const Json& j, std::string_view key) { return string_field(j, key); }

std::int64_t num(const Json& j, std::string_view key, std::int64_t fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : fallback;
}

std::int64_t spec_replicas(const Json& rs) { return num(rs["spec"], "replicas", 1); }
std::int64_t status_of(const Json& rs, std::string_view field) { return rs.contains("status") ? num(rs["status"], field) : 0; }
std::string name_of(const Json& o) { return str(o["metadata"], "name"); }

std::int64_t revision_of(const Json& rs) {
  std::string r = rs["metadata"].contains("annotations") ? str(rs["metadata"]["annotations"], kRevision) : "";
  std::int64_t v = 0;
  for (char c : r) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The template with the pod-template-hash label (and null members) taken out, for Kubernetes'
// EqualIgnoreHash.
Json without_hash(Json tmpl) {
  tmpl = without_nulls(std::move(tmpl));
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("labels")) {
    tmpl["metadata"]["labels"].erase(kHashLabel);
    if (tmpl["metadata"]["labels"].empty()) tmpl["metadata"].erase("labels");
  }
  return tmpl;
}

Json* find_condition(Json& status, std::string_view type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return nullptr;
  for (auto& c : status["conditions"])
    if (str(c, "type") == type) return &c;
  return nullptr;
}

void remove_condition(Json& status, std::string_view type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return;
  Json kept = Json::array();
  for (auto& c : status["conditions"])
    if (str(c, "type") != type) kept.push_back(std::move(c));
  status["conditions"] = std::move(kept);
}

// Kubernetes' SetDeploymentCondition: same status and reason is no change; same status keeps the
// transition time.
void set_condition(Json& status, std::string_view type, std::string_view cond_status, std::string_view reason,
                   const std::string& message, std::int64_t now) {
  std::string ts = plugin::format_rfc3339(now);
  std::string transition = ts;
  if (Json* cur = find_condition(status, type)) {
    if (str(*cur, "status") == cond_status && str(*cur, "reason") == reason) return;
    if (str(*cur, "status") == cond_status) transition = str(*cur, "lastTransitionTime");
  }
  remove_condition(status, type);
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
  status["conditions"].push_back({{"type", type},
                                  {"status", cond_status},
                                  {"lastUpdateTime", ts},
                                  {"lastTransitionTime", transition},
                                  {"reason", reason},
                                  {"message", message}});
}

}  // namespace

// One reconcile of one Deployment: Kubernetes' sync / rolloutRolling / rolloutRecreate.
struct DeploymentController::Sync {
  const ctl::Host& host;
  EventRecorder& events;
  std::string ns;
  Json d;
  Json old_status;
  Json status;
  std::vector<Json> rses;  // owned, oldest first
  std::optional<std::size_t> new_rs;
  std::int64_t replicas = 1, surge = 0, unavailable = 0, now = 0;
  bool recreate = false, has_deadline = false;

  std::string quoted_new() const { return new_rs ? "ReplicaSet \"" + name_of(rses[*new_rs]) + "\"" : "Deployment \"" + name_of(d) + "\""; }

  plugin::Status load() {
    const Json& spec = d["spec"];
    replicas = num(spec, "replicas", 1);
    now = host.clock.now_ms();
    old_status = d.value("status", Json::object());
    status = old_status;
    has_deadline = spec.contains("progressDeadlineSeconds") && spec["progressDeadlineSeconds"].is_number_integer() &&
                   spec["progressDeadlineSeconds"].get<std::int64_t>() != INT32_MAX;
    const Json strategy = spec.value("strategy", Json::object());
    recreate = str(strategy, "type") == "Recreate";
    if (!recreate) {
      const Json ru = strategy.value("rollingUpdate", Json::object());
      auto s = int_or_percent(ru.value("maxSurge", Json("25%")), replicas, true);
      auto u = int_or_percent(ru.value("maxUnavailable", Json("25%")), replicas, false);
      if (!s) return s.status();
      if (!u) return u.status();
      surge = *s;
      unavailable = *u;
      if (surge == 0 && unavailable == 0) unavailable = 1;  // Kubernetes' ResolveFenceposts: never stuck
      unavailable = std::min(unavailable, replicas);
    }
    auto selector = selector_string(spec.value("selector", Json()));
    if (!selector) return selector.status();
    auto listed = host.cache.list(kReplicaSets, {ns, *selector});
    if (!listed) return listed.status();
    std::string uid = str(d["metadata"], "uid");
    for (const auto& o : *listed) {
      Json rs = parse(*o);
      if (is_controlled_by(rs, uid)) rses.push_back(std::move(rs));
    }
    std::stable_sort(rses.begin(), rses.end(), [](const Json& a, const Json& b) {
      auto ca = plugin::parse_rfc3339(str(a["metadata"], "creationTimestamp")).value_or(0);
      auto cb = plugin::parse_rfc3339(str(b["metadata"], "creationTimestamp")).value_or(0);
      return ca != cb ? ca < cb : name_of(a) < name_of(b);
    });
    const Json tmpl = spec.value("template", Json::object());
    for (std::size_t i = 0; i < rses.size() && !new_rs; ++i)
      if (without_hash(rses[i]["spec"].value("template", Json::object())) == without_hash(tmpl)) new_rs = i;
    return plugin::Status::ok();
  }

  std::int64_t sum(std::string_view field, bool old_only = false) const {
    std::int64_t n = 0;
    for (std::size_t i = 0; i < rses.size(); ++i)
      if (!old_only || i != new_rs) n += field == "spec" ? spec_replicas(rses[i]) : status_of(rses[i], field);
    return n;
  }

  // Kubernetes' NewRSNewReplicas, counting for each ReplicaSet the larger of spec.replicas and
  // status.replicas: pods of a ReplicaSet just scaled down still exist until its controller deletes
  // them, and counting them keeps the pods themselves (not only the specs) within maxSurge.
  std::int64_t new_rs_new_replicas() const {
    if (recreate) return replicas;
    std::int64_t current = 0;
    for (const auto& rs : rses) current += std::max(spec_replicas(rs), status_of(rs, "replicas"));
    std::int64_t max_total = replicas + surge;
    std::int64_t have = new_rs ? spec_replicas(rses[*new_rs]) : 0;
    if (current >= max_total) return have;
    return have + std::max<std::int64_t>(0, std::min(max_total - current, replicas - have));
  }

  Json copied_annotations() const {
    Json out = Json::object();
    if (d["metadata"].contains("annotations"))
      for (const auto& [k, v] : d["metadata"]["annotations"].items())
        if (!skipped_annotation(k)) out[k] = v;
    return out;
  }

  // Finds or creates the new ReplicaSet, keeps its revision (max old + 1) and copied annotations,
  // and carries the revision to the Deployment.
  plugin::Status sync_revision(bool create) {
    std::int64_t max_old = 0;
    for (std::size_t i = 0; i < rses.size(); ++i)
      if (i != new_rs) max_old = std::max(max_old, revision_of(rses[i]));
    const std::string new_revision = std::to_string(max_old + 1);
    std::string revision;
    if (new_rs) {
      Json rs = rses[*new_rs];
      Json& ann = rs["metadata"]["annotations"];
      if (!ann.is_object()) ann = Json::object();
      Json before = ann;
      const Json copied = copied_annotations();
      for (auto it = copied.begin(); it != copied.end(); ++it) ann[it.key()] = it.value();
      if (revision_of(rs) < max_old + 1) {
        // A reused ReplicaSet (a rollback to its template) takes the newest revision and remembers
        // its earlier ones.
        std::string old_rev = str(ann, kRevision);
        if (!old_rev.empty()) {
          std::string history = str(ann, kRevisionHistory);
          ann[kRevisionHistory] = history.empty() ? old_rev : history + "," + old_rev;
        }
        ann[kRevision] = new_revision;
      }
      bool changed = ann != before;
      std::int64_t min_ready = num(d["spec"], "minReadySeconds");
      if (num(rs["spec"], "minReadySeconds") != min_ready) {
        rs["spec"]["minReadySeconds"] = min_ready;
        changed = true;
      }
      if (changed) {
        auto updated = host.client.update(kReplicaSets, rs.dump());
        if (!updated) return updated.status();
        rses[*new_rs] = parse(*updated.value());
      }
      revision = str(rses[*new_rs]["metadata"]["annotations"], kRevision);
      if (has_deadline && find_condition(status, "Progressing") == nullptr)
        set_condition(status, "Progressing", "True", "FoundNewReplicaSet",
                      "Found new replica set \"" + name_of(rses[*new_rs]) + "\"", now);
    } else if (create) {
      if (auto s = create_new_rs(new_revision); !s) return s;
      revision = new_revision;
    } else {
      return plugin::Status::ok();
    }
    if (str(d["metadata"].value("annotations", Json::object()), kRevision) != revision) {
      Json copy = d;
      copy["metadata"]["annotations"][kRevision] = revision;
      auto updated = host.client.update(kDeployments, copy.dump());
      if (!updated) return updated.status();
      d = parse(*updated.value());
    }
    return plugin::Status::ok();
  }

  plugin::Status create_new_rs(const std::string& revision) {
    const Json& spec = d["spec"];
    std::int64_t collisions = num(status, "collisionCount");
    std::string hash = pod_template_hash(spec["template"], collisions);
    Json tmpl = spec["template"];
    tmpl["metadata"]["labels"][kHashLabel] = hash;
    Json selector = spec["selector"];
    selector["matchLabels"][kHashLabel] = hash;
    Json ann = copied_annotations();
    ann[kRevision] = revision;
    ann[kDesiredReplicas] = std::to_string(replicas);
    ann[kMaxReplicas] = std::to_string(replicas + surge);
    std::int64_t count = new_rs_new_replicas();
    std::string name = name_of(d) + "-" + hash;
    Json rs = {{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"metadata",
                {{"name", name},
                 {"namespace", ns},
                 {"labels", tmpl["metadata"]["labels"]},
                 {"annotations", ann},
                 {"ownerReferences", Json::array({controller_reference(d, "apps/v1", "Deployment")})}}},
               {"spec",
                {{"replicas", count},
                 {"minReadySeconds", num(spec, "minReadySeconds")},
                 {"selector", selector},
                 {"template", tmpl}}}};
    auto created = host.client.create(kReplicaSets, ns, rs.dump());
    if (!created) {
      if (created.status().code() == plugin::Code::kAlreadyExists) {
        auto existing = host.cache.get(kReplicaSets, ns, name);
        if (existing) {
          Json e = parse(*existing);
          bool ours = is_controlled_by(e, str(d["metadata"], "uid")) &&
                      without_hash(e["spec"].value("template", Json::object())) == without_hash(spec["template"]);
          if (!ours) {
            // A hash collision with someone else's ReplicaSet: the next name comes from collisionCount + 1.
            status["collisionCount"] = collisions + 1;
            d["status"] = status;
            auto w = host.client.update_status(kDeployments, d.dump());
            if (!w) return w.status();
          }
        }
        return plugin::Status(plugin::Code::kUnavailable, "replica set " + name + " exists but is not cached yet");
      }
      (void)events.record(d, "Warning", "FailedCreate", "Failed to create new replica set \"" + name + "\": " +
                                                             created.status().message());
      if (has_deadline) {
        set_condition(status, "Progressing", "False", "ReplicaSetCreateError",
                      "Failed to create new replica set \"" + name + "\": " + created.status().message(), now);
        d["status"] = status;
        (void)host.client.update_status(kDeployments, d.dump());
      }
      return created.status();
    }
    rses.push_back(parse(*created.value()));
    new_rs = rses.size() - 1;
    if (count > 0)
      (void)events.record(d, "Normal", "ScalingReplicaSet",
                          "Scaled up replica set " + name + " from 0 to " + std::to_string(count));
    if (has_deadline)
      set_condition(status, "Progressing", "True", "NewReplicaSetCreated", "Created new replica set \"" + name + "\"", now);
    return plugin::Status::ok();
  }

  // Sets one ReplicaSet's spec.replicas (and the desired/max annotations); true when it changed.
  plugin::Result<bool> scale(std::size_t i, std::int64_t to) {
    Json rs = rses[i];
    std::int64_t from = spec_replicas(rs);
    if (from == to) return false;
    rs["spec"]["replicas"] = to;
    rs["metadata"]["annotations"][kDesiredReplicas] = std::to_string(replicas);
    rs["metadata"]["annotations"][kMaxReplicas] = std::to_string(replicas + surge);
    auto updated = host.client.update(kReplicaSets, rs.dump());
    if (!updated) return updated.status();
    rses[i] = parse(*updated.value());
    (void)events.record(d, "Normal", "ScalingReplicaSet",
                        std::string("Scaled ") + (to > from ? "up" : "down") + " replica set " + name_of(rs) + " from " +
                            std::to_string(from) + " to " + std::to_string(to));
    return true;
  }

  std::vector<std::size_t> old_indices() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < rses.size(); ++i)
      if (i != new_rs) out.push_back(i);
    return out;  // oldest first, as rses is sorted
  }

  // Kubernetes' reconcileOldReplicaSets: scale old ReplicaSets down as far as maxUnavailable allows,
  // their unhealthy replicas first.
  plugin::Result<bool> reconcile_old() {
    if (sum("spec", true) == 0) return false;
    std::int64_t min_available = replicas - unavailable;
    std::int64_t new_unavailable = new_rs ? spec_replicas(rses[*new_rs]) - status_of(rses[*new_rs], "availableReplicas") : 0;
    std::int64_t max_scaled_down = sum("spec") - min_available - new_unavailable;
    if (max_scaled_down <= 0) return false;
    std::int64_t cleaned = 0;
    for (std::size_t i : old_indices()) {
      if (cleaned >= max_scaled_down) break;
      std::int64_t have = spec_replicas(rses[i]), healthy = status_of(rses[i], "availableReplicas");
      if (have == 0 || have <= healthy) continue;
      std::int64_t k = std::min(max_scaled_down - cleaned, have - healthy);
      auto s = scale(i, have - k);
      if (!s) return s.status();
      cleaned += k;
    }
    // Pods of a ReplicaSet scaled down but not yet deleted still show in its status: counting at
    // most spec.replicas of each keeps them from being counted as available twice.
    std::int64_t available = 0;
    for (const auto& rs : rses) available += std::min(status_of(rs, "availableReplicas"), spec_replicas(rs));
    std::int64_t scaled = 0;
    if (available > min_available) {
      std::int64_t total = available - min_available;
      for (std::size_t i : old_indices()) {
        if (scaled >= total) break;
        std::int64_t have = spec_replicas(rses[i]);
        if (have == 0) continue;
        std::int64_t k = std::min(have, total - scaled);
        auto s = scale(i, have - k);
        if (!s) return s.status();
        scaled += k;
      }
    }
    return cleaned + scaled > 0;
  }

  // revisionHistoryLimit: delete the oldest old ReplicaSets that are fully scaled down.
  plugin::Status cleanup() {
    if (!d["spec"].contains("revisionHistoryLimit")) return plugin::Status::ok();
    std::int64_t limit = num(d["spec"], "revisionHistoryLimit");
    std::vector<std::size_t> cleanable;
    for (std::size_t i : old_indices())
      if (!rses[i]["metadata"].contains("deletionTimestamp")) cleanable.push_back(i);
    std::int64_t diff = static_cast<std::int64_t>(cleanable.size()) - limit;
    if (diff <= 0) return plugin::Status::ok();
    std::stable_sort(cleanable.begin(), cleanable.end(),
                     [&](std::size_t a, std::size_t b) { return revision_of(rses[a]) < revision_of(rses[b]); });
    for (std::int64_t k = 0; k < diff; ++k) {
      const Json& rs = rses[cleanable[static_cast<std::size_t>(k)]];
      if (status_of(rs, "replicas") != 0 || spec_replicas(rs) != 0 ||
          num(rs["metadata"], "generation", 1) > status_of(rs, "observedGeneration"))
        continue;
      auto removed = host.client.remove(kReplicaSets, ns, name_of(rs), {.precondition_uid = str(rs["metadata"], "uid")});
      if (!removed && removed.status().code() != plugin::Code::kNotFound) return removed.status();
    }
    return plugin::Status::ok();
  }

  bool complete(const Json& s) const {
    return num(s, "updatedReplicas") == replicas && num(s, "replicas") == replicas &&
           num(s, "availableReplicas") == replicas && num(s, "observedGeneration") >= num(d["metadata"], "generation", 1);
  }

  Json calculate_status() {
    Json s = status;
    s["observedGeneration"] = num(d["metadata"], "generation", 1);
    s["replicas"] = sum("replicas");
    s["updatedReplicas"] = new_rs ? status_of(rses[*new_rs], "replicas") : 0;
    s["readyReplicas"] = sum("readyReplicas");
    s["availableReplicas"] = sum("availableReplicas");
    s["unavailableReplicas"] = std::max<std::int64_t>(0, sum("spec") - sum("availableReplicas"));
    if (sum("availableReplicas") >= replicas - unavailable)
      set_condition(s, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now);
    else
      set_condition(s, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now);
    return s;
  }

  // Status and, for a rollout, the Progressing condition (Kubernetes' syncRolloutStatus); writes
  // it when it changed and says when to look again for progressDeadlineSeconds.
  plugin::Result<ctl::ReconcileResult> finish(bool rollout, std::int64_t max_requeue_ms) {
    Json s = calculate_status();
    ctl::ReconcileResult result;
    if (rollout && !has_deadline) remove_condition(s, "Progressing");
    if (rollout && has_deadline) {
      const std::int64_t deadline_ms = num(d["spec"], "progressDeadlineSeconds") * 1000;
      Json* cur = find_condition(s, "Progressing");
      std::string reason = cur ? str(*cur, "reason") : "";
      if (reason != "ProgressDeadlineExceeded") {
        auto old_of = [](const Json& st) { return num(st, "replicas") - num(st, "updatedReplicas"); };
        bool progressing = num(s, "updatedReplicas") > num(old_status, "updatedReplicas") || old_of(s) < old_of(old_status) ||
                           num(s, "readyReplicas") > num(old_status, "readyReplicas") ||
                           num(s, "availableReplicas") > num(old_status, "availableReplicas");
        bool timed_out = cur != nullptr && reason != "NewReplicaSetAvailable" &&
                         plugin::parse_rfc3339(str(*cur, "lastUpdateTime")).value_or(now) + deadline_ms < now;
        if (complete(s)) {
          set_condition(s, "Progressing", "True", "NewReplicaSetAvailable", quoted_new() + " has successfully progressed.", now);
        } else if (progressing) {
          // Progress refreshes lastUpdateTime even with an unchanged reason (the deadline counts from it).
          std::string transition = cur && str(*cur, "status") == "True" ? str(*cur, "lastTransitionTime") : plugin::format_rfc3339(now);
          remove_condition(s, "Progressing");
          s["conditions"].push_back({{"type", "Progressing"},
                                     {"status", "True"},
                                     {"lastUpdateTime", plugin::format_rfc3339(now)},
                                     {"lastTransitionTime", transition},
                                     {"reason", "ReplicaSetUpdated"},
                                     {"message", quoted_new() + " is progressing."}});
        } else if (timed_out) {
          set_condition(s, "Progressing", "False", "ProgressDeadlineExceeded", quoted_new() + " has timed out progressing.", now);
        }
        cur = find_condition(s, "Progressing");
        if (!complete(s) && cur != nullptr && str(*cur, "reason") != "ProgressDeadlineExceeded") {
          // Nothing else would wake this deployment when the deadline passes: look again then.
          std::int64_t last = plugin::parse_rfc3339(str(*cur, "lastUpdateTime")).value_or(now);
          result.requeue_after_ms = std::max<std::int64_t>(last + deadline_ms - now + 1000, 1);
          if (max_requeue_ms > 0) result.requeue_after_ms = std::min(result.requeue_after_ms, max_requeue_ms);
        }
      }
    }
    if (s != old_status) {
      d["status"] = s;
      // Unconditional, as the ReplicaSet controller's status write (see there): observedGeneration
      // says which spec this status is about.
      d["metadata"].erase("resourceVersion");
      auto written = host.client.update_status(kDeployments, d.dump());
      if (!written) return written.status();
    }
    return result;
  }

  plugin::Result<ctl::ReconcileResult> run(std::int64_t max_requeue_ms) {
    const bool paused = d["spec"].value("paused", false);
    if (has_deadline) {
      Json* cur = find_condition(status, "Progressing");
      if (paused && (cur == nullptr || str(*cur, "reason") != "DeploymentPaused"))
        set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now);
      else if (!paused && cur != nullptr && str(*cur, "reason") == "DeploymentPaused")
        set_condition(status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now);
    }
    if (paused) {
      // Kubernetes' sync(): no new ReplicaSet, no rollout; only scaling the one active ReplicaSet.
      if (auto s = sync_revision(false); !s) return s;
      std::vector<std::size_t> active;
      for (std::size_t i = 0; i < rses.size(); ++i)
        if (spec_replicas(rses[i]) > 0) active.push_back(i);
      std::optional<std::size_t> target;
      if (active.size() == 1) target = active[0];
      else if (active.empty() && !rses.empty()) target = new_rs ? *new_rs : rses.size() - 1;
      if (target) {
        auto s = scale(*target, replicas);
        if (!s) return s.status();
      }
      if (auto s = cleanup(); !s) return s;
      return finish(false, max_requeue_ms);
    }
    if (recreate) {
      if (auto s = sync_revision(false); !s) return s;
      bool scaled = false;
      for (std::size_t i : old_indices()) {
        auto s = scale(i, 0);
        if (!s) return s.status();
        scaled = scaled || *s;
      }
      if (scaled) return finish(true, max_requeue_ms);
      for (std::size_t i : old_indices())
        if (status_of(rses[i], "replicas") > 0 ||
            status_of(rses[i], "observedGeneration") < num(rses[i]["metadata"], "generation", 1))
          return finish(true, max_requeue_ms);  // old pods still running: their ReplicaSet's update wakes us
      if (!new_rs) {
        if (auto s = sync_revision(true); !s) return s;
      } else if (auto s = scale(*new_rs, replicas); !s) {
        return s.status();
      }
    } else {
      if (auto s = sync_revision(true); !s) return s;
      std::int64_t have = spec_replicas(rses[*new_rs]);
      if (have != replicas) {
        auto s = scale(*new_rs, have > replicas ? replicas : new_rs_new_replicas());
        if (!s) return s.status();
        if (*s) return finish(true, max_requeue_ms);
      }
      auto scaled_down = reconcile_old();
      if (!scaled_down) return scaled_down.status();
      if (*scaled_down) return finish(true, max_requeue_ms);
    }
    if (complete(calculate_status()))
      if (auto s = cleanup(); !s) return s;
    return finish(true, max_requeue_ms);
  }
};

std::vector<ctl::WatchSpec> DeploymentController::watches() const noexcept {
  return {{kDeployments, ctl::KeyMapping::kSelf, {}}, {kReplicaSets, ctl::KeyMapping::kOwner, "Deployment"}};
}

void DeploymentController::bind(const ctl::Host& host) noexcept {
  host_.emplace(host);
  events_.emplace(host.client, host.clock, "deployment-controller");
}

plugin::Result<ctl::ReconcileResult> DeploymentController::reconcile(std::string_view key) noexcept {
  return guarded_reconcile("deployment", key, [this](const std::string& ns, const std::string& name) { return sync(ns, name); });
}

plugin::Result<ctl::ReconcileResult> DeploymentController::sync(const std::string& ns, const std::string& name) {
  auto object = host_->cache.get(kDeployments, ns, name);
  if (!object || object->deleting) return ctl::ReconcileResult{};  // the garbage collector removes what it owned
  Sync s{*host_, *events_, ns, parse(*object), {}, {}, {}, {}};
  if (auto loaded = s.load(); !loaded) {
    (void)events_->record(s.d, "Warning", "InvalidSpec", loaded.message());
    return ctl::ReconcileResult{};  // retrying cannot help until the spec changes, which wakes us
  }
  return s.run(options_.max_requeue_ms);
}

}  // namespace skiff::plugins::controllers
