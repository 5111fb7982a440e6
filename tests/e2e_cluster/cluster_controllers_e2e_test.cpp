// The garbage collector and the namespace controller inside the real skiffd (it runs every
// controller plugin of its plugin dir), driven by the real kubectl: `kubectl delete` with each
// --cascade mode, and `kubectl delete namespace`.
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

}  // namespace
}  // namespace skiff::testing
