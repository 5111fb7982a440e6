// The agent inside the real skiffd (`--agent.runtime=sim`), driven by the real kubectl: the node
// registers Ready, a pod bound to it runs, and `kubectl get` shows what the kubelet would.
#include <gtest/gtest.h>

#include <csignal>
#include <algorithm>
#include <filesystem>
#include <set>

#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

// A pod bound to the agent's node by name (no scheduler needed).
constexpr const char* kWebOnLaptop = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: laptop
  containers:
  - name: web
    image: nginx:1.25
)";

TEST(AgentE2E, SimulatedNodeRunsAPodBoundToIt) {
  Cluster cluster(true, {}, {"--agent.runtime=sim", "--agent.node-name=laptop", "--agent.heartbeat-interval-ms=500"});
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  auto nodes = cluster.kubectl({"get", "nodes"});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.err;
  EXPECT_NE(nodes.out.find("laptop   Ready"), std::string::npos) << nodes.out;

  auto applied = cluster.kubectl({"apply", "-f", "-"}, kWebOnLaptop);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  auto waited = cluster.kubectl({"wait", "--for=condition=Ready", "pod/web", "--timeout=30s"});
  ASSERT_EQ(waited.exit_code, 0) << waited.err << cluster.log();
  auto pod = cluster.kubectl_json({"get", "pod", "web"});
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["ready"], true);
  EXPECT_FALSE(pod["status"].value("podIP", "").empty());

  // The heartbeat renews the node's Lease.
  auto lease = cluster.kubectl_json({"get", "lease", "laptop", "-n", "kube-node-lease"});
  EXPECT_EQ(lease["spec"]["holderIdentity"], "laptop");

  auto deleted = cluster.kubectl({"delete", "pod", "web", "--wait=true", "--timeout=30s"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

// Applies kWebOnLaptop to a cluster whose agent serves "laptop" and waits until the pod is Ready.
void run_web_pod(const Cluster& cluster) {
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  auto applied = cluster.kubectl({"apply", "-f", "-"}, kWebOnLaptop);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  auto waited = cluster.kubectl({"wait", "--for=condition=Ready", "pod/web", "--timeout=30s"});
  ASSERT_EQ(waited.exit_code, 0) << waited.err << cluster.log();
}

// kubectl logs through the API to the agent of the pod's node. The simulated runtime runs no
// process, so the test writes the CRI-format file the runc shim writes for a container's first run.
TEST(AgentE2E, KubectlLogsReadsTheContainerLogThroughTheAgent) {
  Cluster cluster(true, {}, {"--agent.runtime=sim", "--agent.node-name=laptop", "--agent.heartbeat-interval-ms=500"});
  ASSERT_NO_FATAL_FAILURE(run_web_pod(cluster));

  auto missing_log = cluster.kubectl({"logs", "web"});
  EXPECT_NE(missing_log.exit_code, 0);
  EXPECT_NE(missing_log.err.find("container \"web\" in pod \"web\" is waiting to start"), std::string::npos)
      << missing_log.err;

  std::string uid = cluster.kubectl_json({"get", "pod", "web"})["metadata"]["uid"];
  std::filesystem::path dir = std::filesystem::path(cluster.data_dir()) / "pod-logs" / ("default_web_" + uid) / "web";
  std::filesystem::create_directories(dir);
  auto append = [&](const std::string& text) {
    std::ofstream out(dir / "0.log", std::ios::app);
    out << text;
  };
  // A container that has written nothing: an empty 200, which must end at once (a body of zero
  // bytes once went out with no Content-Length, and kubectl waited for it forever).
  append("");
  auto empty = cluster.kubectl({"logs", "web"}, {}, std::chrono::seconds(10));
  EXPECT_FALSE(empty.timed_out) << "kubectl logs of an empty log did not return";
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "");

  append("2026-11-23T10:00:00Z stdout F one\n2026-11-23T10:00:01Z stderr F two\n2026-11-23T10:00:02Z stdout F three\n");

  auto all = cluster.kubectl({"logs", "web"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, "one\ntwo\nthree\n");
  auto skiff_logs = cluster.skiff({"logs", "web"});
  EXPECT_EQ(skiff_logs.exit_code, 0) << skiff_logs.err;
  EXPECT_EQ(skiff_logs.out, "one\ntwo\nthree\n");
  auto tail = cluster.kubectl({"logs", "pod/web", "--tail=1", "--timestamps"});
  EXPECT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(tail.out, "2026-11-23T10:00:02Z three\n");
  auto nope = cluster.kubectl({"logs", "nope"});
  EXPECT_EQ(nope.exit_code, 1);
  EXPECT_NE(nope.err.find("pods \"nope\" not found"), std::string::npos) << nope.err;
  auto bad_container = cluster.kubectl({"logs", "web", "-c", "nosuch"});
  EXPECT_NE(bad_container.exit_code, 0);
  EXPECT_NE(bad_container.err.find("container nosuch is not valid for pod web"), std::string::npos) << bad_container.err;
  auto previous = cluster.kubectl({"logs", "web", "--previous"});
  EXPECT_NE(previous.exit_code, 0);
  EXPECT_NE(previous.err.find("previous terminated container \"web\" in pod \"web\" not found"), std::string::npos)
      << previous.err;

  // -f streams what comes next and ends (exit 0) once the container stops: here, when the pod goes.
  KubectlStream follow(cluster, {"logs", "-f", "web"}, "follow");
  auto contents = [&] { return follow.contents(); };
  ASSERT_TRUE(eventually([&] { return contents().find("three\n") != std::string::npos; })) << contents();
  append("2026-11-23T10:00:03Z stdout F four\n");
  ASSERT_TRUE(eventually([&] { return contents().find("three\nfour\n") != std::string::npos; })) << contents();
  auto deleted = cluster.kubectl({"delete", "pod", "web", "--wait=true", "--timeout=30s"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_TRUE(eventually([&] { return !follow.process().running(); }, std::chrono::seconds(15))) << contents();
  EXPECT_EQ(follow.process().stop(SIGTERM), 0) << contents();
}

// kubectl exec over the WebSocket (v5.channel.k8s.io) through the API to the agent. The simulated
// runtime runs no process: its exec answers exit 0, or 1 for `false`, and `cat` echoes stdin; real
// output and terminals are the runc tests' part.
TEST(AgentE2E, KubectlExecReachesTheContainerThroughTheAgent) {
  Cluster cluster(true, {}, {"--agent.runtime=sim", "--agent.node-name=laptop", "--agent.heartbeat-interval-ms=500"});
  ASSERT_NO_FATAL_FAILURE(run_web_pod(cluster));

  auto ok = cluster.kubectl({"exec", "web", "--", "true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto failed = cluster.kubectl({"exec", "web", "--", "false"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("command terminated with exit code 1"), std::string::npos) << failed.err;
  auto bad_container = cluster.kubectl({"exec", "web", "-c", "nosuch", "--", "true"});
  EXPECT_NE(bad_container.exit_code, 0);
  EXPECT_NE(bad_container.err.find("container nosuch is not valid for pod web"), std::string::npos) << bad_container.err;
  // stdin (-i): kubectl's piped input reaches the command, and its end ends the command.
  std::string big(200'000, 'x');  // more than one WebSocket frame and one read of the server
  auto interactive = cluster.kubectl({"exec", "-i", "web", "--", "cat"}, "line one\n" + big + "\nlast");
  EXPECT_EQ(interactive.exit_code, 0) << interactive.err << cluster.log();
  EXPECT_TRUE(interactive.out == "line one\n" + big + "\nlast")
      << interactive.out.size() << " bytes, beginning " << interactive.out.substr(0, 40);
  auto nope = cluster.kubectl({"exec", "nope", "--", "true"});
  EXPECT_NE(nope.exit_code, 0);
  EXPECT_NE(nope.err.find("pods \"nope\" not found"), std::string::npos) << nope.err;
}

// kubectl drain: cordons the node, evicts its pods through policy/v1 evictions and waits until they
// are gone; the Deployment's replacements stay Pending on the only (cordoned) node until uncordon.
TEST(AgentE2E, KubectlDrainEvictsThePodsAndUncordonLetsThemBack) {
  Cluster cluster(true, {}, {"--agent.runtime=sim", "--agent.node-name=laptop", "--agent.heartbeat-interval-ms=500"});
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  auto created = cluster.kubectl({"create", "deployment", "web", "--image=nginx:1.25", "--replicas=2"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto rolled = cluster.kubectl({"rollout", "status", "deployment/web", "--timeout=60s"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.err << cluster.log();
  auto pod_names = [&] {
    std::set<std::string> names;
    const auto list = cluster.kubectl_json({"get", "pods", "-l", "app=web"});
    for (const auto& p : list["items"]) names.insert(p["metadata"]["name"].get<std::string>());
    return names;
  };
  const std::set<std::string> before = pod_names();
  ASSERT_EQ(before.size(), 2u);

  auto drained = cluster.kubectl({"drain", "laptop", "--ignore-daemonsets", "--timeout=60s"});
  ASSERT_EQ(drained.exit_code, 0) << drained.err << cluster.log();
  EXPECT_NE(drained.out.find("node/laptop cordoned"), std::string::npos) << drained.out;
  for (const auto& name : before)
    EXPECT_NE(drained.out.find("pod/" + name + " evicted"), std::string::npos) << drained.out;
  EXPECT_NE(drained.out.find("node/laptop drained"), std::string::npos) << drained.out;
  EXPECT_EQ(cluster.kubectl_json({"get", "node", "laptop"})["spec"].value("unschedulable", false), true);

  // The ReplicaSet replaces the evicted pods; with its only node cordoned they cannot be placed.
  ASSERT_TRUE(eventually([&] {
    const auto pods = cluster.kubectl_json({"get", "pods", "-l", "app=web"})["items"];
    return pods.size() == 2 && std::all_of(pods.begin(), pods.end(), [&](const auto& p) {
             return !before.count(p["metadata"]["name"].template get<std::string>()) &&
                    p["status"].value("phase", "") == "Pending" && p["spec"].value("nodeName", "").empty();
           });
  })) << cluster.kubectl({"get", "pods", "-o", "wide"}).out;

  auto uncordoned = cluster.kubectl({"uncordon", "laptop"});
  ASSERT_EQ(uncordoned.exit_code, 0) << uncordoned.err;
  rolled = cluster.kubectl({"rollout", "status", "deployment/web", "--timeout=60s"});
  EXPECT_EQ(rolled.exit_code, 0) << rolled.err << cluster.kubectl({"get", "pods", "-o", "wide"}).out;
}

// Image GC that cannot free enough (thresholds of 1% / 0% on the root filesystem, which the OS alone
// fills past 1%) is the kubelet's FreeDiskSpaceFailed: a warning event on the Node, saying why.
TEST(AgentE2E, ImageGcThatCannotFreeEnoughWarnsOnTheNode) {
  Cluster cluster(true, {}, {"--agent.runtime=sim", "--agent.node-name=laptop", "--agent.image-fs-path=/",
                             "--agent.image-gc-high-threshold-percent=1", "--agent.image-gc-low-threshold-percent=0",
                             "--agent.image-gc-period-seconds=1"});
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  nlohmann::json warning;
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& e : cluster.kubectl_json({"get", "events"}).value("items", nlohmann::json::array()))
          if (e.value("reason", "") == "FreeDiskSpaceFailed") warning = e;
        return warning.is_object();
      },
      std::chrono::seconds(20)))
      << cluster.log();
  EXPECT_EQ(warning.value("type", ""), "Warning");
  EXPECT_EQ(warning["involvedObject"].value("kind", ""), "Node");
  EXPECT_EQ(warning["involvedObject"].value("name", ""), "laptop");
  EXPECT_NE(warning.value("message", "").find("(high threshold 1%)"), std::string::npos) << warning.dump();
  EXPECT_EQ(warning["source"].value("component", ""), "kubelet");
}

TEST(AgentE2E, AnUnknownRuntimeIsAConfigErrorNamingTheKey) {
  Cluster cluster(true, {}, {"--agent.runtime=nosuch"});
  EXPECT_FALSE(cluster.ready());
  EXPECT_NE(cluster.log().find("agent.runtime: no runtime plugin named 'nosuch' (loaded: runc, sim)"), std::string::npos)
      << cluster.log();
}

}  // namespace
}  // namespace skiff::testing
