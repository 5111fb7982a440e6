// The node lifecycle controller under a FakeClock the test moves: the test plays the kubelets
// (Node status and Leases in kube-node-lease). A node silent past the grace period turns
// Ready=Unknown and is tainted unreachable:NoExecute; its pods are deleted once their toleration of
// that taint runs out (300 s without one), and not before; a node that heartbeats again loses it.
#include <gtest/gtest.h>

#include "kernel/config/config_section.hpp"
#include "nodelifecycle.hpp"
#include "skiff/plugin/time.hpp"
#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
namespace nl = plugins::controllers::nodelifecycle;
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kLeases{"coordination.k8s.io", "v1", "leases"};

// Long enough for a few monitor periods (20 ms in these tests) of real time.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(250)); }

class NodeLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    cp.run("nodelifecycle", std::make_shared<nl::NodeLifecycleController>(
                                nl::Options{.grace_period_ms = 40'000, .monitor_period_ms = 20, .default_toleration_seconds = 300}));
  }
  std::string now() { return plugin::format_rfc3339(cp.clock().now_ms()); }

  // A kubelet registering its node: the Node with Ready=<ready>, and its Lease.
  void add_node(const std::string& name, const std::string& ready = "True") {
    auto created = cp.create(kNodes, {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}});
    ASSERT_TRUE(created);
    post_status(name, ready);
    cp.create(kLeases, {{"apiVersion", "coordination.k8s.io/v1"},
                        {"kind", "Lease"},
                        {"metadata", {{"name", name}, {"namespace", "kube-node-lease"}}},
                        {"spec", {{"holderIdentity", name}, {"leaseDurationSeconds", 40}, {"renewTime", now() }}}});
  }
  void post_status(const std::string& name, const std::string& ready) {
    json node = cp.get(kNodes, "", name);
    node["status"]["conditions"] = {{{"type", "Ready"},
                                     {"status", ready},
                                     {"reason", "KubeletReady"},
                                     {"lastHeartbeatTime", now()},
                                     {"lastTransitionTime", now()}}};
    auto r = cp.client().update_status(kNodes, node.dump());
    ASSERT_TRUE(r.is_ok()) << r.status().message();
  }
  void renew(const std::string& name) {
    json lease = cp.get(kLeases, "kube-node-lease", name);
    lease["spec"]["renewTime"] = plugin::format_rfc3339(cp.clock().now_ms());
    auto r = cp.client().update(kLeases, lease.dump());
    ASSERT_TRUE(r.is_ok()) << r.status().message();
  }
  // Moves the clock in steps of 10 s, the nodes in `alive` renewing their leases at each step.
  // Writes made before are seen first: the controller times heartbeats by when it observes them.
  void advance_s(int seconds, const std::vector<std::string>& alive = {}) {
    settle();
    for (int done = 0; done < seconds;) {
      int step = std::min(10, seconds - done);
      cp.clock().advance_ms(step * 1000);
      for (const auto& n : alive) renew(n);
      done += step;
      settle();
    }
  }
  void add_pod(const std::string& name, const std::string& node, json tolerations = json::array()) {
    json pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"default"},
                               "spec":{"containers":[{"name":"c","image":"nginx"}]}})");
    pod["metadata"]["name"] = name;
    pod["spec"]["nodeName"] = node;
    if (!tolerations.empty()) pod["spec"]["tolerations"] = std::move(tolerations);
    ASSERT_TRUE(cp.create(kPods, pod));
  }
  std::string pod_ready(const std::string& name) {
    json pod = cp.get(kPods, "default", name);
    for (const auto& c : pod.value("status", json::object()).value("conditions", json::array()))
      if (c.value("type", "") == "Ready") return c.value("status", "");
    return "";
  }
  // Evicted: marked for deletion. The pods are bound to their node, so they stay Terminating until
  // its agent stops them, and that node's agent is dead: as in Kubernetes, they wait there.
  bool evicted(const std::string& name) {
    json pod = cp.get(kPods, "default", name);
    return pod.is_object() && pod["metadata"].contains("deletionTimestamp");
  }
  bool running(const std::string& name) {
    json pod = cp.get(kPods, "default", name);
    return pod.is_object() && !pod["metadata"].contains("deletionTimestamp");
  }
  json taints(const std::string& node) {
    return cp.get(kNodes, "", node).value("spec", json::object()).value("taints", json::array());
  }
  bool has_taint(const std::string& node, std::string_view key, std::string_view effect) {
    for (const auto& t : taints(node))
      if (t.value("key", "") == key && t.value("effect", "") == effect) return true;
    return false;
  }
  json ready(const std::string& node) {
    json n = cp.get(kNodes, "", node);
    for (const auto& c : n.value("status", json::object()).value("conditions", json::array()))
      if (c.value("type", "") == "Ready") return c;
    return nullptr;
  }

  ControlPlane cp;
};

TEST_F(NodeLifecycle, KillingANodesHeartbeatsEvictsItsPodsAfterTheirToleration) {
  add_node("n1");
  add_node("n2");
  add_pod("plain", "n1");  // no toleration: the default 300 s
  add_pod("brief", "n1", json::parse(R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":60}])"));
  add_pod("forever", "n1", json::parse(R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute"}])"));
  add_pod("elsewhere", "n2");
  for (const char* name : {"forever", "elsewhere"}) {  // their kubelets had reported them Ready
    json pod = cp.get(kPods, "default", name);
    pod["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
    ASSERT_TRUE(cp.client().update_status(kPods, pod.dump()).is_ok());
  }

  // n1's kubelet dies now; n2's keeps renewing. Within the grace period nothing happens.
  advance_s(40, {"n2"});
  EXPECT_TRUE(taints("n1").empty()) << taints("n1").dump();
  EXPECT_EQ(ready("n1")["status"], "True");

  advance_s(1, {"n2"});
  ASSERT_TRUE(eventually([&] { return has_taint("n1", nl::kUnreachableTaint, "NoExecute"); })) << taints("n1").dump();
  json r = ready("n1");
  EXPECT_EQ(r["status"], "Unknown");
  EXPECT_EQ(r["reason"], "NodeStatusUnknown");
  EXPECT_EQ(r["message"], "Kubelet stopped posting node status.");
  EXPECT_TRUE(has_taint("n1", nl::kUnreachableTaint, "NoSchedule"));
  EXPECT_TRUE(taints("n2").empty()) << "a node that heartbeats is left alone";
  EXPECT_TRUE(eventually([&] { return pod_ready("forever") == "False"; })) << "a silent node's pods are not ready";
  EXPECT_EQ(pod_ready("elsewhere"), "True");
  EXPECT_EQ(ready("n2")["status"], "True");

  // The 60 s toleration runs out first, and not a moment early.
  advance_s(59, {"n2"});
  EXPECT_TRUE(running("brief"));
  advance_s(1, {"n2"});
  EXPECT_TRUE(eventually([&] { return evicted("brief"); }));
  EXPECT_TRUE(running("plain"));

  // A pod without a toleration gets DefaultTolerationSeconds' 300 s.
  advance_s(239, {"n2"});
  EXPECT_TRUE(running("plain")) << "evicted before its 300 s";
  advance_s(1, {"n2"});
  EXPECT_TRUE(eventually([&] { return evicted("plain"); }));
  EXPECT_TRUE(running("forever")) << "a toleration without tolerationSeconds tolerates for ever";
  EXPECT_TRUE(running("elsewhere"));
}

TEST_F(NodeLifecycle, ANodeThatHeartbeatsAgainLosesTheTaint) {
  add_node("n1");
  add_pod("p", "n1");
  advance_s(41);
  ASSERT_TRUE(eventually([&] { return has_taint("n1", nl::kUnreachableTaint, "NoExecute"); }));

  renew("n1");  // the kubelet is back (its lease first)
  EXPECT_TRUE(eventually([&] { return taints("n1").empty(); })) << taints("n1").dump();
  EXPECT_EQ(ready("n1")["status"], "Unknown") << "the condition is the kubelet's to put right";
  post_status("n1", "True");
  advance_s(300, {"n1"});
  EXPECT_TRUE(taints("n1").empty());
  EXPECT_TRUE(running("p")) << "no eviction once the node is back";
}

TEST_F(NodeLifecycle, ANotReadyNodeIsTaintedNotReadyAndItsPodsEvicted) {
  add_node("n1", "False");  // heartbeating, but the kubelet says NotReady
  add_pod("p", "n1");
  ASSERT_TRUE(eventually([&] { return has_taint("n1", nl::kNotReadyTaint, "NoExecute"); })) << taints("n1").dump();
  EXPECT_FALSE(has_taint("n1", nl::kUnreachableTaint, "NoExecute"));
  advance_s(299, {"n1"});
  EXPECT_TRUE(running("p"));
  advance_s(1, {"n1"});
  EXPECT_TRUE(eventually([&] { return evicted("p"); }));
  post_status("n1", "True");
  EXPECT_TRUE(eventually([&] { return taints("n1").empty(); })) << taints("n1").dump();
}

TEST(NodeLifecycleOptions, DefaultsAndBadValuesNamingTheKey) {
  auto defaults = kernel::MapConfigSection::with_defaults("controller.nodelifecycle", nl::kOptions, {});
  auto o = nl::read_options(defaults);
  ASSERT_TRUE(o.is_ok()) << o.status().message();
  EXPECT_EQ(o->grace_period_ms, 40'000);
  EXPECT_EQ(o->monitor_period_ms, 5'000);
  EXPECT_EQ(o->default_toleration_seconds, 300);

  auto custom = kernel::MapConfigSection::with_defaults("controller.nodelifecycle", nl::kOptions,
                                                        {{"grace-period-seconds", "10"}});
  ASSERT_TRUE(nl::read_options(custom).is_ok());
  EXPECT_EQ(nl::read_options(custom)->grace_period_ms, 10'000);

  auto bad = kernel::MapConfigSection::with_defaults("controller.nodelifecycle", nl::kOptions,
                                                     {{"grace-period-seconds", "soon"}});
  auto failed = nl::read_options(bad);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("controller.nodelifecycle.grace-period-seconds"), std::string::npos)
      << failed.status().message();
  auto zero = kernel::MapConfigSection::with_defaults("controller.nodelifecycle", nl::kOptions,
                                                      {{"monitor-period-ms", "0"}});
  EXPECT_FALSE(nl::read_options(zero).is_ok());
}

}  // namespace
}  // namespace skiff::testing
