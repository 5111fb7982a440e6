#include "cli/skiff/discovery.hpp"

#include <algorithm>

#include "cli/skiff/api.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"

namespace skiff::cli {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::vector<std::string> strings(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array()) {
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

bool names(const ResourceInfo& r, const std::string& n) {
  if (r.resource == n || r.singular == n || lower(r.kind) == n) return true;
  return std::find(r.short_names.begin(), r.short_names.end(), n) != r.short_names.end();
}

}  // namespace

std::string ResourceInfo::type_name() const {
  std::string k = lower(kind);
  return group.empty() ? k : k + "." + group;
}

std::vector<ResourceInfo> parse_resource_list(const Json& list, std::string_view group, std::string_view version) {
  std::vector<ResourceInfo> out;
  if (!list.contains("resources") || !list["resources"].is_array()) return out;
  for (const auto& r : list["resources"]) {
    std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;
    ResourceInfo info;
    info.group = group;
    info.version = version;
    info.resource = name;
    info.singular = r.value("singularName", "");
    info.kind = r.value("kind", "");
    if (info.singular.empty()) info.singular = lower(info.kind);
    info.namespaced = r.value("namespaced", true);
    info.short_names = strings(r, "shortNames");
    info.categories = strings(r, "categories");
    info.verbs = strings(r, "verbs");
    out.push_back(std::move(info));
  }
  return out;
}

const ResourceInfo* match_resource(const std::vector<const ResourceInfo*>& all, std::string_view name) {
  std::string n = lower(name);
  std::vector<const ResourceInfo*> found;
  for (const ResourceInfo* r : all)
    if (names(*r, n)) found.push_back(r);
  if (found.empty()) {
    // NAME.GROUP or NAME.VERSION.GROUP
    auto dot = n.find('.');
    if (dot == std::string::npos) return nullptr;
    std::string base = n.substr(0, dot), qualifier = n.substr(dot + 1);
    for (const ResourceInfo* r : all)
      if (names(*r, base) && (r->group == qualifier || r->version + "." + r->group == qualifier)) found.push_back(r);
  }
  if (found.empty()) return nullptr;
  std::stable_sort(found.begin(), found.end(), [](const ResourceInfo* a, const ResourceInfo* b) {
    return std::make_pair(!a->group.empty(), a->group) < std::make_pair(!b->group.empty(), b->group);
  });
  return found.front();
}

std::string resource_path(const ResourceInfo& info, std::string_view ns, std::string_view name,
                          std::string_view subresource) {
  std::string p = info.group.empty() ? "/api/" + info.version : "/apis/" + info.group + "/" + info.version;
  if (info.namespaced && !ns.empty()) p += "/namespaces/" + std::string(ns);
  p += "/" + info.resource;
  if (!name.empty()) p += "/" + std::string(name);
  if (!subresource.empty()) p += "/" + std::string(subresource);
  return p;
}

std::vector<const ResourceInfo*> Discovery::group_version(const std::string& group, const std::string& version) {
  std::string key = group.empty() ? version : group + "/" + version;
  if (!loaded_.count(key)) {
    Json list;
    try {
      list = api_.get(group.empty() ? "/api/" + version : "/apis/" + key);
    } catch (const ApiError& e) {
      if (e.code() != 404) throw;
    }
    for (auto& r : parse_resource_list(list, group, version)) resources_.push_back(std::move(r));
    loaded_.insert(key);
  }
  std::vector<const ResourceInfo*> out;
  for (const auto& r : resources_)
    if (r.group == group && r.version == version) out.push_back(&r);
  return out;
}

std::vector<const ResourceInfo*> Discovery::everything() {
  if (!all_loaded_) {
    group_version("", "v1");
    Json groups = api_.get("/apis");
    for (const auto& g : at(groups, {"groups"})) {
      std::string name = str(g, {"name"});
      std::string version = str(g, {"preferredVersion", "version"});
      if (version.empty() && at(g, {"versions"}).is_array() && !g["versions"].empty())
        version = str(g["versions"][0], {"version"});
      if (!name.empty() && !version.empty()) group_version(name, version);
    }
    all_loaded_ = true;
  }
  std::vector<const ResourceInfo*> out;
  for (const auto& r : resources_) out.push_back(&r);
  return out;
}

const ResourceInfo& Discovery::resolve(std::string_view name) {
  // The core group wins ties, so a core match needs no other document.
  const ResourceInfo* r = match_resource(group_version("", "v1"), name);
  if (r == nullptr) r = match_resource(everything(), name);
  if (r == nullptr) throw Failure("the server doesn't have a resource type \"" + std::string(name) + "\"");
  return *r;
}

const ResourceInfo& Discovery::for_kind(std::string_view api_version, std::string_view kind) {
  std::string group, version(api_version);
  if (auto slash = api_version.find('/'); slash != std::string_view::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  for (const ResourceInfo* r : group_version(group, version))
    if (r->kind == kind) return *r;
  throw Failure("no matches for kind \"" + std::string(kind) + "\" in version \"" + std::string(api_version) + "\"");
}

std::vector<const ResourceInfo*> Discovery::category(std::string_view name) {
  std::vector<const ResourceInfo*> out;
  for (const ResourceInfo* r : everything())
    if (std::find(r->categories.begin(), r->categories.end(), name) != r->categories.end()) out.push_back(r);
  return out;
}

}  // namespace skiff::cli
