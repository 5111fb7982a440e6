// compute_pod_status: the phase and conditions the kubelet would report for given runtime states.
#include <gtest/gtest.h>

#include "agent/pod_status.hpp"

namespace skiff::agent {
namespace {

namespace rt = plugin::runtime;

rt::ContainerStatus instance(rt::ContainerState state, int exit_code = 0, std::uint32_t attempt = 0) {
  rt::ContainerStatus c;
  c.id = "c" + std::to_string(attempt);
  c.state = state;
  c.exit_code = exit_code;
  c.attempt = attempt;
  c.started_at_ms = 1'000;
  c.finished_at_ms = state == rt::ContainerState::kExited ? 2'000 : 0;
  return c;
}

struct Case {
  std::string name;
  std::string restart_policy;
  std::vector<std::optional<rt::ContainerStatus>> apps;
  std::string phase;
  bool ready;
};

TEST(PodStatus, PhaseAndReadinessFollowTheContainers) {
  const std::vector<Case> cases = {
      {"nothing started", "Always", {std::nullopt}, "Pending", false},
      {"created, not running", "Always", {instance(rt::ContainerState::kCreated)}, "Pending", false},
      {"running", "Always", {instance(rt::ContainerState::kRunning)}, "Running", true},
      {"one of two running", "Always", {instance(rt::ContainerState::kRunning), std::nullopt}, "Pending", false},
      {"exited 0, Never", "Never", {instance(rt::ContainerState::kExited, 0)}, "Succeeded", false},
      {"exited 1, Never", "Never", {instance(rt::ContainerState::kExited, 1)}, "Failed", false},
      {"exited 1, OnFailure", "OnFailure", {instance(rt::ContainerState::kExited, 1)}, "Running", false},
      {"exited 0, Always", "Always", {instance(rt::ContainerState::kExited, 0)}, "Running", false},
      {"mixed 0 and 1, Never", "Never",
       {instance(rt::ContainerState::kExited, 0), instance(rt::ContainerState::kExited, 1)}, "Failed", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json pod = {{"spec", {{"restartPolicy", c.restart_policy}}}, {"status", Json::object()}};
    PodView view;
    view.pod = &pod;
    view.runtime_name = "sim";
    view.now_ms = 5'000;
    for (std::size_t i = 0; i < c.apps.size(); ++i) {
      ContainerView v;
      v.name = "c" + std::to_string(i);
      v.current = c.apps[i];
      view.containers.push_back(v);
    }
    Json s = compute_pod_status(view);
    EXPECT_EQ(s["phase"], c.phase);
    for (const auto& cond : s["conditions"])
      if (cond["type"] == "Ready") {
        EXPECT_EQ(cond["status"], c.ready ? "True" : "False");
      }
  }
}

TEST(PodStatus, UnchangedConditionsKeepTheirTransitionTime) {
  Json pod = {{"spec", {{"restartPolicy", "Always"}}}, {"status", Json::object()}};
  PodView view;
  view.pod = &pod;
  view.runtime_name = "sim";
  view.now_ms = 1'795'000'000'000;
  ContainerView v;
  v.name = "main";
  v.current = instance(rt::ContainerState::kRunning);
  view.containers.push_back(v);
  Json first = compute_pod_status(view);
  pod["status"] = first;
  view.now_ms += 60'000;
  Json second = compute_pod_status(view);
  EXPECT_EQ(first, second) << "a pod whose containers did not change gets the same status (no write)";
}

}  // namespace
}  // namespace skiff::agent
