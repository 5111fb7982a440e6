// The real skiffd with the scheduler plugins loaded from build/plugins: kubectl applies a Node and a
// Pod, and the pod gets bound, as kubectl shows.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;

TEST(SchedulerE2E, KubectlAppliedPodGetsBoundToTheNode) {
  Cluster c(true, {}, {"--plugin-dir", SKIFF_TEST_PLUGIN_DIR});
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("scheduler profile started")) << c.log();
  auto file = c.write("cluster.yaml", R"(apiVersion: v1
kind: Node
metadata:
  name: worker-1
  labels:
    kubernetes.io/hostname: worker-1
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True"}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: nginx
    resources:
      requests: {cpu: 500m, memory: 128Mi}
)");
  auto applied = c.kubectl({"apply", "-f", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_TRUE(eventually([&] {
    auto r = c.kubectl({"get", "pod", "web", "-o", "jsonpath={.spec.nodeName}"});
    return r.exit_code == 0 && r.out == "worker-1";
  }, std::chrono::seconds(20))) << c.log();
  auto wide = c.kubectl({"get", "pod", "web", "-o", "wide"});
  EXPECT_NE(wide.out.find("worker-1"), std::string::npos) << wide.out;

  // A pod too big for the node: FailedScheduling, in kubectl's events.
  auto big = c.write("big.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: huge
spec:
  containers:
  - name: c
    image: nginx
    resources:
      requests: {cpu: "64"}
)");
  ASSERT_EQ(c.kubectl({"apply", "-f", big}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    auto r = c.kubectl({"get", "events", "-o", "json"});
    return r.out.find("0/1 nodes are available: 1 Insufficient cpu.") != std::string::npos;
  }, std::chrono::seconds(20))) << c.log();
}

TEST(SchedulerE2E, BadSchedulerConfigNamesTheKey) {
  Cluster c(true, {}, {"--plugin-dir", SKIFF_TEST_PLUGIN_DIR, "--scheduler.scores=no_such_score=1"});
  EXPECT_FALSE(c.ready());
  EXPECT_TRUE(eventually([&] { return c.log_contains("scheduler.scores"); }, std::chrono::seconds(10))) << c.log();
}

TEST(SchedulerE2E, WithoutSchedulerPluginsTheDaemonRunsWithoutAScheduler) {
  TempDir plugins("skiff-sched-plugins");
  std::filesystem::create_symlink(std::filesystem::path(SKIFF_TEST_PLUGIN_DIR) / "libskiff-store-sqlite.so",
                                  plugins.path() / "libskiff-store-sqlite.so");
  Cluster c(true, {}, {"--plugin-dir", plugins.str()});
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("scheduler not started: no scheduler plugins loaded")) << c.log();
  // Asked for on purpose, a missing plugin stops startup instead.
  Cluster asked(true, {}, {"--plugin-dir", plugins.str(), "--scheduler.filters=node_resources_fit"});
  EXPECT_FALSE(asked.ready());
  EXPECT_TRUE(eventually([&] { return asked.log_contains("no filter plugin named node_resources_fit"); },
                         std::chrono::seconds(10))) << asked.log();
}

}  // namespace
}  // namespace skiff::testing
