// The DaemonSet controller against the in-process control plane: which nodes get a pod
// (nodeSelector, required node affinity, taints against the pod's and the automatic tolerations),
// following nodes as they come, change and go, status counts, and RollingUpdate within
// maxUnavailable observed at every step.
#include <gtest/gtest.h>

#include "daemonset.hpp"
#include "tests/controllers/workloads_support.hpp"

namespace skiff::testing::workloads {
namespace {

using plugins::controllers::DaemonSetController;
const plugin::ResourceId kDaemonSets{"apps", "v1", "daemonsets"};
const json kAgent = {{"app", "agent"}};

json node(const std::string& name, const json& labels, const json& taints = json::array(), bool unschedulable = false) {
  json n = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}, {"labels", labels}}}, {"spec", json::object()}};
  if (!taints.empty()) n["spec"]["taints"] = taints;
  if (unschedulable) n["spec"]["unschedulable"] = true;
  return n;
}

json daemonset(const json& pod_spec_extra = json::object()) {
  json tmpl = pod_template(kAgent, "agent:1");
  tmpl["spec"].update(pod_spec_extra);
  return {{"apiVersion", "apps/v1"},
          {"kind", "DaemonSet"},
          {"metadata", {{"name", "agent"}, {"namespace", "default"}}},
          {"spec", {{"selector", {{"matchLabels", kAgent}}}, {"template", tmpl}}}};
}

// Node name → pod, for the DaemonSet's live pods.
std::map<std::string, json> pods_by_node(ControlPlane& cp) {
  std::map<std::string, json> out;
  json ds = cp.get(kDaemonSets, "default", "agent");
  if (ds.is_null()) return out;
  for (auto& p : owned(cp, kPods, ds["metadata"]["uid"]))
    if (!p["metadata"].contains("deletionTimestamp")) out[p["spec"].value("nodeName", "")] = p;
  return out;
}

std::set<std::string> nodes_of(const std::map<std::string, json>& m) {
  std::set<std::string> out;
  for (const auto& [n, p] : m) out.insert(n);
  return out;
}

TEST(DaemonSetController, OnePodPerEligibleNodeWithTheAutomaticTolerations) {
  ControlPlane cp;
  cp.create(kNodes, node("n1", {{"disk", "ssd"}}));
  cp.create(kNodes, node("n2", {{"disk", "ssd"}}, json::array({{{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}})));
  cp.create(kNodes, node("n3", {{"disk", "hdd"}}));
  cp.create(kNodes, node("n4", {{"disk", "ssd"}},
                         json::array({{{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoExecute"}},
                                      {{"key", "node.kubernetes.io/memory-pressure"}, {"effect", "NoSchedule"}}}),
                         /*unschedulable=*/true));
  cp.create(kNodes, node("n5", {{"disk", "ssd"}}, json::array({{{"key", "soft"}, {"effect", "PreferNoSchedule"}}})));
  cp.run("daemonset", std::make_shared<DaemonSetController>());
  cp.create(kDaemonSets, daemonset({{"nodeSelector", {{"disk", "ssd"}}}}));
  ASSERT_TRUE(eventually([&] { return nodes_of(pods_by_node(cp)) == std::set<std::string>{"n1", "n4", "n5"}; }))
      << "n2: untolerated taint, n3: selector";
  json ds = cp.get(kDaemonSets, "default", "agent");
  for (const auto& [n, pod] : pods_by_node(cp)) {
    EXPECT_EQ(pod["metadata"]["generateName"], "agent-");
    EXPECT_FALSE(pod["metadata"]["labels"].value("controller-revision-hash", "").empty());
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], ds["metadata"]["uid"]);
    const json& term = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0];
    EXPECT_EQ(term["matchFields"][0], json({{"key", "metadata.name"}, {"operator", "In"}, {"values", {n}}}));
    std::set<std::string> tolerated;
    for (const auto& t : pod["spec"]["tolerations"]) tolerated.insert(t["key"].get<std::string>() + ":" + t.value("effect", ""));
    for (const char* want : {"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute",
                             "node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule",
                             "node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"})
      EXPECT_TRUE(tolerated.count(want)) << want;
  }
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kDaemonSets, "default", "agent")["status"];
    return s.value("desiredNumberScheduled", -1) == 3 && s.value("currentNumberScheduled", -1) == 3 &&
           s.value("numberMisscheduled", -1) == 0 && s.value("updatedNumberScheduled", -1) == 3 &&
           s.value("numberReady", -1) == 0 && s.value("observedGeneration", -1) == 1;
  })) << cp.get(kDaemonSets, "default", "agent")["status"].dump();
  EXPECT_EQ(play_kubelet(cp), 3);
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kDaemonSets, "default", "agent")["status"];
    return s.value("numberReady", -1) == 3 && s.value("numberAvailable", -1) == 3 && s.value("numberUnavailable", -1) == 0;
  })) << cp.get(kDaemonSets, "default", "agent")["status"].dump();
  EXPECT_EQ(events(cp, "SuccessfulCreate").size(), 3u);
}

TEST(DaemonSetController, RequiredNodeAffinityAndAPodToleration) {
  ControlPlane cp;
  cp.create(kNodes, node("a", {{"zone", "z1"}}));
  cp.create(kNodes, node("b", {{"zone", "z2"}}, json::array({{{"key", "dedicated"}, {"value", "agent"}, {"effect", "NoSchedule"}}})));
  cp.create(kNodes, node("c", {{"zone", "z3"}}));
  cp.run("daemonset", std::make_shared<DaemonSetController>());
  json affinity = {{"nodeAffinity",
                    {{"requiredDuringSchedulingIgnoredDuringExecution",
                      {{"nodeSelectorTerms",
                        json::array({{{"matchExpressions",
                                       json::array({{{"key", "zone"}, {"operator", "In"}, {"values", {"z1", "z2"}}}})}}})}}}}}};
  json tolerations = json::array({{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "agent"}, {"effect", "NoSchedule"}}});
  cp.create(kDaemonSets, daemonset({{"affinity", affinity}, {"tolerations", tolerations}}));
  ASSERT_TRUE(eventually([&] { return nodes_of(pods_by_node(cp)) == std::set<std::string>{"a", "b"}; }));
}

TEST(DaemonSetController, FollowsNodesAsTheyComeChangeAndGo) {
  ControlPlane cp;
  cp.create(kNodes, node("n1", {{"role", "edge"}}));
  cp.run("daemonset", std::make_shared<DaemonSetController>());
  cp.create(kDaemonSets, daemonset({{"nodeSelector", {{"role", "edge"}}}}));
  ASSERT_TRUE(eventually([&] { return nodes_of(pods_by_node(cp)) == std::set<std::string>{"n1"}; }));
  cp.create(kNodes, node("n2", {{"role", "edge"}}));
  ASSERT_TRUE(eventually([&] { return nodes_of(pods_by_node(cp)) == std::set<std::string>{"n1", "n2"}; }));
  ASSERT_TRUE(edit(cp, kNodes, "n1", [](json& n) { n["metadata"]["labels"]["role"] = "core"; }));
  ASSERT_TRUE(eventually([&] { return nodes_of(pods_by_node(cp)) == std::set<std::string>{"n2"}; }));
  ASSERT_TRUE(cp.client().remove(kNodes, "", "n2", {}).is_ok());
  ASSERT_TRUE(eventually([&] { return pods_by_node(cp).empty(); }));
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kDaemonSets, "default", "agent")["status"];
    return s.value("desiredNumberScheduled", -1) == 0 && s.value("currentNumberScheduled", -1) == 0;
  }));
  // A deleted daemon pod comes back.
  cp.create(kNodes, node("n3", {{"role", "edge"}}));
  ASSERT_TRUE(eventually([&] { return pods_by_node(cp).size() == 1; }));
  std::string first = pods_by_node(cp)["n3"]["metadata"]["name"];
  ASSERT_TRUE(cp.client().remove(kPods, "default", first, {}).is_ok());
  ASSERT_TRUE(eventually([&] {
    auto m = pods_by_node(cp);
    return m.size() == 1 && m["n3"]["metadata"]["name"] != first;
  })) << [&] {
    std::string all;
    for (const auto& p : cp.list(kPods, "default")) all += p["metadata"].dump() + " " + p["spec"].value("nodeName", "") + "\n";
    return all;
  }();
}

TEST(DaemonSetController, RollingUpdateKeepsWithinMaxUnavailableAtEveryStep) {
  ControlPlane cp;
  for (int i = 0; i < 6; ++i) cp.create(kNodes, node("n" + std::to_string(i), json::object()));
  cp.run("daemonset", std::make_shared<DaemonSetController>());
  json ds = daemonset();
  ds["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 2}}}};
  cp.create(kDaemonSets, ds);
  ASSERT_TRUE(eventually([&] {
    play_kubelet(cp);
    return cp.get(kDaemonSets, "default", "agent")["status"].value("numberAvailable", 0) == 6;
  }));
  ASSERT_TRUE(edit(cp, kDaemonSets, "agent", [](json& o) { o["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"; }));
  std::int64_t worst = 0;
  bool done = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done && std::chrono::steady_clock::now() < deadline) {
    auto m = pods_by_node(cp);
    std::int64_t without_available = 6, updated = 0;
    for (const auto& [n, p] : m) {
      if (pod_ready(p)) --without_available;
      if (p["spec"]["containers"][0]["image"] == "agent:2" && pod_ready(p)) ++updated;
    }
    worst = std::max(worst, without_available);
    ASSERT_LE(without_available, 2) << "maxUnavailable exceeded";
    done = updated == 6;
    // The kubelet starts one pod per step.
    for (const auto& [n, p] : m)
      if (!pod_ready(p)) {
        ASSERT_TRUE(set_pod_state(cp, p["metadata"]["name"], "Running", true, cp.clock().now_ms()));
        break;
      }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval of the observer
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(worst, 2) << "the update used its budget";
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kDaemonSets, "default", "agent")["status"];
    return s.value("updatedNumberScheduled", -1) == 6 && s.value("numberAvailable", -1) == 6 && s.value("observedGeneration", -1) == 2;
  })) << cp.get(kDaemonSets, "default", "agent")["status"].dump();
}

}  // namespace
}  // namespace skiff::testing::workloads
