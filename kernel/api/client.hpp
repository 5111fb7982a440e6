// plugin::Client for in-process plugins (controllers, the scheduler): every write becomes the same
// HttpRequest kubectl would send and goes through ApiHandler::handle(), so it gets the same admission,
// the same subresource rules and the same request metrics; only the socket and TLS are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernel/api/handler.hpp"
#include "skiff/plugin/client.hpp"

namespace skiff::kernel::api {

// What every plugin::Client over the API shares (this one in-process, RemoteClient over HTTP):
// the request path of a resource, as kubectl builds it ("/api/v1/namespaces/NS/pods/NAME/SUB").
std::string resource_path(const ResourceType& type, std::string_view ns, std::string_view name, std::string_view sub);
// A Kubernetes Status body (reason, message) back into a plugin Status.
plugin::Status status_from_response(int http_status, const std::string& body);
// The DeleteOptions body of a delete; `grace_period_seconds` (not in the plugin SDK's DeleteOptions
// yet) when set: 0 deletes a pod at once. kInternal only if the JSON library throws (out of memory).
plugin::Result<std::string> delete_options_json(const plugin::DeleteOptions& options,
                                                std::optional<std::int64_t> grace_period_seconds = std::nullopt) noexcept;
// Namespace and name of an object body, for the request path of an update; false without a name.
bool object_name_of(std::string_view json, std::string& ns, std::string& name);

class ApiClient final : public plugin::Client {
 public:
  // `user` names the caller in the request (as Kubernetes' controllers each have their own identity).
  // Lists read `store` directly (what a GET of the list would return, without the JSON round trip).
  ApiClient(ApiHandler& handler, ObjectStore& store, std::string user = "system:skiff-controller")
      : handler_(handler), store_(store), registry_(store.registry()), user_(std::move(user)) {}

  Result<ObjectPtr> create(const plugin::ResourceId& resource, std::string_view ns, std::string_view json) noexcept override;
  Result<ObjectPtr> update(const plugin::ResourceId& resource, std::string_view json) noexcept override;
  Result<ObjectPtr> update_status(const plugin::ResourceId& resource, std::string_view json) noexcept override;
  Result<ObjectPtr> remove(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                           const plugin::DeleteOptions& options) noexcept override;
  // remove() with DeleteOptions.gracePeriodSeconds (not in the plugin SDK yet): 0 deletes a pod now,
  // also one whose graceful deletion is pending — the node agent's last word once its containers stopped.
  Result<ObjectPtr> remove_with_grace(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                      const plugin::DeleteOptions& options, std::int64_t grace_period_seconds) noexcept;
  Result<std::vector<ObjectPtr>> list(const plugin::ResourceId& resource, const plugin::ListFilter& filter) noexcept override;
  Result<ObjectPtr> create_subresource(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                       std::string_view subresource, std::string_view json) noexcept override;

 private:
  Result<ObjectPtr> call(std::string method, const plugin::ResourceId& resource, std::string_view ns,
                         std::string_view name, std::string_view subresource, std::string body) noexcept;
  Result<ObjectPtr> remove_impl(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                const plugin::DeleteOptions& options, std::optional<std::int64_t> grace) noexcept;

  ApiHandler& handler_;
  ObjectStore& store_;
  const ResourceRegistry& registry_;
  const std::string user_;
};

}  // namespace skiff::kernel::api
