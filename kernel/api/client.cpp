#include "kernel/api/client.hpp"

#include <exception>
#include <nlohmann/json.hpp>

#include "kernel/util/json_parse.hpp"

namespace skiff::kernel::api {

using Json = nlohmann::json;

std::string resource_path(const ResourceType& type, std::string_view ns, std::string_view name, std::string_view sub) {
  std::string path = type.id.group.empty() ? "/api/v1" : "/apis/" + type.id.group + "/" + type.id.version;
  if (type.namespaced) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/" + type.id.resource;
  if (!name.empty()) {
    path += "/";
    path += name;
  }
  if (!sub.empty()) {
    path += "/";
    path += sub;
  }
  return path;
}

Status status_from_response(int http_status, const std::string& body) {
  Json j = parse_json_or_discarded(body);
  std::string reason = j.is_object() ? j.value("reason", "") : "";
  std::string message = j.is_object() ? j.value("message", body) : body;
  using plugin::Code;
  Code code = Code::kInternal;
  if (reason == "AlreadyExists") code = Code::kAlreadyExists;
  else if (reason == "Conflict") code = Code::kConflict;
  else if (reason == "NotFound" || http_status == 404) code = Code::kNotFound;
  else if (reason == "Invalid" || http_status == 422) code = Code::kInvalid;
  else if (reason == "Expired" || reason == "Gone" || http_status == 410) code = Code::kExpired;
  else if (http_status == 409) code = Code::kConflict;
  else if (http_status == 415) code = Code::kUnsupportedMediaType;
  else if (http_status == 429 || http_status == 503) code = Code::kUnavailable;  // 429: eviction blocked, retry
  else if (http_status >= 400 && http_status < 500) code = Code::kBadRequest;
  return Status(code, message);
}

namespace {

std::string_view policy_name(plugin::Propagation p) {
  switch (p) {
    case plugin::Propagation::kBackground: return "Background";
    case plugin::Propagation::kForeground: return "Foreground";
    case plugin::Propagation::kOrphan: return "Orphan";
    case plugin::Propagation::kDefault: break;
  }
  return {};
}

}  // namespace

Result<ObjectPtr> ApiClient::call(std::string method, const plugin::ResourceId& resource, std::string_view ns,
                                  std::string_view name, std::string_view subresource, std::string body) noexcept {
  try {
    const ResourceType* type = registry_.find(resource);
    if (type == nullptr)
      return plugin::not_found("the server could not find the requested resource " + resource.to_string());
    HttpRequest req;
    req.method = std::move(method);
    req.path = resource_path(*type, ns, name, subresource);
    req.body = std::move(body);
    req.user = user_;
    req.headers["content-type"] = "application/json";
    req.headers["user-agent"] = user_;
    HttpResponse r = handler_.handle(req);
    if (r.status >= 400) return status_from_response(r.status, r.body);
    return std::move(r.object);
  } catch (const std::exception& e) {
    return plugin::internal(method + " " + resource.to_string() + " " + std::string(name) + ": " + e.what());
  }
}

Result<ObjectPtr> ApiClient::create(const plugin::ResourceId& resource, std::string_view ns,
                                    std::string_view json) noexcept {
  return call("POST", resource, ns, {}, {}, std::string(json));
}

bool object_name_of(std::string_view json, std::string& ns, std::string& name) {
  Json j = parse_json_or_discarded(json);
  if (!j.is_object() || !j.contains("metadata") || !j["metadata"].is_object()) return false;
  ns = j["metadata"].value("namespace", "");
  name = j["metadata"].value("name", "");
  return !name.empty();
}

Result<ObjectPtr> ApiClient::update(const plugin::ResourceId& resource, std::string_view json) noexcept {
  std::string ns, name;
  try {
    if (!object_name_of(json, ns, name)) return plugin::invalid("update " + resource.to_string() + ": metadata.name: Required value");
  } catch (const std::exception& e) {
    return plugin::internal(e.what());
  }
  return call("PUT", resource, ns, name, {}, std::string(json));
}

Result<ObjectPtr> ApiClient::update_status(const plugin::ResourceId& resource, std::string_view json) noexcept {
  std::string ns, name;
  try {
    if (!object_name_of(json, ns, name))
      return plugin::invalid("update status of " + resource.to_string() + ": metadata.name: Required value");
  } catch (const std::exception& e) {
    return plugin::internal(e.what());
  }
  return call("PUT", resource, ns, name, "status", std::string(json));
}

Result<std::string> delete_options_json(const plugin::DeleteOptions& options,
                                        std::optional<std::int64_t> grace_period_seconds) noexcept {
  try {
    Json opts = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (grace_period_seconds) opts["gracePeriodSeconds"] = *grace_period_seconds;
    if (auto policy = policy_name(options.propagation); !policy.empty()) opts["propagationPolicy"] = policy;
    if (!options.precondition_uid.empty()) opts["preconditions"]["uid"] = options.precondition_uid;
    if (options.precondition_resource_version > 0)
      opts["preconditions"]["resourceVersion"] = std::to_string(options.precondition_resource_version);
    return opts.dump();
  } catch (const std::exception& e) {
    return plugin::internal(e.what());
  }
}

Result<ObjectPtr> ApiClient::remove(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                    const plugin::DeleteOptions& options) noexcept {
  return remove_impl(resource, ns, name, options, std::nullopt);
}

Result<ObjectPtr> ApiClient::remove_with_grace(const plugin::ResourceId& resource, std::string_view ns,
                                               std::string_view name, const plugin::DeleteOptions& options,
                                               std::int64_t grace_period_seconds) noexcept {
  return remove_impl(resource, ns, name, options, grace_period_seconds);
}

Result<ObjectPtr> ApiClient::remove_impl(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                         const plugin::DeleteOptions& options, std::optional<std::int64_t> grace) noexcept {
  auto body = delete_options_json(options, grace);
  if (!body) return body.status();
  return call("DELETE", resource, ns, name, {}, std::move(*body));
}

Result<std::vector<ObjectPtr>> ApiClient::list(const plugin::ResourceId& resource,
                                               const plugin::ListFilter& filter) noexcept {
  try {
    const ResourceType* type = registry_.find(resource);
    if (type == nullptr)
      return plugin::not_found("the server could not find the requested resource " + resource.to_string());
    ListOptions options;
    options.ns = std::string(filter.ns);
    options.label_selector = std::string(filter.label_selector);
    auto listed = store_.list(*type, options);
    if (!listed) return listed.status();
    return std::move(listed->items);
  } catch (const std::exception& e) {
    return plugin::internal("list " + resource.to_string() + ": " + e.what());
  }
}

Result<ObjectPtr> ApiClient::create_subresource(const plugin::ResourceId& resource, std::string_view ns,
                                                std::string_view name, std::string_view subresource,
                                                std::string_view json) noexcept {
  return call("POST", resource, ns, name, subresource, std::string(json));
}

}  // namespace skiff::kernel::api
