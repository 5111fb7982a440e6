// The namespace controller against a real kernel: a deleted namespace is emptied of every namespaced
// type and then goes; content held by a finalizer keeps it Terminating with the conditions
// Kubernetes reports; active namespaces (default, kube-system from the API's bootstrap) are left alone.
#include <gtest/gtest.h>

#include "namespace.hpp"
#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using plugins::controllers::ns::NamespaceController;
const plugin::ResourceId kNamespaces{"", "v1", "namespaces"};
const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kServices{"", "v1", "services"};
const plugin::ResourceId kSecrets{"", "v1", "secrets"};
const plugin::ResourceId kLeases{"coordination.k8s.io", "v1", "leases"};
const plugin::ResourceId kDeployments{"apps", "v1", "deployments"};

void populate(ControlPlane& cp, const std::string& ns) {
  cp.create(kConfigMaps, {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}, {"namespace", ns}}}});
  cp.create(kSecrets, {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}, {"namespace", ns}}}});
  cp.create(kPods, json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":")" + ns +
                               R"("},"spec":{"containers":[{"name":"c","image":"nginx"}]}})"));
  cp.create(kServices, json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"svc","namespace":")" + ns +
                                   R"("},"spec":{"selector":{"app":"x"},"ports":[{"port":80}]}})"));
  cp.create(kLeases, {{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}, {"metadata", {{"name", "l"}, {"namespace", ns}}}});
  cp.create(kDeployments, json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":")" +
                                      ns + R"("},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})"));
}

void create_namespace(ControlPlane& cp, const std::string& name) {
  cp.create(kNamespaces, {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
}

std::size_t content_count(ControlPlane& cp, const std::string& ns) {
  std::size_t n = 0;
  for (const auto& r : {kConfigMaps, kPods, kServices, kSecrets, kLeases, kDeployments}) n += cp.list(r, ns).size();
  return n;
}

json condition(const json& ns, const std::string& type) {
  for (const auto& c : ns["status"].value("conditions", json::array()))
    if (c.value("type", "") == type) return c;
  return nullptr;
}

TEST(NamespaceController, BootstrapNamespacesExistAndActiveOnesAreLeftAlone) {
  ControlPlane cp;
  cp.run("namespace", std::make_shared<NamespaceController>());
  for (const char* name : {"default", "kube-system"}) {
    json ns = cp.get(kNamespaces, "", name);
    ASSERT_TRUE(ns.is_object()) << name;
    EXPECT_EQ(ns["status"]["phase"], "Active") << name;
  }
  create_namespace(cp, "live");
  populate(cp, "live");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(content_count(cp, "live"), 6u);
  EXPECT_FALSE(cp.get(kNamespaces, "", "live")["metadata"].contains("deletionTimestamp"));
}

TEST(NamespaceController, DeletingANamespaceEmptiesItThenRemovesIt) {
  ControlPlane cp;
  cp.run("namespace", std::make_shared<NamespaceController>());
  create_namespace(cp, "team");
  create_namespace(cp, "neighbour");
  populate(cp, "team");
  populate(cp, "neighbour");
  ASSERT_EQ(content_count(cp, "team"), 6u);

  auto removed = cp.client().remove(kNamespaces, "", "team", {});
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_TRUE(eventually([&] { return cp.get(kNamespaces, "", "team").is_null(); })) << cp.get(kNamespaces, "", "team").dump();
  EXPECT_EQ(content_count(cp, "team"), 0u);
  EXPECT_EQ(content_count(cp, "neighbour"), 6u) << "another namespace's content stays";
  // A namespace of the same name can be made again, empty.
  create_namespace(cp, "team");
  EXPECT_EQ(cp.get(kNamespaces, "", "team")["status"]["phase"], "Active");
}

TEST(NamespaceController, ContentHeldByAFinalizerKeepsItTerminatingWithConditions) {
  ControlPlane cp;
  cp.run("namespace", std::make_shared<NamespaceController>());
  create_namespace(cp, "held");
  populate(cp, "held");
  cp.create(kConfigMaps, {{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"metadata", {{"name", "sticky"}, {"namespace", "held"}, {"finalizers", {"test.skiff.io/hold"}}}}});
  ASSERT_TRUE(cp.client().remove(kNamespaces, "", "held", {}).is_ok());

  ASSERT_TRUE(eventually([&] {
    json ns = cp.get(kNamespaces, "", "held");
    json remaining = condition(ns, "NamespaceContentRemaining");
    return content_count(cp, "held") == 1 && remaining.is_object() && remaining["status"] == "True";
  })) << cp.get(kNamespaces, "", "held").dump();
  json ns = cp.get(kNamespaces, "", "held");
  EXPECT_EQ(ns["status"]["phase"], "Terminating");
  json remaining = condition(ns, "NamespaceContentRemaining");
  EXPECT_EQ(remaining["reason"], "SomeResourcesRemain");
  EXPECT_NE(remaining["message"].get<std::string>().find("configmaps has 1 resource instances"), std::string::npos)
      << remaining.dump();
  json finalizers = condition(ns, "NamespaceFinalizersRemaining");
  ASSERT_TRUE(finalizers.is_object()) << ns.dump();
  EXPECT_EQ(finalizers["status"], "True");
  EXPECT_EQ(finalizers["reason"], "SomeFinalizersRemain");
  EXPECT_NE(finalizers["message"].get<std::string>().find("test.skiff.io/hold"), std::string::npos) << finalizers.dump();
  json failure = condition(ns, "NamespaceDeletionContentFailure");
  ASSERT_TRUE(failure.is_object());
  EXPECT_EQ(failure["status"], "False");
  EXPECT_EQ(failure["reason"], "ContentDeleted");
  EXPECT_EQ(ns["metadata"]["finalizers"], json::array({"kubernetes"}));

  // Whoever owns the finalizer lets go: the namespace finishes.
  json sticky = cp.get(kConfigMaps, "held", "sticky");
  sticky["metadata"]["finalizers"] = json::array();
  ASSERT_TRUE(cp.client().update(kConfigMaps, sticky.dump()).is_ok());
  EXPECT_TRUE(eventually([&] { return cp.get(kNamespaces, "", "held").is_null(); }));
}

}  // namespace
}  // namespace skiff::testing
