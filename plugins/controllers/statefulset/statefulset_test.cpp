// The StatefulSet controller against the in-process control plane: stable names and labels,
// OrderedReady creation and scale-down, Parallel, and a rolling update from the highest ordinal
// down to the partition.
#include <gtest/gtest.h>

#include "statefulset.hpp"
#include "tests/controllers/workloads_support.hpp"

namespace skiff::testing::workloads {
namespace {

using plugins::controllers::StatefulSetController;
const plugin::ResourceId kStatefulSets{"apps", "v1", "statefulsets"};
const json kDb = {{"app", "db"}};

json statefulset(std::int64_t replicas, const std::string& policy = "OrderedReady") {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", {{"name", "db"}, {"namespace", "default"}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", "db-headless"},
            {"podManagementPolicy", policy},
            {"selector", {{"matchLabels", kDb}}},
            {"template", pod_template(kDb, "postgres:16")}}}};
}

std::set<std::string> live_pods(ControlPlane& cp) {
  std::set<std::string> out;
  for (const auto& p : cp.list(kPods, "default"))
    if (!p["metadata"].contains("deletionTimestamp")) out.insert(p["metadata"]["name"]);
  return out;
}

bool start(ControlPlane& cp, const std::string& pod) {
  return bind_pod(cp, pod, "node-1").is_ok() && set_pod_state(cp, pod, "Running", true, cp.clock().now_ms()).is_ok();
}

TEST(StatefulSetController, OrderedReadyCreatesOneAtATimeWithStableNamesAndLabels) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("statefulset", std::make_shared<StatefulSetController>());
  cp.create(kStatefulSets, statefulset(3));
  for (int i = 0; i < 3; ++i) {
    std::string name = "db-" + std::to_string(i);
    ASSERT_TRUE(eventually([&] { return live_pods(cp).count(name) == 1; })) << name;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // room for a wrong early create to show
    EXPECT_EQ(live_pods(cp).size(), static_cast<std::size_t>(i + 1)) << "the next ordinal waits for " << name;
    json pod = cp.get(kPods, "default", name);
    EXPECT_EQ(pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], name);
    EXPECT_EQ(pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"], std::to_string(i));
    EXPECT_EQ(pod["metadata"]["labels"]["app"], "db");
    EXPECT_EQ(pod["spec"]["hostname"], name);
    EXPECT_EQ(pod["spec"]["subdomain"], "db-headless");
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    ASSERT_TRUE(start(cp, name));
  }
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kStatefulSets, "default", "db")["status"];
    return s.value("replicas", -1) == 3 && s.value("readyReplicas", -1) == 3 && s.value("availableReplicas", -1) == 3 &&
           s.value("currentReplicas", -1) == 3 && s.value("updatedReplicas", -1) == 3 && s.value("observedGeneration", -1) == 1 &&
           s.value("currentRevision", "") == s.value("updateRevision", "x");
  })) << cp.get(kStatefulSets, "default", "db")["status"].dump();
  // Scale down: the highest ordinal first, one at a time.
  ASSERT_TRUE(edit(cp, kStatefulSets, "db", [](json& o) { o["spec"]["replicas"] = 1; }));
  ASSERT_TRUE(eventually([&] { return live_pods(cp) == std::set<std::string>{"db-0"}; }));
  ASSERT_TRUE(eventually([&] { return events(cp, "SuccessfulDelete").size() == 2; }))  // each follows its delete
      << json(events(cp, "SuccessfulDelete")).dump();
  auto deleted = events(cp, "SuccessfulDelete");
  std::vector<std::string> order;
  for (const auto& e : deleted) order.push_back(e["message"]);
  // Events list in the order they were written (their names carry the time and a sequence number).
  EXPECT_NE(order[0].find("db-2"), std::string::npos) << order[0];
  EXPECT_NE(order[1].find("db-1"), std::string::npos) << order[1];
}

TEST(StatefulSetController, ParallelCreatesAllAtOnce) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("statefulset", std::make_shared<StatefulSetController>());
  cp.create(kStatefulSets, statefulset(4, "Parallel"));
  ASSERT_TRUE(eventually([&] { return live_pods(cp) == std::set<std::string>{"db-0", "db-1", "db-2", "db-3"}; }))
      << "no pod is ready, yet all exist";
}

TEST(StatefulSetController, RollingUpdateFromTheHighestOrdinalDownToThePartition) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("statefulset", std::make_shared<StatefulSetController>());
  cp.create(kStatefulSets, statefulset(4));
  ASSERT_TRUE(eventually([&] {
    for (const auto& name : live_pods(cp))
      if (!pod_ready(cp.get(kPods, "default", name))) start(cp, name);
    return cp.get(kStatefulSets, "default", "db")["status"].value("readyReplicas", 0) == 4;
  }));
  ASSERT_TRUE(edit(cp, kStatefulSets, "db", [](json& o) {
    o["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:17";
    o["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 1}}}};
  }));
  std::vector<std::string> updated_order;
  ASSERT_TRUE(eventually([&] {
    for (const auto& name : live_pods(cp)) {
      json p = cp.get(kPods, "default", name);
      if (p.is_null()) continue;
      bool is_new = p["spec"]["containers"][0]["image"] == "postgres:17";
      if (is_new && std::find(updated_order.begin(), updated_order.end(), name) == updated_order.end())
        updated_order.push_back(name);
      if (!pod_ready(p)) start(cp, name);
    }
    return updated_order.size() == 3 && cp.get(kStatefulSets, "default", "db")["status"].value("updatedReplicas", 0) == 3;
  }, std::chrono::seconds(20))) << updated_order.size();
  EXPECT_EQ(updated_order, (std::vector<std::string>{"db-3", "db-2", "db-1"}));
  EXPECT_EQ(cp.get(kPods, "default", "db-0")["spec"]["containers"][0]["image"], "postgres:16") << "below the partition";
  json s = cp.get(kStatefulSets, "default", "db")["status"];
  EXPECT_EQ(s["currentReplicas"], 1);
  EXPECT_NE(s["currentRevision"], s["updateRevision"]);
}

}  // namespace
}  // namespace skiff::testing::workloads
