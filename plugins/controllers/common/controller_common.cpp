#include "controller_common.hpp"

#include <atomic>
#include <cstdio>

#include "skiff/plugin/time.hpp"

namespace skiff::plugins::controllers {
namespace {

const plugin::ResourceId kEvents{"", "v1", "events"};

const Json* find(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string string_at(const Json& j, std::string_view key) {
  const Json* v = find(j, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

const Json* condition(const Json& pod, std::string_view type) {
  const Json* status = find(pod, "status");
  const Json* conditions = status ? find(*status, "conditions") : nullptr;
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const auto& c : *conditions)
    if (string_at(c, "type") == type) return &c;
  return nullptr;
}

}  // namespace

Json parse(const plugin::Object& object) { return Json::parse(object.json); }

Json controller_reference(const Json& owner, std::string_view api_version, std::string_view kind) {
  const Json& meta = owner.at("metadata");
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"name", string_at(meta, "name")},
          {"uid", string_at(meta, "uid")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

std::optional<Json> controller_of(const Json& object) {
  const Json* meta = find(object, "metadata");
  const Json* refs = meta ? find(*meta, "ownerReferences") : nullptr;
  if (refs == nullptr || !refs->is_array()) return std::nullopt;
  for (const auto& ref : *refs)
    if (ref.is_object() && ref.value("controller", false)) return ref;
  return std::nullopt;
}

bool is_controlled_by(const Json& object, std::string_view owner_uid) {
  auto ref = controller_of(object);
  return ref && string_at(*ref, "uid") == owner_uid;
}

bool pod_is_terminal(const Json& pod) {
  const Json* status = find(pod, "status");
  std::string phase = status ? string_at(*status, "phase") : "";
  return phase == "Succeeded" || phase == "Failed";
}

bool pod_is_active(const Json& pod) {
  const Json* meta = find(pod, "metadata");
  bool deleting = meta != nullptr && find(*meta, "deletionTimestamp") != nullptr;
  return !pod_is_terminal(pod) && !deleting;
}

bool pod_is_ready(const Json& pod) {
  const Json* ready = condition(pod, "Ready");
  return ready != nullptr && string_at(*ready, "status") == "True";
}

bool pod_is_available(const Json& pod, std::int64_t min_ready_seconds, std::int64_t now_ms) {
  if (!pod_is_ready(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  auto since = plugin::parse_rfc3339(string_at(*condition(pod, "Ready"), "lastTransitionTime"));
  return since && *since + min_ready_seconds * 1000 <= now_ms;
}

plugin::Result<std::string> selector_string(const Json& selector) {
  if (selector.is_null()) return std::string();
  if (!selector.is_object()) return plugin::invalid("selector: must be an object");
  std::string out;
  auto add = [&](const std::string& part) {
    if (!out.empty()) out += ',';
    out += part;
  };
  if (const Json* labels = find(selector, "matchLabels"); labels != nullptr && labels->is_object())
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) return plugin::invalid("selector.matchLabels." + k + ": must be a string");
      add(k + "=" + v.get<std::string>());
    }
  if (const Json* exprs = find(selector, "matchExpressions"); exprs != nullptr && exprs->is_array()) {
    for (std::size_t i = 0; i < exprs->size(); ++i) {
      const Json& e = (*exprs)[i];
      std::string where = "selector.matchExpressions[" + std::to_string(i) + "]";
      std::string key = string_at(e, "key"), op = string_at(e, "operator");
      if (key.empty()) return plugin::invalid(where + ".key: Required value");
      std::string values;
      if (const Json* vs = find(e, "values"); vs != nullptr && vs->is_array())
        for (const auto& v : *vs) values += (values.empty() ? "" : ",") + v.get<std::string>();
      if (op == "In" || op == "NotIn") {
        if (values.empty()) return plugin::invalid(where + ".values: Required value: for 'In' and 'NotIn'");
        add(key + (op == "In" ? " in (" : " notin (") + values + ")");
      } else if (op == "Exists") {
        add(key);
      } else if (op == "DoesNotExist") {
        add("!" + key);
      } else {
        return plugin::invalid(where + ".operator: Unsupported value: \"" + op +
                               "\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
      }
    }
  }
  return out;
}

plugin::Status EventRecorder::record(const Json& object, std::string_view type, std::string_view reason,
                                     std::string_view message) {
  try {
    const Json& meta = object.at("metadata");
    std::string ns = string_at(meta, "namespace");
    if (ns.empty()) ns = "default";  // events about cluster-scoped objects live in default, as in Kubernetes
    std::int64_t now = clock_.now_ms();
    // Kubernetes names events <object>.<unix nanos in hex>; a counter keeps two in one ms apart.
    static std::atomic<std::uint32_t> sequence{0};
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".%llx%04x", static_cast<unsigned long long>(now),
                  static_cast<unsigned>(sequence.fetch_add(1) & 0xffffu));
    std::string ts = plugin::format_rfc3339(now);
    Json event = {{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", string_at(meta, "name") + suffix}, {"namespace", ns}}},
                  {"involvedObject",
                   {{"apiVersion", string_at(object, "apiVersion")},
                    {"kind", string_at(object, "kind")},
                    {"name", string_at(meta, "name")},
                    {"namespace", string_at(meta, "namespace")},
                    {"uid", string_at(meta, "uid")},
                    {"resourceVersion", string_at(meta, "resourceVersion")}}},
                  {"type", type},
                  {"reason", reason},
                  {"message", message},
                  {"source", {{"component", component_}}},
                  {"reportingComponent", component_},
                  {"firstTimestamp", ts},
                  {"lastTimestamp", ts},
                  {"count", 1}};
    auto created = client_.create(kEvents, ns, event.dump());
    return created ? plugin::Status::ok() : created.status();
  } catch (const std::exception& e) {
    return plugin::internal(std::string("record event: ") + e.what());
  }
}

}  // namespace skiff::plugins::controllers
