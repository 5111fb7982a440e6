// Helpers of the workload controller tests (replicaset, deployment): object builders and the
// kubelet the tests play (bind to a node, phase Running, Ready condition) through the API.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/time.hpp"
#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing::workloads {

using nlohmann::json;
inline const plugin::ResourceId kPods{"", "v1", "pods"};
inline const plugin::ResourceId kEvents{"", "v1", "events"};
inline const plugin::ResourceId kNodes{"", "v1", "nodes"};
inline const plugin::ResourceId kReplicaSets{"apps", "v1", "replicasets"};
inline const plugin::ResourceId kDeployments{"apps", "v1", "deployments"};

inline json pod_template(const json& labels, const std::string& image = "nginx:1.25") {
  return {{"metadata", {{"labels", labels}}},
          {"spec", {{"containers", json::array({{{"name", "app"}, {"image", image}}})}}}};
}

inline json replicaset(const std::string& name, std::int64_t replicas, const json& labels) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", labels}}}, {"template", pod_template(labels)}}}};
}

inline json deployment(const std::string& name, std::int64_t replicas, const json& labels,
                       const std::string& image = "nginx:1.25") {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", labels}}},
            {"template", pod_template(labels, image)}}}};
}

inline bool owned_by(const json& object, const std::string& uid) {
  if (!object["metadata"].contains("ownerReferences")) return false;
  for (const auto& r : object["metadata"]["ownerReferences"])
    if (r.value("uid", "") == uid && r.value("controller", false)) return true;
  return false;
}

// Stored objects of `resource` in default controlled by the owner with `uid`.
inline std::vector<json> owned(ControlPlane& cp, const plugin::ResourceId& resource, const std::string& uid) {
  std::vector<json> out;
  for (auto& o : cp.list(resource, "default"))
    if (owned_by(o, uid)) out.push_back(std::move(o));
  return out;
}

inline std::vector<json> events(ControlPlane& cp, const std::string& reason) {
  std::vector<json> out;
  for (auto& e : cp.list(kEvents, "default"))
    if (e.value("reason", "") == reason) out.push_back(std::move(e));
  return out;
}

// What the kubelet would report: phase and the Ready condition (since `ready_since_ms`).
inline plugin::Status set_pod_state(ControlPlane& cp, const std::string& name, const std::string& phase, bool ready,
                                    std::int64_t ready_since_ms) {
  json pod = cp.get(kPods, "default", name);
  if (pod.is_null()) return plugin::not_found("pod " + name);
  pod["status"]["phase"] = phase;
  pod["status"]["conditions"] = json::array({{{"type", "Ready"},
                                              {"status", ready ? "True" : "False"},
                                              {"lastTransitionTime", plugin::format_rfc3339(ready_since_ms)}}});
  auto r = cp.client().update_status(kPods, pod.dump());
  return r ? plugin::Status::ok() : r.status();
}

inline plugin::Status bind_pod(ControlPlane& cp, const std::string& name, const std::string& node) {
  json binding = {{"apiVersion", "v1"}, {"kind", "Binding"}, {"metadata", {{"name", name}}},
                  {"target", {{"kind", "Node"}, {"name", node}}}};
  auto r = cp.client().create_subresource(kPods, "default", name, "binding", binding.dump());
  return r ? plugin::Status::ok() : r.status();
}

inline bool pod_ready(const json& pod) {
  if (!pod.contains("status") || !pod["status"].contains("conditions")) return false;
  for (const auto& c : pod["status"]["conditions"])
    if (c["type"] == "Ready" && c["status"] == "True") return true;
  return false;
}

// The kubelet for every pod that is not yet Running+Ready: bind it to node-1 if unbound, then
// Running and Ready (at the fake clock's now). Returns how many pods it changed.
inline int play_kubelet(ControlPlane& cp) {
  int changed = 0;
  for (const auto& pod : cp.list(kPods, "default")) {
    if (pod["metadata"].contains("deletionTimestamp")) continue;
    std::string name = pod["metadata"]["name"];
    bool ready = false;
    if (pod.contains("status") && pod["status"].contains("conditions"))
      for (const auto& c : pod["status"]["conditions"]) ready = ready || (c["type"] == "Ready" && c["status"] == "True");
    if (ready) continue;
    if (pod["spec"].value("nodeName", "").empty() && !bind_pod(cp, name, "node-1")) continue;
    if (set_pod_state(cp, name, "Running", true, cp.clock().now_ms())) ++changed;
  }
  return changed;
}

}  // namespace skiff::testing::workloads

namespace skiff::testing::workloads {

// Runs the replicaset and deployment controllers on `cp` (requeues capped for the fake clock), and
// the kubelet's deletions below.
void run_workload_controllers(ControlPlane& cp);

// The last step of the kubelet the tests play: a pod marked for graceful deletion (its containers
// are imaginary, so they stop at once) is deleted with grace 0 and its uid as precondition, as the
// node agent does. Without it a pod bound by play_kubelet stays Terminating, as in Kubernetes
// without a kubelet.
void run_kubelet_deletions(ControlPlane& cp);

// Updates a stored object through the API with `edit` applied; retries on a conflict for up to 10 s,
// a little later each time: a controller writing the object's status in a loop (and a loaded
// machine) can win twenty back-to-back attempts.
template <typename F>
plugin::Status edit(ControlPlane& cp, const plugin::ResourceId& resource, const std::string& name, F&& change) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  plugin::Status last = plugin::Status::ok();
  for (int attempt = 0; attempt == 0 || std::chrono::steady_clock::now() < deadline; ++attempt) {
    json o = cp.get(resource, "default", name);
    if (o.is_null()) return plugin::not_found(name);
    change(o);
    auto r = cp.client().update(resource, o.dump());
    if (r) return plugin::Status::ok();
    if (r.status().code() != plugin::Code::kConflict) return r.status();
    last = r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt + 1, 20)));
  }
  return last;
}

inline json condition(const json& object, const std::string& type) {
  if (!object.contains("status") || !object["status"].contains("conditions")) return nullptr;
  for (const auto& c : object["status"]["conditions"])
    if (c.value("type", "") == type) return c;
  return nullptr;
}

// What `kubectl rollout status` waits for: observed, every replica updated and available, no old ones.
inline bool rollout_complete(ControlPlane& cp, const std::string& name) {
  json d = cp.get(kDeployments, "default", name);
  if (d.is_null() || !d.contains("status")) return false;
  const json& s = d["status"];
  std::int64_t want = d["spec"].value("replicas", 1);
  return s.value("observedGeneration", 0) >= d["metadata"].value("generation", 1) && s.value("updatedReplicas", -1) == want &&
         s.value("replicas", -1) == want && s.value("availableReplicas", -1) == want;
}

// Plays the kubelet until the deployment's rollout is complete (bounded).
inline bool roll_out(ControlPlane& cp, const std::string& name) {
  return eventually([&] {
    play_kubelet(cp);
    return rollout_complete(cp, name);
  }, std::chrono::seconds(20));
}

}  // namespace skiff::testing::workloads
