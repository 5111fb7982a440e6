#include "agent/pod_status.hpp"

#include "skiff/plugin/time.hpp"

namespace skiff::agent {
namespace {

namespace rt = plugin::runtime;

std::string ts(std::int64_t ms) { return plugin::format_rfc3339(ms); }

const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

Json terminated_state(const rt::ContainerStatus& c, const std::string& scheme) {
  Json t = {{"exitCode", c.exit_code},
            {"reason", c.reason.empty() ? (c.exit_code == 0 ? "Completed" : "Error") : c.reason},
            {"startedAt", c.started_at_ms > 0 ? Json(ts(c.started_at_ms)) : Json(nullptr)},
            {"finishedAt", ts(c.finished_at_ms)},
            {"containerID", scheme + "://" + c.id}};
  if (!c.message.empty()) t["message"] = c.message;
  return {{"terminated", std::move(t)}};
}

Json container_status(const ContainerView& v, const std::string& scheme) {
  Json s = {{"name", v.name}, {"image", v.image}, {"imageID", ""}, {"ready", false}, {"started", false},
            {"restartCount", v.current ? v.current->attempt : 0}};
  if (!v.waiting_reason.empty() || !v.current || v.current->state == rt::ContainerState::kCreated ||
      v.current->state == rt::ContainerState::kUnknown) {
    Json waiting = {{"reason", v.waiting_reason.empty() ? "ContainerCreating" : v.waiting_reason}};
    if (!v.waiting_message.empty()) waiting["message"] = v.waiting_message;
    s["state"] = {{"waiting", std::move(waiting)}};
    // A container waiting to restart shows how it ended last time.
    if (v.current && v.current->state == rt::ContainerState::kExited) s["lastState"] = terminated_state(*v.current, scheme);
  } else if (v.current->state == rt::ContainerState::kRunning) {
    s["state"] = {{"running", {{"startedAt", ts(v.current->started_at_ms)}}}};
    s["ready"] = !v.init && v.started && v.ready;
    s["started"] = v.started;
  } else {
    s["state"] = terminated_state(*v.current, scheme);
  }
  if (!s.contains("lastState")) s["lastState"] = v.previous ? terminated_state(*v.previous, scheme) : Json::object();
  if (v.current) {
    s["containerID"] = scheme + "://" + v.current->id;
    s["imageID"] = v.current->image_id;
  }
  return s;
}

bool exited_ok(const ContainerView& v) {
  return v.current && v.current->state == rt::ContainerState::kExited && v.current->exit_code == 0 &&
         v.waiting_reason.empty();
}

// A condition, keeping the transition time it already has when its status is unchanged.
Json condition(const Json& old_status, const std::string& type, bool value, std::int64_t now, const std::string& reason = {}) {
  std::string status = value ? "True" : "False";
  std::string since = ts(now);
  const Json& old = member(old_status, "conditions");
  if (old.is_array())
    for (const auto& c : old)
      if (c.is_object() && c.value("type", "") == type && c.value("status", "") == status)
        since = c.value("lastTransitionTime", since);
  Json c = {{"type", type}, {"status", status}, {"lastProbeTime", nullptr}, {"lastTransitionTime", since}};
  if (!reason.empty()) c["reason"] = reason;
  return c;
}

}  // namespace

Json compute_pod_status(const PodView& view) {
  const Json& pod = *view.pod;
  const Json& old = member(pod, "status");
  std::string restart_policy = member(pod, "spec").value("restartPolicy", "Always");

  Json init_statuses = Json::array(), statuses = Json::array();
  bool initialized = true;
  // As the kubelet's getPhase counts them: a waiting container that ran before is "stopped"
  // (restarting), one that never ran is "waiting".
  int running = 0, waiting = 0, stopped = 0, succeeded = 0, failed = 0, ready = 0, app = 0;
  for (const auto& v : view.containers) {
    Json s = container_status(v, view.runtime_name);
    if (v.init) {
      if (!exited_ok(v)) initialized = false;
      init_statuses.push_back(std::move(s));
      continue;
    }
    ++app;
    if (s["ready"].get<bool>()) ++ready;
    if (s["state"].contains("running")) {
      ++running;
    } else if (s["state"].contains("waiting")) {
      if (s["lastState"].contains("terminated")) ++stopped;
      else ++waiting;
    } else {
      ++stopped;
      if (s["state"]["terminated"]["exitCode"] == 0) ++succeeded;
      else ++failed;
    }
    statuses.push_back(std::move(s));
  }

  bool init_failed = false;
  for (const auto& v : view.containers)
    if (v.init && restart_policy == "Never" && v.current && v.current->state == rt::ContainerState::kExited &&
        v.current->exit_code != 0)
      init_failed = true;
  std::string phase = "Pending";
  if (init_failed) phase = "Failed";
  else if (!initialized || waiting > 0 || app == 0) phase = "Pending";
  else if (running > 0) phase = "Running";
  else if (restart_policy == "Always") phase = "Running";  // all stopped, about to be restarted
  else if (stopped == succeeded + failed && failed == 0) phase = "Succeeded";
  else if (restart_policy == "OnFailure") phase = "Running";  // the failed ones restart
  else phase = "Failed";

  bool all_ready = app > 0 && ready == app;
  Json conditions = Json::array();
  conditions.push_back(condition(old, "PodReadyToStartContainers", view.sandbox.has_value() && !view.sandbox->ip.empty(),
                                 view.now_ms));
  conditions.push_back(condition(old, "Initialized", initialized, view.now_ms,
                                 initialized ? "" : "ContainersNotInitialized"));
  conditions.push_back(condition(old, "Ready", all_ready, view.now_ms, all_ready ? "" : "ContainersNotReady"));
  conditions.push_back(condition(old, "ContainersReady", all_ready, view.now_ms, all_ready ? "" : "ContainersNotReady"));
  conditions.push_back(condition(old, "PodScheduled", true, view.now_ms));
  if (phase == "Succeeded" || phase == "Failed") {
    // A finished pod is not ready, whatever its containers last said.
    for (auto& c : conditions)
      if (c["type"] == "Ready" || c["type"] == "ContainersReady") c = condition(old, c["type"], false, view.now_ms, "PodCompleted");
  }

  Json status = {{"phase", phase}, {"conditions", std::move(conditions)}, {"containerStatuses", std::move(statuses)},
                 {"qosClass", old.value("qosClass", "BestEffort")}};
  if (!init_statuses.empty()) status["initContainerStatuses"] = std::move(init_statuses);
  if (!view.host_ip.empty()) {
    status["hostIP"] = view.host_ip;
    status["hostIPs"] = Json::array({{{"ip", view.host_ip}}});
  }
  if (view.sandbox && !view.sandbox->ip.empty()) {
    status["podIP"] = view.sandbox->ip;
    status["podIPs"] = Json::array({{{"ip", view.sandbox->ip}}});
  }
  status["startTime"] = old.contains("startTime") ? old["startTime"] : Json(ts(view.now_ms));
  return status;
}

}  // namespace skiff::agent
