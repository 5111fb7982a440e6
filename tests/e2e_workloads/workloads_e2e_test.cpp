// A Deployment's life through the real kubectl against the real skiffd running the replicaset and
// deployment controller plugins. There is no scheduler or kubelet on this branch: a bounded
// background loop in the test plays both (binds pods to the Node it created, then reports them
// Running and Ready through pods/status).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "skiff/plugin/time.hpp"
#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;

const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: app
        image: nginx:1.25
)";

const char* kNode = R"(apiVersion: v1
kind: Node
metadata:
  name: node-1
)";

// Binds unbound pods to node-1 and marks every pod Running+Ready, through kubectl, until stopped.
class FakeKubelet {
 public:
  explicit FakeKubelet(const Cluster& c) : c_(c), thread_([this] { loop(); }) {}
  ~FakeKubelet() {
    stop_ = true;
    thread_.join();
  }
  int pods_started() const { return started_; }

 private:
  void loop() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(4);  // bounded
    std::string binding_file = c_.write("binding.json", "");
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      auto r = c_.kubectl({"get", "pods", "-o", "json"});
      Json list = Json::parse(r.out, nullptr, false);
      bool acted = false;
      if (r.exit_code == 0 && list.contains("items")) {
        for (const auto& pod : list["items"]) {
          if (stop_) break;
          if (pod["metadata"].contains("deletionTimestamp")) continue;
          std::string name = pod["metadata"]["name"];
          if (pod["spec"].value("nodeName", "").empty()) {
            Json binding = {{"apiVersion", "v1"}, {"kind", "Binding"}, {"metadata", {{"name", name}}},
                            {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "node-1"}}}};
            std::string f = c_.write("binding-" + name + ".json", binding.dump());
            c_.kubectl({"create", "--raw", "/api/v1/namespaces/default/pods/" + name + "/binding", "-f", f});
            acted = true;
          }
          if (pod.contains("status") && pod["status"].value("phase", "") == "Running") continue;
          std::string now = plugin::format_rfc3339(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch()).count());
          Json status = {{"status",
                          {{"phase", "Running"},
                           {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", now}}})}}}};
          if (c_.kubectl({"patch", "pod", name, "--subresource=status", "--type=merge", "-p", status.dump()}).exit_code == 0)
            ++started_;
          acted = true;
        }
      }
      if (!acted) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling interval
    }
  }

  const Cluster& c_;
  std::atomic<bool> stop_{false};
  std::atomic<int> started_{0};
  std::thread thread_;
};

std::string image_of_deployment(const Cluster& c) {
  return c.kubectl({"get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"}).out;
}

std::set<std::string> running_images(const Cluster& c) {
  std::set<std::string> images;
  Json list = Json::parse(c.kubectl({"get", "pods", "-o", "json"}).out, nullptr, false);
  if (list.contains("items"))
    for (const auto& p : list["items"]) images.insert(p["spec"]["containers"][0].value("image", ""));
  return images;
}

TEST(WorkloadsE2E, DeploymentRolloutSetImageHistoryAndUndoWithKubectl) {
  Cluster c(true);
  ASSERT_TRUE(c.ready()) << c.log();
  ASSERT_TRUE(c.log_contains("controller=deployment")) << c.log();
  ASSERT_TRUE(c.log_contains("controller=replicaset")) << c.log();
  auto r = c.kubectl({"apply", "-f", c.write("node.yaml", kNode)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = c.kubectl({"apply", "-f", c.write("web.yaml", kDeployment)});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  FakeKubelet kubelet(c);
  r = c.kubectl({"rollout", "status", "deployment/web", "--timeout=60s"}, {}, std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << c.log();
  EXPECT_NE(r.out.find("successfully rolled out"), std::string::npos) << r.out;
  auto pods = c.kubectl({"get", "pods", "-l", "app=web", "-o", "name"});
  EXPECT_EQ(std::count(pods.out.begin(), pods.out.end(), '\n'), 3) << pods.out;

  r = c.kubectl({"set", "image", "deployment/web", "app=nginx:1.26"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = c.kubectl({"rollout", "status", "deployment/web", "--timeout=60s"}, {}, std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(eventually([&] { return running_images(c) == std::set<std::string>{"nginx:1.26"}; }, std::chrono::seconds(30)));

  r = c.kubectl({"rollout", "history", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("REVISION"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n2 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\n3 "), std::string::npos) << r.out;

  r = c.kubectl({"rollout", "undo", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("rolled back"), std::string::npos) << r.out;
  EXPECT_EQ(image_of_deployment(c), "nginx:1.25");
  r = c.kubectl({"rollout", "status", "deployment/web", "--timeout=60s"}, {}, std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(eventually([&] { return running_images(c) == std::set<std::string>{"nginx:1.25"}; }, std::chrono::seconds(30)));
  // The first ReplicaSet was reused (revision 3), not a third one created.
  auto rs = c.kubectl({"get", "replicasets", "-l", "app=web", "-o", "json"});
  Json rses = Json::parse(rs.out, nullptr, false);
  ASSERT_EQ(rses["items"].size(), 2u) << rs.out;
  r = c.kubectl({"rollout", "history", "deployment/web"});
  EXPECT_NE(r.out.find("\n2 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n3 "), std::string::npos) << r.out;
  EXPECT_GE(kubelet.pods_started(), 6);
}

}  // namespace
}  // namespace skiff::testing
