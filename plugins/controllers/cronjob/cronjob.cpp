#include "cronjob.hpp"

#include <algorithm>
#include <exception>
#include <limits>

#include "batch_common.hpp"
#include "cron.hpp"
#include "skiff/plugin/time.hpp"

namespace skiff::plugins::controllers::cronjob {
namespace {

namespace ctl = plugin::controller;
using batch::integer;
using batch::member;
using batch::text;
const plugin::ResourceId kCronJobs{"batch", "v1", "cronjobs"};
const plugin::ResourceId kJobs{"batch", "v1", "jobs"};

struct Due {
  std::optional<std::int64_t> most_recent;  // the latest schedule time <= now not yet run, in seconds
  bool too_many = false;                    // more than kMaxMissedTimes were missed
};

// The schedule times in (earliest, now]: only the most recent one matters (Kubernetes runs no
// backlog); more than kMaxMissedTimes of them earns a warning.
Due unmet(const Schedule& schedule, const TimeZone& zone, std::int64_t earliest, std::int64_t now) {
  Due due;
  std::optional<std::int64_t> t = next_after(schedule, zone, earliest);
  int count = 0;
  while (t && *t <= now) {
    due.most_recent = *t;
    if (++count > kMaxMissedTimes) {
      due.too_many = true;
      // Skip the middle: walk only the last stretch before `now`, one interval wide at a time.
      std::optional<std::int64_t> after = next_after(schedule, zone, *t);
      std::int64_t interval = after ? std::max<std::int64_t>(*after - *t, 1) : 1;
      std::int64_t from = std::max(*t, now - 2 * interval);
      while (true) {
        std::optional<std::int64_t> n = next_after(schedule, zone, from);
        if (!n || *n > now) break;
        due.most_recent = *n;
        from = *n;
      }
      break;
    }
    t = next_after(schedule, zone, *t);
  }
  return due;
}

Json job_reference(const Json& job) {
  const Json& meta = member(job, "metadata");
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"namespace", text(meta, "namespace")},
          {"name", text(meta, "name")},
          {"uid", text(meta, "uid")},
          {"resourceVersion", text(meta, "resourceVersion")}};
}

std::int64_t job_start_ms(const Json& job) {
  const Json& status = member(job, "status");
  if (auto t = plugin::parse_rfc3339(text(status, "startTime"))) return *t;
  return plugin::parse_rfc3339(text(member(job, "metadata"), "creationTimestamp")).value_or(0);
}

}  // namespace

plugin::Result<Options> parse_options(const plugin::PluginContext& context) {
  Options o;
  auto cap = batch::max_requeue_ms(context.config);
  if (!cap) return cap.status();
  o.max_requeue_ms = *cap;
  auto dir = context.config.get_string("zoneinfo-dir");
  if (!dir) return dir.status();
  if (dir->empty()) return plugin::invalid("config " + context.config.full_key("zoneinfo-dir") + ": must not be empty");
  o.zoneinfo_dir = *dir;
  return o;
}

std::vector<ctl::WatchSpec> CronJobController::watches() const noexcept {
  return {{kCronJobs, ctl::KeyMapping::kSelf, {}}, {kJobs, ctl::KeyMapping::kOwner, "CronJob"}};
}

void CronJobController::bind(const ctl::Host& host) noexcept {
  host_.emplace(host);
  events_ = std::make_unique<EventRecorder>(host.client, host.clock, "cronjob-controller");
}

plugin::Result<ctl::ReconcileResult> CronJobController::reconcile(std::string_view key) noexcept {
  return batch::reconcile_key("cronjob", key,
                              [this](const std::string& ns, const std::string& name) { return sync(ns, name); });
}

plugin::Result<ctl::ReconcileResult> CronJobController::sync(const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  auto cached = host_->cache.get(kCronJobs, ns, name);
  if (!cached) {
    memory_.forget(key);
    return ctl::ReconcileResult{};
  }
  batch::Expectations& memory = memory_.at(key, cached->uid);
  if (cached->deleting || cached->resource_version < memory.status_version) return ctl::ReconcileResult{};

  const std::int64_t now_ms = host_->clock.now_ms();
  Json cj = parse(*cached);
  const Json spec = member(cj, "spec");
  Json status = member(cj, "status").is_object() ? member(cj, "status") : Json::object();
  auto note = [&](std::string_view type, std::string_view reason, const std::string& message) {
    static_cast<void>(events_->record(cj, type, reason, message));  // best effort, as in Kubernetes
  };

  // 1. The Jobs it owns: status.active is every unfinished one (including those we just created and
  //    the cache has not shown yet); lastSuccessfulTime the latest completion.
  auto listed = host_->cache.list(kJobs, {ns, ""});
  if (!listed) return listed.status();
  std::vector<Json> jobs;
  std::set<std::string> seen;
  for (const auto& j : *listed) {
    Json job = parse(*j);
    if (!is_controlled_by(job, cached->uid)) continue;
    seen.insert(j->name);
    jobs.push_back(std::move(job));
  }
  memory.observe(seen);
  Json active = Json::array();
  std::set<std::string> active_names;
  for (const auto& job : jobs) {
    if (batch::job_finished(job) || member(job, "metadata").contains("deletionTimestamp")) continue;
    active.push_back(job_reference(job));
    active_names.insert(text(job["metadata"], "name"));
  }
  for (const auto& ref : member(status, "active"))
    if (memory.created.count(text(ref, "name")) && !active_names.count(text(ref, "name"))) {
      active.push_back(ref);
      active_names.insert(text(ref, "name"));
    }
  std::optional<std::int64_t> last_success = plugin::parse_rfc3339(text(status, "lastSuccessfulTime"));
  for (const auto& job : jobs)
    if (batch::job_finished(job) == "Complete")
      if (auto done = plugin::parse_rfc3339(text(member(job, "status"), "completionTime")))
        if (!last_success || *done > *last_success) last_success = *done;

  // 2. History limits: delete the oldest finished Jobs beyond them (Background propagation).
  for (const auto& [kind, limit_key] : {std::pair{"Complete", "successfulJobsHistoryLimit"},
                                        std::pair{"Failed", "failedJobsHistoryLimit"}}) {
    auto limit = integer(spec, limit_key);
    if (!limit) continue;
    std::vector<const Json*> finished;
    for (const auto& job : jobs)
      if (batch::job_finished(job) == kind && !member(job, "metadata").contains("deletionTimestamp"))
        finished.push_back(&job);
    if (static_cast<std::int64_t>(finished.size()) <= *limit) continue;
    std::sort(finished.begin(), finished.end(),
              [](const Json* a, const Json* b) { return job_start_ms(*a) < job_start_ms(*b); });
    for (std::size_t i = 0; i < finished.size() - static_cast<std::size_t>(*limit); ++i) {
      const Json& meta = (*finished[i])["metadata"];
      if (auto s = batch::remove_incarnation(host_->client, kJobs, ns, text(meta, "name"), text(meta, "uid")); !s)
        return s;
      note("Normal", "SuccessfulDelete", "Deleted job " + text(meta, "name"));
    }
  }

  auto finish = [&](std::int64_t requeue_ms) -> plugin::Result<ctl::ReconcileResult> {
    Json new_status = status;
    new_status["active"] = active;
    if (active.empty()) new_status.erase("active");
    if (last_success) new_status["lastSuccessfulTime"] = plugin::format_rfc3339(*last_success);
    if (new_status != member(cj, "status")) {
      cj["status"] = new_status;
      auto written = host_->client.update_status(kCronJobs, cj.dump());
      if (!written) return written.status();
      memory.status_version = (*written)->resource_version;
    }
    return ctl::ReconcileResult{requeue_ms > 0 ? cap(requeue_ms) : 0};
  };

  // 3. The schedule, in spec.timeZone.
  TimeZone zone;
  if (auto tz = member(spec, "timeZone"); tz.is_string()) {
    auto loaded = TimeZone::load(tz.get<std::string>(), options_.zoneinfo_dir);
    if (!loaded) {
      note("Warning", "UnknownTimeZone", "invalid timeZone: \"" + tz.get<std::string>() + "\": " + loaded.status().message());
      return finish(0);  // nothing to do until the spec changes
    }
    zone = std::move(*loaded);
  }
  auto schedule = parse_schedule(text(spec, "schedule"));
  if (!schedule) {
    note("Warning", "UnparseableSchedule",
         "unparseable schedule: \"" + text(spec, "schedule") + "\" : " + schedule.status().message());
    return finish(0);
  }
  const std::int64_t now = now_ms / 1000;
  auto until_next = [&]() -> std::int64_t {
    auto next = next_after(*schedule, zone, now);
    return next ? *next * 1000 - now_ms : 0;
  };
  if (member(spec, "suspend").is_boolean() && spec["suspend"].get<bool>()) return finish(0);

  // 4. The most recent unmet schedule time since the last run (or creation), no older than
  //    startingDeadlineSeconds.
  std::optional<std::int64_t> last = plugin::parse_rfc3339(text(status, "lastScheduleTime"));
  std::int64_t earliest =
      (last ? *last : plugin::parse_rfc3339(text(cj["metadata"], "creationTimestamp")).value_or(now_ms)) / 1000;
  auto deadline = integer(spec, "startingDeadlineSeconds");
  if (deadline && now - *deadline > earliest) earliest = now - *deadline;
  Due due = unmet(*schedule, zone, earliest, now);
  if (due.too_many)
    note("Warning", "TooManyMissedTimes",
         "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
  if (!due.most_recent) return finish(until_next());
  const std::int64_t scheduled = *due.most_recent;
  if (deadline && scheduled + *deadline < now) {
    note("Warning", "MissSchedule", "Missed scheduled time to start a job: " + format_in_zone(scheduled, zone));
    return finish(until_next());
  }
  const std::string job_name = name + "-" + std::to_string(scheduled / 60);
  if (active_names.count(job_name) || seen.count(job_name)) return finish(until_next());

  // 5. Concurrency policy.
  const std::string policy = text(spec, "concurrencyPolicy").empty() ? "Allow" : text(spec, "concurrencyPolicy");
  if (policy == "Forbid" && !active.empty()) {
    // The run waits; it starts once the active Job ends if still within startingDeadlineSeconds.
    note("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
    return finish(until_next());
  }
  if (policy == "Replace") {
    for (const auto& ref : active) {
      if (auto s = batch::remove_incarnation(host_->client, kJobs, ns, text(ref, "name"), text(ref, "uid")); !s)
        return s;
      note("Normal", "SuccessfulDelete", "Deleted job " + text(ref, "name"));
      memory.created.erase(text(ref, "name"));
    }
    active = Json::array();
    active_names.clear();
  }

  // 6. The Job.
  const Json& tmpl = member(spec, "jobTemplate");
  Json meta = Json::object();
  for (const char* k : {"labels", "annotations"})
    if (member(member(tmpl, "metadata"), k).is_object()) meta[k] = tmpl["metadata"][k];
  meta["name"] = job_name;
  meta["namespace"] = ns;
  meta["annotations"][std::string(kScheduledTimestamp)] = format_in_zone(scheduled, zone);
  meta["ownerReferences"] = Json::array({controller_reference(cj, "batch/v1", "CronJob")});
  Json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", meta}, {"spec", member(tmpl, "spec")}};
  auto created = host_->client.create(kJobs, ns, job.dump());
  if (!created && created.status().code() != plugin::Code::kAlreadyExists) {
    note("Warning", "FailedCreate", "Error creating job: " + created.status().message());
    return created.status().with_context("cronjob " + key + ": create job " + job_name);
  }
  if (created) {
    Json stored = parse(**created);
    active.push_back(job_reference(stored));
    memory.created.emplace(job_name, std::chrono::steady_clock::now());
    note("Normal", "SuccessfulCreate", "Created job " + job_name);
  }
  // An existing Job of that name means this time was already run (our status write was lost).
  status["lastScheduleTime"] = plugin::format_rfc3339(scheduled * 1000);
  return finish(until_next());
}

}  // namespace skiff::plugins::controllers::cronjob
