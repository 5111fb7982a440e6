#include "cluster_resources.hpp"

namespace skiff::plugins::controllers {

const std::vector<ServedResource>& served_resources() {
  static const std::vector<ServedResource> all = [] {
    std::vector<ServedResource> r;
    auto add = [&r](const char* group, const char* resource, std::string_view kind, bool namespaced) {
      r.push_back(ServedResource{plugin::ResourceId{group, "v1", resource}, kind, namespaced});
    };
    add("", "namespaces", "Namespace", false);
    add("", "pods", "Pod", true);
    add("", "services", "Service", true);
    add("", "endpoints", "Endpoints", true);
    add("", "nodes", "Node", false);
    add("", "events", "Event", true);
    add("", "configmaps", "ConfigMap", true);
    add("", "secrets", "Secret", true);
    add("", "serviceaccounts", "ServiceAccount", true);
    add("apps", "deployments", "Deployment", true);
    add("apps", "replicasets", "ReplicaSet", true);
    add("apps", "daemonsets", "DaemonSet", true);
    add("apps", "statefulsets", "StatefulSet", true);
    add("apps", "controllerrevisions", "ControllerRevision", true);
    add("batch", "jobs", "Job", true);
    add("batch", "cronjobs", "CronJob", true);
    add("coordination.k8s.io", "leases", "Lease", true);
    add("scheduling.k8s.io", "priorityclasses", "PriorityClass", false);
    add("discovery.k8s.io", "endpointslices", "EndpointSlice", true);
    return r;
  }();
  return all;
}

const ServedResource* served_resource_of_kind(std::string_view api_version, std::string_view kind) {
  auto slash = api_version.find('/');
  std::string_view group = slash == std::string_view::npos ? std::string_view{} : api_version.substr(0, slash);
  for (const auto& r : served_resources())
    if (r.id.group == group && r.kind == kind) return &r;
  return nullptr;
}

const ServedResource* served_resource(std::string_view group, std::string_view resource) {
  for (const auto& r : served_resources())
    if (r.id.group == group && r.id.resource == resource) return &r;
  return nullptr;
}

}  // namespace skiff::plugins::controllers
