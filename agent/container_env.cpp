#include "agent/container_env.hpp"

#include <mbedtls/base64.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "kernel/api/quantity.hpp"

namespace skiff::agent {

const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};
const plugin::ResourceId kSecrets{"", "v1", "secrets"};

namespace {

using Json = nlohmann::json;
using kernel::api::Quantity;

const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string text(const Json& j, const char* key) {
  const Json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool flag(const Json& j, const char* key) {
  const Json& v = member(j, key);
  return v.is_boolean() && v.get<bool>();
}

// validation.IsEnvVarName: what envFrom keys must look like to become variables.
bool env_var_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

// The ConfigMap or Secret `name` of the pod's namespace, as JSON; null when it does not exist.
Json object_of(const ObjectLookup& lookup, const plugin::ResourceId& resource, const std::string& ns,
               const std::string& name) {
  plugin::ObjectPtr o = lookup ? lookup(resource, ns, name) : nullptr;
  if (!o || o->deleting) return nullptr;
  return Json::parse(o->json, nullptr, /*allow_exceptions=*/false);
}

std::string kind_word(const plugin::ResourceId& resource) { return resource.resource == "secrets" ? "secret" : "configmap"; }
std::string kind_name(const plugin::ResourceId& resource) { return resource.resource == "secrets" ? "Secret" : "ConfigMap"; }

// The value of `key` in a ConfigMap's data or a Secret's (decoded) data; nullopt when absent.
plugin::Result<std::optional<std::string>> data_value(const Json& object, const plugin::ResourceId& resource,
                                                      const std::string& key) {
  const Json& v = member(member(object, "data"), key.c_str());
  if (!v.is_string()) return std::optional<std::string>{};
  if (resource.resource != "secrets") return std::optional<std::string>(v.get<std::string>());
  auto decoded = decode_base64(v.get<std::string>());
  if (!decoded) return decoded.status().with_context("key " + key + " of Secret " + text(member(object, "metadata"), "namespace") +
                                                     "/" + text(member(object, "metadata"), "name"));
  return std::optional<std::string>(std::move(*decoded));
}

// A pod field by the downward API's fieldPath (the subset env may use).
plugin::Result<std::string> pod_field(const std::string& path, const PodFacts& facts) {
  const Json& pod = *facts.pod;
  const Json& meta = member(pod, "metadata");
  // metadata.labels['key'] / metadata.annotations['key']: an absent key reads as empty.
  for (const char* map : {"labels", "annotations"}) {
    std::string prefix = std::string("metadata.") + map + "['";
    if (path.starts_with(prefix) && path.ends_with("']") && path.size() > prefix.size() + 2) {
      std::string key = path.substr(prefix.size(), path.size() - prefix.size() - 2);
      return text(member(meta, map), key.c_str());
    }
  }
  if (path == "metadata.name") return text(meta, "name");
  if (path == "metadata.namespace") return text(meta, "namespace");
  if (path == "metadata.uid") return text(meta, "uid");
  if (path == "spec.nodeName") return text(member(pod, "spec"), "nodeName");
  if (path == "spec.serviceAccountName") return text(member(pod, "spec"), "serviceAccountName");
  if (path == "status.podIP" || path == "status.podIPs") return facts.pod_ip();
  if (path == "status.hostIP" || path == "status.hostIPs") return facts.host_ip;
  return plugin::invalid("unsupported fieldPath: " + path);
}

plugin::Result<Quantity> quantity(const Json& value, const std::string& where) {
  std::string error;
  auto q = Quantity::from_json(value, &error);
  if (!q) return plugin::invalid(where + ": " + error);
  return *q;
}

// resourceFieldRef: limits.* (the node's allocatable when unset) or requests.*, divided by
// `divisor` and rounded up, as the kubelet's downward API computes it.
plugin::Result<std::string> resource_field(const Json& ref, const Json& container, const PodFacts& facts) {
  const std::string resource = text(ref, "resource");
  const Json* target = &container;
  if (std::string name = text(ref, "containerName"); !name.empty() && name != text(container, "name")) {
    target = nullptr;
    for (const char* list : {"containers", "initContainers"})
      for (const auto& c : member(member(*facts.pod, "spec"), list))
        if (text(c, "name") == name) target = &c;
    if (target == nullptr) return plugin::invalid("container " + name + " not found (resourceFieldRef.containerName)");
  }
  auto dot = resource.find('.');
  const std::string kind = resource.substr(0, dot == std::string::npos ? 0 : dot);  // limits / requests
  const std::string name = dot == std::string::npos ? "" : resource.substr(dot + 1);
  if ((kind != "limits" && kind != "requests") || (name != "cpu" && name != "memory" && name != "ephemeral-storage"))
    return plugin::invalid("unsupported container resource : " + resource);
  const Json& set = member(member(member(*target, "resources"), kind.c_str()), name.c_str());
  Quantity amount;
  if (!set.is_null()) {
    auto q = quantity(set, "resources." + resource);
    if (!q) return q.status();
    amount = *q;
  } else if (kind == "limits") {
    const std::string& node = name == "cpu" ? facts.node_cpu : name == "memory" ? facts.node_memory : facts.node_ephemeral_storage;
    auto q = quantity(Json(node), "node allocatable " + name);
    if (!q) return q.status();
    amount = *q;
  }
  Quantity divisor = Quantity::from_value(1);
  if (const Json& d = member(ref, "divisor"); !d.is_null()) {
    auto q = quantity(d, "resourceFieldRef.divisor");
    if (!q) return q.status();
    divisor = *q;
  }
  if (divisor.is_zero() || divisor.is_negative()) return plugin::invalid("resourceFieldRef.divisor must be positive");
  double ratio = name == "cpu" ? static_cast<double>(amount.milli_value()) / static_cast<double>(divisor.milli_value())
                               : static_cast<double>(amount.value()) / static_cast<double>(divisor.value());
  return std::to_string(static_cast<std::int64_t>(std::ceil(ratio)));
}

// Keeps the first position of a name and the last value given to it.
void set_var(EnvList& env, std::map<std::string, std::size_t>& index, const std::string& name, std::string value) {
  auto [it, fresh] = index.emplace(name, env.size());
  if (fresh) env.emplace_back(name, std::move(value));
  else env[it->second].second = std::move(value);
}

}  // namespace

std::string expand_references(std::string_view input, const std::function<const std::string*(std::string_view)>& lookup) {
  std::string out;
  out.reserve(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] != '$' || i + 1 == input.size()) {
      out += input[i];
      continue;
    }
    const char next = input[i + 1];
    if (next == '(') {
      std::size_t close = input.find(')', i + 2);
      if (close == std::string_view::npos) {  // unterminated: kept, and scanning goes on after the '('
        out += "$(";
        ++i;
        continue;
      }
      std::string_view name = input.substr(i + 2, close - i - 2);
      if (const std::string* value = lookup(name)) out += *value;
      else out.append("$(").append(name).append(")");
      i = close;
      continue;
    }
    // "$$" is one literal '$'; '$' before anything else stays with that character.
    if (next != '$') out += '$';
    out += next;
    ++i;
  }
  return out;
}

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A Service or port name as a variable name: upper case, '-' as '_'.
std::string link_name(std::string_view name) {
  std::string out = upper(std::string(name));
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

void add_links(EnvList& out, const Json& service) {
  const Json& spec = member(service, "spec");
  const std::string ip = text(spec, "clusterIP");
  const Json& ports = member(spec, "ports");
  if (ip.empty() || ip == "None" || !ports.is_array() || ports.empty()) return;
  const std::string prefix = link_name(text(member(service, "metadata"), "name"));
  auto port_of = [](const Json& p) { return std::to_string(p.value("port", 0)); };
  out.emplace_back(prefix + "_SERVICE_HOST", ip);
  out.emplace_back(prefix + "_SERVICE_PORT", port_of(ports[0]));
  for (const auto& p : ports)
    if (std::string name = text(p, "name"); !name.empty())
      out.emplace_back(prefix + "_SERVICE_PORT_" + link_name(name), port_of(p));
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const Json& p = ports[i];
    const std::string protocol = upper(text(p, "protocol").empty() ? "TCP" : text(p, "protocol"));
    const std::string url = lower(protocol) + "://" + ip + ":" + port_of(p);
    if (i == 0) out.emplace_back(prefix + "_PORT", url);
    const std::string port_prefix = prefix + "_PORT_" + port_of(p) + "_" + protocol;
    out.emplace_back(port_prefix, url);
    out.emplace_back(port_prefix + "_PROTO", lower(protocol));
    out.emplace_back(port_prefix + "_PORT", port_of(p));
    out.emplace_back(port_prefix + "_ADDR", ip);
  }
}

}  // namespace

EnvList service_links(const std::vector<plugin::ObjectPtr>& services, const Json& pod) {
  const std::string ns = text(member(pod, "metadata"), "namespace");
  const Json& links = member(member(pod, "spec"), "enableServiceLinks");
  const bool enabled = !links.is_boolean() || links.get<bool>();
  // By name, so the order does not follow the cache's; the kubelet's is a map's, unordered.
  std::map<std::string, Json> chosen;
  for (const auto& s : services) {
    if (!s) continue;
    const bool master = s->ns == "default" && s->name == "kubernetes";
    if (!master && !(enabled && s->ns == ns)) continue;
    Json j = Json::parse(s->json, nullptr, false);
    if (j.is_object()) chosen[s->ns + "/" + s->name] = std::move(j);
  }
  EnvList out;
  for (const auto& [key, service] : chosen) add_links(out, service);
  return out;
}

plugin::Result<ContainerEnv> container_env(const Json& container, const PodFacts& facts, const ObjectLookup& lookup) {
  const Json& pod = *facts.pod;
  const std::string ns = text(member(pod, "metadata"), "namespace");
  ContainerEnv out;
  std::map<std::string, std::size_t> index;

  for (const auto& source : member(container, "envFrom")) {
    const std::string prefix = text(source, "prefix");
    for (const auto& [field, resource] : {std::pair{"configMapRef", kConfigMaps}, std::pair{"secretRef", kSecrets}}) {
      const Json& ref = member(source, field);
      if (!ref.is_object()) continue;
      const std::string name = text(ref, "name");
      Json object = object_of(lookup, resource, ns, name);
      if (object.is_null()) {
        if (flag(ref, "optional")) continue;
        return plugin::not_found(kind_word(resource) + " \"" + name + "\" not found");
      }
      std::vector<std::string> invalid;
      for (const auto& [key, unused] : member(object, "data").items()) {
        auto value = data_value(object, resource, key);
        if (!value) return value.status();
        if (!*value) continue;
        std::string var = prefix + key;
        if (!env_var_name(var)) {
          invalid.push_back(var);
          continue;
        }
        set_var(out.env, index, var, std::move(**value));
      }
      if (!invalid.empty()) {
        std::sort(invalid.begin(), invalid.end());
        std::string keys;
        for (const auto& k : invalid) keys += (keys.empty() ? "" : ", ") + k;
        out.skipped.push_back("Keys [" + keys + "] from the EnvFrom " + (resource == kSecrets ? "secret" : "configMap") +
                              " " + ns + "/" + name +
                              " were skipped since they are considered invalid environment variable names.");
      }
    }
  }

  for (const auto& var : member(container, "env")) {
    const std::string name = text(var, "name");
    const Json& from = member(var, "valueFrom");
    if (!from.is_object()) {
      // A literal value may refer to variables defined before it.
      auto defined = [&](std::string_view n) -> const std::string* {
        auto it = index.find(std::string(n));
        if (it != index.end()) return &out.env[it->second].second;
        for (const auto& [k, v] : facts.service_links)
          if (k == n) return &v;
        return nullptr;
      };
      set_var(out.env, index, name, expand_references(text(var, "value"), defined));
      continue;
    }
    if (const Json& ref = member(from, "fieldRef"); ref.is_object()) {
      auto value = pod_field(text(ref, "fieldPath"), facts);
      if (!value) return value.status();
      set_var(out.env, index, name, std::move(*value));
      continue;
    }
    if (const Json& ref = member(from, "resourceFieldRef"); ref.is_object()) {
      auto value = resource_field(ref, container, facts);
      if (!value) return value.status();
      set_var(out.env, index, name, std::move(*value));
      continue;
    }
    bool done = false;
    for (const auto& [field, resource] : {std::pair{"configMapKeyRef", kConfigMaps}, std::pair{"secretKeyRef", kSecrets}}) {
      const Json& ref = member(from, field);
      if (!ref.is_object()) continue;
      done = true;
      const std::string object_name = text(ref, "name"), key = text(ref, "key");
      const bool optional = flag(ref, "optional");
      Json object = object_of(lookup, resource, ns, object_name);
      if (object.is_null()) {
        if (optional) break;
        return plugin::not_found(kind_word(resource) + " \"" + object_name + "\" not found");
      }
      auto value = data_value(object, resource, key);
      if (!value) return value.status();
      if (!*value) {
        if (optional) break;
        return plugin::not_found("couldn't find key " + key + " in " + kind_name(resource) + " " + ns + "/" + object_name);
      }
      set_var(out.env, index, name, std::move(**value));
    }
    if (!done) return plugin::invalid("env " + name + ": valueFrom names no source this agent knows");
  }
  // What the container sets itself wins over a service link of the same name.
  for (const auto& [k, v] : facts.service_links)
    if (!index.contains(k)) set_var(out.env, index, k, v);
  return out;
}

std::vector<std::string> expand_words(const std::vector<std::string>& words, const EnvList& env) {
  std::map<std::string, const std::string*, std::less<>> values;
  for (const auto& [k, v] : env) values[k] = &v;
  auto lookup = [&](std::string_view n) -> const std::string* {
    auto it = values.find(n);
    return it == values.end() ? nullptr : it->second;
  };
  std::vector<std::string> out;
  out.reserve(words.size());
  for (const auto& w : words) out.push_back(expand_references(w, lookup));
  return out;
}

plugin::Result<plugin::runtime::Resources> container_resources(const Json& container) {
  plugin::runtime::Resources r;
  const Json& resources = member(container, "resources");
  auto read = [&](const char* kind, const char* name, bool milli, std::int64_t& into) -> plugin::Status {
    const Json& v = member(member(resources, kind), name);
    if (v.is_null()) return plugin::Status::ok();
    auto q = quantity(v, std::string("resources.") + kind + "." + name);
    if (!q) return q.status();
    into = milli ? q->milli_value() : q->value();
    return plugin::Status::ok();
  };
  if (auto st = read("requests", "cpu", true, r.cpu_millis); !st) return st;
  if (auto st = read("limits", "cpu", true, r.cpu_limit_millis); !st) return st;
  if (auto st = read("limits", "memory", false, r.memory_limit_bytes); !st) return st;
  return r;
}

plugin::Result<std::string> decode_base64(std::string_view text) {
  std::string out((text.size() / 4 + 1) * 3, '\0');
  std::size_t written = 0;
  int rc = mbedtls_base64_decode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &written,
                                 reinterpret_cast<const unsigned char*>(text.data()), text.size());
  if (rc != 0) return plugin::invalid("not valid base64");
  out.resize(written);
  return out;
}

}  // namespace skiff::agent
