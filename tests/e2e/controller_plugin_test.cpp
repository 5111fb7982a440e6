// A controller plugin loaded by the real skiffd (role skiff.controller.v1) reconciles what kubectl
// writes: the kernel runs the informers, the queue and the retries; the plugin only reconciles.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

TEST(ControllerPlugin, TheDaemonRunsItAndItReconcilesKubectlWrites) {
  TempDir plugins("skiff-ctl-plugins");
  for (const char* so : {"libskiff-store-sqlite.so"})
    fs::create_symlink(fs::path(SKIFF_TEST_PLUGIN_DIR) / so, plugins.path() / so);
  fs::create_symlink(SKIFF_TEST_E2E_PLUGIN, plugins.path() / "libskiff-test-mirror-controller.so");
  Cluster c(true, {}, {"--plugin-dir", plugins.str()});
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("msg=\"controller started\" controller=configmap_mirror")) << c.log();

  auto file = c.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  color: blue\n");
  ASSERT_EQ(c.kubectl({"apply", "-f", file}).exit_code, 0);
  auto mirrored = [&](const std::string& color) {
    auto r = c.kubectl({"get", "configmap", "app-mirror", "-o", "json"});
    if (r.exit_code != 0) return false;
    Json j = Json::parse(r.out, nullptr, false);
    return j["data"]["color"] == color && j["metadata"]["ownerReferences"][0]["name"] == "app";
  };
  EXPECT_TRUE(eventually([&] { return mirrored("blue"); }, std::chrono::seconds(20))) << c.log();

  // A change to the source is followed; a change to the mirror is put back (owner mapping).
  ASSERT_EQ(c.kubectl({"patch", "configmap", "app", "--type=merge", "-p", R"({"data":{"color":"green"}})"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return mirrored("green"); }, std::chrono::seconds(20))) << c.log();
  ASSERT_EQ(c.kubectl({"patch", "configmap", "app-mirror", "--type=merge", "-p", R"({"data":{"color":"red"}})"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return mirrored("green"); }, std::chrono::seconds(20))) << c.log();

  auto metrics = c.kubectl({"get", "--raw", "/metrics"});
  EXPECT_NE(metrics.out.find("skiff_controller_reconcile_total{controller=\"configmap_mirror\",result=\"success\"}"),
            std::string::npos)
      << metrics.out.substr(0, 2000);
}

TEST(ControllerPlugin, ControllersEnabledCanTurnItOff) {
  TempDir plugins("skiff-ctl-plugins");
  fs::create_symlink(fs::path(SKIFF_TEST_PLUGIN_DIR) / "libskiff-store-sqlite.so", plugins.path() / "libskiff-store-sqlite.so");
  fs::create_symlink(SKIFF_TEST_E2E_PLUGIN, plugins.path() / "libskiff-test-mirror-controller.so");
  Cluster c(true, {}, {"--plugin-dir", plugins.str(), "--controllers.enabled=-configmap_mirror"});
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("msg=\"controller disabled\" controller=configmap_mirror")) << c.log();
}

}  // namespace
}  // namespace skiff::testing
