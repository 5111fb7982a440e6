#include "kernel/store/resource.hpp"

namespace skiff::kernel {
namespace {
std::string id_key(std::string_view group, std::string_view version, std::string_view resource) {
  std::string key;
  key.reserve(group.size() + version.size() + resource.size() + 2);
  key.append(group).append("/").append(version).append("/").append(resource);
  return key;
}
}  // namespace

void ResourceRegistry::add(ResourceType type) {
  auto key = id_key(type.id.group, type.id.version, type.id.resource);
  types_[key] = std::make_unique<ResourceType>(std::move(type));
}

const ResourceType* ResourceRegistry::find(const plugin::ResourceId& id) const noexcept {
  return find(id.group, id.version, id.resource);
}

const ResourceType* ResourceRegistry::find(std::string_view group, std::string_view version,
                                           std::string_view resource) const noexcept {
  auto it = types_.find(id_key(group, version, resource));
  return it == types_.end() ? nullptr : it->second.get();
}

const ResourceType* ResourceRegistry::find_kind(std::string_view group, std::string_view kind) const noexcept {
  for (const auto& [key, type] : types_)
    if (type->id.group == group && type->kind == kind) return type.get();
  return nullptr;
}

std::vector<const ResourceType*> ResourceRegistry::all() const {
  std::vector<const ResourceType*> out;
  out.reserve(types_.size());
  for (const auto& [key, type] : types_) out.push_back(type.get());
  return out;
}

ResourceRegistry ResourceRegistry::builtin() {
  ResourceRegistry r;
  auto add = [&r](std::string group, std::string resource, std::string kind, std::string singular, bool namespaced,
                  bool has_status, std::vector<std::string> short_names, std::vector<std::string> categories,
                  std::vector<std::string> fields) {
    ResourceType t;
    t.id = {std::move(group), "v1", std::move(resource)};
    t.kind = std::move(kind);
    t.singular = std::move(singular);
    t.namespaced = namespaced;
    t.has_status = has_status;
    t.short_names = std::move(short_names);
    t.categories = std::move(categories);
    t.selectable_fields = std::move(fields);
    r.add(std::move(t));
  };
  // Field selectors are those Kubernetes supports for each kind (pkg/registry/*/strategy.go).
  add("", "namespaces", "Namespace", "namespace", false, true, {"ns"}, {}, {"status.phase"});
  add("", "pods", "Pod", "pod", true, true, {"po"}, {"all"},
      {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
       "status.phase", "status.podIP", "status.nominatedNodeName"});
  add("", "services", "Service", "service", true, true, {"svc"}, {"all"}, {});
  add("", "endpoints", "Endpoints", "endpoints", true, false, {"ep"}, {}, {});
  add("", "nodes", "Node", "node", false, true, {"no"}, {}, {"spec.unschedulable"});
  add("", "events", "Event", "event", true, false, {"ev"}, {},
      {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
       "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
       "reportingComponent", "source", "type"});
  add("", "configmaps", "ConfigMap", "configmap", true, false, {"cm"}, {}, {});
  add("", "secrets", "Secret", "secret", true, false, {}, {}, {"type"});
  add("", "serviceaccounts", "ServiceAccount", "serviceaccount", true, false, {"sa"}, {}, {});
  add("apps", "deployments", "Deployment", "deployment", true, true, {"deploy"}, {"all"}, {});
  add("apps", "replicasets", "ReplicaSet", "replicaset", true, true, {"rs"}, {"all"}, {"status.replicas"});
  add("apps", "daemonsets", "DaemonSet", "daemonset", true, true, {"ds"}, {"all"}, {});
  add("apps", "statefulsets", "StatefulSet", "statefulset", true, true, {"sts"}, {"all"}, {});
  add("apps", "controllerrevisions", "ControllerRevision", "controllerrevision", true, false, {}, {}, {});
  add("batch", "jobs", "Job", "job", true, true, {}, {"all"}, {"status.successful"});
  add("batch", "cronjobs", "CronJob", "cronjob", true, true, {"cj"}, {"all"}, {});
  add("coordination.k8s.io", "leases", "Lease", "lease", true, false, {}, {}, {});
  add("scheduling.k8s.io", "priorityclasses", "PriorityClass", "priorityclass", false, false, {"pc"}, {}, {});
  add("discovery.k8s.io", "endpointslices", "EndpointSlice", "endpointslice", true, false, {}, {}, {});
  return r;
}

}  // namespace skiff::kernel
