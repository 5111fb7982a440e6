#include "kernel/api/apply.hpp"

#include <gtest/gtest.h>

namespace skiff::kernel::api {
namespace {

Json J(const char* text) { return Json::parse(text); }

constexpr std::int64_t kT0 = 1'795'000'000'000;  // 2026-11-18T11:06:40Z
constexpr std::int64_t kT1 = kT0 + 60'000;

Json nginx(int replicas, const char* image = "nginx:1.25") {
  Json d = J(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"nginx","namespace":"default","labels":{"app":"nginx"}},
    "spec":{"selector":{"matchLabels":{"app":"nginx"}},
      "template":{"metadata":{"labels":{"app":"nginx"}},
        "spec":{"containers":[{"name":"nginx","ports":[{"containerPort":80}]}]}}}})");
  d["spec"]["replicas"] = replicas;
  d["spec"]["template"]["spec"]["containers"][0]["image"] = image;
  return d;
}

const Json* entry(const Json& object, std::string_view manager, std::string_view operation) {
  for (const auto& e : object["metadata"]["managedFields"])
    if (e["manager"] == manager && e["operation"] == operation) return &e;
  return nullptr;
}

ApplyResult apply_ok(const Json* live, const Json& applied, std::string_view manager, bool force = false,
                     std::int64_t now = kT0) {
  auto r = server_side_apply(live, applied, manager, force, now);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : ApplyResult{};
}

TEST(ServerSideApply, CreateRecordsOwnershipInFieldsV1) {
  ApplyResult r = apply_ok(nullptr, nginx(3), "kubectl");
  EXPECT_TRUE(r.created);
  EXPECT_TRUE(r.changed);
  Json obj = r.object;
  ASSERT_EQ(obj["metadata"]["managedFields"].size(), 1u);
  const Json& e = obj["metadata"]["managedFields"][0];
  EXPECT_EQ(e["manager"], "kubectl");
  EXPECT_EQ(e["operation"], "Apply");
  EXPECT_EQ(e["apiVersion"], "apps/v1");
  EXPECT_EQ(e["fieldsType"], "FieldsV1");
  EXPECT_EQ(e["time"], "2026-11-18T11:06:40Z");
  Json want = J(R"({"f:metadata":{"f:labels":{"f:app":{}}},
    "f:spec":{"f:replicas":{},"f:selector":{},
      "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
        "f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},
          "f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}})");
  EXPECT_EQ(e["fieldsV1"], want) << e["fieldsV1"].dump();
  obj["metadata"].erase("managedFields");
  EXPECT_EQ(obj, nginx(3));
}

TEST(ServerSideApply, ReapplyWithoutAFieldRemovesIt) {
  Json v1 = nginx(3);
  v1["metadata"]["labels"]["tier"] = "web";
  v1["spec"]["template"]["spec"]["containers"].push_back(J(R"({"name":"sidecar","image":"busybox"})"));
  ApplyResult first = apply_ok(nullptr, v1, "kubectl");

  Json v2 = nginx(3);  // no tier label, no sidecar, no ports
  v2["spec"]["template"]["spec"]["containers"][0].erase("ports");
  ApplyResult second = apply_ok(&first.object, v2, "kubectl", false, kT1);
  const Json& o = second.object;
  EXPECT_EQ(o["metadata"]["labels"], J(R"({"app":"nginx"})"));
  ASSERT_EQ(o["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_FALSE(o["spec"]["template"]["spec"]["containers"][0].contains("ports"));
  EXPECT_EQ(o["spec"]["replicas"], 3);
  EXPECT_TRUE(second.changed);
  EXPECT_EQ((*entry(o, "kubectl", "Apply"))["time"], "2026-11-18T11:07:40Z");
}

TEST(ServerSideApply, NoOpApplyChangesNothing) {
  ApplyResult first = apply_ok(nullptr, nginx(3), "kubectl");
  ApplyResult again = apply_ok(&first.object, nginx(3), "kubectl", false, kT1);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.object, first.object);
}

TEST(ServerSideApply, ConflictWithAnUpdateManagerAndForce) {
  // Created by client-side apply: an Update entry owns everything.
  Json live = nginx(3);
  record_update(live, nullptr, "kubectl-client-side-apply", kT0);
  ASSERT_NE(entry(live, "kubectl-client-side-apply", "Update"), nullptr);

  auto r = server_side_apply(&live, nginx(5), "kubectl", false, kT1);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), plugin::Code::kConflict);
  EXPECT_EQ(r.status().message(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas");

  // Same values: shared ownership, no conflict.
  ApplyResult shared = apply_ok(&live, nginx(3), "kubectl", false, kT1);
  EXPECT_TRUE(
      entry(shared.object, "kubectl-client-side-apply", "Update")->at("fieldsV1")["f:spec"].contains("f:replicas"));

  ApplyResult forced = apply_ok(&live, nginx(5), "kubectl", true, kT1);
  EXPECT_EQ(forced.object["spec"]["replicas"], 5);
  const Json* csa = entry(forced.object, "kubectl-client-side-apply", "Update");
  ASSERT_NE(csa, nullptr);
  EXPECT_FALSE((*csa)["fieldsV1"]["f:spec"].contains("f:replicas"));
  EXPECT_TRUE((*entry(forced.object, "kubectl", "Apply"))["fieldsV1"]["f:spec"].contains("f:replicas"));
}

TEST(ServerSideApply, ConflictsWithSeveralFieldsAndManagers) {
  ApplyResult a = apply_ok(nullptr, nginx(3), "alpha");
  Json b_cfg = nginx(3, "nginx:1.27");
  b_cfg["spec"]["replicas"] = 4;
  auto r = server_side_apply(&a.object, b_cfg, "beta", false, kT1);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "Apply failed with 2 conflicts: conflicts with \"alpha\":\n- .spec.replicas\n"
            "- .spec.template.spec.containers[name=\"nginx\"].image");
}

TEST(ServerSideApply, SharedFieldSurvivesOneManagerDroppingIt) {
  ApplyResult a = apply_ok(nullptr, nginx(3), "alpha");
  ApplyResult b = apply_ok(&a.object, nginx(3), "beta", false, kT1);
  Json without_replicas = nginx(3);
  without_replicas["spec"].erase("replicas");
  ApplyResult a2 = apply_ok(&b.object, without_replicas, "alpha", false, kT1);
  EXPECT_EQ(a2.object["spec"]["replicas"], 3);  // beta still owns it
  ApplyResult b2 = apply_ok(&a2.object, without_replicas, "beta", false, kT1);
  EXPECT_FALSE(b2.object["spec"].contains("replicas"));  // nobody does now
}

TEST(ServerSideApply, AssociativeListsMergeByKeyAcrossManagers) {
  ApplyResult a = apply_ok(nullptr, nginx(3), "alpha");
  Json sidecar = J(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx","namespace":"default"},
    "spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}})");
  ApplyResult b = apply_ok(&a.object, sidecar, "beta", false, kT1);
  const Json& containers = b.object["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["name"], "nginx");
  EXPECT_EQ(containers[1]["name"], "sidecar");
  EXPECT_EQ(b.object["spec"]["replicas"], 3);

  // alpha stops applying its container; beta's stays.
  Json alpha2 = nginx(3);
  alpha2["spec"]["template"]["spec"].erase("containers");
  ApplyResult a2 = apply_ok(&b.object, alpha2, "alpha", false, kT1);
  ASSERT_EQ(a2.object["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ(a2.object["spec"]["template"]["spec"]["containers"][0]["name"], "sidecar");
}

TEST(ServerSideApply, SetsAndAtomicLists) {
  Json cm = J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","finalizers":["a/x"]},
    "spec":{"containers":[{"name":"c","image":"i","args":["1","2"]}]}})");
  ApplyResult a = apply_ok(nullptr, cm, "alpha");
  EXPECT_TRUE(a.object["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:finalizers"].contains("v:\"a/x\""));
  Json other =
      J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","finalizers":["b/y"]}})");
  ApplyResult b = apply_ok(&a.object, other, "beta", false, kT1);
  EXPECT_EQ(b.object["metadata"]["finalizers"], J(R"(["a/x","b/y"])"));
  // args are atomic: a different list from another manager conflicts on the whole list.
  Json args = J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},
    "spec":{"containers":[{"name":"c","args":["3"]}]}})");
  auto r = server_side_apply(&b.object, args, "beta", false, kT1);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(".spec.containers[name=\"c\"].args"), std::string::npos) << r.status().message();
}

TEST(ServerSideApply, KubectlLastAppliedSecondPatch) {
  // kubectl apply --server-side on an object that carries the client-side annotation (§6).
  Json live = nginx(3);
  live["metadata"]["annotations"] = J(R"({"kubectl.kubernetes.io/last-applied-configuration":"{\"x\":1}\n"})");
  record_update(live, nullptr, "kubectl-client-side-apply", kT0);
  ApplyResult ssa = apply_ok(&live, nginx(3), "kubectl", false, kT1);

  Json body = J(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{
    "kubectl.kubernetes.io/last-applied-configuration":"{\"x\":1}\n"},"name":"nginx","namespace":"default"}})");
  ApplyResult la = apply_ok(&ssa.object, body, "kubectl-last-applied", false, kT1);
  const Json* e = entry(la.object, "kubectl-last-applied", "Apply");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ((*e)["fieldsV1"],
            J(R"({"f:metadata":{"f:annotations":{"f:kubectl.kubernetes.io/last-applied-configuration":{}}}})"));
  Json a = la.object, b = ssa.object;
  a["metadata"].erase("managedFields");
  b["metadata"].erase("managedFields");
  EXPECT_EQ(a, b);  // nothing else changed
  EXPECT_NE(entry(la.object, "kubectl", "Apply"), nullptr);
}

TEST(ServerSideApply, UnknownFieldsAndWrongTypesAreBadRequests) {
  Json bad = nginx(3);
  bad["spec"]["replica"] = 2;
  auto r = server_side_apply(nullptr, bad, "kubectl", false, kT0);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), plugin::Code::kBadRequest);
  EXPECT_EQ(r.status().message(),
            "failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): .spec.replica: field not "
            "declared in schema");

  Json wrong = nginx(3);
  wrong["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always";
  r = server_side_apply(nullptr, wrong, "kubectl", false, kT0);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(".spec.template.spec.containers[name=\"nginx\"].imagePullPolicyy"),
            std::string::npos)
      << r.status().message();

  Json typed = nginx(3);
  typed["spec"]["replicas"] = "three";
  r = server_side_apply(nullptr, typed, "kubectl", false, kT0);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(".spec.replicas: expected numeric"), std::string::npos) << r.status().message();

  Json nokey = nginx(3);
  nokey["spec"]["template"]["spec"]["containers"].push_back(J(R"({"image":"x"})"));
  r = server_side_apply(nullptr, nokey, "kubectl", false, kT0);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("omits key field \"name\""), std::string::npos) << r.status().message();
}

TEST(ServerSideApply, RejectsManagedFieldsAndAnotherVersion) {
  Json with_mf = nginx(3);
  with_mf["metadata"]["managedFields"] = Json::array();
  auto r = server_side_apply(nullptr, with_mf, "kubectl", false, kT0);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "metadata.managedFields must be nil");
  ApplyResult live = apply_ok(nullptr, nginx(3), "kubectl");
  Json other = nginx(3);
  other["apiVersion"] = "apps/v1beta2";
  r = server_side_apply(&live.object, other, "kubectl", false, kT0);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), plugin::Code::kBadRequest);
  EXPECT_EQ(server_side_apply(nullptr, J("[1]"), "kubectl", false, kT0).status().code(), plugin::Code::kBadRequest);
}

TEST(ServerSideApply, KindsWithoutSchemaMergeObjects) {
  Json a = J(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"a":1,"list":[1,2]}})");
  ApplyResult r1 = apply_ok(nullptr, a, "alpha");
  Json b = J(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"b":2,"list":[3]}})");
  auto r2 = server_side_apply(&r1.object, b, "beta", true, kT1);
  ASSERT_TRUE(r2.is_ok()) << r2.status().message();
  EXPECT_EQ(r2->object["spec"], J(R"({"a":1,"b":2,"list":[3]})"));
}

TEST(RecordUpdate, CreateThenLabelMovesOnlyTheLabel) {
  Json obj = nginx(3);
  record_update(obj, nullptr, "kubectl-create", kT0);
  const Json* create = entry(obj, "kubectl-create", "Update");
  ASSERT_NE(create, nullptr);
  EXPECT_EQ((*create)["apiVersion"], "apps/v1");
  EXPECT_EQ((*create)["fieldsV1"]["f:metadata"], J(R"({"f:labels":{".":{},"f:app":{}}})"));
  EXPECT_TRUE((*create)["fieldsV1"]["f:spec"].contains("f:replicas"));
  EXPECT_FALSE((*create)["fieldsV1"]["f:spec"].contains("."));

  Json old = obj;
  obj["metadata"]["labels"]["a"] = "b";
  obj["metadata"]["labels"]["app"] = "web";
  record_update(obj, &old, "kubectl-label", kT1);
  const Json* label = entry(obj, "kubectl-label", "Update");
  ASSERT_NE(label, nullptr);
  EXPECT_EQ((*label)["fieldsV1"], J(R"({"f:metadata":{"f:labels":{"f:a":{},"f:app":{}}}})"));
  EXPECT_EQ((*label)["time"], "2026-11-18T11:07:40Z");
  const Json* create2 = entry(obj, "kubectl-create", "Update");
  EXPECT_EQ((*create2)["fieldsV1"]["f:metadata"], J(R"({"f:labels":{}})"));  // still owns the map itself
  // Entries are ordered by time.
  EXPECT_EQ(obj["metadata"]["managedFields"][0]["manager"], "kubectl-create");
}

TEST(RecordUpdate, RemovalsLeaveEveryManagerAndNoChangeKeepsTime) {
  Json obj = nginx(3);
  record_update(obj, nullptr, "kubectl-create", kT0);
  Json old = obj;
  obj["spec"].erase("replicas");
  record_update(obj, &old, "kubectl-edit", kT1);
  EXPECT_EQ(entry(obj, "kubectl-edit", "Update"), nullptr);  // removed only: owns nothing
  EXPECT_FALSE(entry(obj, "kubectl-create", "Update")->at("fieldsV1")["f:spec"].contains("f:replicas"));

  Json same = obj;
  record_update(same, &obj, "kubectl-create", kT1);
  EXPECT_EQ(same, obj);
}

TEST(RecordUpdate, ClientManagedFieldsReplaceOrReset) {
  Json obj = nginx(3);
  record_update(obj, nullptr, "kubectl-create", kT0);
  Json old = obj;
  Json sent = obj;
  sent["metadata"]["managedFields"] = Json::array();
  record_update(sent, &old, "kubectl-edit", kT1);
  EXPECT_FALSE(sent["metadata"].contains("managedFields"));  // reset, and this write changed nothing

  Json swapped = obj;
  swapped["metadata"]["managedFields"][0]["manager"] = "renamed";
  record_update(swapped, &old, "kubectl-edit", kT1);
  EXPECT_NE(entry(swapped, "renamed", "Update"), nullptr);
  EXPECT_EQ(entry(swapped, "kubectl-create", "Update"), nullptr);
}

TEST(FieldsV1, OfAPod) {
  auto f = fields_v1_of(J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"a":"b"}},
    "spec":{"containers":[{"name":"c","env":[{"name":"X","value":"1"}]}],"nodeSelector":{"k":"v"}},
    "status":{"phase":"Running"}})"));
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(*f, J(R"({"f:metadata":{"f:annotations":{"f:a":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{
    ".":{},"f:env":{"k:{\"name\":\"X\"}":{".":{},"f:name":{},"f:value":{}}},"f:name":{}}},"f:nodeSelector":{}}})"))
      << f->dump();
}

}  // namespace
}  // namespace skiff::kernel::api
