// The agent (PodSync on the reconcile loop + NodeHeartbeat) over the simulated runtime: node
// registration and heartbeats, pods brought to Running with an IP, completion and failure by
// restartPolicy, CrashLoopBackOff on the clock, init containers first, teardown on delete, adoption of
// an earlier agent's sandboxes.
#include <gtest/gtest.h>

#include "agent/node_agent.hpp"
#include "sim_runtime.hpp"
#include "tests/agent/probe_listener.hpp"
#include "tests/support/control_plane.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kLeases{"coordination.k8s.io", "v1", "leases"};

json pod(const std::string& name, const std::string& image, const std::string& restart_policy = "Always",
         json init = json::array()) {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", "default"}}},
            {"spec",
             {{"nodeName", "node-1"},
              {"restartPolicy", restart_policy},
              {"containers", {{{"name", "main"}, {"image", image}}}}}}};
  if (!init.empty()) p["spec"]["initContainers"] = init;
  return p;
}

class AgentTest : public ::testing::Test {
 protected:
  AgentTest() {
    options.nodes = {"node-1"};
    options.log_dir = "/tmp/skiff-agent-test-logs";
    options.max_requeue_ms = 20;  // decisions follow the fake clock; look again often
    options.events = true;
    options.delete_pod = [this](const std::string& ns, const std::string& name, const std::string& uid) {
      auto r = cp.api_client().remove_with_grace(kPods, ns, name, {.precondition_uid = uid}, 0);
      return r ? plugin::Status::ok() : r.status();
    };
  }
  void start_agent() {
    sync = std::make_shared<agent::PodSync>(options, *runtime);
    ASSERT_TRUE(sync->adopt().is_ok());
    runner = &cp.run("agent", sync);
    heartbeat = std::make_unique<agent::NodeHeartbeat>(options, cp.client(), cp.clock(), logger, runtime->version());
    ASSERT_TRUE(heartbeat->register_nodes(*sync->cache()).is_ok());
    ASSERT_TRUE(eventually([&] { return sync->cache()->get(kNodes, "", "node-1") != nullptr; }));
  }
  json status_of(const std::string& name) { return cp.get(kPods, "default", name).value("status", json::object()); }
  bool phase_is(const std::string& name, const std::string& phase) {
    return eventually([&] { return status_of(name).value("phase", "") == phase; }, 10s);
  }

  // Declared before cp so that it is destroyed after it: cp's destructor stops the agent's runner
  // threads, which call into the runtime until then (the other order was a use-after-free under load).
  // The clock lambda only runs once cp exists.
  std::unique_ptr<plugin::runtime::Runtime> runtime =
      plugins::runtime::sim::make_sim_runtime({}, [this] { return cp.clock().now_ms(); });
  ControlPlane cp;
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kWarn};
  agent::AgentOptions options;
  std::shared_ptr<agent::PodSync> sync;
  kernel::ControllerRunner* runner = nullptr;
  std::unique_ptr<agent::NodeHeartbeat> heartbeat;
};

TEST_F(AgentTest, RegistersTheNodeReadyAndHeartbeatsThroughALease) {
  start_agent();
  json node = cp.get(kNodes, "", "node-1");
  ASSERT_TRUE(node.is_object());
  EXPECT_EQ(node["status"]["allocatable"]["pods"], "110");
  EXPECT_EQ(node["metadata"]["labels"]["kubernetes.io/hostname"], "node-1");
  EXPECT_EQ(node["status"]["conditions"][0]["type"], "Ready");
  EXPECT_EQ(node["status"]["conditions"][0]["status"], "True");

  ASSERT_TRUE(heartbeat->beat(*sync->cache()).is_ok());
  json lease = cp.get(kLeases, "kube-node-lease", "node-1");
  ASSERT_TRUE(lease.is_object());
  EXPECT_EQ(lease["spec"]["holderIdentity"], "node-1");
  std::string first_renew = lease["spec"]["renewTime"];

  // Someone (the node lifecycle controller) marks the node Unknown; the next beat asserts Ready again.
  node["status"]["conditions"][0]["status"] = "Unknown";
  ASSERT_TRUE(cp.client().update_status(kNodes, node.dump()).is_ok());
  cp.clock().advance_ms(10'000);
  ASSERT_TRUE(eventually([&] {
    auto cached = sync->cache()->get(kLeases, "kube-node-lease", "node-1");
    auto n = sync->cache()->get(kNodes, "", "node-1");
    return cached && n && n->json.find("Unknown") != std::string::npos;
  }));
  ASSERT_TRUE(heartbeat->beat(*sync->cache()).is_ok());
  EXPECT_EQ(cp.get(kNodes, "", "node-1")["status"]["conditions"][0]["status"], "True");
  EXPECT_NE(cp.get(kLeases, "kube-node-lease", "node-1")["spec"]["renewTime"], first_renew);
}

TEST_F(AgentTest, APodBoundHereRunsWithAnIpAndIsReady) {
  start_agent();
  cp.create(kPods, pod("web", "nginx:1.25"));
  ASSERT_TRUE(phase_is("web", "Running")) << status_of("web").dump();
  json s = status_of("web");
  EXPECT_EQ(s["podIP"], "10.88.0.2");
  EXPECT_EQ(s["hostIP"], "127.0.0.1");
  EXPECT_EQ(s["containerStatuses"][0]["name"], "main");
  EXPECT_TRUE(s["containerStatuses"][0]["state"].contains("running"));
  EXPECT_EQ(s["containerStatuses"][0]["ready"], true);
  EXPECT_TRUE(s["containerStatuses"][0]["containerID"].get<std::string>().starts_with("sim://"));
  bool ready = false;
  for (const auto& c : s["conditions"])
    if (c["type"] == "Ready") ready = c["status"] == "True";
  EXPECT_TRUE(ready) << s.dump();
  // Another node's pod is not ours.
  json elsewhere = pod("elsewhere", "nginx:1.25");
  elsewhere["spec"]["nodeName"] = "node-2";
  cp.create(kPods, elsewhere);
  ASSERT_TRUE(eventually([&] { return runner->queue().idle(); }));
  EXPECT_FALSE(status_of("elsewhere").contains("podIP")) << status_of("elsewhere").dump();
  EXPECT_EQ(sync->sandboxes(), 1u);
}

TEST_F(AgentTest, RestartPolicyDecidesSucceededAndFailed) {
  start_agent();
  cp.create(kPods, pod("done", "job-exit-0", "Never"));
  cp.create(kPods, pod("broken", "job-exit-3", "Never"));
  cp.create(kPods, pod("retry", "job-exit-0", "OnFailure"));
  ASSERT_TRUE(phase_is("done", "Succeeded")) << status_of("done").dump();
  ASSERT_TRUE(phase_is("broken", "Failed")) << status_of("broken").dump();
  ASSERT_TRUE(phase_is("retry", "Succeeded")) << status_of("retry").dump();
  EXPECT_EQ(status_of("broken")["containerStatuses"][0]["state"]["terminated"]["exitCode"], 3);
  EXPECT_EQ(status_of("done")["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
  ASSERT_TRUE(eventually([&] { return sync->sandboxes() == 0; })) << "finished pods give their sandbox back";
}

TEST_F(AgentTest, ACrashingContainerBacksOffOnTheClock) {
  start_agent();
  cp.create(kPods, pod("crash", "app-exit-1", "Always"));
  // The first restart is immediate; the second waits 10 s in CrashLoopBackOff.
  ASSERT_TRUE(eventually([&] {
    json s = status_of("crash");
    return s.contains("containerStatuses") && s["containerStatuses"][0]["restartCount"] == 1 &&
           s["containerStatuses"][0]["state"].contains("waiting") &&
           s["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff";
  })) << status_of("crash").dump();
  json s = status_of("crash");
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  std::this_thread::sleep_for(100ms);  // real time passes; the fake clock does not: no restart
  EXPECT_EQ(status_of("crash")["containerStatuses"][0]["restartCount"], 1);
  cp.clock().advance_ms(10'000);
  ASSERT_TRUE(eventually([&] { return status_of("crash")["containerStatuses"][0]["restartCount"] == 2; }))
      << status_of("crash").dump();
  bool backoff_event = false;
  for (const auto& e : cp.list({"", "v1", "events"}, "default"))
    if (e.value("reason", "") == "BackOff" && e["involvedObject"]["name"] == "crash") backoff_event = true;
  EXPECT_TRUE(backoff_event);
}

TEST_F(AgentTest, InitContainersRunFirstInOrder) {
  start_agent();
  json init = json::array({{{"name", "migrate"}, {"image", "tool-exit-0"}}, {{"name", "warm"}, {"image", "tool-exit-0"}}});
  cp.create(kPods, pod("app", "server:1", "Always", init));
  ASSERT_TRUE(phase_is("app", "Running")) << status_of("app").dump();
  json s = status_of("app");
  ASSERT_EQ(s["initContainerStatuses"].size(), 2u);
  for (const auto& c : s["initContainerStatuses"]) EXPECT_EQ(c["state"]["terminated"]["exitCode"], 0) << c.dump();
  EXPECT_TRUE(s["containerStatuses"][0]["state"].contains("running"));

  // A failing init container with restartPolicy Never fails the pod; the app container never starts.
  json bad = json::array({{{"name", "migrate"}, {"image", "tool-exit-2"}}});
  cp.create(kPods, pod("blocked", "server:1", "Never", bad));
  ASSERT_TRUE(phase_is("blocked", "Failed")) << status_of("blocked").dump();
  EXPECT_TRUE(status_of("blocked")["containerStatuses"][0]["state"].contains("waiting"));
}

TEST_F(AgentTest, ADeletedPodLeavesNoSandbox) {
  start_agent();
  cp.create(kPods, pod("gone", "nginx:1.25"));
  ASSERT_TRUE(phase_is("gone", "Running"));
  ASSERT_TRUE(cp.client().remove(kPods, "default", "gone", {}).is_ok());
  ASSERT_TRUE(eventually([&] { return runtime->list_sandboxes()->empty() && runtime->list_containers("")->empty(); }));
  EXPECT_EQ(sync->sandboxes(), 0u);
}

TEST_F(AgentTest, ADeletedPodIsStoppedGracefullyReportedTerminatedThenRemoved) {
  start_agent();
  auto created = cp.create(kPods, pod("graceful", "nginx:1.25"));
  ASSERT_TRUE(phase_is("graceful", "Running"));
  const kernel::ResourceType* type = cp.registry().find(kPods);
  kernel::WatchOptions wo;
  wo.ns = "default";
  wo.resource_version = cp.store().current_revision();
  auto watch = cp.store().watch(*type, wo);
  ASSERT_TRUE(watch.is_ok());
  // A plain DELETE: the pod is bound here, so it is marked with the default 30 s grace and the agent
  // takes it from there.
  auto marked = cp.client().remove(kPods, "default", "graceful", {});
  ASSERT_TRUE(marked.is_ok()) << marked.status().message();
  ASSERT_TRUE(*marked && (*marked)->deleting) << "the API marks it, the agent ends it";
  std::vector<json> seen;  // "TYPE" + the pod
  ASSERT_TRUE(eventually([&] {
    for (auto& e : (*watch)->poll(64)) {
      json j = json::parse(e.object->json);
      j["_event"] = std::string(kernel::watch_event_type_name(e.type));
      seen.push_back(std::move(j));
    }
    return !seen.empty() && seen.back()["_event"] == "DELETED";
  })) << "the agent deletes the pod once its containers stopped";
  (*watch)->stop();
  // Before the end, a status with the container terminated (the sim honours SIGTERM: 143).
  bool reported_terminated = false;
  for (const auto& j : seen)
    if (j["_event"] == "MODIFIED" && j["metadata"].contains("deletionTimestamp") &&
        j["status"].contains("containerStatuses") && j["status"]["containerStatuses"][0]["state"].contains("terminated"))
      reported_terminated = j["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143;
  EXPECT_TRUE(reported_terminated) << json(seen).dump();
  EXPECT_TRUE(runtime->list_sandboxes()->empty());
  EXPECT_TRUE(runtime->list_containers("")->empty());
  bool killing = false;
  for (const auto& e : cp.list({"", "v1", "events"}, "default"))
    if (e.value("reason", "") == "Killing" && e["involvedObject"]["name"] == "graceful") {
      killing = true;
      EXPECT_EQ(e["type"], "Normal");
      EXPECT_EQ(e["message"], "Stopping container main");
      EXPECT_EQ(e["involvedObject"]["uid"], created->uid);
    }
  EXPECT_TRUE(killing);
}

TEST_F(AgentTest, ATerminatingPodIsNotRestartedAndAForceDeleteStillCleansUp) {
  options.delete_pod = nullptr;  // an agent without its final word: the pod stays Terminating
  start_agent();
  cp.create(kPods, pod("lingering", "nginx:1.25"));
  ASSERT_TRUE(phase_is("lingering", "Running"));
  ASSERT_TRUE(cp.client().remove(kPods, "default", "lingering", {}).is_ok());
  ASSERT_TRUE(eventually([&] {
    json s = status_of("lingering");
    return s.contains("containerStatuses") && s["containerStatuses"][0]["state"].contains("terminated");
  })) << status_of("lingering").dump();
  ASSERT_TRUE(eventually([&] { return runner->queue().idle(); }));
  EXPECT_TRUE(runtime->list_sandboxes()->empty()) << "the sandbox goes even while the pod object stays";
  EXPECT_EQ(status_of("lingering")["containerStatuses"][0]["restartCount"], 0) << "restartPolicy Always does not apply";
  EXPECT_TRUE(cp.get(kPods, "default", "lingering")["metadata"].contains("deletionTimestamp"));
  // kubectl delete --grace-period=0 --force: gone at once.
  ASSERT_TRUE(cp.api_client().remove_with_grace(kPods, "default", "lingering", {}, 0).is_ok());
  EXPECT_TRUE(cp.get(kPods, "default", "lingering").is_null());
}

TEST_F(AgentTest, ARestartedAgentAdoptsRunningSandboxes) {
  start_agent();
  cp.create(kPods, pod("kept", "nginx:1.25"));
  ASSERT_TRUE(phase_is("kept", "Running"));
  std::string ip = status_of("kept")["podIP"];
  runner->stop();
  heartbeat->stop();

  auto second = std::make_shared<agent::PodSync>(options, *runtime);
  ASSERT_TRUE(second->adopt().is_ok());
  EXPECT_EQ(second->sandboxes(), 1u);
  auto& second_runner = cp.run("agent-2", second);
  ASSERT_TRUE(eventually([&] { return second_runner.queue().idle(); }));
  EXPECT_EQ(runtime->list_sandboxes()->size(), 1u) << "no second sandbox for the same pod";
  EXPECT_EQ(runtime->list_containers("")->size(), 1u);
  EXPECT_EQ(status_of("kept")["podIP"], ip);
  EXPECT_EQ(status_of("kept")["phase"], "Running");
}

// ---- probes ----

json condition_of(const json& status, const std::string& type) {
  for (const auto& c : status.value("conditions", json::array()))
    if (c["type"] == type) return c;
  return json::object();
}

class AgentProbeTest : public AgentTest {
 protected:
  json probed_pod(const std::string& name, json container_probes) {
    json p = pod(name, "server:1");
    for (auto& [field, probe] : container_probes.items()) p["spec"]["containers"][0][field] = probe;
    return p;
  }
  // The events of `reason` recorded for pod `name`, oldest first by name (names grow with time).
  std::vector<std::string> messages(const std::string& name, const std::string& reason) {
    std::vector<std::string> out;
    for (const auto& e : cp.list({"", "v1", "events"}, "default"))
      if (e.value("reason", "") == reason && e["involvedObject"]["name"] == name) out.push_back(e.value("message", ""));
    return out;
  }
  json container(const std::string& name) {
    json s = status_of(name);
    return s.contains("containerStatuses") ? s["containerStatuses"][0] : json::object();
  }
};

TEST_F(AgentProbeTest, ReadinessFollowsATcpProbeAgainstARealListener) {
  start_agent();
  ProbeListener listener;
  // tcpSocket.host points the probe at the test's listener (a simulated pod IP has no process behind it).
  cp.create(kPods, probed_pod("web", {{"readinessProbe",
                                       {{"tcpSocket", {{"host", "127.0.0.1"}, {"port", listener.port()}}},
                                        {"periodSeconds", 5},
                                        {"failureThreshold", 2}}}}));
  ASSERT_TRUE(eventually([&] { return container("web").value("ready", false); })) << status_of("web").dump();
  EXPECT_EQ(condition_of(status_of("web"), "Ready")["status"], "True");
  EXPECT_EQ(condition_of(status_of("web"), "ContainersReady")["status"], "True");

  listener.close();
  const std::string refused = "Readiness probe failed: dial tcp 127.0.0.1:" + std::to_string(listener.port()) +
                              ": connect: connection refused";
  // One failure of two keeps it ready; the second (a period later on the clock) does not.
  cp.clock().advance_ms(5'000);
  ASSERT_TRUE(eventually([&] { return messages("web", "Unhealthy").size() == 1; })) << status_of("web").dump();
  EXPECT_EQ(messages("web", "Unhealthy")[0], refused);
  EXPECT_TRUE(container("web")["ready"].get<bool>());
  cp.clock().advance_ms(5'000);
  ASSERT_TRUE(eventually([&] { return !container("web").value("ready", true); })) << status_of("web").dump();
  json s = status_of("web");
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(condition_of(s, "Ready")["status"], "False");
  EXPECT_EQ(condition_of(s, "ContainersReady")["status"], "False");
  EXPECT_EQ(condition_of(s, "Ready")["reason"], "ContainersNotReady");
  EXPECT_EQ(s["containerStatuses"][0]["restartCount"], 0) << "readiness never restarts";
  EXPECT_TRUE(s["containerStatuses"][0]["started"].get<bool>());
}

TEST_F(AgentProbeTest, AFailingExecReadinessProbeKeepsThePodNotReady) {
  start_agent();
  cp.create(kPods, probed_pod("never", {{"readinessProbe", {{"exec", {{"command", {"false"}}}}}}}));
  ASSERT_TRUE(eventually([&] { return messages("never", "Unhealthy").size() == 1 && status_of("never").value("phase", "") == "Running"; }))
      << status_of("never").dump();
  EXPECT_EQ(messages("never", "Unhealthy")[0], "Readiness probe failed: command exited with code 1");
  json s = status_of("never");
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_FALSE(s["containerStatuses"][0]["ready"].get<bool>());
  EXPECT_EQ(condition_of(s, "Ready")["status"], "False");
}

TEST_F(AgentProbeTest, AFailedLivenessProbeRestartsTheContainerAfterTheThreshold) {
  start_agent();
  cp.create(kPods, probed_pod("sick", {{"livenessProbe", {{"exec", {{"command", {"false"}}}}, {"periodSeconds", 10},
                                                          {"failureThreshold", 3}}}}));
  // The first probe runs at start; two more, a period apart on the clock, reach the threshold.
  ASSERT_TRUE(eventually([&] { return messages("sick", "Unhealthy").size() == 1; })) << status_of("sick").dump();
  cp.clock().advance_ms(10'000);
  ASSERT_TRUE(eventually([&] { return messages("sick", "Unhealthy").size() == 2; }));
  EXPECT_EQ(container("sick")["restartCount"], 0) << "two failures of three";
  EXPECT_TRUE(messages("sick", "Killing").empty());
  cp.clock().advance_ms(10'000);
  ASSERT_TRUE(eventually([&] {
    json c = container("sick");
    return c.value("restartCount", 0) == 1 && c["state"].contains("running");
  })) << status_of("sick").dump();
  json c = container("sick");
  EXPECT_EQ(c["lastState"]["terminated"]["exitCode"], 143) << "stopped with SIGTERM";
  EXPECT_EQ(messages("sick", "Unhealthy")[0], "Liveness probe failed: command exited with code 1");
  ASSERT_EQ(messages("sick", "Killing").size(), 1u);
  EXPECT_EQ(messages("sick", "Killing")[0], "Container main failed liveness probe, will be restarted");
  EXPECT_EQ(status_of("sick")["phase"], "Running");
}

TEST_F(AgentProbeTest, TheStartupProbeGatesLivenessAndReadiness) {
  start_agent();
  ProbeListener listener;
  json readiness = {{"tcpSocket", {{"host", "127.0.0.1"}, {"port", listener.port()}}}};
  // Passing startup probe: started, then the readiness probe makes it ready.
  cp.create(kPods, probed_pod("boots", {{"startupProbe", {{"exec", {{"command", {"true"}}}}}}, {"readinessProbe", readiness}}));
  ASSERT_TRUE(eventually([&] { return container("boots").value("ready", false); })) << status_of("boots").dump();
  EXPECT_TRUE(container("boots")["started"].get<bool>());

  // Failing startup probe: never started, so never ready and its liveness probe (which would fail)
  // never runs; after failureThreshold the container is restarted.
  cp.create(kPods, probed_pod("stuck", {{"startupProbe", {{"exec", {{"command", {"false"}}}}, {"failureThreshold", 2}}},
                                        {"readinessProbe", readiness},
                                        {"livenessProbe", {{"exec", {{"command", {"false"}}}}}}}));
  // The event is recorded before the status is written: wait for both.
  ASSERT_TRUE(eventually([&] {
    return messages("stuck", "Unhealthy").size() == 1 && container("stuck").value("state", json::object()).contains("running");
  })) << status_of("stuck").dump();
  json c = container("stuck");
  EXPECT_TRUE(c["state"].contains("running")) << c.dump();
  EXPECT_FALSE(c["started"].get<bool>());
  EXPECT_FALSE(c["ready"].get<bool>());
  cp.clock().advance_ms(10'000);
  ASSERT_TRUE(eventually([&] { return container("stuck").value("restartCount", 0) == 1; })) << status_of("stuck").dump();
  for (const auto& m : messages("stuck", "Unhealthy")) EXPECT_EQ(m, "Startup probe failed: command exited with code 1");
  ASSERT_FALSE(messages("stuck", "Killing").empty());
  EXPECT_EQ(messages("stuck", "Killing")[0], "Container main failed startup probe, will be restarted");
}

TEST_F(AgentProbeTest, ABadProbeIsReportedAndTheAgentCarriesOn) {
  start_agent();
  // Valid for the API, but not something this agent can run.
  cp.create(kPods, probed_pod("odd", {{"livenessProbe", {{"grpc", {{"port", 9000}}}}}}));
  cp.create(kPods, pod("fine", "nginx:1.25"));
  ASSERT_TRUE(eventually([&] {
    return !messages("odd", "FailedProbeSpec").empty() && container("odd").value("state", json::object()).contains("running");
  })) << status_of("odd").dump();
  EXPECT_EQ(messages("odd", "FailedProbeSpec")[0],
            "spec.containers[main].livenessProbe.grpc: gRPC probes are not supported");
  EXPECT_FALSE(container("odd").value("ready", true));
  EXPECT_EQ(container("odd").value("restartCount", -1), 0);
  ASSERT_TRUE(eventually([&] { return container("fine").value("ready", false); }));
  // More passes over the pod: each update of it is one.
  for (int i = 0; i < 3; ++i) {
    json odd = cp.get(kPods, "default", "odd");
    odd["metadata"]["labels"]["pass"] = std::to_string(i);
    ASSERT_TRUE(cp.client().update(kPods, odd.dump()).is_ok());
    ASSERT_TRUE(eventually([&] { return runner->queue().idle(); }));
  }
  EXPECT_EQ(messages("odd", "FailedProbeSpec").size(), 1u) << "reported once, not on every pass";
}

TEST(RestartBackoff, TenSecondsDoublingToFiveMinutes) {
  EXPECT_EQ(agent::restart_backoff_ms(0), 0);
  EXPECT_EQ(agent::restart_backoff_ms(1), 10'000);
  EXPECT_EQ(agent::restart_backoff_ms(2), 20'000);
  EXPECT_EQ(agent::restart_backoff_ms(5), 160'000);
  EXPECT_EQ(agent::restart_backoff_ms(6), 300'000);
  EXPECT_EQ(agent::restart_backoff_ms(60), 300'000);
}

}  // namespace
}  // namespace skiff::testing
