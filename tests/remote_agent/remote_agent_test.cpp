// `skiffd agent --server URL --token TOKEN` in a process of its own, joined to a real control-plane
// skiffd (no agent of its own) over HTTPS on 127.0.0.1, driven by the real kubectl: the node
// registers Ready, a pod selected onto it runs, kubectl logs and exec reach it through the API
// server's proxy to the agent's endpoint, and killing the agent makes the node NotReady.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

// A `skiffd agent` child process with its own data dir and log.
class RemoteAgent {
 public:
  RemoteAgent(const Cluster& cluster, const std::string& node, std::vector<std::string> extra = {})
      : dir_("skiff-agent"), log_((dir_.path() / "agent.log").string()) {
    std::vector<std::string> argv = {std::string(SKIFF_TEST_BIN_DIR) + "/skiffd",
                                     "agent",
                                     "--server",
                                     "https://127.0.0.1:" + std::to_string(cluster.port()),
                                     "--token",
                                     cluster.token(),
                                     "--ca-file",
                                     cluster.data_dir() + "/pki/ca.crt",
                                     "--node-name",
                                     node,
                                     "--agent.runtime=sim",
                                     "--agent.listen=127.0.0.1:0",
                                     "--agent.heartbeat-interval-ms=500",
                                     "--data-dir",
                                     data_dir()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{}, log_);
  }
  std::string data_dir() const { return (dir_.path() / "data").string(); }
  // The agent's log, and how it ended if it is no longer running.
  std::string log() const {
    std::ifstream in(log_);
    std::string text(std::istreambuf_iterator<char>(in), {});
    if (std::string how = process_->exit_description(); !how.empty()) text += "[skiffd agent " + how + "]\n";
    return text;
  }
  bool ready() {
    return eventually([&] { return log().find("msg=ready") != std::string::npos || !process_->running(); },
                      std::chrono::seconds(30)) &&
           process_->running();
  }
  ChildProcess& process() { return *process_; }

 private:
  TempDir dir_;
  std::string log_;
  std::unique_ptr<ChildProcess> process_;
};

constexpr const char* kPodOnRemote = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeSelector:
    kubernetes.io/hostname: remote-1
  containers:
  - name: web
    image: nginx:1.25
)";

std::string node_ready(const Cluster& cluster, const std::string& node) {
  auto j = cluster.kubectl_json({"get", "node", node});
  if (!j.is_object()) return "";
  for (const auto& c : j["status"].value("conditions", nlohmann::json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "");
  return "";
}

TEST(RemoteAgent, JoinsRunsAPodServesLogsAndExecThroughTheApiAndGoesNotReadyWhenKilled) {
  // The control plane only (no agent.runtime): the scheduler, the controllers and the API. A short
  // grace period so a silent node turns NotReady within the test's bounded wait.
  Cluster cluster(true, {},
                  {"--controller.nodelifecycle.grace-period-seconds=3", "--controller.nodelifecycle.monitor-period-ms=200"});
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  RemoteAgent agent(cluster, "remote-1");
  ASSERT_TRUE(agent.ready()) << agent.log();

  ASSERT_TRUE(eventually([&] {
    auto nodes = cluster.kubectl({"get", "nodes"});
    return nodes.out.find("remote-1   Ready") != std::string::npos;
  }, std::chrono::seconds(20))) << cluster.kubectl({"get", "nodes"}).out << agent.log();
  // The agent advertises its endpoint as a kubelet does.
  auto node = cluster.kubectl_json({"get", "node", "remote-1"});
  EXPECT_GT(node["status"]["daemonEndpoints"]["kubeletEndpoint"].value("Port", 0), 0) << node.dump();
  EXPECT_EQ(node["status"]["addresses"][0]["type"], "InternalIP");
  EXPECT_EQ(node["status"]["addresses"][0]["address"], "127.0.0.1");

  auto applied = cluster.kubectl({"apply", "-f", "-"}, kPodOnRemote);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  auto waited = cluster.kubectl({"wait", "--for=condition=Ready", "pod/web", "--timeout=30s"});
  ASSERT_EQ(waited.exit_code, 0) << waited.err << agent.log();
  auto pod = cluster.kubectl_json({"get", "pod", "web"});
  EXPECT_EQ(pod["spec"]["nodeName"], "remote-1");
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["status"]["hostIP"], "127.0.0.1");

  // Logs: the agent's answers pass through, its files are read on the agent's machine. The simulated
  // runtime runs no process, so the test writes the CRI-format file a container's first run leaves.
  auto missing_log = cluster.kubectl({"logs", "web"});
  EXPECT_NE(missing_log.exit_code, 0);
  EXPECT_NE(missing_log.err.find("container \"web\" in pod \"web\" is waiting to start"), std::string::npos)
      << missing_log.err;
  std::string uid = pod["metadata"]["uid"];
  auto dir = std::filesystem::path(agent.data_dir()) / "pod-logs" / ("default_web_" + uid) / "web";
  std::filesystem::create_directories(dir);
  auto append = [&](const std::string& text) { std::ofstream(dir / "0.log", std::ios::app) << text; };
  append("2026-11-23T10:00:00Z stdout F one\n2026-11-23T10:00:01Z stderr F two\n");
  auto logs = cluster.kubectl({"logs", "web"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "one\ntwo\n");
  auto tail = cluster.kubectl({"logs", "web", "--tail=1", "--timestamps"});
  EXPECT_EQ(tail.out, "2026-11-23T10:00:01Z two\n") << tail.err;

  // -f streams through the API server's proxy as the agent's file grows.
  KubectlStream follow(cluster, {"logs", "-f", "web"}, "follow");
  auto contents = [&] { return follow.contents(); };
  ASSERT_TRUE(eventually([&] { return contents().find("two\n") != std::string::npos; })) << contents();
  append("2026-11-23T10:00:02Z stdout F three\n");
  EXPECT_TRUE(eventually([&] { return contents().find("two\nthree\n") != std::string::npos; })) << contents();
  follow.process().stop(SIGTERM);

  // Exec: the exit code comes back through the agent's endpoint and the API's WebSocket.
  auto ok = cluster.kubectl({"exec", "web", "--", "true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto failed = cluster.kubectl({"exec", "web", "--", "false"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("command terminated with exit code 1"), std::string::npos) << failed.err << agent.log();
  // stdin (-i) travels API → agent as posts to the exec's session; the sim runtime's `cat` echoes it.
  std::string big(100'000, 'y');
  auto echoed = cluster.kubectl({"exec", "-i", "web", "--", "cat"}, "over the network\n" + big);
  EXPECT_EQ(echoed.exit_code, 0) << echoed.err << agent.log();
  EXPECT_TRUE(echoed.out == "over the network\n" + big) << echoed.out.size() << " bytes, beginning " << echoed.out.substr(0, 40);

  // A graceful delete is finished by the remote agent: it stops the containers, then deletes the pod
  // with grace 0 through its own API client.
  std::string doomed = kPodOnRemote;
  doomed.replace(doomed.find("name: web"), 9, "name: doomed");
  ASSERT_EQ(cluster.kubectl({"apply", "-f", "-"}, doomed).exit_code, 0);
  auto doomed_ready = cluster.kubectl({"wait", "--for=condition=Ready", "pod/doomed", "--timeout=30s"});
  ASSERT_EQ(doomed_ready.exit_code, 0) << doomed_ready.err << agent.log();
  auto deleted = cluster.kubectl({"delete", "pod", "doomed", "--wait=true", "--timeout=30s"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err << agent.log();

  // The agent dies without a word: its heartbeats stop and the node lifecycle controller marks it.
  agent.process().stop(SIGKILL);
  EXPECT_TRUE(eventually([&] { return node_ready(cluster, "remote-1") == "Unknown"; }, std::chrono::seconds(30)))
      << cluster.kubectl({"get", "node", "remote-1", "-o", "yaml"}).out;
  auto nodes = cluster.kubectl({"get", "nodes"});
  EXPECT_NE(nodes.out.find("remote-1   NotReady"), std::string::npos) << nodes.out;
  // Logs of its pod now say which agent cannot be reached.
  auto gone = cluster.kubectl({"logs", "web"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("cannot reach the node agent of remote-1"), std::string::npos) << gone.err;
}

TEST(RemoteAgent, ABadTokenStopsTheAgentNamingTheServerAndThe401) {
  Cluster cluster(true);
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  TempDir dir("skiff-agent");
  std::string url = "https://127.0.0.1:" + std::to_string(cluster.port());
  auto r = run_process({std::string(SKIFF_TEST_BIN_DIR) + "/skiffd", "agent", "--server", url, "--token", "not-the-token",
                        "--ca-file", cluster.data_dir() + "/pki/ca.crt", "--agent.runtime=sim",
                        "--agent.listen=127.0.0.1:0", "--data-dir", (dir.path() / "data").string()},
                       {}, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find("the API server at " + url + " refused the token: 401 Unauthorized"), std::string::npos) << all;
  // Nothing was registered.
  EXPECT_EQ(cluster.kubectl({"get", "nodes", "-o", "name"}).out, "");
}

TEST(RemoteAgent, AnUnreachableServerFailsWithinBoundedTimeNamingIt) {
  TempDir dir("skiff-agent");
  std::string url = "https://127.0.0.1:" + std::to_string(free_port());  // nothing listens there
  auto started = std::chrono::steady_clock::now();
  auto r = run_process({std::string(SKIFF_TEST_BIN_DIR) + "/skiffd", "agent", "--server", url, "--token", "t",
                        "--agent.runtime=sim", "--agent.listen=127.0.0.1:0", "--agent.request-timeout-ms=3000",
                        "--data-dir", (dir.path() / "data").string()},
                       {}, std::chrono::seconds(30));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_NE(r.exit_code, 0);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find("cannot join the cluster: cannot reach the API server at " + url), std::string::npos) << all;
  EXPECT_LT(took, std::chrono::seconds(20));
}

TEST(RemoteAgent, MissingServerOrTokenIsAConfigError) {
  TempDir dir("skiff-agent");
  auto r = run_process({std::string(SKIFF_TEST_BIN_DIR) + "/skiffd", "agent", "--server", "https://127.0.0.1:1",
                        "--agent.runtime=sim", "--data-dir", (dir.path() / "data").string()},
                       {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("skiffd agent needs agent.token"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace skiff::testing
