// The resource types the API serves, as the cluster-wide controllers (garbage collector, namespace)
// need them: to watch every type, and to turn an ownerReference's apiVersion + kind into a resource.
// Mirrors ResourceRegistry::builtin() in kernel/store/resource.cpp (plugins never include kernel/);
// cluster_resources_test checks that the two lists agree.
#pragma once

#include <string_view>
#include <vector>

#include "skiff/plugin/object.hpp"

namespace skiff::plugins::controllers {

struct ServedResource {
  plugin::ResourceId id;
  std::string_view kind;
  bool namespaced = true;
};

// Every builtin resource type, namespaces first.
const std::vector<ServedResource>& served_resources();
// By an ownerReference's apiVersion ("apps/v1", "v1") and kind; null when the API does not serve it.
const ServedResource* served_resource_of_kind(std::string_view api_version, std::string_view kind);
// By group and plural resource name; null when unknown.
const ServedResource* served_resource(std::string_view group, std::string_view resource);

}  // namespace skiff::plugins::controllers
