// A pod's status as Kubernetes reports it (phase, conditions, containerStatuses, IPs), computed from
// what the runtime says exists. Pure: the same inputs give the same JSON, so the agent writes a
// status only when something really changed, and tests check it without a runtime.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/runtime.hpp"

namespace skiff::agent {

using Json = nlohmann::json;

// What the agent knows of one container of the pod spec.
struct ContainerView {
  std::string name;
  std::string image;
  bool init = false;
  // The newest instance and the one before it (lastState), if any.
  std::optional<plugin::runtime::ContainerStatus> current;
  std::optional<plugin::runtime::ContainerStatus> previous;
  // Set when the container is not running and will not be started yet: "ContainerCreating",
  // "PodInitializing", "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", …
  std::string waiting_reason;
  std::string waiting_message;
  // What the probes say of a running container: started (startup probe passed, or none) and ready
  // (readiness probe passing, or none).
  bool started = true;
  bool ready = true;
};

struct PodView {
  const Json* pod = nullptr;  // the pod as stored (spec and current status)
  std::optional<plugin::runtime::SandboxStatus> sandbox;
  std::vector<ContainerView> containers;  // init containers first, in spec order, then app containers
  std::string host_ip;
  std::string runtime_name;  // "sim", "runc": the containerID scheme
  std::int64_t now_ms = 0;
};

// The full `status` object for the pod. Transition times of conditions whose value did not change,
// and status.startTime, are kept from the pod's current status.
Json compute_pod_status(const PodView& view);

}  // namespace skiff::agent
