// The Deployment controller (with the ReplicaSet controller) against the in-process control plane:
// ReplicaSet naming and hashing, revisions and annotations, status and conditions, Recreate,
// revisionHistoryLimit, pause/resume, restart, scaling and progressDeadlineSeconds.
#include <gtest/gtest.h>

#include "tests/controllers/workloads_support.hpp"
#include "workloads.hpp"

namespace skiff::testing::workloads {
namespace {

const json kWeb = {{"app", "web"}};

std::vector<json> deploy_rses(ControlPlane& cp, const std::string& name) {
  json d = cp.get(kDeployments, "default", name);
  return d.is_null() ? std::vector<json>{} : owned(cp, kReplicaSets, d["metadata"]["uid"]);
}

std::string annotation(const json& o, const std::string& key) {
  return o["metadata"].contains("annotations") ? o["metadata"]["annotations"].value(key, "") : "";
}

std::size_t pods_with_image(ControlPlane& cp, const std::string& image) {
  std::size_t n = 0;
  for (const auto& p : cp.list(kPods, "default"))
    if (!p["metadata"].contains("deletionTimestamp") && p["spec"]["containers"][0]["image"] == image) ++n;
  return n;
}

TEST(DeploymentController, CreatesAHashedReplicaSetAndReportsAvailability) {
  ControlPlane cp;
  run_workload_controllers(cp);
  json d = deployment("web", 3, kWeb);
  d["metadata"]["annotations"] = {{"kubernetes.io/change-cause", "first"}};
  cp.create(kDeployments, d);
  ASSERT_TRUE(eventually([&] { return deploy_rses(cp, "web").size() == 1; }));
  json stored = cp.get(kDeployments, "default", "web");
  std::string hash = plugins::controllers::pod_template_hash(stored["spec"]["template"]);
  json rs = deploy_rses(cp, "web")[0];
  EXPECT_EQ(rs["metadata"]["name"], "web-" + hash);
  EXPECT_EQ(rs["metadata"]["labels"]["pod-template-hash"], hash);
  EXPECT_EQ(rs["spec"]["selector"]["matchLabels"], json({{"app", "web"}, {"pod-template-hash", hash}}));
  EXPECT_EQ(rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"], hash);
  EXPECT_EQ(annotation(rs, "deployment.kubernetes.io/revision"), "1");
  EXPECT_EQ(annotation(rs, "deployment.kubernetes.io/desired-replicas"), "3");
  EXPECT_EQ(annotation(rs, "deployment.kubernetes.io/max-replicas"), "4") << "maxSurge 25% of 3 rounds up to 1";
  EXPECT_EQ(annotation(rs, "kubernetes.io/change-cause"), "first");
  const json& ref = rs["metadata"]["ownerReferences"][0];
  EXPECT_EQ(ref["kind"], "Deployment");
  EXPECT_EQ(ref["uid"], stored["metadata"]["uid"]);
  EXPECT_EQ(ref["controller"], true);
  EXPECT_EQ(rs["spec"]["replicas"], 3) << "a first rollout has no old pods to replace";
  ASSERT_TRUE(eventually([&] { return annotation(cp.get(kDeployments, "default", "web"), "deployment.kubernetes.io/revision") == "1"; }));
  auto scaled = events(cp, "ScalingReplicaSet");
  ASSERT_EQ(scaled.size(), 1u);
  EXPECT_EQ(scaled[0]["message"], "Scaled up replica set web-" + hash + " from 0 to 3");
  EXPECT_EQ(scaled[0]["involvedObject"]["kind"], "Deployment");

  ASSERT_TRUE(eventually([&] { return cp.list(kPods, "default").size() == 3; }));
  ASSERT_TRUE(eventually([&] { return cp.get(kDeployments, "default", "web")["status"].value("updatedReplicas", 0) == 3; }));
  json before = cp.get(kDeployments, "default", "web");
  EXPECT_EQ(condition(before, "Available")["status"], "False");
  EXPECT_EQ(condition(before, "Available")["reason"], "MinimumReplicasUnavailable");
  EXPECT_EQ(before["status"].value("unavailableReplicas", -1), 3);
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_TRUE(eventually([&] { return condition(cp.get(kDeployments, "default", "web"), "Progressing").value("reason", "") == "NewReplicaSetAvailable"; }));
  json done = cp.get(kDeployments, "default", "web");
  const json& s = done["status"];
  EXPECT_EQ(s["replicas"], 3);
  EXPECT_EQ(s["updatedReplicas"], 3);
  EXPECT_EQ(s["readyReplicas"], 3);
  EXPECT_EQ(s["availableReplicas"], 3);
  EXPECT_EQ(s["unavailableReplicas"], 0);
  EXPECT_EQ(s["observedGeneration"], done["metadata"]["generation"]);
  EXPECT_EQ(condition(done, "Available")["status"], "True");
  EXPECT_EQ(condition(done, "Available")["reason"], "MinimumReplicasAvailable");
  EXPECT_EQ(condition(done, "Progressing")["status"], "True");
  EXPECT_EQ(condition(done, "Progressing")["message"], "ReplicaSet \"web-" + hash + "\" has successfully progressed.");
}

TEST(DeploymentController, ANewTemplateGetsANewReplicaSetAndRevision) {
  ControlPlane cp;
  run_workload_controllers(cp);
  cp.create(kDeployments, deployment("web", 3, kWeb, "nginx:1.25"));
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& d) { d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"; }));
  ASSERT_TRUE(roll_out(cp, "web"));
  EXPECT_EQ(pods_with_image(cp, "nginx:1.26"), 3u);
  EXPECT_EQ(pods_with_image(cp, "nginx:1.25"), 0u);
  auto rses = deploy_rses(cp, "web");
  ASSERT_EQ(rses.size(), 2u);
  for (const auto& rs : rses) {
    bool is_new = rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26";
    EXPECT_EQ(annotation(rs, "deployment.kubernetes.io/revision"), is_new ? "2" : "1");
    EXPECT_EQ(rs["spec"]["replicas"], is_new ? 3 : 0);
  }
  EXPECT_EQ(annotation(cp.get(kDeployments, "default", "web"), "deployment.kubernetes.io/revision"), "2");
}

TEST(DeploymentController, RecreateRemovesOldPodsBeforeCreatingNewOnes) {
  ControlPlane cp;
  run_workload_controllers(cp);
  json d = deployment("web", 3, kWeb, "nginx:1.25");
  d["spec"]["strategy"] = {{"type", "Recreate"}};
  cp.create(kDeployments, d);
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) { o["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"; }));
  bool overlap = false;
  ASSERT_TRUE(eventually([&] {
    overlap = overlap || (pods_with_image(cp, "nginx:1.25") > 0 && pods_with_image(cp, "nginx:1.26") > 0);
    play_kubelet(cp);
    return rollout_complete(cp, "web") && pods_with_image(cp, "nginx:1.26") == 3;
  }, std::chrono::seconds(20)));
  EXPECT_FALSE(overlap) << "Recreate never runs old and new pods together";
  EXPECT_EQ(pods_with_image(cp, "nginx:1.25"), 0u);
}

TEST(DeploymentController, RevisionHistoryLimitDeletesTheOldestScaledDownReplicaSets) {
  ControlPlane cp;
  run_workload_controllers(cp);
  json d = deployment("web", 2, kWeb, "nginx:1");
  d["spec"]["revisionHistoryLimit"] = 1;
  cp.create(kDeployments, d);
  ASSERT_TRUE(roll_out(cp, "web"));
  for (const char* image : {"nginx:2", "nginx:3", "nginx:4"}) {
    ASSERT_TRUE(edit(cp, kDeployments, "web", [&](json& o) { o["spec"]["template"]["spec"]["containers"][0]["image"] = image; }));
    ASSERT_TRUE(roll_out(cp, "web")) << image;
  }
  ASSERT_TRUE(eventually([&] { return deploy_rses(cp, "web").size() == 2; })) << deploy_rses(cp, "web").size();
  std::set<std::string> revisions;
  for (const auto& rs : deploy_rses(cp, "web")) revisions.insert(annotation(rs, "deployment.kubernetes.io/revision"));
  EXPECT_EQ(revisions, (std::set<std::string>{"3", "4"}));
}

TEST(DeploymentController, PausedMakesNoRolloutProgressButUpdatesStatus) {
  ControlPlane cp;
  run_workload_controllers(cp);
  cp.create(kDeployments, deployment("web", 2, kWeb, "nginx:1"));
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) {
    o["spec"]["paused"] = true;
    o["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
    o["spec"]["replicas"] = 3;
  }));
  ASSERT_TRUE(eventually([&] {
    json now = cp.get(kDeployments, "default", "web");
    return now["status"].value("observedGeneration", 0) == now["metadata"]["generation"] &&
           condition(now, "Progressing").value("reason", "") == "DeploymentPaused";
  }));
  EXPECT_EQ(condition(cp.get(kDeployments, "default", "web"), "Progressing")["status"], "Unknown");
  ASSERT_TRUE(eventually([&] { return pods_with_image(cp, "nginx:1") == 3; })) << "scaling still happens while paused";
  EXPECT_EQ(deploy_rses(cp, "web").size(), 1u) << "no new ReplicaSet while paused";
  EXPECT_EQ(pods_with_image(cp, "nginx:2"), 0u);
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) { o["spec"]["paused"] = false; }));
  ASSERT_TRUE(eventually([&] {
    play_kubelet(cp);
    return rollout_complete(cp, "web") && pods_with_image(cp, "nginx:2") == 3;
  }, std::chrono::seconds(20)));
  EXPECT_EQ(deploy_rses(cp, "web").size(), 2u);
}

TEST(DeploymentController, RestartAnnotationRollsOutANewReplicaSet) {
  ControlPlane cp;
  run_workload_controllers(cp);
  cp.create(kDeployments, deployment("web", 2, kWeb));
  ASSERT_TRUE(roll_out(cp, "web"));
  std::set<std::string> first;
  for (const auto& p : cp.list(kPods, "default")) first.insert(p["metadata"]["name"]);
  // What `kubectl rollout restart` writes.
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) {
    o["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = "2026-11-23T09:00:00Z";
  }));
  ASSERT_TRUE(eventually([&] {
    play_kubelet(cp);
    if (!rollout_complete(cp, "web")) return false;
    for (const auto& p : cp.list(kPods, "default"))
      if (first.count(p["metadata"]["name"])) return false;
    return true;
  }, std::chrono::seconds(20)));
  EXPECT_EQ(deploy_rses(cp, "web").size(), 2u);
  EXPECT_EQ(annotation(cp.get(kDeployments, "default", "web"), "deployment.kubernetes.io/revision"), "2");
}

TEST(DeploymentController, ScalesTheReplicaSetWithTheDeployment) {
  ControlPlane cp;
  run_workload_controllers(cp);
  cp.create(kDeployments, deployment("web", 2, kWeb));
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) { o["spec"]["replicas"] = 5; }));
  ASSERT_TRUE(roll_out(cp, "web"));
  EXPECT_EQ(cp.list(kPods, "default").size(), 5u);
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) { o["spec"]["replicas"] = 1; }));
  ASSERT_TRUE(eventually([&] { return rollout_complete(cp, "web") && cp.list(kPods, "default").size() == 1; }));
  EXPECT_EQ(deploy_rses(cp, "web").size(), 1u);
  EXPECT_TRUE(eventually([&] { return events(cp, "ScalingReplicaSet").size() == 3; })) << events(cp, "ScalingReplicaSet").size();
}

TEST(DeploymentController, ProgressDeadlineExceededWhenPodsNeverBecomeReady) {
  ControlPlane cp;
  run_workload_controllers(cp);
  json d = deployment("web", 2, kWeb);
  d["spec"]["progressDeadlineSeconds"] = 30;
  cp.create(kDeployments, d);
  ASSERT_TRUE(eventually([&] { return cp.list(kPods, "default").size() == 2; }));
  ASSERT_TRUE(eventually([&] {
    json now = cp.get(kDeployments, "default", "web");
    return now["status"].value("updatedReplicas", 0) == 2 &&
           condition(now, "Progressing").value("reason", "") == "ReplicaSetUpdated";
  }));
  cp.clock().advance_ms(29'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a few capped requeues: not yet
  EXPECT_EQ(condition(cp.get(kDeployments, "default", "web"), "Progressing")["status"], "True");
  cp.clock().advance_ms(2'000);
  // Nothing changes in the cluster now: only the controller's requeue notices the deadline.
  ASSERT_TRUE(eventually([&] {
    json c = condition(cp.get(kDeployments, "default", "web"), "Progressing");
    return c.value("reason", "") == "ProgressDeadlineExceeded" && c.value("status", "") == "False";
  }));
}

}  // namespace
}  // namespace skiff::testing::workloads
