// The controllers' copy of the served resource types agrees with the API's registry, so the garbage
// collector and the namespace controller watch (and empty) every type the API serves.
#include <gtest/gtest.h>

#include "cluster_resources.hpp"
#include "kernel/store/resource.hpp"

namespace skiff::plugins::controllers {
namespace {

TEST(ClusterResources, MatchTheApiRegistry) {
  auto registry = kernel::ResourceRegistry::builtin();
  auto all = registry.all();
  ASSERT_EQ(all.size(), served_resources().size());
  for (const kernel::ResourceType* type : all) {
    SCOPED_TRACE(type->id.to_string());
    const ServedResource* served = served_resource(type->id.group, type->id.resource);
    ASSERT_NE(served, nullptr);
    EXPECT_EQ(served->id, type->id);
    EXPECT_EQ(served->kind, type->kind);
    EXPECT_EQ(served->namespaced, type->namespaced);
  }
}

TEST(ClusterResources, ResolveOwnerReferenceKinds) {
  const ServedResource* rs = served_resource_of_kind("apps/v1", "ReplicaSet");
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ(rs->id.resource, "replicasets");
  const ServedResource* cm = served_resource_of_kind("v1", "ConfigMap");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->id.group, "");
  EXPECT_EQ(served_resource_of_kind("v1", "ReplicaSet"), nullptr) << "the kind is matched within its group";
  EXPECT_EQ(served_resource_of_kind("example.com/v1", "Widget"), nullptr);
}

}  // namespace
}  // namespace skiff::plugins::controllers
