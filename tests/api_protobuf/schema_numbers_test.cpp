// The protobuf half of schema.cpp's table: every field of every built-in kind has its upstream
// field number (or is explicitly JSON-only), and the Go encoding facts (pointer, omitempty) that the
// decoder's JSON depends on.
#include <gtest/gtest.h>

#include <set>

#include "kernel/api/schema.hpp"
#include "kernel/store/resource.hpp"

namespace skiff::kernel::api {
namespace {

// Every type reachable from `t` (fields, list and map elements, inlined types).
void reachable(const TypeSchema& t, std::set<const TypeSchema*>& seen) {
  if (!seen.insert(&t).second) return;
  for (const auto& in : t.inlines) reachable(*in.type, seen);
  for (const auto& f : t.fields) {
    const ValueType* vt = f.type;
    while (vt != nullptr && (vt->kind == ValueKind::kArray || vt->kind == ValueKind::kMap)) vt = vt->element;
    if (vt != nullptr && vt->kind == ValueKind::kObject) reachable(*vt->object, seen);
  }
}

TEST(SchemaProtobuf, EveryFieldOfEveryBuiltinKindHasANumberOrIsJsonOnly) {
  for (const auto& p : schema_table_problems()) ADD_FAILURE() << p;
  std::set<const TypeSchema*> types;
  const ResourceRegistry registry = ResourceRegistry::builtin();
  for (const ResourceType* r : registry.all()) {
    const TypeSchema* s = schema_for(r->id.group, r->id.version, r->kind);
    ASSERT_NE(s, nullptr) << r->kind;
    reachable(*s, types);
  }
  EXPECT_GT(types.size(), 150u);
  std::size_t fields = 0;
  for (const TypeSchema* t : types) {
    std::set<std::int32_t> numbers;
    for (const auto& in : t->inlines) {
      EXPECT_GT(in.proto_number, 0) << t->name << " inlines " << in.type->name;
      EXPECT_TRUE(numbers.insert(in.proto_number).second) << t->name << " #" << in.proto_number;
      EXPECT_EQ(t->proto_inline(in.proto_number), in.type);
    }
    for (const auto& f : t->fields) {
      ++fields;
      ASSERT_NE(f.type, nullptr) << t->name << "." << f.name;
      if (f.json_only) {
        // Only TypeMeta's fields travel outside the message (in the envelope).
        EXPECT_TRUE(f.name == "apiVersion" || f.name == "kind") << t->name << "." << f.name;
        EXPECT_EQ(f.proto_number, 0) << t->name << "." << f.name;
        continue;
      }
      EXPECT_GT(f.proto_number, 0) << t->name << "." << f.name;
      if (f.inlined) continue;  // its number belongs to the inlined type's message
      EXPECT_TRUE(numbers.insert(f.proto_number).second) << t->name << "." << f.name << " #" << f.proto_number;
      EXPECT_EQ(t->proto_field(f.proto_number), &f) << t->name << "." << f.name;
    }
  }
  EXPECT_GT(fields, 1000u);
  // Every kind's TypeMeta is JSON-only and its metadata is field 1.
  for (const ResourceType* r : registry.all()) {
    const TypeSchema* s = schema_for(r->id.group, r->id.version, r->kind);
    EXPECT_TRUE(s->field("apiVersion")->json_only) << r->kind;
    EXPECT_TRUE(s->field("kind")->json_only) << r->kind;
    EXPECT_EQ(s->field("metadata")->proto_number, 1) << r->kind;
  }
}

struct Number {
  const char* type;  // OpenAPI name
  const char* field;
  std::int32_t number;
  bool pointer;
  bool omit_empty;
};

// A sample from upstream's generated.proto and Go types (k8s.io/api v0.32, apimachinery meta/v1).
TEST(SchemaProtobuf, NumbersAndGoEncodingMatchUpstream) {
  const Number cases[] = {
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "name", 1, false, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp", 8, false, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "deletionTimestamp", 9, true, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels", 11, false, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", 14, false, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields", 17, false, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", "apiVersion", 5, false, false},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", "controller", 6, true, true},
      {"io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry", "fieldsV1", 7, true, true},
      {"io.k8s.api.core.v1.PodSpec", "containers", 2, false, false},
      {"io.k8s.api.core.v1.PodSpec", "initContainers", 20, false, true},
      {"io.k8s.api.core.v1.PodSpec", "ephemeralContainers", 34, false, true},
      {"io.k8s.api.core.v1.PodSpec", "priority", 25, true, true},
      {"io.k8s.api.core.v1.PodSpec", "resources", 40, true, true},
      {"io.k8s.api.core.v1.Container", "name", 1, false, false},
      {"io.k8s.api.core.v1.Container", "resources", 8, false, true},
      {"io.k8s.api.core.v1.Container", "envFrom", 19, false, true},
      {"io.k8s.api.core.v1.Container", "restartPolicy", 24, true, true},
      {"io.k8s.api.core.v1.ContainerPort", "containerPort", 3, false, false},
      {"io.k8s.api.core.v1.ServicePort", "targetPort", 4, false, true},
      {"io.k8s.api.core.v1.ServicePort", "appProtocol", 6, true, true},
      {"io.k8s.api.core.v1.ServiceSpec", "clusterIPs", 18, false, true},
      {"io.k8s.api.core.v1.ServiceSpec", "trafficDistribution", 23, true, true},
      {"io.k8s.api.core.v1.Secret", "data", 2, false, true},
      {"io.k8s.api.core.v1.Secret", "type", 3, false, true},
      {"io.k8s.api.core.v1.Secret", "stringData", 4, false, true},
      {"io.k8s.api.core.v1.Secret", "immutable", 5, true, true},
      {"io.k8s.api.core.v1.ConfigMap", "binaryData", 3, false, true},
      {"io.k8s.api.core.v1.Event", "eventTime", 10, false, true},
      {"io.k8s.api.core.v1.Event", "reportingInstance", 15, false, false},
      {"io.k8s.api.core.v1.KeyToPath", "key", 1, false, false},
      {"io.k8s.api.core.v1.DaemonEndpoint", "Port", 1, false, false},
      {"io.k8s.api.apps.v1.DeploymentSpec", "replicas", 1, true, true},
      {"io.k8s.api.apps.v1.DeploymentSpec", "selector", 2, true, false},
      {"io.k8s.api.apps.v1.DeploymentSpec", "minReadySeconds", 5, false, true},
      {"io.k8s.api.apps.v1.DeploymentSpec", "progressDeadlineSeconds", 9, true, true},
      {"io.k8s.api.apps.v1.DeploymentStatus", "readyReplicas", 7, false, true},
      {"io.k8s.api.apps.v1.StatefulSetStatus", "availableReplicas", 11, false, false},
      {"io.k8s.api.apps.v1.ControllerRevision", "data", 2, false, true},
      {"io.k8s.api.batch.v1.JobSpec", "successPolicy", 16, true, true},
      {"io.k8s.api.batch.v1.JobSpec", "managedBy", 15, true, true},
      {"io.k8s.api.batch.v1.CronJobSpec", "schedule", 1, false, false},
      {"io.k8s.api.batch.v1.CronJobSpec", "timeZone", 8, true, true},
      {"io.k8s.api.coordination.v1.LeaseSpec", "renewTime", 4, true, true},
      {"io.k8s.api.scheduling.v1.PriorityClass", "value", 2, false, false},
      {"io.k8s.api.scheduling.v1.PriorityClass", "preemptionPolicy", 5, true, true},
      {"io.k8s.api.discovery.v1.EndpointSlice", "addressType", 4, false, false},
      {"io.k8s.api.discovery.v1.EndpointPort", "port", 3, true, true},
  };
  for (const auto& c : cases) {
    const TypeSchema* t = find_type(c.type);
    ASSERT_NE(t, nullptr) << c.type;
    const FieldSchema* f = t->field(c.field);
    ASSERT_NE(f, nullptr) << c.type << "." << c.field;
    EXPECT_EQ(f->proto_number, c.number) << c.type << "." << c.field;
    EXPECT_EQ(f->pointer, c.pointer) << c.type << "." << c.field;
    EXPECT_EQ(f->omit_empty, c.omit_empty) << c.type << "." << c.field;
    EXPECT_FALSE(f->json_only);
  }
  // Go-embedded types are one message field whose fields JSON shows in the parent.
  const TypeSchema* volume = find_type("io.k8s.api.core.v1.Volume");
  EXPECT_EQ(volume->proto_inline(2), find_type("io.k8s.api.core.v1.VolumeSource"));
  EXPECT_TRUE(volume->field("configMap")->inlined);
  EXPECT_EQ(volume->field("configMap")->proto_number, 19);  // within VolumeSource's message
  EXPECT_EQ(volume->proto_field(19), nullptr);
  EXPECT_EQ(find_type("io.k8s.api.core.v1.Probe")->proto_inline(1), find_type("io.k8s.api.core.v1.ProbeHandler"));
  EXPECT_EQ(find_type("io.k8s.api.core.v1.EphemeralContainer")->proto_inline(1),
            find_type("io.k8s.api.core.v1.EphemeralContainerCommon"));
  EXPECT_EQ(find_type("io.k8s.api.core.v1.SecretKeySelector")->proto_inline(1),
            find_type("io.k8s.api.core.v1.LocalObjectReference"));
  // The pointer mark does not change the Go type name decode errors print.
  EXPECT_EQ(find_type("io.k8s.api.apps.v1.DeploymentSpec")->field("replicas")->type->go_type, "int32");
}

}  // namespace
}  // namespace skiff::kernel::api
