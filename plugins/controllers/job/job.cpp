#include "job.hpp"

#include <algorithm>
#include <exception>
#include <limits>

#include "batch_common.hpp"
#include "skiff/plugin/time.hpp"

namespace skiff::plugins::controllers::job {
namespace {

namespace ctl = plugin::controller;
using batch::condition;
using batch::condition_true;
using batch::integer;
using batch::member;
using batch::set_condition;
using batch::text;
const plugin::ResourceId kJobs{"batch", "v1", "jobs"};
const plugin::ResourceId kPods{"", "v1", "pods"};

bool has_finalizer(const Json& pod) {
  const Json& finalizers = member(member(pod, "metadata"), "finalizers");
  if (!finalizers.is_array()) return false;
  return std::any_of(finalizers.begin(), finalizers.end(),
                     [](const Json& f) { return f.is_string() && f.get<std::string>() == kTrackingFinalizer; });
}

std::set<std::string> uid_set(const Json& uncounted, std::string_view key) {
  std::set<std::string> out;
  const Json& list = member(uncounted, key);
  if (list.is_array())
    for (const auto& u : list)
      if (u.is_string()) out.insert(u.get<std::string>());
  return out;
}

constexpr std::string_view kIndexKey = "batch.kubernetes.io/job-completion-index";

// status.completedIndexes ("0-2,4") as a set, and back.
std::set<std::int64_t> parse_indexes(const std::string& text) {
  std::set<std::int64_t> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    std::size_t dash = part.find('-');
    try {
      std::int64_t first = std::stoll(part.substr(0, dash));
      std::int64_t last = dash == std::string::npos ? first : std::stoll(part.substr(dash + 1));
      for (std::int64_t i = first; i <= last && i - first < 1'000'000; ++i) out.insert(i);
    } catch (const std::exception&) {  // a malformed part is ignored, as Kubernetes ignores it
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}
std::string format_indexes(const std::set<std::int64_t>& indexes) {
  std::string out;
  for (auto it = indexes.begin(); it != indexes.end();) {
    std::int64_t first = *it, last = *it;
    while (++it != indexes.end() && *it == last + 1) last = *it;
    if (!out.empty()) out += ",";
    out += std::to_string(first);
    if (last > first) out += "-" + std::to_string(last);
  }
  return out;
}
// The completion index a pod of an Indexed Job carries, if valid for `completions`.
std::optional<std::int64_t> pod_index(const Json& pod, std::int64_t completions) {
  std::string text = batch::text(member(member(pod, "metadata"), "annotations"), kIndexKey);
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::int64_t index = std::stoll(text);
  if (index >= completions) return std::nullopt;
  return index;
}

Json new_pod(const Json& job, const std::string& ns, const std::string& name, const std::string& uid,
             std::optional<std::int64_t> index) {
  const Json& tmpl = member(member(job, "spec"), "template");
  Json meta = Json::object();
  for (const char* key : {"labels", "annotations"})
    if (member(member(tmpl, "metadata"), key).is_object()) meta[key] = member(tmpl, "metadata")[key];
  Json& labels = meta["labels"];
  if (!labels.is_object()) labels = Json::object();
  // Admission puts these on the template already; a Job with manualSelector may not have them.
  for (const char* key : {"job-name", "batch.kubernetes.io/job-name"}) labels[key] = name;
  for (const char* key : {"controller-uid", "batch.kubernetes.io/controller-uid"}) labels[key] = uid;
  meta["generateName"] = name + "-";
  meta["namespace"] = ns;
  meta["ownerReferences"] = Json::array({controller_reference(job, "batch/v1", "Job")});
  meta["finalizers"] = Json::array({std::string(kTrackingFinalizer)});
  Json spec = member(tmpl, "spec");
  if (index) {
    std::string i = std::to_string(*index);
    meta["generateName"] = name + "-" + i + "-";
    meta["annotations"][std::string(kIndexKey)] = i;
    labels[std::string(kIndexKey)] = i;
    if (!spec.contains("hostname")) spec["hostname"] = name + "-" + i;
    Json env = {{"name", "JOB_COMPLETION_INDEX"},
                {"valueFrom",
                 {{"fieldRef", {{"fieldPath", "metadata.annotations['" + std::string(kIndexKey) + "']"}}}}}};
    for (const char* list : {"initContainers", "containers"})
      if (spec.contains(list) && spec[list].is_array())
        for (auto& container : spec[list]) container["env"].push_back(env);
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec}};
}

}  // namespace

plugin::Result<Options> parse_options(const plugin::PluginContext& context) {
  auto cap = batch::max_requeue_ms(context.config);
  if (!cap) return cap.status();
  return Options{.max_requeue_ms = *cap};
}

std::vector<ctl::WatchSpec> JobController::watches() const noexcept {
  return {{kJobs, ctl::KeyMapping::kSelf, {}}, {kPods, ctl::KeyMapping::kOwner, "Job"}};
}

void JobController::bind(const ctl::Host& host) noexcept {
  host_.emplace(host);
  events_ = std::make_unique<EventRecorder>(host.client, host.clock, "job-controller");
}

plugin::Result<ctl::ReconcileResult> JobController::reconcile(std::string_view key) noexcept {
  return batch::reconcile_key("job", key, [this](const std::string& ns, const std::string& name) { return sync(ns, name); });
}

plugin::Status JobController::remove_finalizer(const Json& pod, Memory& memory) {
  Json edited = pod;
  Json& finalizers = edited["metadata"]["finalizers"];
  Json kept = Json::array();
  for (const auto& f : finalizers)
    if (!(f.is_string() && f.get<std::string>() == kTrackingFinalizer)) kept.push_back(f);
  if (kept.empty())
    edited["metadata"].erase("finalizers");
  else
    finalizers = kept;
  auto r = host_->client.update(kPods, edited.dump());
  std::string uid = text(pod["metadata"], "uid");
  if (!r && r.status().code() != plugin::Code::kNotFound) return r.status();
  memory.finalizer_removed.insert(uid);
  return plugin::Status::ok();
}

// Pods named after this Job that no live incarnation of it owns (the Job is gone, or was recreated
// with a new uid) would keep their tracking finalizer forever: release them without counting.
plugin::Status JobController::release_strays(const std::string& ns, const std::string& name,
                                             const std::string& job_uid) {
  std::string selector = "batch.kubernetes.io/job-name=" + name;
  auto pods = host_->cache.list(kPods, {ns, selector});
  if (!pods) return pods.status();
  Memory scratch;
  for (const auto& p : *pods) {
    Json pod = parse(*p);
    if (!has_finalizer(pod)) continue;
    auto owner = controller_of(pod);
    if (!owner || text(*owner, "kind") != "Job" || text(*owner, "name") != name) continue;
    if (!job_uid.empty() && text(*owner, "uid") == job_uid) continue;
    if (auto s = remove_finalizer(pod, scratch); !s) return s;
  }
  return plugin::Status::ok();
}

plugin::Result<ctl::ReconcileResult> JobController::sync(const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  auto cached = host_->cache.get(kJobs, ns, name);
  if (!cached) {
    memory_.forget(key);
    if (auto s = release_strays(ns, name, ""); !s) return s;
    return ctl::ReconcileResult{};
  }
  Memory& memory = memory_.at(key, cached->uid);
  // Our last status write has not reached the cache: its watch event will bring the key back.
  if (cached->resource_version < memory.status_version) return ctl::ReconcileResult{};
  if (auto s = release_strays(ns, name, cached->uid); !s) return s;

  const std::int64_t now = host_->clock.now_ms();
  Json job = parse(*cached);
  const Json spec = member(job, "spec");  // a copy: `job` is replaced after each status write
  Json status = member(job, "status").is_object() ? member(job, "status") : Json::object();
  // Events are best effort, as in Kubernetes: a failed one does not fail the reconcile.
  auto note = [&](const Json& object, std::string_view type, std::string_view reason, const std::string& message) {
    static_cast<void>(events_->record(object, type, reason, message));
  };

  auto selector = selector_string(member(spec, "selector"));
  if (!selector) return selector.status().with_context("job " + key + " spec.selector");
  auto listed = host_->cache.list(kPods, {ns, *selector});
  if (!listed) return listed.status();
  std::vector<Json> pods;
  std::set<std::string> seen_names;
  for (const auto& p : *listed) {
    Json pod = parse(*p);
    if (!is_controlled_by(pod, cached->uid)) continue;
    seen_names.insert(p->name);
    if (!has_finalizer(pod)) memory.finalizer_removed.erase(p->uid);
    pods.push_back(std::move(pod));
  }
  memory.observe(seen_names);

  const bool finished = condition_true(status, "Complete") || condition_true(status, "Failed");
  const bool suspended = member(spec, "suspend").is_boolean() && spec["suspend"].get<bool>();

  // A Job being deleted, or already finished, counts nothing more: it only lets its pods go.
  if (cached->deleting || finished) {
    for (const auto& pod : pods)
      if (has_finalizer(pod) && !memory.finalizer_removed.count(text(pod["metadata"], "uid")))
        if (auto s = remove_finalizer(pod, memory); !s) return s;
    if (cached->deleting || !finished) return ctl::ReconcileResult{};
    // ttlSecondsAfterFinished (Kubernetes' ttl-after-finished controller).
    auto ttl = integer(spec, "ttlSecondsAfterFinished");
    if (!ttl) return ctl::ReconcileResult{};
    const Json* done = condition(status, condition_true(status, "Complete") ? "Complete" : "Failed");
    std::optional<std::int64_t> finished_at = plugin::parse_rfc3339(text(status, "completionTime"));
    if (!finished_at && done) finished_at = plugin::parse_rfc3339(text(*done, "lastTransitionTime"));
    if (!finished_at) return ctl::ReconcileResult{};
    std::int64_t expires = *finished_at + *ttl * 1000;
    if (now < expires) return ctl::ReconcileResult{cap(expires - now)};
    if (auto s = batch::remove_incarnation(host_->client, kJobs, ns, name, cached->uid); !s) return s;
    return ctl::ReconcileResult{};
  }

  // 1. Pods that ended and still carry the finalizer are recorded in uncountedTerminatedPods first,
  //    then lose their finalizer, then move into succeeded / failed: a crash between any two steps
  //    neither loses a pod nor counts one twice (Kubernetes' scheme).
  Json uncounted = member(status, "uncountedTerminatedPods").is_object() ? status["uncountedTerminatedPods"]
                                                                         : Json::object();
  std::set<std::string> unc_succeeded = uid_set(uncounted, "succeeded");
  std::set<std::string> unc_failed = uid_set(uncounted, "failed");
  const std::optional<std::int64_t> completions = integer(spec, "completions");
  // Indexed: a success completes its index; the set is recorded with the uid (a union, so writing it
  // twice is harmless) and status.succeeded is its size.
  const bool indexed = text(spec, "completionMode") == "Indexed" && completions.has_value();
  std::set<std::int64_t> completed = parse_indexes(text(status, "completedIndexes"));
  bool recorded = false;
  std::vector<const Json*> active;
  std::int64_t terminating = 0;
  std::vector<const Json*> to_release;   // finalizer to remove once recorded
  std::vector<const Json*> suspended_gone;  // deleted while suspended: not a failure
  for (const auto& pod : pods) {
    const Json& meta = pod["metadata"];
    std::string uid = text(meta, "uid");
    std::string phase = text(member(pod, "status"), "phase");
    bool deleting = meta.contains("deletionTimestamp") || memory.deleted.count(uid) > 0;
    bool tracked = has_finalizer(pod) && memory.finalizer_removed.count(uid) == 0;
    if (phase != "Succeeded" && phase != "Failed") {
      if (!deleting) {
        active.push_back(&pod);
        continue;
      }
      ++terminating;
      if (suspended) {
        if (tracked) suspended_gone.push_back(&pod);
        continue;
      }
    }
    if (!tracked) continue;
    bool success = phase == "Succeeded";
    if (indexed && success)
      if (auto index = pod_index(pod, *completions); index && completed.insert(*index).second) recorded = true;
    if (!unc_succeeded.count(uid) && !unc_failed.count(uid)) {
      (success ? unc_succeeded : unc_failed).insert(uid);
      recorded = true;
    }
    to_release.push_back(&pod);
  }
  auto write_status = [&](const Json& new_status) -> plugin::Status {
    job["status"] = new_status;
    auto written = host_->client.update_status(kJobs, job.dump());
    if (!written) return written.status();
    memory.status_version = (*written)->resource_version;
    job = parse(**written);
    return plugin::Status::ok();
  };
  if (recorded) {
    uncounted["succeeded"] = Json(std::vector<std::string>(unc_succeeded.begin(), unc_succeeded.end()));
    uncounted["failed"] = Json(std::vector<std::string>(unc_failed.begin(), unc_failed.end()));
    status["uncountedTerminatedPods"] = uncounted;
    if (indexed) status["completedIndexes"] = format_indexes(completed);
    if (auto s = write_status(status); !s) return s;
  }
  for (const Json* pod : to_release)
    if (auto s = remove_finalizer(*pod, memory); !s) return s;
  for (const Json* pod : suspended_gone)
    if (auto s = remove_finalizer(*pod, memory); !s) return s;
  // Every recorded uid whose pod no longer holds the finalizer (released above, or gone) is counted.
  std::set<std::string> still_held;
  for (const auto& pod : pods)
    if (has_finalizer(pod) && memory.finalizer_removed.count(text(pod["metadata"], "uid")) == 0)
      still_held.insert(text(pod["metadata"], "uid"));
  std::int64_t succeeded = integer(status, "succeeded").value_or(0);
  std::int64_t failed = integer(status, "failed").value_or(0);
  for (auto* set : {&unc_succeeded, &unc_failed}) {
    for (auto it = set->begin(); it != set->end();) {
      if (still_held.count(*it)) {
        ++it;
        continue;
      }
      if (set == &unc_failed)
        ++failed;
      else if (!indexed)
        ++succeeded;
      it = set->erase(it);
    }
  }
  status["uncountedTerminatedPods"] = Json::object();
  if (!unc_succeeded.empty())
    status["uncountedTerminatedPods"]["succeeded"] = std::vector<std::string>(unc_succeeded.begin(), unc_succeeded.end());
  if (!unc_failed.empty())
    status["uncountedTerminatedPods"]["failed"] = std::vector<std::string>(unc_failed.begin(), unc_failed.end());
  if (indexed) {
    succeeded = static_cast<std::int64_t>(completed.size());
    if (completed.empty())
      status.erase("completedIndexes");
    else
      status["completedIndexes"] = format_indexes(completed);
  }
  const std::int64_t all_succeeded =
      indexed ? succeeded : succeeded + static_cast<std::int64_t>(unc_succeeded.size());
  const std::int64_t all_failed = failed + static_cast<std::int64_t>(unc_failed.size());

  // 2. Decide: success, failure, or keep running.
  const std::int64_t parallelism = integer(spec, "parallelism").value_or(1);
  const std::int64_t backoff_limit = integer(spec, "backoffLimit").value_or(6);
  const std::int64_t pending_creates = static_cast<std::int64_t>(memory.created.size());
  const std::int64_t running = static_cast<std::int64_t>(active.size()) + pending_creates;
  std::int64_t requeue_ms = 0;

  std::string fail_reason, fail_message;
  if (const Json* target = condition(status, "FailureTarget"); target && text(*target, "status") == "True") {
    fail_reason = text(*target, "reason");
    fail_message = text(*target, "message");
  } else if (condition_true(status, "SuccessCriteriaMet")) {
    // Decided: pods deleted after success count as failed but cannot turn it into a failure.
  } else if (all_failed > backoff_limit) {
    fail_reason = "BackoffLimitExceeded";
    fail_message = "Job has reached the specified backoff limit";
  } else if (auto deadline = integer(spec, "activeDeadlineSeconds"); deadline && !suspended) {
    if (auto started = plugin::parse_rfc3339(text(status, "startTime"))) {
      std::int64_t due = *started + *deadline * 1000;
      if (now >= due) {
        fail_reason = "DeadlineExceeded";
        fail_message = "Job was active longer than specified deadline";
      } else {
        requeue_ms = due - now;
      }
    }
  }
  const bool success = fail_reason.empty() && (condition_true(status, "SuccessCriteriaMet") ||
                                               (completions ? all_succeeded >= *completions
                                                            : all_succeeded > 0 && running == 0));
  // Without completions the first success ends the Job once the others finish by themselves.
  const bool no_more_pods = !completions && all_succeeded > 0;

  auto delete_pods = [&](const std::vector<const Json*>& victims) -> plugin::Status {
    for (const Json* pod : victims) {
      std::string pod_name = text((*pod)["metadata"], "name");
      std::string uid = text((*pod)["metadata"], "uid");
      if (auto s = batch::remove_incarnation(host_->client, kPods, ns, pod_name, uid); !s) return s;
      memory.deleted.insert(uid);
      ++terminating;
      note(job, "Normal", "SuccessfulDelete", "Deleted pod: " + pod_name);
    }
    return plugin::Status::ok();
  };

  std::int64_t active_now = running;
  if (!fail_reason.empty() || success) {
    if (!fail_reason.empty())
      set_condition(status, "FailureTarget", "True", fail_reason, fail_message, now);
    else
      set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods", now);
    if (auto s = delete_pods(active); !s) return s;
    active_now = pending_creates;
    // The terminal condition waits until no pod of the Job is left uncounted or running.
    bool settled = active_now == 0 && status["uncountedTerminatedPods"].empty() && still_held.empty();
    if (settled) {
      if (!fail_reason.empty()) {
        set_condition(status, "Failed", "True", fail_reason, fail_message, now);
        note(job, "Warning", fail_reason, fail_message);
      } else {
        set_condition(status, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods", now);
        status["completionTime"] = plugin::format_rfc3339(now);
        note(job, "Normal", "Completed", "Job completed");
      }
      requeue_ms = 0;
      if (auto ttl = integer(spec, "ttlSecondsAfterFinished")) requeue_ms = std::max<std::int64_t>(*ttl * 1000, 1);
    }
  } else if (suspended) {
    if (auto s = delete_pods(active); !s) return s;
    active_now = pending_creates;
    if (!condition_true(status, "Suspended")) {
      set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now);
      note(job, "Normal", "Suspended", "Job suspended");
    }
  } else {
    if (condition_true(status, "Suspended")) {
      set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now);
      status["startTime"] = plugin::format_rfc3339(now);  // the deadline restarts on resume
      note(job, "Normal", "Resumed", "Job resumed");
    }
    if (!status.contains("startTime") || status["startTime"].is_null()) {
      status["startTime"] = plugin::format_rfc3339(now);
      if (auto deadline = integer(spec, "activeDeadlineSeconds")) requeue_ms = std::max<std::int64_t>(*deadline * 1000, 1);
    }
    // After the first success of a Job without completions, the others run out by themselves.
    std::int64_t want = no_more_pods ? running : parallelism;
    if (completions) want = std::min(want, std::max<std::int64_t>(*completions - all_succeeded, 0));
    if (running > want) {
      // Parallelism went down: delete the least advanced pods (not ready first, then newest).
      std::vector<const Json*> order = active;
      std::stable_sort(order.begin(), order.end(), [](const Json* a, const Json* b) {
        bool ra = pod_is_ready(*a), rb = pod_is_ready(*b);
        if (ra != rb) return !ra;
        return text((*a)["metadata"], "creationTimestamp") > text((*b)["metadata"], "creationTimestamp");
      });
      std::size_t excess = static_cast<std::size_t>(std::min<std::int64_t>(running - want, static_cast<std::int64_t>(order.size())));
      order.resize(excess);
      if (auto s = delete_pods(order); !s) return s;
      active_now = running - static_cast<std::int64_t>(excess);
    } else {
      // Indexed: the lowest indexes neither completed nor held by an active or just-created pod.
      std::vector<std::int64_t> free_indexes;
      if (indexed) {
        std::set<std::int64_t> taken = completed;
        for (const Json* pod : active)
          if (auto index = pod_index(*pod, *completions)) taken.insert(*index);
        const std::string prefix = name + "-";
        for (const auto& [pod_name, when] : memory.created) {
          std::string rest = pod_name.substr(prefix.size());
          std::size_t digits = 0;
          while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
          if (digits > 0 && digits < 10) taken.insert(std::stoll(rest.substr(0, digits)));
        }
        for (std::int64_t i = 0; i < *completions && static_cast<std::int64_t>(free_indexes.size()) < want - running; ++i)
          if (!taken.count(i)) free_indexes.push_back(i);
      }
      for (std::int64_t i = running; i < want; ++i) {
        std::optional<std::int64_t> index;
        if (indexed) {
          if (static_cast<std::size_t>(i - running) >= free_indexes.size()) break;
          index = free_indexes[static_cast<std::size_t>(i - running)];
        }
        auto created = host_->client.create(kPods, ns, new_pod(job, ns, name, cached->uid, index).dump());
        if (!created) {
          note(job, "Warning", "FailedCreate", "Error creating: " + created.status().message());
          return created.status().with_context("job " + key + ": create pod");
        }
        memory.created.emplace((*created)->name, std::chrono::steady_clock::now());
        ++active_now;
        note(job, "Normal", "SuccessfulCreate", "Created pod: " + (*created)->name);
      }
    }
  }

  // 3. The status as it now stands.
  std::int64_t ready = 0;
  if (fail_reason.empty() && !success && !suspended)
    for (const Json* pod : active) ready += pod_is_ready(*pod) ? 1 : 0;
  auto set_count = [&](const char* field, std::int64_t v) {
    if (v > 0)
      status[field] = v;
    else
      status.erase(field);
  };
  set_count("active", active_now);
  set_count("succeeded", succeeded);
  set_count("failed", failed);
  status["ready"] = ready;
  status["terminating"] = terminating;
  if (status != member(job, "status"))
    if (auto s = write_status(status); !s) return s;
  return ctl::ReconcileResult{requeue_ms > 0 ? cap(requeue_ms) : 0};
}

}  // namespace skiff::plugins::controllers::job
