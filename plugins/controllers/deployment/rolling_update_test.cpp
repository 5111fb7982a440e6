// A RollingUpdate observed step by step: the test plays the kubelet one pod at a time and, between
// every two steps, lists the store and checks that the pod counts stay within maxSurge and
// maxUnavailable (Kubernetes' rounding: surge up, unavailable down). The first step, before any new
// pod is ready, is checked exactly: surge pods created, maxUnavailable old ones scaled away.
#include <gtest/gtest.h>

#include "tests/controllers/workloads_support.hpp"

namespace skiff::testing::workloads {
namespace {

struct Counts {
  std::int64_t pods = 0, available = 0, updated_available = 0;
};

Counts count(ControlPlane& cp, const std::string& new_image) {
  Counts c;
  for (const auto& p : cp.list(kPods, "default")) {
    if (p["metadata"].contains("deletionTimestamp")) continue;
    ++c.pods;
    bool ready = false;
    if (p.contains("status") && p["status"].contains("conditions"))
      for (const auto& cond : p["status"]["conditions"]) ready = ready || (cond["type"] == "Ready" && cond["status"] == "True");
    if (!ready) continue;
    ++c.available;
    if (p["spec"]["containers"][0]["image"] == new_image) ++c.updated_available;
  }
  return c;
}

// The ReplicaSets' replicas and the live pods of each, for a failure message.
std::string describe(ControlPlane& cp) {
  std::string out;
  for (const auto& rs : cp.list(kReplicaSets, "default"))
    out += "rs " + rs["metadata"]["name"].get<std::string>() + " spec.replicas=" + rs["spec"].value("replicas", json(0)).dump() +
           " status.replicas=" + rs.value("status", json::object()).value("replicas", json(0)).dump() + "\n";
  for (const auto& p : cp.list(kPods, "default"))
    out += "pod " + p["metadata"]["name"].get<std::string>() + " owner=" +
           (p["metadata"].contains("ownerReferences") ? p["metadata"]["ownerReferences"][0]["name"].get<std::string>() : "-") +
           (p["metadata"].contains("deletionTimestamp") ? " terminating" : "") + "\n";
  return out;
}

// Marks one not-ready pod Running+Ready (bound to node-1); false when none is waiting.
bool ready_one(ControlPlane& cp) {
  for (const auto& p : cp.list(kPods, "default")) {
    if (p["metadata"].contains("deletionTimestamp")) continue;
    bool ready = false;
    if (p.contains("status") && p["status"].contains("conditions"))
      for (const auto& cond : p["status"]["conditions"]) ready = ready || (cond["type"] == "Ready" && cond["status"] == "True");
    if (ready) continue;
    std::string name = p["metadata"]["name"];
    if (p["spec"].value("nodeName", "").empty() && !bind_pod(cp, name, "node-1")) continue;
    return set_pod_state(cp, name, "Running", true, cp.clock().now_ms()).is_ok();
  }
  return false;
}

void rolling_update(const json& max_surge, const json& max_unavailable, std::int64_t replicas, std::int64_t surge,
                    std::int64_t unavailable) {
  ControlPlane cp;
  run_workload_controllers(cp);
  json d = deployment("web", replicas, {{"app", "web"}}, "nginx:1");
  d["spec"]["strategy"] = {{"type", "RollingUpdate"},
                           {"rollingUpdate", {{"maxSurge", max_surge}, {"maxUnavailable", max_unavailable}}}};
  cp.create(kDeployments, d);
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) { o["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"; }));

  // Until a new pod is ready the rollout settles in one state, as Kubernetes' does: the old
  // ReplicaSet gives up exactly maxUnavailable replicas and the new one takes every slot up to
  // replicas + maxSurge (the surge room plus what the old one gave up). Asserting that state, rather
  // than hoping the observer catches the surge mid-rollout, pins both roundings down.
  std::int64_t new_rs_replicas = -1, old_rs_replicas = -1;
  Counts first;
  const bool settled = eventually([&] {
    new_rs_replicas = old_rs_replicas = -1;
    for (const auto& rs : cp.list(kReplicaSets, "default")) {
      std::int64_t n = rs["spec"].value("replicas", 0);
      (rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2" ? new_rs_replicas : old_rs_replicas) = n;
    }
    first = count(cp, "nginx:2");
    return new_rs_replicas == surge + unavailable && old_rs_replicas == replicas - unavailable &&
           first.pods == replicas + surge;
  });
  ASSERT_TRUE(settled) << "first step: new ReplicaSet " << new_rs_replicas << " (want " << surge + unavailable << "), old "
                       << old_rs_replicas << " (want " << replicas - unavailable << "), pods " << first.pods;
  EXPECT_EQ(first.available, replicas - unavailable);

  std::int64_t steps = 0, min_available = first.available;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);  // bounded; CI is loaded
  while (std::chrono::steady_clock::now() < deadline) {
    Counts c = count(cp, "nginx:2");
    min_available = std::min(min_available, c.available);
    ASSERT_LE(c.pods, replicas + surge) << "maxSurge exceeded at step " << steps << "\n" << describe(cp);
    ASSERT_GE(c.available, replicas - unavailable) << "maxUnavailable exceeded at step " << steps;
    if (c.updated_available == replicas && c.pods == replicas && rollout_complete(cp, "web")) break;
    if (ready_one(cp)) ++steps;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval of the observer
  }
  ASSERT_TRUE(rollout_complete(cp, "web")) << "rollout did not finish";
  EXPECT_EQ(count(cp, "nginx:2").updated_available, replicas);
  EXPECT_GE(steps, replicas) << "every new pod was made ready by a separate step";
  EXPECT_GE(min_available, replicas - unavailable);
}

TEST(RollingUpdate, IntegerSurgeAndUnavailableHoldAtEveryStep) { rolling_update(3, 2, 10, 3, 2); }

TEST(RollingUpdate, PercentagesRoundSurgeUpAndUnavailableDown) {
  // 10 replicas: 25% surge → 2.5 → 3; 25% unavailable → 2.5 → 2.
  rolling_update("25%", "25%", 10, 3, 2);
}

TEST(RollingUpdate, ZeroUnavailableOnlySurges) { rolling_update(1, 0, 4, 1, 0); }

}  // namespace
}  // namespace skiff::testing::workloads
