// Rollback as kubectl 1.32 does it (client side): `kubectl rollout undo` lists the Deployment's
// ReplicaSets, takes the template of the previous revision, drops its pod-template-hash label and
// JSON-patches the Deployment's template and annotations. The controller must then reuse that old
// ReplicaSet (new revision number) instead of creating a third one.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/controllers/workloads_support.hpp"
#include "workloads.hpp"

namespace skiff::testing::workloads {
namespace {

std::string annotation(const json& o, const std::string& key) {
  return o["metadata"].contains("annotations") ? o["metadata"]["annotations"].value(key, "") : "";
}

// kubectl's DeploymentRollbacker.Rollback with toRevision 0, through the API handler as kubectl's
// PATCH arrives.
void rollout_undo(ControlPlane& cp, const std::string& name) {
  json d = cp.get(kDeployments, "default", name);
  std::vector<json> rses = owned(cp, kReplicaSets, d["metadata"]["uid"]);
  std::vector<std::int64_t> revisions;
  for (const auto& rs : rses) revisions.push_back(std::stoll(annotation(rs, "deployment.kubernetes.io/revision")));
  std::sort(revisions.begin(), revisions.end());
  ASSERT_GE(revisions.size(), 2u);
  std::string previous = std::to_string(revisions[revisions.size() - 2]);
  json target;
  for (const auto& rs : rses)
    if (annotation(rs, "deployment.kubernetes.io/revision") == previous) target = rs;
  json tmpl = target["spec"]["template"];
  tmpl["metadata"]["labels"].erase("pod-template-hash");
  tmpl["metadata"]["creationTimestamp"] = nullptr;  // Go's zero metav1.Time: kubectl's patch carries it
  const std::set<std::string> skip = {"kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision",
                                      "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
                                      "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to"};
  json annotations = json::object();
  const json current = d["metadata"].value("annotations", json::object());
  const json previous_annotations = target["metadata"].value("annotations", json::object());
  for (auto it = current.begin(); it != current.end(); ++it)
    if (skip.count(it.key())) annotations[it.key()] = it.value();
  for (auto it = previous_annotations.begin(); it != previous_annotations.end(); ++it)
    if (!skip.count(it.key())) annotations[it.key()] = it.value();
  json patch = json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", tmpl}},
                            {{"op", "replace"}, {"path", "/metadata/annotations"}, {"value", annotations}}});
  kernel::api::HttpRequest req;
  req.method = "PATCH";
  req.path = "/apis/apps/v1/namespaces/default/deployments/" + name;
  req.headers["content-type"] = "application/json-patch+json";
  req.body = patch.dump();
  auto r = cp.api().handle(req);
  ASSERT_EQ(r.status, 200) << r.body;
}

TEST(Rollback, UndoRestoresTheOldTemplateAndScalesTheOldReplicaSetBackUp) {
  ControlPlane cp;
  run_workload_controllers(cp);
  json d = deployment("web", 3, {{"app", "web"}}, "nginx:1");
  d["metadata"]["annotations"] = {{"kubernetes.io/change-cause", "v1"}};
  cp.create(kDeployments, d);
  ASSERT_TRUE(roll_out(cp, "web"));
  json v1 = cp.get(kDeployments, "default", "web");
  ASSERT_TRUE(edit(cp, kDeployments, "web", [](json& o) {
    o["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
    o["metadata"]["annotations"]["kubernetes.io/change-cause"] = "v2";
  }));
  ASSERT_TRUE(roll_out(cp, "web"));
  ASSERT_EQ(owned(cp, kReplicaSets, v1["metadata"]["uid"]).size(), 2u);

  rollout_undo(cp, "web");
  json undone = cp.get(kDeployments, "default", "web");
  EXPECT_EQ(plugins::controllers::without_nulls(undone["spec"]["template"]), v1["spec"]["template"])
      << "the template is the first one again";
  EXPECT_EQ(annotation(undone, "kubernetes.io/change-cause"), "v1");
  ASSERT_TRUE(eventually([&] {
    play_kubelet(cp);
    return rollout_complete(cp, "web") && annotation(cp.get(kDeployments, "default", "web"), "deployment.kubernetes.io/revision") == "3";
  }, std::chrono::seconds(20)));

  auto rses = owned(cp, kReplicaSets, v1["metadata"]["uid"]);
  ASSERT_EQ(rses.size(), 2u) << "the old ReplicaSet is reused, not a third created";
  for (const auto& rs : rses) {
    bool old = rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1";
    EXPECT_EQ(rs["spec"]["replicas"], old ? 3 : 0);
    EXPECT_EQ(annotation(rs, "deployment.kubernetes.io/revision"), old ? "3" : "2");
    if (old) {
      EXPECT_EQ(annotation(rs, "deployment.kubernetes.io/revision-history"), "1");
    }
  }
  std::size_t v1_pods = 0;
  for (const auto& p : cp.list(kPods, "default")) {
    EXPECT_EQ(p["spec"]["containers"][0]["image"], "nginx:1");
    ++v1_pods;
  }
  EXPECT_EQ(v1_pods, 3u);
}

}  // namespace
}  // namespace skiff::testing::workloads
