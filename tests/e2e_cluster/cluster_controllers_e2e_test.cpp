// The cluster controllers inside the real skiffd (it runs every controller plugin of its plugin
// dir), driven by the real kubectl: `kubectl delete` with each --cascade mode, `kubectl delete
// namespace`, a Service's Endpoints and EndpointSlices, a silent node, nodelifecycle's config keys.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;

// A ReplicaSet-like owner made of ConfigMaps: `owner` and dependents owner-0, owner-1 that name it
// in metadata.ownerReferences (controller, blockOwnerDeletion), as a workload controller would.
void make_family(const Cluster& c, const std::string& owner) {
  auto file = c.write(owner + ".yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + owner + "\n");
  ASSERT_EQ(c.kubectl({"apply", "-f", file}).exit_code, 0);
  auto uid = c.kubectl({"get", "configmap", owner, "-o", "jsonpath={.metadata.uid}"});
  ASSERT_EQ(uid.exit_code, 0) << uid.err;
  ASSERT_FALSE(uid.out.empty());
  std::string yaml;
  for (int i = 0; i < 2; ++i) {
    yaml += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + owner + "-" + std::to_string(i) +
            "\n  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: " + owner + "\n    uid: " + uid.out +
            "\n    controller: true\n    blockOwnerDeletion: true\ndata:\n  n: \"" + std::to_string(i) + "\"\n";
  }
  auto deps = c.write(owner + "-deps.yaml", yaml);
  auto applied = c.kubectl({"apply", "-f", deps});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
}

bool exists(const Cluster& c, const std::string& kind, const std::string& name, const std::string& ns = {}) {
  std::vector<std::string> args = {"get", kind, name, "-o", "name"};
  if (!ns.empty()) args.insert(args.end(), {"-n", ns});
  return c.kubectl(args).exit_code == 0;
}

TEST(GarbageCollectorE2E, KubectlDeleteCascadesInEveryMode) {
  Cluster c(true);
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("msg=\"controller started\" controller=garbagecollector")) << c.log();

  // Background, kubectl's default: the owner goes at once, the dependents after it.
  make_family(c, "bg");
  auto del = c.kubectl({"delete", "configmap", "bg"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_TRUE(eventually([&] { return !exists(c, "configmap", "bg-0") && !exists(c, "configmap", "bg-1"); },
                         std::chrono::seconds(20)))
      << c.log();

  // Orphan: the owner goes, the dependents stay and no longer name it.
  make_family(c, "or");
  del = c.kubectl({"delete", "configmap", "or", "--cascade=orphan", "--timeout=30s"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_TRUE(eventually([&] { return !exists(c, "configmap", "or"); }, std::chrono::seconds(20)));
  for (const char* dep : {"or-0", "or-1"}) {
    auto got = c.kubectl({"get", "configmap", dep, "-o", "json"});
    ASSERT_EQ(got.exit_code, 0) << dep << " was deleted: " << got.err;
    Json j = Json::parse(got.out, nullptr, false);
    EXPECT_FALSE(j["metadata"].contains("ownerReferences")) << got.out;
  }

  // Foreground: kubectl waits until the owner is gone, which is after its dependents.
  make_family(c, "fg");
  del = c.kubectl({"delete", "configmap", "fg", "--cascade=foreground", "--timeout=30s"});
  ASSERT_EQ(del.exit_code, 0) << del.err << c.log();
  EXPECT_FALSE(exists(c, "configmap", "fg"));
  EXPECT_FALSE(exists(c, "configmap", "fg-0")) << "the owner went only after its blocking dependents";
  EXPECT_FALSE(exists(c, "configmap", "fg-1"));

  EXPECT_TRUE(exists(c, "configmap", "or-0")) << "orphans are left alone";
}

TEST(NamespaceControllerE2E, KubectlDeleteNamespaceRemovesItAndItsContent) {
  Cluster c(true);
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("msg=\"controller started\" controller=namespace")) << c.log();
  // The API's bootstrap namespaces are there, and stay.
  for (const char* ns : {"default", "kube-system"}) EXPECT_TRUE(exists(c, "namespace", ns)) << ns;

  ASSERT_EQ(c.kubectl({"create", "namespace", "x"}).exit_code, 0);
  ASSERT_EQ(c.kubectl({"create", "namespace", "y"}).exit_code, 0);
  for (const char* ns : {"x", "y"}) {
    ASSERT_EQ(c.kubectl({"-n", ns, "create", "configmap", "cfg", "--from-literal=a=b"}).exit_code, 0);
    ASSERT_EQ(c.kubectl({"-n", ns, "run", "web", "--image=nginx"}).exit_code, 0);
    ASSERT_EQ(c.kubectl({"-n", ns, "create", "service", "clusterip", "web", "--tcp=80:80"}).exit_code, 0);
  }

  auto del = c.kubectl({"delete", "namespace", "x", "--timeout=30s"});
  ASSERT_EQ(del.exit_code, 0) << del.err << c.log();
  EXPECT_TRUE(eventually(
      [&] {
        auto r = c.kubectl({"get", "namespace", "x"});
        return r.exit_code != 0 && r.err.find("NotFound") != std::string::npos;
      },
      std::chrono::seconds(30)));
  for (const char* kind : {"configmap/cfg", "pod/web", "service/web"}) {
    auto r = c.kubectl({"-n", "x", "get", kind});
    EXPECT_NE(r.exit_code, 0) << kind << " survived: " << r.out;
    EXPECT_EQ(c.kubectl({"-n", "y", "get", kind}).exit_code, 0) << kind << " in y is not x's to delete";
  }
  for (const char* ns : {"default", "kube-system", "y"}) EXPECT_TRUE(exists(c, "namespace", ns)) << ns;
}

TEST(EndpointsE2E, AServiceGetsEndpointsAndSlicesForItsPods) {
  Cluster c(true);
  ASSERT_TRUE(c.ready()) << c.log();
  ASSERT_EQ(c.kubectl({"run", "web", "--image=nginx", "--labels=app=web", "--port=8080"}).exit_code, 0);
  // No kubelet here: play its part through the status subresource.
  auto patched = c.kubectl({"patch", "pod", "web", "--subresource=status", "--type=merge", "-p",
                            R"({"status":{"phase":"Running","podIP":"10.1.0.5","conditions":[{"type":"Ready","status":"True"}]}})"});
  ASSERT_EQ(patched.exit_code, 0) << patched.err;
  ASSERT_EQ(c.kubectl({"create", "service", "clusterip", "web", "--tcp=80:8080"}).exit_code, 0);

  Json ep;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = c.kubectl({"get", "endpoints", "web", "-o", "json"});
        ep = Json::parse(r.out, nullptr, false);
        return r.exit_code == 0 && ep.contains("subsets") && !ep["subsets"].empty();
      },
      std::chrono::seconds(20)))
      << c.log();
  ASSERT_TRUE(ep.contains("subsets"));
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["ip"], "10.1.0.5");
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["targetRef"]["name"], "web");
  EXPECT_EQ(ep["subsets"][0]["ports"][0]["port"], 8080);

  auto slices = c.kubectl({"get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"});
  ASSERT_EQ(slices.exit_code, 0) << slices.err;
  Json list = Json::parse(slices.out, nullptr, false);
  ASSERT_EQ(list["items"].size(), 1u) << slices.out;
  EXPECT_EQ(list["items"][0]["endpoints"][0]["addresses"][0], "10.1.0.5");
  EXPECT_EQ(list["items"][0]["endpoints"][0]["conditions"]["ready"], true);

  // The service goes: so do its Endpoints.
  ASSERT_EQ(c.kubectl({"delete", "service", "web"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return !exists(c, "endpoints", "web", "default"); }, std::chrono::seconds(20)));
}

TEST(NodeLifecycleE2E, ASilentNodeIsMarkedUnknownAndTainted) {
  Cluster c(true, {},
            {"--controller.nodelifecycle.grace-period-seconds=1", "--controller.nodelifecycle.monitor-period-ms=100"});
  ASSERT_TRUE(c.ready()) << c.log();
  auto file = c.write("node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: quiet\n");
  ASSERT_EQ(c.kubectl({"apply", "-f", file}).exit_code, 0);
  Json node;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = c.kubectl({"get", "node", "quiet", "-o", "json"});
        node = Json::parse(r.out, nullptr, false);
        return r.exit_code == 0 && node.contains("spec") && node["spec"].contains("taints");
      },
      std::chrono::seconds(20)))
      << c.log();
  bool unreachable = false;
  for (const auto& t : node["spec"].value("taints", Json::array()))
    unreachable = unreachable || (t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute");
  EXPECT_TRUE(unreachable) << node.dump();
  Json ready;
  for (const auto& cond : node["status"].value("conditions", Json::array()))
    if (cond["type"] == "Ready") ready = cond;
  EXPECT_EQ(ready["status"], "Unknown") << node.dump();
}

TEST(NodeLifecycleE2E, ABadConfigValueStopsStartupNamingTheKey) {
  Cluster c(true, {}, {"--controller.nodelifecycle.grace-period-seconds=soon"});
  EXPECT_FALSE(c.ready());
  EXPECT_TRUE(c.log_contains("controller.nodelifecycle.grace-period-seconds")) << c.log();
}

}  // namespace
}  // namespace skiff::testing
