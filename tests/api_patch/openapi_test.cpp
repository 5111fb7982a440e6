#include "kernel/api/openapi.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace skiff::kernel::api {
namespace {

const ResourceRegistry& registry() {
  static const ResourceRegistry r = ResourceRegistry::builtin();
  return r;
}

TEST(OpenApi, RootListsEveryGroupVersionWithItsHash) {
  Json root = openapi_v3_root(registry());
  for (const char* key : {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1",
                          "apis/scheduling.k8s.io/v1", "apis/discovery.k8s.io/v1"}) {
    ASSERT_TRUE(root["paths"].contains(key)) << key;
  }
  EXPECT_EQ(root["paths"].size(), 6u);
  Json apps = openapi_v3_group_version(registry(), "apps", "v1");
  EXPECT_EQ(root["paths"]["apis/apps/v1"]["serverRelativeURL"], "/openapi/v3/apis/apps/v1?hash=" + openapi_hash(apps));
  EXPECT_EQ(openapi_v3_root(registry()), root);  // stable
  EXPECT_NE(openapi_hash(apps), openapi_hash(openapi_v3_group_version(registry(), "", "v1")));
}

// What cli-runtime's queryParamVerifierV3 does: the first PATCH operation carrying the kind's GVK
// must list a fieldValidation query parameter. We check every such operation.
TEST(OpenApi, EveryKindAdvertisesFieldValidationOnPatch) {
  for (const ResourceType* r : registry().all()) {
    Json doc = openapi_v3_group_version(registry(), r->id.group, r->id.version);
    Json gvk = {{"group", r->id.group}, {"version", r->id.version}, {"kind", r->kind}};
    int patch_ops = 0;
    for (const auto& [path, item] : doc["paths"].items()) {
      if (!item.contains("patch") || item["patch"]["x-kubernetes-group-version-kind"] != gvk) continue;
      ++patch_ops;
      bool found = false;
      for (const auto& p : item["patch"]["parameters"])
        if (p["name"] == "fieldValidation" && p["in"] == "query") found = true;
      EXPECT_TRUE(found) << path;
      EXPECT_TRUE(item["patch"]["requestBody"]["content"].contains("application/strategic-merge-patch+json")) << path;
    }
    EXPECT_GE(patch_ops, 1) << r->kind;
  }
}

TEST(OpenApi, PathsFollowScope) {
  Json core = openapi_v3_group_version(registry(), "", "v1");
  const Json& paths = core["paths"];
  EXPECT_TRUE(paths.contains("/api/v1/namespaces/{namespace}/pods"));
  EXPECT_TRUE(paths.contains("/api/v1/namespaces/{namespace}/pods/{name}"));
  EXPECT_TRUE(paths.contains("/api/v1/namespaces/{namespace}/pods/{name}/status"));
  EXPECT_TRUE(paths.contains("/api/v1/pods"));
  EXPECT_TRUE(paths.contains("/api/v1/nodes/{name}"));
  EXPECT_FALSE(paths.contains("/api/v1/namespaces/{namespace}/nodes"));
  EXPECT_FALSE(paths.contains("/api/v1/namespaces/{namespace}/configmaps/{name}/status"));
  const Json& item = paths["/api/v1/namespaces/{namespace}/pods/{name}"];
  for (const char* verb : {"get", "put", "patch", "delete"}) EXPECT_TRUE(item.contains(verb)) << verb;
  EXPECT_EQ(item["patch"]["operationId"], "patchCoreV1NamespacedPod");
  EXPECT_EQ(paths["/api/v1/namespaces/{namespace}/pods"]["post"]["x-kubernetes-action"], "post");
  Json apps = openapi_v3_group_version(registry(), "apps", "v1");
  EXPECT_EQ(apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
                ["x-kubernetes-group-version-kind"],
            Json({{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}));
  EXPECT_TRUE(openapi_v3_group_version(registry(), "apps", "v2")["paths"].empty());
}

// Every $ref points at a schema of the same document.
TEST(OpenApi, ReferencesResolve) {
  for (const char* gv : {"", "apps", "batch", "coordination.k8s.io", "scheduling.k8s.io", "discovery.k8s.io"}) {
    Json doc = openapi_v3_group_version(registry(), gv, "v1");
    const Json& schemas = doc["components"]["schemas"];
    std::function<void(const Json&)> walk = [&](const Json& j) {
      if (j.is_object()) {
        if (auto r = j.find("$ref"); r != j.end()) {
          std::string name = r->get<std::string>().substr(std::string("#/components/schemas/").size());
          EXPECT_TRUE(schemas.contains(name)) << gv << ": " << name;
        }
        for (const auto& [k, v] : j.items()) walk(v);
      } else if (j.is_array()) {
        for (const auto& v : j) walk(v);
      }
    };
    walk(doc);
  }
}

// kubectl's PatchMetaFromOpenAPIV3: follow properties, resolving allOf[0] and $ref, and read the
// patch extensions from the property.
struct Lookup {
  const Json& schemas;
  const Json* schema;
  const Json& resolve(const Json& s) const {
    const Json* cur = &s;
    if (cur->contains("allOf")) cur = &(*cur)["allOf"][0];
    if (cur->contains("$ref")) {
      std::string name = (*cur)["$ref"].get<std::string>().substr(std::string("#/components/schemas/").size());
      cur = &schemas[name];
    }
    return *cur;
  }
  Lookup field(const std::string& key, Json* ext = nullptr) const {
    const Json& prop = (*schema)["properties"][key];
    if (ext != nullptr) *ext = prop;
    if (prop.contains("items")) return {schemas, &resolve(prop["items"])};
    return {schemas, &resolve(prop)};
  }
};

TEST(OpenApi, KubectlFindsPatchMetadata) {
  Json apps = openapi_v3_group_version(registry(), "apps", "v1");
  const Json& schemas = apps["components"]["schemas"];
  const Json* deployment = nullptr;
  for (const auto& [name, s] : schemas.items())
    if (s.contains("x-kubernetes-group-version-kind") &&
        s["x-kubernetes-group-version-kind"][0] == Json({{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}))
      deployment = &s;
  ASSERT_NE(deployment, nullptr);
  Lookup root{schemas, deployment};
  Json containers, ports, volumes, strategy;
  Lookup pod_spec = root.field("spec").field("template").field("spec");
  Lookup container = pod_spec.field("containers", &containers);
  container.field("ports", &ports);
  pod_spec.field("volumes", &volumes);
  root.field("spec").field("strategy", &strategy);
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");
  EXPECT_EQ(containers["x-kubernetes-list-type"], "map");
  EXPECT_EQ(containers["x-kubernetes-list-map-keys"], Json::array({"name"}));
  EXPECT_EQ(ports["x-kubernetes-patch-merge-key"], "containerPort");
  EXPECT_EQ(ports["x-kubernetes-list-map-keys"], Json::array({"containerPort", "protocol"}));
  EXPECT_EQ(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
  EXPECT_EQ(strategy["x-kubernetes-patch-strategy"], "retainKeys");
  EXPECT_TRUE(container.schema->at("properties").contains("imagePullPolicy"));
  EXPECT_EQ(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"], "atomic");
  EXPECT_TRUE(schemas.contains("io.k8s.api.apps.v1.DeploymentList"));
}

}  // namespace
}  // namespace skiff::kernel::api
