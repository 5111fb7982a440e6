// The resource types the kernel stores, and what the object store needs to know about each.
// The API layer (and plugins, later) register types here; the object store knows nothing else.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/object.hpp"

namespace skiff::kernel {

struct ResourceType {
  plugin::ResourceId id;  // group, version, plural
  std::string kind;       // "Pod"
  std::string singular;   // "pod"
  bool namespaced = true;
  // With a status subresource, writes to the main resource keep the stored status and writes to
  // /status change only status (and never bump generation), as in Kubernetes.
  bool has_status = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  // Field-selector fields beyond metadata.name / metadata.namespace, as dotted JSON paths.
  std::vector<std::string> selectable_fields;

  std::string api_version() const { return id.group.empty() ? id.version : id.group + "/" + id.version; }
  std::string list_kind() const { return kind + "List"; }
  // "pods" / "deployments.apps": the name Kubernetes uses in messages.
  std::string qualified_name() const { return id.to_string(); }
};

class ResourceRegistry {
 public:
  // Adds or replaces a type.
  void add(ResourceType type);
  const ResourceType* find(const plugin::ResourceId& id) const noexcept;
  const ResourceType* find(std::string_view group, std::string_view version, std::string_view resource) const noexcept;
  const ResourceType* find_kind(std::string_view group, std::string_view kind) const noexcept;
  std::vector<const ResourceType*> all() const;

  // The Kubernetes types Skiff serves (core/v1, apps/v1, batch/v1, …).
  static ResourceRegistry builtin();

 private:
  std::map<std::string, std::unique_ptr<ResourceType>> types_;  // by "group/version/resource"
};

}  // namespace skiff::kernel
