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

// The resources the cluster controllers name in their watches.
namespace resources {
inline const plugin::ResourceId kNamespaces{"", "v1", "namespaces"};
inline const plugin::ResourceId kNodes{"", "v1", "nodes"};
inline const plugin::ResourceId kPods{"", "v1", "pods"};
inline const plugin::ResourceId kServices{"", "v1", "services"};
inline const plugin::ResourceId kEndpoints{"", "v1", "endpoints"};
inline const plugin::ResourceId kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices"};
inline const plugin::ResourceId kLeases{"coordination.k8s.io", "v1", "leases"};
}  // namespace resources

}  // namespace skiff::plugins::controllers
