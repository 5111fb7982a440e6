// The garbage collector against a real kernel (memory store, API with admission, informers):
// Background, Foreground and Orphan deletion, owner identity by uid, cluster-scoped owners, and
// references that dangled before the collector started.
#include <gtest/gtest.h>

#include "garbagecollector.hpp"
#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using plugins::controllers::garbagecollector::GarbageCollector;
const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kReplicaSets{"apps", "v1", "replicasets"};
const plugin::ResourceId kPriorityClasses{"scheduling.k8s.io", "v1", "priorityclasses"};

json owner_ref(const plugin::ObjectPtr& owner, const std::string& api_version, const std::string& kind,
               bool block = true) {
  return {{"apiVersion", api_version}, {"kind", kind},       {"name", owner->name},
          {"uid", owner->uid},         {"controller", false}, {"blockOwnerDeletion", block}};
}

json configmap(const std::string& name, json refs = json::array(), json finalizers = json::array()) {
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "default"}}}};
  if (!refs.empty()) cm["metadata"]["ownerReferences"] = std::move(refs);
  if (!finalizers.empty()) cm["metadata"]["finalizers"] = std::move(finalizers);
  return cm;
}

bool gone(ControlPlane& cp, const plugin::ResourceId& r, const std::string& ns, const std::string& name) {
  return cp.get(r, ns, name).is_null();
}

std::shared_ptr<GarbageCollector> collector() { return std::make_shared<GarbageCollector>(100); }

// ConfigMaps "rs" and "other", and "rs-a" owned by "rs"; returns the two owners.
std::pair<plugin::ObjectPtr, plugin::ObjectPtr> owners_with_a_dependent(ControlPlane& cp) {
  auto owner = cp.create(kConfigMaps, configmap("rs"));
  auto other = cp.create(kConfigMaps, configmap("other"));
  cp.create(kConfigMaps, configmap("rs-a", {owner_ref(owner, "v1", "ConfigMap")}));
  return {owner, other};
}

TEST(GarbageCollector, BackgroundDeletesDependentsAndDropsReferencesOfOtherwiseOwned) {
  ControlPlane cp;
  cp.run("gc", collector());
  auto [owner, other] = owners_with_a_dependent(cp);
  cp.create(kConfigMaps, configmap("rs-b", {owner_ref(owner, "v1", "ConfigMap")}));
  cp.create(kConfigMaps, configmap("shared", {owner_ref(owner, "v1", "ConfigMap"), owner_ref(other, "v1", "ConfigMap")}));
  cp.create(kConfigMaps, configmap("unrelated"));

  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "rs", {}).is_ok());
  ASSERT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "rs-a") && gone(cp, kConfigMaps, "default", "rs-b"); }));
  ASSERT_TRUE(eventually([&] {
    json shared = cp.get(kConfigMaps, "default", "shared");
    return shared.is_object() && shared["metadata"]["ownerReferences"].size() == 1;
  }));
  json shared = cp.get(kConfigMaps, "default", "shared");
  EXPECT_EQ(shared["metadata"]["ownerReferences"][0]["uid"], other->uid);
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "other").is_object());
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "unrelated").is_object());
}

TEST(GarbageCollector, BackgroundCascadesAcrossResourceTypes) {
  ControlPlane cp;
  cp.run("gc", collector());
  auto rs = cp.create(kReplicaSets, json::parse(R"({"apiVersion":"apps/v1","kind":"ReplicaSet",
      "metadata":{"name":"web","namespace":"default"},
      "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
              "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})"));
  ASSERT_TRUE(rs);
  json pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"default"},
                              "spec":{"containers":[{"name":"c","image":"nginx"}]}})");
  pod["metadata"]["ownerReferences"] = json::array({owner_ref(rs, "apps/v1", "ReplicaSet")});
  cp.create(kPods, pod);
  // A configmap owned by the pod: the cascade goes on past the first level.
  auto p = cp.client().create(kPods, "default", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"standalone"},"spec":{"containers":[{"name":"c","image":"nginx"}]}})");
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  auto web1 = std::make_shared<plugin::Object>();
  web1->name = "web-1";
  web1->uid = cp.get(kPods, "default", "web-1")["metadata"]["uid"];
  cp.create(kConfigMaps, configmap("web-1-config", {owner_ref(web1, "v1", "Pod")}));

  ASSERT_TRUE(cp.client().remove(kReplicaSets, "default", "web", {.propagation = plugin::Propagation::kBackground}).is_ok());
  EXPECT_TRUE(eventually([&] { return gone(cp, kPods, "default", "web-1"); }));
  EXPECT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "web-1-config"); }));
  EXPECT_TRUE(cp.get(kPods, "default", "standalone").is_object());
}

TEST(GarbageCollector, OrphanReleasesDependentsThenTheOwner) {
  ControlPlane cp;
  cp.run("gc", collector());
  auto [owner, other] = owners_with_a_dependent(cp);
  cp.create(kConfigMaps, configmap("rs-b", {owner_ref(owner, "v1", "ConfigMap"), owner_ref(other, "v1", "ConfigMap")}));

  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "rs", {.propagation = plugin::Propagation::kOrphan}).is_ok());
  ASSERT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "rs"); }));
  json a = cp.get(kConfigMaps, "default", "rs-a");
  ASSERT_TRUE(a.is_object()) << "an orphaned dependent stays";
  EXPECT_FALSE(a["metadata"].contains("ownerReferences")) << a.dump();
  json b = cp.get(kConfigMaps, "default", "rs-b");
  ASSERT_TRUE(b.is_object());
  ASSERT_EQ(b["metadata"]["ownerReferences"].size(), 1u) << b.dump();
  EXPECT_EQ(b["metadata"]["ownerReferences"][0]["uid"], other->uid);
  // And stays: nothing collects it later.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "rs-a").is_object());
}

TEST(GarbageCollector, ForegroundWaitsForBlockingDependentsAtEveryLevel) {
  ControlPlane cp;
  cp.run("gc", collector());
  auto owner = cp.create(kConfigMaps, configmap("top"));
  auto child = cp.create(kConfigMaps, configmap("child", {owner_ref(owner, "v1", "ConfigMap")}));
  // The grandchild carries a finalizer of its own: while it holds, the whole chain must wait.
  cp.create(kConfigMaps, configmap("grandchild", {owner_ref(child, "v1", "ConfigMap")}, {"test.skiff.io/hold"}));
  cp.create(kConfigMaps, configmap("loose", {owner_ref(owner, "v1", "ConfigMap", /*block=*/false)}));

  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "top", {.propagation = plugin::Propagation::kForeground}).is_ok());
  ASSERT_TRUE(eventually([&] {
    json g = cp.get(kConfigMaps, "default", "grandchild");
    return g.is_object() && g["metadata"].contains("deletionTimestamp");
  })) << "the cascade reaches the grandchild";
  EXPECT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "loose"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json top = cp.get(kConfigMaps, "default", "top");
  ASSERT_TRUE(top.is_object()) << "the owner waits for its blocking dependents";
  EXPECT_EQ(top["metadata"]["finalizers"], json::array({"foregroundDeletion"}));
  json c = cp.get(kConfigMaps, "default", "child");
  ASSERT_TRUE(c.is_object());
  EXPECT_TRUE(c["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(c["metadata"]["finalizers"], json::array({"foregroundDeletion"})) << "deleted in the foreground too";

  json g = cp.get(kConfigMaps, "default", "grandchild");
  json fins = g["metadata"]["finalizers"];
  fins.erase(std::remove(fins.begin(), fins.end(), json("test.skiff.io/hold")), fins.end());
  g["metadata"]["finalizers"] = fins;
  auto released = cp.client().update(kConfigMaps, g.dump());
  ASSERT_TRUE(released.is_ok()) << released.status().message();
  EXPECT_TRUE(eventually([&] {
    return gone(cp, kConfigMaps, "default", "grandchild") && gone(cp, kConfigMaps, "default", "child") &&
           gone(cp, kConfigMaps, "default", "top");
  }));
}

TEST(GarbageCollector, OwnerIdentityIsTheUidNotTheName) {
  ControlPlane cp;
  cp.run("gc", collector());
  auto owner = cp.create(kConfigMaps, configmap("owner"));
  cp.create(kConfigMaps, configmap("dep", {owner_ref(owner, "v1", "ConfigMap")}));
  // Replace the owner with a new object of the same name before the collector could look.
  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "owner", {}).is_ok());
  auto again = cp.create(kConfigMaps, configmap("owner"));
  ASSERT_NE(again->uid, owner->uid);
  EXPECT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "dep"); }))
      << "the re-created owner is a different owner";
  // A dependent naming an existing object but a uid that never existed is collected as well.
  auto fake = std::make_shared<plugin::Object>(*again);
  fake->uid = "00000000-0000-0000-0000-000000000000";
  cp.create(kConfigMaps, configmap("dep2", {owner_ref(fake, "v1", "ConfigMap")}));
  EXPECT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "dep2"); }));
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "owner").is_object());
}

TEST(GarbageCollector, ClusterScopedOwnersAndDependents) {
  ControlPlane cp;
  cp.run("gc", collector());
  auto node = cp.create(kNodes, {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}}});
  ASSERT_TRUE(node);
  cp.create(kConfigMaps, configmap("node-config", {owner_ref(node, "v1", "Node")}));
  cp.create(kPriorityClasses, {{"apiVersion", "scheduling.k8s.io/v1"},
                               {"kind", "PriorityClass"},
                               {"metadata", {{"name", "node-pc"}, {"ownerReferences", {owner_ref(node, "v1", "Node")}}}},
                               {"value", 10}});
  // A cluster-scoped dependent cannot be owned by a namespaced object: never collected.
  auto cm = cp.create(kConfigMaps, configmap("ns-owner"));
  cp.create(kPriorityClasses, {{"apiVersion", "scheduling.k8s.io/v1"},
                               {"kind", "PriorityClass"},
                               {"metadata", {{"name", "bad-ref"}, {"ownerReferences", {owner_ref(cm, "v1", "ConfigMap")}}}},
                               {"value", 11}});

  ASSERT_TRUE(cp.client().remove(kNodes, "", "n1", {}).is_ok());
  EXPECT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "node-config"); }));
  EXPECT_TRUE(eventually([&] { return gone(cp, kPriorityClasses, "", "node-pc"); }));
  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "ns-owner", {}).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(cp.get(kPriorityClasses, "", "bad-ref").is_object());
}

TEST(GarbageCollector, CollectsWhatDangledBeforeItStarted) {
  ControlPlane cp;
  auto owner = cp.create(kConfigMaps, configmap("old-owner"));
  cp.create(kConfigMaps, configmap("old-dep", {owner_ref(owner, "v1", "ConfigMap")}));
  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "old-owner", {}).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(cp.get(kConfigMaps, "default", "old-dep").is_object()) << "nobody collects without the collector";
  cp.run("gc", collector());
  EXPECT_TRUE(eventually([&] { return gone(cp, kConfigMaps, "default", "old-dep"); }));
}

}  // namespace
}  // namespace skiff::testing
