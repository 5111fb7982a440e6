// The scheduling loop against an in-process control plane (memory store, the API's own write path,
// informers), with Node objects and no kubelet: where Kubernetes' semantics put each pod.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "kernel/scheduler/scheduler.hpp"
#include "tests/scheduler/static_plugins.hpp"
#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;
namespace ks = kernel::scheduler;
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kEvents{"", "v1", "events"};
const plugin::ResourceId kPriorityClasses{"scheduling.k8s.io", "v1", "priorityclasses"};

class SchedulerLoop : public ::testing::Test {
 protected:
  ~SchedulerLoop() override {
    if (scheduler) scheduler->stop();
  }

  void start(std::string_view profiles = "default-scheduler", ks::SchedulerOptions options = {}) {
    options.profiles = plugins.profiles(profiles);
    options.initial_backoff_ms = 1000;
    scheduler = std::make_unique<ks::Scheduler>(std::move(options), cp.client(), cp.informers(), cp.metrics(), logger,
                                                cp.clock());
    auto s = scheduler->start();
    ASSERT_TRUE(s) << s.message();
  }

  void add_node(const std::string& name, const std::string& cpu = "4", const std::string& memory = "8Gi",
                Json labels = Json::object(), Json taints = Json::array(), const std::string& pods = "110") {
    labels["kubernetes.io/hostname"] = name;
    Json resources = {{"cpu", cpu}, {"memory", memory}, {"pods", pods}, {"ephemeral-storage", "100Gi"}};
    Json node = {{"apiVersion", "v1"},
                 {"kind", "Node"},
                 {"metadata", {{"name", name}, {"labels", labels}}},
                 {"spec", {{"taints", taints}}},
                 {"status", {{"capacity", resources}, {"allocatable", resources},
                             {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
    ASSERT_TRUE(cp.create(kNodes, node));
  }

  Json pod_json(const std::string& name, const std::string& cpu, Json extra_spec = Json::object(),
                Json labels = Json::object()) {
    Json requests = Json::object();
    if (!cpu.empty()) requests["cpu"] = cpu;
    Json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}, {"resources", {{"requests", requests}}}}}}}}};
    pod["spec"].update(extra_spec);
    return pod;
  }
  void add_pod(const std::string& name, const std::string& cpu, Json extra_spec = Json::object(), Json labels = Json::object()) {
    ASSERT_TRUE(cp.create(kPods, pod_json(name, cpu, std::move(extra_spec), std::move(labels))));
  }

  std::string node_of(const std::string& pod) {
    Json j = cp.get(kPods, "default", pod);
    return j.is_null() ? "<gone>" : j["spec"].value("nodeName", "");
  }
  bool all_bound(const std::vector<std::string>& pods) {
    return std::all_of(pods.begin(), pods.end(), [&](const std::string& p) {
      std::string n = node_of(p);
      return !n.empty() && n != "<gone>";
    });
  }
  std::vector<std::string> names(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
    return out;
  }
  std::map<std::string, int> per_node(const std::vector<std::string>& pods) {
    std::map<std::string, int> out;
    for (const auto& p : pods) ++out[node_of(p)];
    return out;
  }
  std::vector<Json> events_for(const std::string& pod, const std::string& reason) {
    std::vector<Json> out;
    for (const Json& e : cp.list(kEvents, "default"))
      if (e["involvedObject"].value("name", "") == pod && e.value("reason", "") == reason) out.push_back(e);
    return out;
  }
  Json condition(const std::string& pod, const std::string& type) {
    Json j = cp.get(kPods, "default", pod);
    for (const Json& c : j["status"].value("conditions", Json::array()))
      if (c.value("type", "") == type) return c;
    return nullptr;
  }

  ControlPlane cp;
  sched::StaticPlugins plugins;
  kernel::StructuredLogger logger{"scheduler-test", 2, plugin::LogLevel::kWarn};
  std::unique_ptr<ks::Scheduler> scheduler;
};

TEST_F(SchedulerLoop, LeastAllocatedSpreadsPodsEvenly) {
  for (int i = 0; i < 4; ++i) add_node("n" + std::to_string(i));
  start();
  auto pods = names("web", 8);
  for (const auto& p : pods) add_pod(p, "500m");
  ASSERT_TRUE(eventually([&] { return all_bound(pods); }));
  auto counts = per_node(pods);
  EXPECT_EQ(counts.size(), 4u);
  for (const auto& [node, n] : counts) EXPECT_EQ(n, 2) << node;
  // The binding turned PodScheduled True (the API's binding does that).
  EXPECT_EQ(condition("web0", "PodScheduled").value("status", ""), "True");
  // The counter moves just after the binding write returns, so a reader can see the last pod bound a
  // moment before it is counted.
  EXPECT_TRUE(eventually([&] { return scheduler->stats().scheduled == 8u; })) << scheduler->stats().scheduled;
}

TEST_F(SchedulerLoop, MostAllocatedProfileBinPacks) {
  for (int i = 0; i < 4; ++i) add_node("n" + std::to_string(i));
  start("default-scheduler;bin-packing:scores=node_resources_most_allocated=1");
  auto pods = names("batch", 8);
  for (const auto& p : pods) add_pod(p, "1", {{"schedulerName", "bin-packing"}});
  ASSERT_TRUE(eventually([&] { return all_bound(pods); }));
  auto counts = per_node(pods);
  // Four 1-cpu pods fill a 4-cpu node: two full nodes, two empty.
  ASSERT_EQ(counts.size(), 2u);
  for (const auto& [node, n] : counts) EXPECT_EQ(n, 4) << node;
}

TEST_F(SchedulerLoop, PodOfAnUnknownSchedulerStaysPending) {
  add_node("n0");
  start();
  add_pod("mine", "100m");
  add_pod("theirs", "100m", {{"schedulerName", "someone-else"}});
  ASSERT_TRUE(eventually([&] { return all_bound({"mine"}); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(node_of("theirs"), "");
  EXPECT_TRUE(events_for("theirs", "FailedScheduling").empty());
  EXPECT_TRUE(condition("theirs", "PodScheduled").is_null());
}

TEST_F(SchedulerLoop, NodeSelectorAndAffinityPickTheNode) {
  add_node("a", "4", "8Gi", {{"zone", "a"}, {"cores", "4"}});
  add_node("b", "4", "8Gi", {{"zone", "b"}, {"cores", "16"}});
  add_node("c", "4", "8Gi", {{"zone", "c"}, {"cores", "8"}});
  start();
  add_pod("sel", "100m", {{"nodeSelector", {{"zone", "b"}}}});
  Json gt = {{"nodeAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution",
                                {{"nodeSelectorTerms", {{{"matchExpressions", {{{"key", "cores"}, {"operator", "Gt"}, {"values", {"4"}}},
                                                                               {{"key", "zone"}, {"operator", "NotIn"}, {"values", {"b"}}}}}}}}}}}}};
  add_pod("gt", "100m", {{"affinity", gt}});
  Json pref = {{"nodeAffinity", {{"preferredDuringSchedulingIgnoredDuringExecution",
                                  {{{"weight", 100}, {"preference", {{"matchExpressions", {{{"key", "zone"}, {"operator", "In"}, {"values", {"a"}}}}}}}}}}}}};
  add_pod("pref", "100m", {{"affinity", pref}});
  ASSERT_TRUE(eventually([&] { return all_bound({"sel", "gt", "pref"}); }));
  EXPECT_EQ(node_of("sel"), "b");
  EXPECT_EQ(node_of("gt"), "c");
  EXPECT_EQ(node_of("pref"), "a");
}

TEST_F(SchedulerLoop, TaintsKeepPodsOffAndTheFailureIsReportedLikeKubernetes) {
  for (int i = 0; i < 3; ++i) add_node("small" + std::to_string(i), "1");
  Json gpu_taint = {{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}}};
  add_node("gpu0", "8", "8Gi", {}, gpu_taint);
  add_node("gpu1", "8", "8Gi", {}, gpu_taint);
  start();
  add_pod("big", "2");
  ASSERT_TRUE(eventually([&] { return !events_for("big", "FailedScheduling").empty(); }));
  const std::string want = "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu.";
  Json event = events_for("big", "FailedScheduling")[0];
  EXPECT_EQ(event.value("message", ""), want);
  EXPECT_EQ(event.value("type", ""), "Warning");
  ASSERT_TRUE(eventually([&] { return !condition("big", "PodScheduled").is_null(); }));
  Json c = condition("big", "PodScheduled");
  EXPECT_EQ(c.value("status", ""), "False");
  EXPECT_EQ(c.value("reason", ""), "Unschedulable");
  EXPECT_EQ(c.value("message", ""), want);
  EXPECT_EQ(node_of("big"), "");

  // A pod tolerating the taint goes to a gpu node.
  add_pod("trainer", "2", {{"tolerations", {{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "gpu"}, {"effect", "NoSchedule"}}}}});
  ASSERT_TRUE(eventually([&] { return all_bound({"trainer"}); }));
  EXPECT_EQ(node_of("trainer").rfind("gpu", 0), 0u) << node_of("trainer");
}

TEST_F(SchedulerLoop, UnschedulablePodIsRetriedWhenANodeArrives) {
  add_node("tiny", "1");
  start();
  add_pod("waiting", "2");
  ASSERT_TRUE(eventually([&] { return !events_for("waiting", "FailedScheduling").empty(); }));
  add_node("roomy", "4");
  // The node event ends its wait; its backoff (on the fake clock) still applies. The scheduler may
  // requeue the pod after this thread moves the clock, so the clock moves in steps, but never as
  // far as unschedulable_retry_ms (60 s): only the node event can explain the retry.
  int fake_ms = 0;
  ASSERT_TRUE(eventually([&] {
    if (fake_ms < 20000) {
      cp.clock().advance_ms(250);
      fake_ms += 250;
      scheduler->poke();
    }
    return all_bound({"waiting"});
  }));
  EXPECT_EQ(node_of("waiting"), "roomy");
}

TEST_F(SchedulerLoop, AssumedPodsNeverDoubleBook) {
  for (int i = 0; i < 50; ++i) add_node("n" + std::to_string(i), "1");
  start();
  auto pods = names("p", 50);
  for (const auto& p : pods) add_pod(p, "1");
  ASSERT_TRUE(eventually([&] { return all_bound(pods); }, std::chrono::seconds(30)));
  auto counts = per_node(pods);
  EXPECT_EQ(counts.size(), 50u);
  for (const auto& [node, n] : counts) EXPECT_EQ(n, 1) << node;
  add_pod("extra", "1");
  ASSERT_TRUE(eventually([&] { return !events_for("extra", "FailedScheduling").empty(); }));
  EXPECT_EQ(events_for("extra", "FailedScheduling")[0].value("message", ""), "0/50 nodes are available: 50 Insufficient cpu.");
}

TEST_F(SchedulerLoop, RequiredAntiAffinityPutsOnePerNode) {
  for (int i = 0; i < 3; ++i) add_node("n" + std::to_string(i));
  start();
  Json anti = {{"podAntiAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution",
                                     {{{"labelSelector", {{"matchLabels", {{"app", "web"}}}}}, {"topologyKey", "kubernetes.io/hostname"}}}}}}};
  auto pods = names("web", 3);
  for (const auto& p : pods) add_pod(p, "100m", {{"affinity", anti}}, {{"app", "web"}});
  ASSERT_TRUE(eventually([&] { return all_bound(pods); }));
  EXPECT_EQ(per_node(pods).size(), 3u);
  add_pod("web3", "100m", {{"affinity", anti}}, {{"app", "web"}});
  ASSERT_TRUE(eventually([&] { return !events_for("web3", "FailedScheduling").empty(); }));
  // The placed pods' own anti-affinity also selects web3, and Kubernetes checks that first.
  EXPECT_EQ(events_for("web3", "FailedScheduling")[0].value("message", ""),
            "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.");
  // Without the label its own rule is what stops it.
  add_pod("shy", "100m", {{"affinity", anti}}, {{"app", "other"}});
  ASSERT_TRUE(eventually([&] { return !events_for("shy", "FailedScheduling").empty(); }));
  EXPECT_EQ(events_for("shy", "FailedScheduling")[0].value("message", ""),
            "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
  // Required affinity: a follower goes where its leader is.
  add_pod("leader", "100m", {{"nodeSelector", {{"kubernetes.io/hostname", "n1"}}}}, {{"app", "leader"}});
  Json aff = {{"podAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution",
                                {{{"labelSelector", {{"matchLabels", {{"app", "leader"}}}}}, {"topologyKey", "kubernetes.io/hostname"}}}}}}};
  ASSERT_TRUE(eventually([&] { return all_bound({"leader"}); }));
  add_pod("follower", "100m", {{"affinity", aff}});
  ASSERT_TRUE(eventually([&] { return all_bound({"follower"}); }));
  EXPECT_EQ(node_of("follower"), "n1");
}

TEST_F(SchedulerLoop, TopologySpreadBalancesZones) {
  add_node("a1", "4", "8Gi", {{"zone", "a"}});
  add_node("a2", "4", "8Gi", {{"zone", "a"}});
  add_node("b1", "4", "8Gi", {{"zone", "b"}});
  start();
  Json spread = {{{"maxSkew", 1}, {"topologyKey", "zone"}, {"whenUnsatisfiable", "DoNotSchedule"},
                  {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}}};
  auto pods = names("web", 6);
  for (const auto& p : pods) {
    add_pod(p, "100m", {{"topologySpreadConstraints", spread}}, {{"app", "web"}});
    // One at a time, so each decision sees the last binding.
    ASSERT_TRUE(eventually([&] { return all_bound({p}); }));
  }
  auto counts = per_node(pods);
  EXPECT_EQ(counts["a1"] + counts["a2"], 3);
  EXPECT_EQ(counts["b1"], 3);
}

TEST_F(SchedulerLoop, PreemptionEvictsTheLeastImportantPodsOnOneNode) {
  ASSERT_TRUE(cp.create(kPriorityClasses, {{"apiVersion", "scheduling.k8s.io/v1"}, {"kind", "PriorityClass"},
                                           {"metadata", {{"name", "low"}}}, {"value", 10}}));
  ASSERT_TRUE(cp.create(kPriorityClasses, {{"apiVersion", "scheduling.k8s.io/v1"}, {"kind", "PriorityClass"},
                                           {"metadata", {{"name", "mid"}}}, {"value", 100}}));
  ASSERT_TRUE(cp.create(kPriorityClasses, {{"apiVersion", "scheduling.k8s.io/v1"}, {"kind", "PriorityClass"},
                                           {"metadata", {{"name", "high"}}}, {"value", 1000}}));
  add_node("n0", "2");
  add_node("n1", "2");
  start();
  // n0 ends up with two low pods, n1 with a low and a mid one (placed by nodeSelector).
  add_pod("low0", "1", {{"priorityClassName", "low"}, {"nodeSelector", {{"kubernetes.io/hostname", "n0"}}}});
  add_pod("low1", "1", {{"priorityClassName", "low"}, {"nodeSelector", {{"kubernetes.io/hostname", "n0"}}}});
  add_pod("low2", "1", {{"priorityClassName", "low"}, {"nodeSelector", {{"kubernetes.io/hostname", "n1"}}}});
  add_pod("mid0", "1", {{"priorityClassName", "mid"}, {"nodeSelector", {{"kubernetes.io/hostname", "n1"}}}});
  ASSERT_TRUE(eventually([&] { return all_bound({"low0", "low1", "low2", "mid0"}); }));

  // A high pod needing a whole node: evicting n0's two low pods disturbs less than evicting n1's low
  // and mid pods, so n0 it is, and n1 is left alone.
  add_pod("urgent", "2", {{"priorityClassName", "high"}});
  // The victims are evicted gracefully: Terminating until their node agent stopped them; there is
  // none here, so the test plays it, as a kubelet would once they stopped. (This scheduler frees a
  // victim's room in its cache at once instead of waiting until the victim is gone: see README.)
  auto terminating = [&](const std::string& name) {
    return cp.get(kPods, "default", name)["metadata"].contains("deletionTimestamp");
  };
  ASSERT_TRUE(eventually([&] { return terminating("low0") && terminating("low1"); }));
  EXPECT_FALSE(terminating("low2") || terminating("mid0"));
  for (const char* victim : {"low0", "low1"})
    ASSERT_TRUE(cp.api_client().remove_with_grace(kPods, "default", victim, {}, 0).is_ok());
  ASSERT_TRUE(eventually([&] { return all_bound({"urgent"}); }));
  EXPECT_EQ(node_of("urgent"), "n0");
  EXPECT_EQ(node_of("low0"), "<gone>");
  EXPECT_EQ(node_of("low1"), "<gone>");
  EXPECT_EQ(node_of("low2"), "n1");
  EXPECT_EQ(node_of("mid0"), "n1");
  EXPECT_EQ(scheduler->stats().preemptions, 2u);
  EXPECT_FALSE(events_for("low0", "Preempted").empty());
  EXPECT_EQ(cp.get(kPods, "default", "urgent")["status"].value("nominatedNodeName", ""), "n0");

  // A pod with preemptionPolicy Never waits instead.
  add_pod("polite", "2", {{"priorityClassName", "high"}, {"preemptionPolicy", "Never"}});
  ASSERT_TRUE(eventually([&] { return !events_for("polite", "FailedScheduling").empty(); }));
  EXPECT_EQ(node_of("low2"), "n1");
  EXPECT_EQ(node_of("polite"), "");
}

TEST_F(SchedulerLoop, HigherPriorityPodsAreScheduledFirst) {
  ASSERT_TRUE(cp.create(kPriorityClasses, {{"apiVersion", "scheduling.k8s.io/v1"}, {"kind", "PriorityClass"},
                                           {"metadata", {{"name", "high"}}}, {"value", 1000}}));
  add_node("only", "1");
  // Both pods exist before the scheduler starts; the later, higher-priority one gets the node.
  add_pod("early-low", "1");
  add_pod("late-high", "1", {{"priorityClassName", "high"}, {"preemptionPolicy", "Never"}});
  start();
  ASSERT_TRUE(eventually([&] { return all_bound({"late-high"}); }));
  ASSERT_TRUE(eventually([&] { return !events_for("early-low", "FailedScheduling").empty(); }));
  EXPECT_EQ(node_of("early-low"), "");
}

TEST_F(SchedulerLoop, MetricsCountAttempts) {
  add_node("n0");
  start();
  add_pod("a", "100m");
  ASSERT_TRUE(eventually([&] { return all_bound({"a"}); }));
  // Counted just after the binding write returns (see LeastAllocatedSpreadsPodsEvenly).
  ASSERT_TRUE(eventually([&] { return scheduler->stats().scheduled == 1u; }));
  std::string text = cp.metrics().expose();
  EXPECT_NE(text.find("skiff_scheduler_schedule_attempts_total{result=\"scheduled\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("skiff_scheduler_e2e_scheduling_duration_seconds_count 1"), std::string::npos);
  EXPECT_NE(text.find("skiff_scheduler_pending_pods{queue=\"active\"}"), std::string::npos);
}

}  // namespace
}  // namespace skiff::testing
