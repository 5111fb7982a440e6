// DELETE's propagationPolicy as the API applies it (the garbage collector plugin does the rest):
// Foreground and Orphan keep the object behind their finalizer with deletionTimestamp set;
// Background and the default delete at once; an unknown policy is refused and deletes nothing.
// Also: pods/binding through the in-process client sets spec.nodeName and PodScheduled=True, and
// leaves metadata.generation alone.
#include <gtest/gtest.h>

#include "tests/support/control_plane.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};
const plugin::ResourceId kPods{"", "v1", "pods"};

json configmap(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "default"}}}};
}

TEST(DeletePropagation, ForegroundAndOrphanKeepTheObjectBehindTheirFinalizer) {
  ControlPlane cp;
  for (auto [policy, finalizer] : {std::pair{plugin::Propagation::kForeground, "foregroundDeletion"},
                                   std::pair{plugin::Propagation::kOrphan, "orphan"}}) {
    SCOPED_TRACE(finalizer);
    std::string name = std::string("cm-") + (policy == plugin::Propagation::kOrphan ? "orphan" : "fg");
    cp.create(kConfigMaps, configmap(name));
    auto removed = cp.client().remove(kConfigMaps, "default", name, {.propagation = policy});
    ASSERT_TRUE(removed.is_ok()) << removed.status().message();
    json stored = cp.get(kConfigMaps, "default", name);
    ASSERT_TRUE(stored.is_object()) << "the object stays until the garbage collector lets it go";
    EXPECT_TRUE(stored["metadata"].contains("deletionTimestamp"));
    EXPECT_EQ(stored["metadata"]["finalizers"], json::array({finalizer}));
  }
}

TEST(DeletePropagation, BackgroundAndDefaultDeleteAtOnce) {
  ControlPlane cp;
  cp.create(kConfigMaps, configmap("a"));
  cp.create(kConfigMaps, configmap("b"));
  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "a", {.propagation = plugin::Propagation::kBackground}).is_ok());
  ASSERT_TRUE(cp.client().remove(kConfigMaps, "default", "b", {}).is_ok());
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "a").is_null());
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "b").is_null());
}

TEST(DeletePropagation, UnknownPolicyIsRefusedAndDeletesNothing) {
  ControlPlane cp;
  cp.create(kConfigMaps, configmap("keep"));
  kernel::api::HttpRequest req;
  req.method = "DELETE";
  req.path = "/api/v1/namespaces/default/configmaps/keep";
  req.headers["content-type"] = "application/json";
  req.body = R"({"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Sideways"})";
  auto r = cp.api().handle(req);
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("propagationPolicy: Unsupported value: \\\"Sideways\\\""), std::string::npos) << r.body;
  EXPECT_TRUE(cp.get(kConfigMaps, "default", "keep").is_object());
}

TEST(DeletePropagation, ForegroundHonoursAUidPrecondition) {
  ControlPlane cp;
  cp.create(kConfigMaps, configmap("c"));
  auto removed = cp.client().remove(kConfigMaps, "default", "c",
                                    {.propagation = plugin::Propagation::kForeground, .precondition_uid = "not-its-uid"});
  EXPECT_EQ(removed.status().code(), plugin::Code::kConflict) << removed.status().message();
  json stored = cp.get(kConfigMaps, "default", "c");
  EXPECT_FALSE(stored["metadata"].contains("finalizers")) << "a failed precondition writes nothing";
}

TEST(Binding, SetsNodeNameAndPodScheduled) {
  ControlPlane cp;
  cp.create(kPods, {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", "p"}, {"namespace", "default"}}},
                    {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}});
  auto bound = cp.client().create_subresource(kPods, "default", "p", "binding",
                                              R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},
                                                  "target":{"kind":"Node","name":"node-1"}})");
  ASSERT_TRUE(bound.is_ok()) << bound.status().message();
  json pod = cp.get(kPods, "default", "p");
  EXPECT_EQ(pod["spec"]["nodeName"], "node-1");
  ASSERT_TRUE(pod["status"]["conditions"].is_array());
  EXPECT_EQ(pod["status"]["conditions"][0]["type"], "PodScheduled");
  EXPECT_EQ(pod["status"]["conditions"][0]["status"], "True");
  // As Kubernetes' binding storage, which writes below the pod strategy, the binding leaves the
  // generation alone; a spec update by a client counts.
  EXPECT_EQ(pod["metadata"]["generation"], 1);
  json edited = pod;
  edited["spec"]["activeDeadlineSeconds"] = 60;
  auto updated = cp.client().update(kPods, edited.dump());
  ASSERT_TRUE(updated.is_ok()) << updated.status().message();
  EXPECT_EQ(cp.get(kPods, "default", "p")["metadata"]["generation"], 2);
  auto again = cp.client().create_subresource(kPods, "default", "p", "binding",
                                              R"({"target":{"kind":"Node","name":"node-2"}})");
  EXPECT_EQ(again.status().code(), plugin::Code::kConflict) << "a bound pod is not bound again";
}

}  // namespace
}  // namespace skiff::testing
