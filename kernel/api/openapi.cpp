#include "kernel/api/openapi.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>

namespace skiff::kernel::api {
namespace {

constexpr std::string_view kMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.";

std::string ref(const std::string& openapi_name) { return "#/components/schemas/" + openapi_name; }

Json ref_schema(const std::string& openapi_name) { return Json{{"$ref", ref(openapi_name)}}; }

// A property's schema; named types are referenced through allOf, as kube-apiserver's v3 does, so
// that the property can carry its own extensions next to the reference.
Json value_schema(const ValueType& vt, std::set<const TypeSchema*>& used) {
  switch (vt.kind) {
    case ValueKind::kString:
      return {{"type", "string"}};
    case ValueKind::kInteger:
      return {{"type", "integer"}, {"format", vt.format}};
    case ValueKind::kNumber:
      return {{"type", "number"}, {"format", "double"}};
    case ValueKind::kBoolean:
      return {{"type", "boolean"}};
    case ValueKind::kIntOrString:
      return {{"type", "string"}, {"format", "int-or-string"}, {"x-kubernetes-int-or-string", true}};
    case ValueKind::kQuantity:
      return {{"type", "string"}, {"format", "quantity"}};
    case ValueKind::kDateTime:
      return {{"type", "string"}, {"format", "date-time"}};
    case ValueKind::kBytes:
      return {{"type", "string"}, {"format", "byte"}};
    case ValueKind::kAny:
      return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    case ValueKind::kObject:
      used.insert(vt.object);
      return {{"allOf", Json::array({ref_schema(vt.object->openapi_name())})}, {"default", Json::object()}};
    case ValueKind::kArray: {
      Json s = {{"type", "array"}, {"items", value_schema(*vt.element, used)}};
      s["x-kubernetes-list-type"] = vt.list_type == ListType::kMap   ? "map"
                                    : vt.list_type == ListType::kSet ? "set"
                                                                     : "atomic";
      if (vt.list_type == ListType::kMap) s["x-kubernetes-list-map-keys"] = vt.list_map_keys;
      return s;
    }
    case ValueKind::kMap: {
      Json s = {{"type", "object"}, {"additionalProperties", value_schema(*vt.element, used)}};
      if (vt.map_atomic) s["x-kubernetes-map-type"] = "atomic";
      return s;
    }
  }
  return Json::object();
}

Json type_schema(const TypeSchema& t, std::set<const TypeSchema*>& used) {
  Json props = Json::object();
  for (const auto& f : t.fields) {
    Json p = value_schema(*f.type, used);
    if (!f.patch_strategies.empty()) {
      std::string joined;
      for (const auto& s : f.patch_strategies) joined += (joined.empty() ? "" : ",") + s;
      p["x-kubernetes-patch-strategy"] = joined;
    }
    if (!f.patch_merge_key.empty()) p["x-kubernetes-patch-merge-key"] = f.patch_merge_key;
    if (!f.default_value.is_null()) p["default"] = f.default_value;
    props[f.name] = std::move(p);
  }
  Json s = {{"type", "object"}, {"properties", std::move(props)}};
  if (t.atomic) s["x-kubernetes-map-type"] = "atomic";
  if (t.is_kind())
    s["x-kubernetes-group-version-kind"] =
        Json::array({{{"group", t.group}, {"version", t.version}, {"kind", t.kind}}});
  return s;
}

// A <Kind>List schema, which the table does not spell out.
Json list_schema(const TypeSchema& kind) {
  auto wrapped = [](const std::string& name) {
    Json s = Json::object();
    s["allOf"] = Json::array({ref_schema(name)});
    s["default"] = Json::object();
    return s;
  };
  Json props = Json::object();
  props["apiVersion"] = {{"type", "string"}};
  props["kind"] = {{"type", "string"}};
  props["metadata"] = wrapped(std::string(kMeta) + "ListMeta");
  props["items"] = {{"type", "array"}, {"items", wrapped(kind.openapi_name())}};
  Json gvk = {{"group", kind.group}, {"version", kind.version}, {"kind", kind.kind + "List"}};
  Json s = {{"type", "object"}, {"required", Json::array({"items"})}};
  s["properties"] = std::move(props);
  s["x-kubernetes-group-version-kind"] = Json::array({gvk});
  return s;
}

std::string capitalized(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

Json query_param(const char* name, const char* type) {
  return {{"name", name}, {"in", "query"}, {"schema", {{"type", type}, {"uniqueItems", true}}}};
}

Json path_param(const char* name) {
  return {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
}

Json json_content(const Json& schema) {
  return {{"application/json", {{"schema", schema}}}, {"application/yaml", {{"schema", schema}}}};
}

struct OperationBuilder {
  const ResourceType& resource;
  const TypeSchema& kind;
  std::string id_prefix;  // "AppsV1"
  std::string tag;        // "apps_v1"

  Json gvk() const { return {{"group", kind.group}, {"version", kind.version}, {"kind", kind.kind}}; }

  Json op(const std::string& verb_id, const char* action, Json params, const Json& response_schema,
          const Json* request_schema = nullptr, bool patch = false) const {
    Json o = {{"operationId", verb_id},
              {"tags", Json::array({tag})},
              {"x-kubernetes-action", action},
              {"x-kubernetes-group-version-kind", gvk()},
              {"parameters", std::move(params)},
              {"responses",
               {{"200", {{"description", "OK"}, {"content", json_content(response_schema)}}},
                {"401", {{"description", "Unauthorized"}}}}}};
    if (request_schema != nullptr) {
      o["requestBody"] = {{"required", true}, {"content", json_content(*request_schema)}};
      o["responses"]["201"] = {{"description", "Created"}, {"content", json_content(response_schema)}};
    }
    if (patch) {
      Json p = ref_schema(std::string(kMeta) + "Patch");
      o["requestBody"] = {{"required", true},
                          {"content",
                           {{"application/apply-patch+yaml", {{"schema", p}}},
                            {"application/json-patch+json", {{"schema", p}}},
                            {"application/merge-patch+json", {{"schema", p}}},
                            {"application/strategic-merge-patch+json", {{"schema", p}}}}}};
      o["responses"]["201"] = {{"description", "Created"}, {"content", json_content(response_schema)}};
    }
    return o;
  }

  // Writes take dryRun, fieldManager and fieldValidation; apply patches also take force.
  static Json write_params(bool patch) {
    Json p = Json::array({query_param("dryRun", "string"), query_param("fieldManager", "string"),
                          query_param("fieldValidation", "string")});
    if (patch) p.push_back(query_param("force", "boolean"));
    return p;
  }

  static Json list_params() {
    return Json::array({query_param("allowWatchBookmarks", "boolean"), query_param("continue", "string"),
                        query_param("fieldSelector", "string"), query_param("labelSelector", "string"),
                        query_param("limit", "integer"), query_param("resourceVersion", "string"),
                        query_param("resourceVersionMatch", "string"), query_param("sendInitialEvents", "boolean"),
                        query_param("timeoutSeconds", "integer"), query_param("watch", "boolean")});
  }

  void add_paths(Json& paths) const {
    const std::string prefix = kind.group.empty() ? "/api/" + kind.version : "/apis/" + kind.group + "/" + kind.version;
    const std::string ns = resource.namespaced ? "Namespaced" : "";
    const std::string base = resource.namespaced ? prefix + "/namespaces/{namespace}/" + resource.id.resource
                                                 : prefix + "/" + resource.id.resource;
    const Json obj = ref_schema(kind.openapi_name());
    const Json list = ref_schema(kind.openapi_name() + "List");
    const Json status = ref_schema(std::string(kMeta) + "Status");
    const Json del = ref_schema(std::string(kMeta) + "DeleteOptions");
    const std::string k = kind.kind;

    Json collection = Json::object();
    collection["get"] = op("list" + id_prefix + ns + k, "list", list_params(), list);
    collection["post"] = op("create" + id_prefix + ns + k, "post", write_params(false), obj, &obj);
    Json dc_params = list_params();
    for (const auto& p : {query_param("dryRun", "string"), query_param("gracePeriodSeconds", "integer"),
                          query_param("propagationPolicy", "string")})
      dc_params.push_back(p);
    collection["delete"] =
        op("delete" + id_prefix + "Collection" + ns + k, "deletecollection", dc_params, status, &del);
    collection["delete"]["responses"].erase("201");
    if (resource.namespaced) collection["parameters"] = Json::array({path_param("namespace")});
    paths[base] = std::move(collection);

    Json item = Json::object();
    item["get"] = op("read" + id_prefix + ns + k, "get", Json::array(), obj);
    item["put"] = op("replace" + id_prefix + ns + k, "put", write_params(false), obj, &obj);
    item["patch"] = op("patch" + id_prefix + ns + k, "patch", write_params(true), obj, nullptr, true);
    Json d_params = Json::array({query_param("dryRun", "string"), query_param("gracePeriodSeconds", "integer"),
                                 query_param("propagationPolicy", "string")});
    item["delete"] = op("delete" + id_prefix + ns + k, "delete", d_params, obj, &del);
    item["delete"]["responses"].erase("201");
    item["delete"]["responses"]["202"] = {{"description", "Accepted"}, {"content", json_content(obj)}};
    item["parameters"] = Json::array({path_param("name")});
    if (resource.namespaced) item["parameters"].push_back(path_param("namespace"));
    paths[base + "/{name}"] = item;

    if (resource.has_status) {
      Json st = Json::object();
      st["get"] = op("read" + id_prefix + ns + k + "Status", "get", Json::array(), obj);
      st["put"] = op("replace" + id_prefix + ns + k + "Status", "put", write_params(false), obj, &obj);
      st["patch"] = op("patch" + id_prefix + ns + k + "Status", "patch", write_params(true), obj, nullptr, true);
      st["parameters"] = item["parameters"];
      paths[base + "/{name}/status"] = std::move(st);
    }
    if (resource.namespaced) {
      Json all = Json::object();
      all["get"] = op("list" + id_prefix + k + "ForAllNamespaces", "list", list_params(), list);
      paths[prefix + "/" + resource.id.resource] = std::move(all);
    }
  }
};

}  // namespace

std::string openapi_hash(const Json& document) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (unsigned char c : document.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(h));
  return buf;
}

Json openapi_v3_group_version(const ResourceRegistry& registry, std::string_view group, std::string_view version) {
  Json doc = {{"openapi", "3.0.0"}, {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}}};
  Json paths = Json::object();
  Json schemas = Json::object();
  std::set<const TypeSchema*> used;
  std::vector<const ResourceType*> resources = registry.all();
  std::sort(resources.begin(), resources.end(),
            [](const ResourceType* a, const ResourceType* b) { return a->id.resource < b->id.resource; });
  std::string gv_id = capitalized(group.empty() ? "core" : group.substr(0, group.find('.'))) + capitalized(version);
  std::string tag = std::string(group.empty() ? "core" : group.substr(0, group.find('.'))) + "_" + std::string(version);
  for (const ResourceType* r : resources) {
    if (r->id.group != group || r->id.version != version) continue;
    const TypeSchema* kind = schema_for(group, version, r->kind);
    if (kind == nullptr) continue;  // a type without a schema gets no document entries
    OperationBuilder{*r, *kind, gv_id, tag}.add_paths(paths);
    used.insert(kind);
    schemas[kind->openapi_name() + "List"] = list_schema(*kind);
  }
  if (!used.empty()) {
    for (const char* meta : {"ListMeta", "Status", "DeleteOptions"})
      if (const TypeSchema* t = find_type(std::string(kMeta) + meta)) used.insert(t);
    schemas[std::string(kMeta) + "Patch"] = {{"type", "object"}};
  }
  // Emit every type reachable from the kinds; value_schema adds references as it goes.
  std::set<const TypeSchema*> done;
  while (true) {
    const TypeSchema* next = nullptr;
    for (const TypeSchema* t : used)
      if (done.count(t) == 0) {
        next = t;
        break;
      }
    if (next == nullptr) break;
    done.insert(next);
    schemas[next->openapi_name()] = type_schema(*next, used);
  }
  doc["paths"] = std::move(paths);
  doc["components"] = {{"schemas", std::move(schemas)}};
  return doc;
}

Json openapi_v3_root(const ResourceRegistry& registry) {
  std::set<std::pair<std::string, std::string>> gvs;
  for (const ResourceType* r : registry.all()) gvs.emplace(r->id.group, r->id.version);
  Json paths = Json::object();
  for (const auto& [group, version] : gvs) {
    std::string key = group.empty() ? "api/" + version : "apis/" + group + "/" + version;
    Json doc = openapi_v3_group_version(registry, group, version);
    paths[key] = {{"serverRelativeURL", "/openapi/v3/" + key + "?hash=" + openapi_hash(doc)}};
  }
  return {{"paths", std::move(paths)}};
}

}  // namespace skiff::kernel::api
