// Objects as they cross the boundary: an immutable snapshot holding the object's Kubernetes JSON and
// the few metadata fields every consumer needs without parsing it. Shared, never modified: a plugin
// that wants to change an object parses `json`, edits its copy and writes it back through the client.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skiff::plugin {

// A resource type as the API names it: group "" is the core group.
struct ResourceId {
  std::string group;     // "", "apps", "batch", …
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "pods", "deployments"

  friend bool operator==(const ResourceId&, const ResourceId&) = default;
  std::string to_string() const { return group.empty() ? resource : resource + "." + group; }
};

using StringPairs = std::vector<std::pair<std::string, std::string>>;  // sorted by key

struct Object {
  std::string json;  // the full object, Kubernetes field names, resourceVersion included
  std::string ns;    // empty for cluster-scoped objects
  std::string name;
  std::string uid;
  std::int64_t resource_version = 0;
  bool deleting = false;  // metadata.deletionTimestamp is set
  StringPairs labels;
  StringPairs fields;  // values of the selectable fields ("spec.nodeName", "status.phase", …)

  std::string key() const { return ns.empty() ? name : ns + "/" + name; }
  const std::string* label(std::string_view k) const {
    for (const auto& [lk, lv] : labels)
      if (lk == k) return &lv;
    return nullptr;
  }
  const std::string* field(std::string_view k) const {
    for (const auto& [fk, fv] : fields)
      if (fk == k) return &fv;
    return nullptr;
  }
};

using ObjectPtr = std::shared_ptr<const Object>;

// Wall clock in milliseconds since the epoch; tests inject a fake one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ms() const noexcept = 0;
};

}  // namespace skiff::plugin
