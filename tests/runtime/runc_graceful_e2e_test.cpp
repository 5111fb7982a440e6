// Graceful pod termination with real runc containers, driven by the real kubectl against skiffd
// (`--agent.runtime=runc`): `kubectl delete pod` marks the pod, the agent sends SIGTERM and, when the
// pod's grace period runs out, SIGKILL, then deletes the pod; a container that traps SIGTERM ends
// by itself (and says so in its log), one that ignores it is killed after its grace; a Deployment's
// pods are replaced while the old ones terminate, and nothing (container monitor, sandbox, veth) is
// left once the Deployment is gone. The node's data plane is in a network namespace this test
// creates, with no route out. Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "tests/runtime/runc_cluster.hpp"

namespace skiff::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A pod running busybox sh with `script`, and `grace` seconds to stop.
std::string pod_manifest(const std::string& name, int grace, const std::string& script) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  terminationGracePeriodSeconds: " +
         std::to_string(grace) + "\n  containers:\n  - name: main\n    image: skiff.test/sh:1\n" +
         "    command: [\"/bin/sh\", \"-c\", \"" + script + "\"]\n";
}

// Waits in the shell so that a trapped signal runs its handler at once (sh runs traps between commands).
constexpr const char* kIdle = "while true; do sleep 1 & wait $!; done";

class RuncGraceful : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = runc_e2e_missing();
    ASSERT_TRUE(missing.empty()) << missing;
    runc = std::make_unique<RuncCluster>("skiffgrace", "10.198.0.0/24");
    ASSERT_EQ(runc->problem(), "");
    cluster = &runc->cluster();
    data = runc->data();
    TestImage image;
    image.layers.push_back(busybox_layer());
    auto imported = runc->import(image, "skiff.test/sh:1");
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  }

  void run_until_ready(const std::string& manifest, const std::string& pod) {
    auto applied = cluster->kubectl({"apply", "-f", "-"}, manifest);
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
    auto waited = cluster->kubectl({"wait", "--for=condition=Ready", "pod/" + pod, "--timeout=60s"}, {},
                                   std::chrono::seconds(90));
    ASSERT_EQ(waited.exit_code, 0) << waited.err << cluster->log();
  }
  // `kubectl delete pod NAME` (waits until the pod is gone) and how long it took.
  std::chrono::milliseconds delete_pod(const std::string& pod) {
    auto start = Clock::now();
    auto deleted = cluster->kubectl({"delete", "pod", pod, "--wait=true", "--timeout=60s"}, {}, std::chrono::seconds(90));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_EQ(deleted.exit_code, 0) << deleted.err << cluster->log();
    return took;
  }
  std::vector<std::string> event_messages(const std::string& pod, const std::string& reason) {
    std::vector<std::string> out;
    for (const auto& e : cluster->kubectl_json({"get", "events"}).value("items", json::array()))
      if (e["involvedObject"].value("name", "") == pod && e.value("reason", "") == reason)
        out.push_back(e.value("message", ""));
    return out;
  }
  bool nothing_left() const { return runc->nothing_left(); }

  std::unique_ptr<RuncCluster> runc;  // skiffd, its node namespace, and the cleanup of leftovers
  Cluster* cluster = nullptr;
  std::string data;
};

TEST_F(RuncGraceful, AContainerThatTrapsSigtermEndsByItselfAndLogsIt) {
  run_until_ready(pod_manifest("polite", 30, std::string("trap 'echo bye; exit 0' TERM; echo started; ") + kIdle),
                  "polite");
  const std::string uid = cluster->kubectl_json({"get", "pod", "polite"})["metadata"].value("uid", "");
  auto took = delete_pod("polite");
  EXPECT_LT(took, std::chrono::seconds(20)) << "it exits on SIGTERM, long before its 30 s grace";
  const fs::path log = fs::path(data) / "pod-logs" / ("default_polite_" + uid) / "main" / "0.log";
  std::string logged = read_all(log);
  EXPECT_NE(logged.find(" stdout F started\n"), std::string::npos) << log << ": " << logged;
  EXPECT_NE(logged.find(" stdout F bye\n"), std::string::npos) << "the trap ran: " << logged;
  EXPECT_EQ(event_messages("polite", "Killing"), std::vector<std::string>{"Stopping container main"});
  EXPECT_TRUE(eventually([&] { return nothing_left(); }, std::chrono::seconds(20))) << cluster->log();
}

TEST_F(RuncGraceful, AContainerThatIgnoresSigtermIsKilledWhenItsGraceRunsOut) {
  run_until_ready(pod_manifest("stubborn", 2, std::string("trap '' TERM; echo started; ") + kIdle), "stubborn");
  const std::string uid = cluster->kubectl_json({"get", "pod", "stubborn"})["metadata"].value("uid", "");
  auto took = delete_pod("stubborn");
  // SIGTERM changes nothing; SIGKILL comes after the 2 s grace, and then the pod goes.
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_LT(took, std::chrono::seconds(20)) << "killed after its 2 s grace, not its default 30 s";
  EXPECT_EQ(event_messages("stubborn", "Killing"), std::vector<std::string>{"Stopping container main"});
  std::string logged = read_all(fs::path(data) / "pod-logs" / ("default_stubborn_" + uid) / "main" / "0.log");
  EXPECT_NE(logged.find(" stdout F started\n"), std::string::npos) << logged;
  EXPECT_TRUE(eventually([&] { return nothing_left(); }, std::chrono::seconds(20))) << cluster->log();
}

TEST_F(RuncGraceful, ADeploymentsDeletedPodsAreReplacedAndNothingIsLeftBehind) {
  std::string deployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: keep
spec:
  replicas: 2
  selector:
    matchLabels: {app: keep}
  template:
    metadata:
      labels: {app: keep}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: main
        image: skiff.test/sh:1
        command: ["/bin/sh", "-c", "trap 'exit 0' TERM; )" + std::string(kIdle) + R"("]
)";
  ASSERT_EQ(cluster->kubectl({"apply", "-f", "-"}, deployment).exit_code, 0);
  auto available = [&] {
    return cluster->kubectl({"wait", "--for=condition=Available", "deployment/keep", "--timeout=60s"}, {},
                            std::chrono::seconds(90));
  };
  auto ready_pods = [&] {
    std::set<std::string> names;
    for (const auto& p : cluster->kubectl_json({"get", "pods", "-l", "app=keep"}).value("items", json::array()))
      if (!p["metadata"].contains("deletionTimestamp") && p["status"].value("phase", "") == "Running")
        names.insert(p["metadata"].value("name", ""));
    return names;
  };
  ASSERT_EQ(available().exit_code, 0) << cluster->log();
  std::set<std::string> first;
  ASSERT_TRUE(eventually([&] { return (first = ready_pods()).size() == 2; }, std::chrono::seconds(60)));
  // Deleting the pods: the ReplicaSet does not count Terminating pods and makes two new ones.
  auto deleted = cluster->kubectl({"delete", "pods", "-l", "app=keep", "--wait=true", "--timeout=60s"}, {},
                                  std::chrono::seconds(90));
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err << cluster->log();
  std::set<std::string> second;
  ASSERT_TRUE(eventually([&] { return (second = ready_pods()).size() == 2; }, std::chrono::seconds(60)))
      << cluster->log();
  for (const auto& n : second) EXPECT_FALSE(first.count(n)) << n << " should have been replaced";
  // The Deployment goes, its ReplicaSet and pods with it (gracefully), and nothing runs any more.
  ASSERT_EQ(cluster->kubectl({"delete", "deployment", "keep", "--wait=true", "--timeout=60s"}, {}, std::chrono::seconds(90))
                .exit_code,
            0);
  EXPECT_TRUE(eventually(
      [&] { return cluster->kubectl_json({"get", "pods", "-l", "app=keep"}).value("items", json::array()).empty(); },
      std::chrono::seconds(60)))
      << cluster->log();
  EXPECT_TRUE(eventually([&] { return nothing_left(); }, std::chrono::seconds(20))) << cluster->log();
}

}  // namespace
}  // namespace skiff::testing
