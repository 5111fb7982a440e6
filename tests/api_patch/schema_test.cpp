#include "kernel/api/schema.hpp"

#include <gtest/gtest.h>

#include "kernel/store/resource.hpp"

namespace skiff::kernel::api {
namespace {

Json J(const char* text) { return Json::parse(text); }

Json deployment() {
  return J(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx","labels":{"app":"nginx"}},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"nginx"}},
      "template":{"metadata":{"labels":{"app":"nginx"}},
        "spec":{"containers":[{"name":"nginx","image":"nginx:1.25","ports":[{"containerPort":80}],
          "resources":{"limits":{"cpu":"500m","memory":128974848}}}]}}}})");
}

const TypeSchema& deployment_schema() { return *schema_for("apps", "v1", "Deployment"); }

TEST(Schema, TableParsesWithoutProblems) {
  for (const auto& p : schema_table_problems()) ADD_FAILURE() << p;
  EXPECT_GT(all_types().size(), 150u);
}

TEST(Schema, EveryBuiltinResourceHasASchema) {
  const ResourceRegistry registry = ResourceRegistry::builtin();
  for (const ResourceType* r : registry.all()) {
    const TypeSchema* s = schema_for(r->id.group, r->id.version, r->kind);
    ASSERT_NE(s, nullptr) << r->kind;
    EXPECT_NE(s->field("metadata"), nullptr) << r->kind;
    EXPECT_EQ(s->kind, r->kind);
  }
  EXPECT_EQ(schema_for("apps", "v1", "Nope"), nullptr);
  EXPECT_EQ(schema_for_object(J(R"({"apiVersion":"v1","kind":"Pod"})")), schema_for("", "v1", "Pod"));
  EXPECT_EQ(schema_for_object(J(R"({"apiVersion":"batch/v1","kind":"CronJob"})"))->name, "CronJob");
}

struct ListTags {
  const char* kind_group;
  const char* kind;
  std::vector<std::string> path;
  std::vector<std::string> strategies;
  const char* merge_key;
  ListType list_type;
  std::vector<std::string> keys;
};

TEST(Schema, PatchAndListTagsMatchUpstream) {
  using LT = ListType;
  const ListTags cases[] = {
      {"", "Pod", {"spec", "containers"}, {"merge"}, "name", LT::kMap, {"name"}},
      {"", "Pod", {"spec", "initContainers"}, {"merge"}, "name", LT::kMap, {"name"}},
      {"",
       "Pod",
       {"spec", "containers", "", "ports"},
       {"merge"},
       "containerPort",
       LT::kMap,
       {"containerPort", "protocol"}},
      {"", "Pod", {"spec", "containers", "", "env"}, {"merge"}, "name", LT::kMap, {"name"}},
      {"", "Pod", {"spec", "containers", "", "volumeMounts"}, {"merge"}, "mountPath", LT::kMap, {"mountPath"}},
      {"", "Pod", {"spec", "containers", "", "args"}, {}, "", LT::kAtomic, {}},
      {"", "Pod", {"spec", "containers", "", "envFrom"}, {}, "", LT::kAtomic, {}},
      {"", "Pod", {"spec", "volumes"}, {"merge", "retainKeys"}, "name", LT::kMap, {"name"}},
      {"", "Pod", {"spec", "tolerations"}, {}, "", LT::kAtomic, {}},
      {"", "Pod", {"spec", "imagePullSecrets"}, {"merge"}, "name", LT::kMap, {"name"}},
      {"",
       "Pod",
       {"spec", "topologySpreadConstraints"},
       {"merge"},
       "topologyKey",
       LT::kMap,
       {"topologyKey", "whenUnsatisfiable"}},
      {"", "Pod", {"status", "conditions"}, {"merge"}, "type", LT::kMap, {"type"}},
      {"", "Pod", {"status", "containerStatuses"}, {}, "", LT::kAtomic, {}},
      {"", "Pod", {"metadata", "finalizers"}, {"merge"}, "", LT::kSet, {}},
      {"", "Pod", {"metadata", "ownerReferences"}, {"merge"}, "uid", LT::kMap, {"uid"}},
      {"", "Service", {"spec", "ports"}, {"merge"}, "port", LT::kMap, {"port", "protocol"}},
      {"", "Node", {"spec", "taints"}, {}, "", LT::kAtomic, {}},
      {"", "Node", {"status", "conditions"}, {"merge"}, "type", LT::kMap, {"type"}},
      {"", "Node", {"status", "addresses"}, {"merge"}, "type", LT::kMap, {"type"}},
      {"apps", "Deployment", {"status", "conditions"}, {"merge"}, "type", LT::kMap, {"type"}},
      {"apps", "Deployment", {"spec", "template", "spec", "containers"}, {"merge"}, "name", LT::kMap, {"name"}},
      {"batch", "Job", {"status", "conditions"}, {"merge"}, "type", LT::kAtomic, {}},
  };
  for (const auto& c : cases) {
    const TypeSchema* s = schema_for(c.kind_group, "v1", c.kind);
    ASSERT_NE(s, nullptr);
    std::vector<std::string> parent(c.path.begin(), c.path.end() - 1);
    const ValueType* holder = lookup_path(*s, parent);
    ASSERT_NE(holder, nullptr) << c.kind << " " << c.path.back();
    ASSERT_EQ(holder->kind, ValueKind::kObject);
    const FieldSchema* f = holder->object->field(c.path.back());
    ASSERT_NE(f, nullptr) << c.path.back();
    EXPECT_EQ(f->patch_strategies, c.strategies) << c.kind << "." << c.path.back();
    EXPECT_EQ(f->patch_merge_key, c.merge_key) << c.path.back();
    ASSERT_EQ(f->type->kind, ValueKind::kArray) << c.path.back();
    EXPECT_EQ(f->type->list_type, c.list_type) << c.path.back();
    EXPECT_EQ(f->type->list_map_keys, c.keys) << c.path.back();
  }
  const FieldSchema* strategy = find_type("io.k8s.api.apps.v1.DeploymentSpec")->field("strategy");
  ASSERT_NE(strategy, nullptr);
  EXPECT_EQ(strategy->patch_strategies, std::vector<std::string>{"retainKeys"});
  EXPECT_TRUE(find_type("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")->atomic);
  EXPECT_TRUE(lookup_path(*schema_for("", "v1", "Pod"), {"spec", "nodeSelector"})->map_atomic);
}

TEST(Schema, InlinedFieldsAndScalarTypes) {
  const TypeSchema* volume = find_type("io.k8s.api.core.v1.Volume");
  ASSERT_NE(volume, nullptr);
  for (const char* f : {"name", "emptyDir", "hostPath", "configMap", "secret", "projected", "persistentVolumeClaim",
                        "downwardAPI", "csi", "ephemeral"})
    EXPECT_NE(volume->field(f), nullptr) << f;
  const TypeSchema* probe = find_type("io.k8s.api.core.v1.Probe");
  for (const char* f : {"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds"})
    EXPECT_NE(probe->field(f), nullptr) << f;
  const TypeSchema& d = deployment_schema();
  EXPECT_EQ(lookup_path(d, {"spec", "replicas"})->go_type, "int32");
  EXPECT_EQ(lookup_path(d, {"spec", "strategy", "rollingUpdate", "maxSurge"})->kind, ValueKind::kIntOrString);
  EXPECT_EQ(lookup_path(d, {"metadata", "creationTimestamp"})->kind, ValueKind::kDateTime);
  EXPECT_EQ(lookup_path(d, {"spec", "template", "spec", "containers", "", "resources", "limits", ""})->kind,
            ValueKind::kQuantity);
  EXPECT_EQ(lookup_path(d, {"spec", "template", "spec", "containers"})->go_type, "[]v1.Container");
  EXPECT_EQ(lookup_path(d, {"spec", "template", "spec", "containers", "", "imagePullPolicy"})->go_type,
            "v1.PullPolicy");
  EXPECT_EQ(lookup_path(d, {"spec", "nope"}), nullptr);
}

TEST(Schema, UnknownFieldsUseTheStrictDecoderPaths) {
  EXPECT_TRUE(unknown_fields(deployment_schema(), deployment()).empty());
  Json d = deployment();
  d["spec"]["replica"] = 2;
  d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always";
  d["metadata"]["labelz"] = Json::object();
  d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["Name"] = "http";  // case-sensitive
  auto unknown = unknown_fields(deployment_schema(), d);
  EXPECT_EQ(unknown, (std::vector<std::string>{"metadata.labelz", "spec.replica",
                                               "spec.template.spec.containers[0].imagePullPolicyy",
                                               "spec.template.spec.containers[0].ports[0].Name"}));
  EXPECT_EQ(strict_decoding_message({"spec.replica"}), "strict decoding error: unknown field \"spec.replica\"");

  auto st = check_decode(deployment_schema(), d, true);
  EXPECT_EQ(st.code(), plugin::Code::kBadRequest);
  EXPECT_EQ(st.message(),
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field "
            "\"metadata.labelz\", unknown field \"spec.replica\", unknown field "
            "\"spec.template.spec.containers[0].imagePullPolicyy\", unknown field "
            "\"spec.template.spec.containers[0].ports[0].Name\"");
  EXPECT_TRUE(check_decode(deployment_schema(), d, false).is_ok());

  Json rev = J(R"({"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"r"},"revision":1,
    "data":{"spec":{"anything":[1,{"x":true}]}}})");
  EXPECT_TRUE(unknown_fields(*schema_for("apps", "v1", "ControllerRevision"), rev).empty());
}

TEST(Schema, TypeErrorsUseGoDecoderWording) {
  struct Case {
    const char* path;  // JSON pointer to set
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"/spec/replicas", R"("three")",
       "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"},
      {"/spec/replicas", "1.5",
       "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"},
      {"/spec/replicas", "3000000000",
       "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32"},
      {"/spec", R"("x")",
       "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec"},
      {"/metadata/labels/app", "1",
       "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"},
      {"/spec/template/spec/containers/0/name", "5",
       "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.name of type "
       "string"},
      {"/spec/template/spec/containers/0/ports", R"({"a":1})",
       "json: cannot unmarshal object into Go struct field Container.spec.template.spec.containers.ports of type "
       "[]v1.ContainerPort"},
      {"/spec/template/spec/containers/0/imagePullPolicy", "true",
       "json: cannot unmarshal bool into Go struct field Container.spec.template.spec.containers.imagePullPolicy of "
       "type v1.PullPolicy"},
      {"/spec/paused", R"("yes")",
       "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool"},
      {"/spec/strategy", R"({"rollingUpdate":{"maxSurge":true}})",
       "json: cannot unmarshal bool into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge "
       "of "
       "type int32"},
      {"/spec/template/spec/containers/0/resources/limits/cpu", R"("abc")",
       "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
      {"/spec/template/spec/containers/0/resources/limits/cpu", R"("1Qi")",
       "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
      {"/spec/template/spec/containers/0/resources/limits/cpu", R"("1mi")", "unable to parse quantity's suffix"},
      {"/metadata/creationTimestamp", R"("yesterday")",
       "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\""},
  };
  for (const auto& c : cases) {
    Json d = deployment();
    d[Json::json_pointer(c.path)] = Json::parse(c.value);
    auto errors = type_errors(deployment_schema(), d);
    ASSERT_EQ(errors.size(), 1u) << c.path << " " << c.value;
    EXPECT_EQ(errors[0].message, c.message);
  }
  Json ok = deployment();
  ok["spec"]["strategy"] = J(R"({"rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}})");
  ok["metadata"]["creationTimestamp"] = nullptr;
  ok["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] =
      J(R"({"cpu":0.5,"memory":"1Gi","x":"1e3"})");
  ok["metadata"]["deletionTimestamp"] = "2026-11-23T05:40:00Z";
  EXPECT_TRUE(type_errors(deployment_schema(), ok).empty()) << type_errors(deployment_schema(), ok)[0].message;

  Json d = deployment();
  d["spec"]["replicas"] = "three";
  auto st = check_decode(deployment_schema(), d, false);
  EXPECT_EQ(st.code(), plugin::Code::kBadRequest);
  EXPECT_EQ(st.message(),
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go "
            "struct field DeploymentSpec.spec.replicas of type int32");
}

TEST(Schema, SecretDataMustBeBase64) {
  const TypeSchema& secret = *schema_for("", "v1", "Secret");
  Json s = J(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"a":"aGVsbG8=","b":"aGk="},
    "stringData":{"c":"plain"}})");
  EXPECT_TRUE(type_errors(secret, s).empty());
  s["data"]["a"] = "not base64!";
  auto errors = type_errors(secret, s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "illegal base64 data at input byte 3");
  s["data"]["a"] = "abc";
  EXPECT_EQ(type_errors(secret, s).at(0).message, "illegal base64 data at input byte 0");
}

TEST(Schema, DecodeErrorMessageUsesTheBodyKindAndVersion) {
  EXPECT_EQ(decode_error_message("Deployment", "v1", "Deployment", "boom"),
            "Deployment in version \"v1\" cannot be handled as a Deployment: boom");
}

}  // namespace
}  // namespace skiff::kernel::api
