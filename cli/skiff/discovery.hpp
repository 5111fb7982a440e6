// Resource names as the user types them ("po", "pods", "pod", "Pod", "deploy", "deployments.apps",
// "deployments.v1.apps") resolved through the server's discovery documents, and the REST paths
// built from the result.
#pragma once

#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace skiff::cli {

class Api;

struct ResourceInfo {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, lower case: "deployments"
  std::string singular;
  std::string kind;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> verbs;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // kubectl's name for the type in messages: "deployment.apps", "pod".
  std::string type_name() const;
  // "deployments.apps", "pods": how a Status names the resource.
  std::string group_resource() const { return group.empty() ? resource : resource + "." + group; }
};

// Every resource of one APIResourceList (subresources such as "pods/log" are left out).
std::vector<ResourceInfo> parse_resource_list(const nlohmann::json& list, std::string_view group,
                                              std::string_view version);

// kubectl's matching, case-insensitively: plural, singular, short name or kind, optionally qualified
// as NAME.GROUP or NAME.VERSION.GROUP. The core group wins a tie, then the alphabetically first
// group. nullptr when nothing matches.
const ResourceInfo* match_resource(const std::vector<const ResourceInfo*>& all, std::string_view name);

// "/api/v1/namespaces/NS/pods/NAME/SUB"; `ns` is ignored for cluster-scoped types and an empty `ns`
// for a namespaced type means "across all namespaces".
std::string resource_path(const ResourceInfo& info, std::string_view ns, std::string_view name = {},
                          std::string_view subresource = {});

// Discovery documents are fetched as they are needed: the core group first (it wins ties, and most
// names are there), every group only when a name is not core or a category is asked for, and a
// manifest's apiVersion alone for its kind. Each command runs in a fresh process, so nothing is cached
// on disk; the requests share one kept-alive connection.
class Discovery {
 public:
  explicit Discovery(Api& api) : api_(api) {}
  // Throws Failure: the server doesn't have a resource type "x".
  const ResourceInfo& resolve(std::string_view name);
  // The type of a manifest's apiVersion and kind. Throws Failure when the server does not serve it.
  const ResourceInfo& for_kind(std::string_view api_version, std::string_view kind);
  // Every type in a category ("all").
  std::vector<const ResourceInfo*> category(std::string_view name);

 private:
  // One group version's resources (none when the server does not serve it).
  std::vector<const ResourceInfo*> group_version(const std::string& group, const std::string& version);
  std::vector<const ResourceInfo*> everything();

  Api& api_;
  std::deque<ResourceInfo> resources_;  // stable addresses: commands keep pointers
  std::set<std::string> loaded_;        // "v1", "apps/v1"
  bool all_loaded_ = false;
};

}  // namespace skiff::cli
