#include "kernel/api/patch.hpp"

#include <gtest/gtest.h>

namespace skiff::kernel::api {
namespace {

Json J(const char* text) { return Json::parse(text); }

const TypeSchema* deployment() { return schema_for("apps", "v1", "Deployment"); }
const TypeSchema* pod() { return schema_for("", "v1", "Pod"); }
const TypeSchema* node() { return schema_for("", "v1", "Node"); }

Json smp(const Json& target, const Json& patch, const TypeSchema* schema) {
  auto r = strategic_merge_patch(target, patch, schema);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : Json();
}

// ---------------------------------------------------------------------------------------------
// RFC 7386

TEST(MergePatch, TableOfCases) {
  struct Case {
    const char* target;
    const char* patch;
    const char* want;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    auto r = merge_patch(J(c.target), J(c.patch));
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(*r, J(c.want)) << c.target << " + " << c.patch;
  }
}

TEST(MergePatch, KubectlLabelAndScale) {
  Json pod_obj = J(R"({"metadata":{"name":"x","labels":{"app":"web"}},"spec":{"replicas":3}})");
  auto r = merge_patch(pod_obj, J(R"({"metadata":{"labels":{"a":"b"}}})"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)["metadata"]["labels"], J(R"({"app":"web","a":"b"})"));
  r = merge_patch(*r, J(R"({"spec":{"replicas":5}})"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)["spec"]["replicas"], 5);
}

// ---------------------------------------------------------------------------------------------
// RFC 6902

TEST(JsonPatch, Operations) {
  struct Case {
    const char* doc;
    const char* ops;
    const char* want;
  };
  const Case cases[] = {
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])", R"({"foo":"bar","baz":"qux"})"},
      {R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])", R"({"foo":["bar","qux","baz"]})"},
      {R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":"x"}])", R"({"foo":["bar","x"]})"},
      {R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/1","value":"x"}])", R"({"foo":["bar","x"]})"},
      {R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})"},
      {R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})"},
      {R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
       R"({"baz":"boo","foo":"bar"})"},
      {R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
      {R"({"foo":["all","grass","cows","eat"]})", R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
       R"({"foo":["all","cows","eat","grass"]})"},
      {R"({"a":{"b":1}})", R"([{"op":"copy","from":"/a","path":"/c"}])", R"({"a":{"b":1},"c":{"b":1}})"},
      {R"({"a/b":1,"m~n":2})", R"([{"op":"replace","path":"/a~1b","value":3},{"op":"remove","path":"/m~0n"}])",
       R"({"a/b":3})"},
      {R"({"a":1})", R"([{"op":"test","path":"/a","value":1},{"op":"add","path":"/b","value":2}])", R"({"a":1,"b":2})"},
      {R"({"a":1})", R"([{"op":"replace","path":"","value":[1]}])", R"([1])"},
      {R"({"a":[]})", R"([{"op":"add","path":"/a/-","value":{"x":null}}])", R"({"a":[{"x":null}]})"},
  };
  for (const auto& c : cases) {
    auto r = json_patch(J(c.doc), J(c.ops));
    ASSERT_TRUE(r.is_ok()) << c.ops << ": " << r.status().message();
    EXPECT_EQ(*r, J(c.want)) << c.ops;
  }
}

TEST(JsonPatch, FailuresNameTheOperation) {
  struct Case {
    const char* doc;
    const char* ops;
    plugin::Code code;
    const char* fragment;
  };
  const Case cases[] = {
      {R"({"a":1})", R"([{"op":"add","path":"/b","value":1},{"op":"test","path":"/a","value":2}])",
       plugin::Code::kInvalid, "operation 1 (test /a)"},
      {R"({"a":1})", R"([{"op":"remove","path":"/missing"}])", plugin::Code::kInvalid, "operation 0 (remove /missing)"},
      {R"({"a":1})", R"([{"op":"replace","path":"/b/c","value":1}])", plugin::Code::kInvalid, "does not exist"},
      {R"({"a":[1]})", R"([{"op":"add","path":"/a/5","value":1}])", plugin::Code::kInvalid, "out of bounds"},
      {R"({"a":[1]})", R"([{"op":"add","path":"/a/01","value":1}])", plugin::Code::kInvalid, "invalid array index"},
      {R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])", plugin::Code::kInvalid, "children"},
      {R"({"a":1})", R"([{"op":"frobnicate","path":"/a"}])", plugin::Code::kBadRequest, "unknown op"},
      {R"({"a":1})", R"([{"op":"add","path":"/a"}])", plugin::Code::kBadRequest, "missing \"value\""},
      {R"({"a":1})", R"([{"op":"add","path":"a","value":1}])", plugin::Code::kBadRequest, "must be empty or start"},
      {R"({"a":1})", R"([{"op":"add","path":"/~2","value":1}])", plugin::Code::kBadRequest, "invalid escape"},
      {R"({"a":1})", R"({"op":"add"})", plugin::Code::kBadRequest, "JSON array"},
  };
  for (const auto& c : cases) {
    auto r = json_patch(J(c.doc), J(c.ops));
    ASSERT_FALSE(r.is_ok()) << c.ops;
    EXPECT_EQ(r.status().code(), c.code) << c.ops << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
  }
}

TEST(JsonPatch, RolloutUndoBody) {
  Json d = J(R"({"metadata":{"name":"nginx","annotations":{"deployment.kubernetes.io/revision":"2"}},
    "spec":{"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}})");
  Json ops = J(R"([{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"nginx"}},
    "spec":{"containers":[{"name":"nginx","image":"nginx:1.25"}]}}},
    {"op":"replace","path":"/metadata/annotations","value":{"deployment.kubernetes.io/revision":"2"}}])");
  auto r = json_patch(d, ops);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: kubectl's bodies (wire-protocol §4, §8, §10)

Json nginx_deployment() {
  return J(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"nginx","namespace":"default","labels":{"app":"nginx"},
                "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"}},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"nginx"}},
      "template":{"metadata":{"labels":{"app":"nginx"}},
        "spec":{"containers":[
          {"name":"nginx","image":"nginx:1.25","ports":[{"containerPort":80,"protocol":"TCP"}],
           "imagePullPolicy":"IfNotPresent"},
          {"name":"sidecar","image":"busybox","args":["sleep","1d"]}]}}}})");
}

TEST(StrategicMergePatch, KubectlApplyChangesImageAndReplicas) {
  Json patch = J(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"new\":1}\n"}},
   "spec":{"replicas":4,"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"},{"name":"sidecar"}],
           "containers":[{"image":"nginx:1.26","name":"nginx"}]}}}})");
  Json out = smp(nginx_deployment(), patch, deployment());
  EXPECT_EQ(out["spec"]["replicas"], 4);
  const Json& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["name"], "nginx");
  EXPECT_EQ(containers[0]["image"], "nginx:1.26");
  EXPECT_EQ(containers[0]["imagePullPolicy"], "IfNotPresent");  // merged, not replaced
  EXPECT_EQ(containers[0]["ports"][0]["containerPort"], 80);
  EXPECT_EQ(containers[1]["name"], "sidecar");
  EXPECT_EQ(out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"], "{\"new\":1}\n");
  EXPECT_EQ(out["metadata"]["labels"]["app"], "nginx");
  EXPECT_FALSE(out["spec"]["template"]["spec"].contains("$setElementOrder/containers"));
}

TEST(StrategicMergePatch, KubectlApplyRemovesContainerPortsAndLabels) {
  Json patch =
      J(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"},"labels":null},
   "spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],
     "containers":[{"env":[{"name":"FOO","value":"bar"}],"name":"nginx","ports":null},
                   {"$patch":"delete","name":"sidecar"}]}}}})");
  Json out = smp(nginx_deployment(), patch, deployment());
  EXPECT_FALSE(out["metadata"].contains("labels"));
  const Json& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0]["name"], "nginx");
  EXPECT_FALSE(containers[0].contains("ports"));
  EXPECT_EQ(containers[0]["env"], J(R"([{"name":"FOO","value":"bar"}])"));
  EXPECT_EQ(containers[0]["image"], "nginx:1.25");
  EXPECT_EQ(out["spec"]["selector"]["matchLabels"]["app"], "nginx");
}

TEST(StrategicMergePatch, CordonAndUncordon) {
  Json n = J(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"spec":{"podCIDR":"10.1.0.0/24"}})");
  Json cordoned = smp(n, J(R"({"spec":{"unschedulable":true}})"), node());
  EXPECT_EQ(cordoned["spec"]["unschedulable"], true);
  Json uncordoned = smp(cordoned, J(R"({"spec":{"unschedulable":null}})"), node());
  EXPECT_EQ(uncordoned["spec"], J(R"({"podCIDR":"10.1.0.0/24"})"));
}

TEST(StrategicMergePatch, RolloutRestartAddsTemplateAnnotation) {
  Json out = smp(
      nginx_deployment(),
      J(R"({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-23T05:40:00Z"}}}}})"),
      deployment());
  EXPECT_EQ(out["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-11-23T05:40:00Z");
  EXPECT_EQ(out["spec"]["template"]["metadata"]["labels"]["app"], "nginx");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"].size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: upstream semantics, table driven

struct SmpCase {
  const char* name;
  const char* kind;  // "Pod", "Deployment", "Node", or "" for no schema
  const char* original;
  const char* patch;
  const char* want;
};

const TypeSchema* kind_schema(std::string_view kind) {
  if (kind == "Pod") return pod();
  if (kind == "Deployment") return deployment();
  if (kind == "Node") return node();
  if (kind == "Service") return schema_for("", "v1", "Service");
  return nullptr;
}

TEST(StrategicMergePatch, Semantics) {
  const SmpCase cases[] = {
      {"new container goes first without an order directive", "Pod",
       R"({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}})",
       R"({"spec":{"containers":[{"name":"c","image":"3"}]}})",
       R"({"spec":{"containers":[{"name":"c","image":"3"},{"name":"a","image":"1"},{"name":"b","image":"2"}]}})"},
      {"setElementOrder orders merged and server items", "Pod",
       R"({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"c"},{"name":"a"}],
                   "containers":[{"name":"c","image":"3"}]}})",
       R"({"spec":{"containers":[{"name":"b","image":"2"},{"name":"c","image":"3"},{"name":"a","image":"1"}]}})"},
      {"env merges by name", "Pod",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"Y","value":"3"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","value":"3"}]}]}})"},
      {"container ports merge by containerPort", "Pod",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"hostPort":8080},{"containerPort":443}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http","hostPort":8080},{"containerPort":443}]}]}})"},
      {"volumeMounts merge by mountPath", "Pod",
       R"({"spec":{"containers":[{"name":"a","volumeMounts":[{"mountPath":"/x","name":"v1"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","volumeMounts":[{"mountPath":"/x","readOnly":true}]}]}})",
       R"({"spec":{"containers":[{"name":"a","volumeMounts":[{"mountPath":"/x","name":"v1","readOnly":true}]}]}})"},
      {"args are atomic", "Pod", R"({"spec":{"containers":[{"name":"a","args":["x","y"]}]}})",
       R"({"spec":{"containers":[{"name":"a","args":["z"]}]}})",
       R"({"spec":{"containers":[{"name":"a","args":["z"]}]}})"},
      {"tolerations are replaced", "Pod", R"({"spec":{"tolerations":[{"key":"a","operator":"Exists"}]}})",
       R"({"spec":{"tolerations":[{"key":"b","operator":"Exists"}]}})",
       R"({"spec":{"tolerations":[{"key":"b","operator":"Exists"}]}})"},
      {"finalizers are a merged set of scalars", "Pod", R"({"metadata":{"finalizers":["a","b"]}})",
       R"({"metadata":{"finalizers":["c","a"]}})", R"({"metadata":{"finalizers":["c","a","b"]}})"},
      {"deleteFromPrimitiveList", "Pod", R"({"metadata":{"finalizers":["a","b","c"]}})",
       R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})", R"({"metadata":{"finalizers":["a","c"]}})"},
      {"setElementOrder for a primitive list", "Pod", R"({"metadata":{"finalizers":["a","b"]}})",
       R"({"metadata":{"$setElementOrder/finalizers":["b","c","a"],"finalizers":["c"]}})",
       R"({"metadata":{"finalizers":["b","c","a"]}})"},
      {"ownerReferences merge by uid", "Pod",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a","kind":"ReplicaSet","apiVersion":"apps/v1"}]}})",
       R"({"metadata":{"ownerReferences":[{"uid":"1","controller":true}]}})",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a","kind":"ReplicaSet","apiVersion":"apps/v1","controller":true}]}})"},
      {"status conditions merge by type", "Pod",
       R"({"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}})",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"}]}})",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"PodScheduled","status":"True"}]}})"},
      {"service ports merge by port", "Service", R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443}]}})",
       R"({"spec":{"ports":[{"port":80,"targetPort":9090}]}})",
       R"({"spec":{"ports":[{"port":80,"targetPort":9090},{"port":443}]}})"},
      {"imagePullSecrets merge by name", "Pod", R"({"spec":{"imagePullSecrets":[{"name":"a"}]}})",
       R"({"spec":{"imagePullSecrets":[{"name":"b"}]}})",
       R"({"spec":{"imagePullSecrets":[{"name":"b"},{"name":"a"}]}})"},
      {"patch replace in a map", "Pod", R"({"metadata":{"labels":{"a":"1","b":"2"}}})",
       R"({"metadata":{"labels":{"$patch":"replace","c":"3"}}})", R"({"metadata":{"labels":{"c":"3"}}})"},
      {"patch delete in a map", "Pod", R"({"metadata":{"labels":{"a":"1"}},"spec":{"nodeName":"n"}})",
       R"({"metadata":{"labels":{"$patch":"delete"}}})", R"({"metadata":{"labels":{}},"spec":{"nodeName":"n"}})"},
      {"patch merge in a map is the default", "Pod", R"({"metadata":{"labels":{"a":"1"}}})",
       R"({"metadata":{"labels":{"$patch":"merge","b":"2"}}})", R"({"metadata":{"labels":{"a":"1","b":"2"}}})"},
      {"patch replace in a list", "Pod",
       R"({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}})",
       R"({"spec":{"containers":[{"name":"c","image":"3"},{"$patch":"replace"}]}})",
       R"({"spec":{"containers":[{"name":"c","image":"3"}]}})"},
      {"retainKeys clears the other strategy", "Deployment",
       R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}})",
       R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})",
       R"({"spec":{"strategy":{"type":"Recreate"}}})"},
      {"retainKeys inside a volume item", "Pod", R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})",
       R"({"spec":{"volumes":[{"$retainKeys":["configMap","name"],"name":"v","configMap":{"name":"cm"}}]}})",
       R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"cm"}}]}})"},
      {"null in a new value is dropped", "Pod", R"({"spec":{}})",
       R"({"spec":{"containers":[{"name":"a","ports":null}],"nodeSelector":{"x":null,"y":"1"}}})",
       R"({"spec":{"containers":[{"name":"a"}],"nodeSelector":{"y":"1"}}})"},
      {"unknown schema merges maps and replaces lists", "", R"({"spec":{"a":{"x":1,"y":2},"list":[{"name":"a"}]}})",
       R"({"spec":{"a":{"x":null,"z":3},"list":[{"name":"b"}]}})",
       R"({"spec":{"a":{"y":2,"z":3},"list":[{"name":"b"}]}})"},
      {"unknown field merges like a merge patch", "Pod", R"({"spec":{"weird":{"a":1}}})",
       R"({"spec":{"weird":{"b":2}}})", R"({"spec":{"weird":{"a":1,"b":2}}})"},
      {"scalar replaces object", "Pod", R"({"spec":{"nodeSelector":{"a":"b"}}})", R"({"spec":{"nodeSelector":"x"}})",
       R"({"spec":{"nodeSelector":"x"}})"},
  };
  for (const auto& c : cases) {
    auto r = strategic_merge_patch(J(c.original), J(c.patch), kind_schema(c.kind));
    ASSERT_TRUE(r.is_ok()) << c.name << ": " << r.status().message();
    EXPECT_EQ(*r, J(c.want)) << c.name << "\n got " << r->dump();
  }
}

TEST(StrategicMergePatch, Errors) {
  struct Case {
    const char* name;
    const char* original;
    const char* patch;
    plugin::Code code;
  };
  const Case cases[] = {
      {"merge key missing", R"({"spec":{"containers":[{"name":"a"}]}})", R"({"spec":{"containers":[{"image":"x"}]}})",
       plugin::Code::kInvalid},
      {"delete without merge key", R"({"spec":{"containers":[{"name":"a"}]}})",
       R"({"spec":{"containers":[{"$patch":"delete"}]}})", plugin::Code::kInvalid},
      {"merge directive in a list", R"({"spec":{"containers":[{"name":"a"}]}})",
       R"({"spec":{"containers":[{"$patch":"merge","name":"a"}]}})", plugin::Code::kInvalid},
      {"unknown directive", R"({"spec":{}})", R"({"spec":{"$patch":"explode"}})", plugin::Code::kBadRequest},
      {"retainKeys not a list", R"({"spec":{}})", R"({"spec":{"$retainKeys":"x"}})", plugin::Code::kBadRequest},
      {"retainKeys missing a patched key", R"({"spec":{}})", R"({"spec":{"$retainKeys":["a"],"b":1}})",
       plugin::Code::kBadRequest},
      {"order list disagrees with the patch", R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"name":"b","image":"x"}]}})",
       plugin::Code::kBadRequest},
      {"patch is not an object", R"({})", R"([1])", plugin::Code::kBadRequest},
  };
  for (const auto& c : cases) {
    auto r = strategic_merge_patch(J(c.original), J(c.patch), pod());
    ASSERT_FALSE(r.is_ok()) << c.name << " got " << r->dump();
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace skiff::kernel::api
