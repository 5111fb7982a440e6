// plugin::Client over the network: what `skiffd agent --server URL --token TOKEN` uses to reach the
// cluster's API server. Every call is the HTTPS request kubectl would send (bearer token, the
// cluster's CA), so a remote agent gets exactly the admission and the errors a local one gets.
//
// Besides plugin::Client it lists and watches for informers (lister_watcher()): a watch is one long
// chunked response read on a thread of its own; when the server ends it (timeoutSeconds) or the
// connection drops, it reconnects from the last resourceVersion it saw (bookmarks included); when
// the server answers 410 Gone, the watch reports kExpired and the informer lists again.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/api/http_client.hpp"
#include "kernel/reconcile/informer.hpp"
#include "kernel/store/object_store.hpp"
#include "skiff/plugin/client.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::kernel::api {

struct RemoteClientOptions {
  HttpClientConfig http;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(15)};
  // Each watch request asks the server to end it after this long (timeoutSeconds), then reconnects:
  // a silently dead connection is noticed within about this time.
  std::chrono::seconds watch_timeout{std::chrono::seconds(300)};
  // Between failed watch connections: doubling from the first to the second.
  std::chrono::milliseconds reconnect_backoff{std::chrono::milliseconds(200)};
  std::chrono::milliseconds reconnect_backoff_max{std::chrono::seconds(5)};
  plugin::Logger* logger = nullptr;  // reconnects and failures; null = silent
};

class RemoteClient final : public plugin::Client {
 public:
  // `registry` (the resources' paths and kinds) must outlive the client. Throws HttpClientError when
  // the URL or the CA is unusable.
  RemoteClient(const ResourceRegistry& registry, RemoteClientOptions options);
  ~RemoteClient() override;

  // Asks the server who we are: ok when it answers and accepts the token; otherwise an error that
  // names the server and what it said (401: the token was refused).
  plugin::Status check();

  Result<ObjectPtr> create(const plugin::ResourceId& resource, std::string_view ns, std::string_view json) noexcept override;
  Result<ObjectPtr> update(const plugin::ResourceId& resource, std::string_view json) noexcept override;
  Result<ObjectPtr> update_status(const plugin::ResourceId& resource, std::string_view json) noexcept override;
  Result<ObjectPtr> remove(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                           const plugin::DeleteOptions& options) noexcept override;
  Result<std::vector<ObjectPtr>> list(const plugin::ResourceId& resource, const plugin::ListFilter& filter) noexcept override;
  Result<ObjectPtr> create_subresource(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                       std::string_view subresource, std::string_view json) noexcept override;

  // remove() with DeleteOptions.gracePeriodSeconds, as ApiClient::remove_with_grace.
  Result<ObjectPtr> remove_with_grace(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                      const plugin::DeleteOptions& options, std::optional<std::int64_t> grace) noexcept;
  Result<ObjectPtr> get(const plugin::ResourceId& resource, std::string_view ns, std::string_view name) noexcept;
  // PATCH with `content_type` (merge, strategic merge or JSON patch); `subresource` "" or "status".
  Result<ObjectPtr> patch(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                          std::string_view subresource, std::string_view patch,
                          std::string_view content_type = "application/merge-patch+json") noexcept;
  // A list with the resourceVersion it is consistent at.
  Result<ListResult> list_at(const ResourceType& type, const ListOptions& options) noexcept;
  // Every change after `resource_version`, as the store's watch reports it.
  Result<std::unique_ptr<Watch>> watch(const ResourceType& type, const ListOptions& filter,
                                       std::int64_t resource_version) noexcept;
  // For SharedInformerFactory: list and watch `type` through this client (which must outlive it).
  std::unique_ptr<ListerWatcher> lister_watcher(const ResourceType& type);

  const std::string& server() const noexcept { return options_.http.server; }
  const RemoteClientOptions& options() const noexcept { return options_; }

 private:
  struct Reply {
    int status = 0;
    std::string body;
  };
  // One request on a pooled connection. Throws HttpClientError.
  Reply send(std::string_view method, const std::string& target, const std::string& body,
             std::string_view content_type);
  Result<ObjectPtr> call(std::string_view method, const plugin::ResourceId& resource, std::string_view ns,
                         std::string_view name, std::string_view subresource, std::string body,
                         std::string_view content_type = "application/json") noexcept;

  const ResourceRegistry& registry_;
  const RemoteClientOptions options_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_;  // clients (TLS set up once) not in use
};

// The query of a list or watch of `filter` ("?labelSelector=…&fieldSelector=…" without the '?').
std::string list_query(const ListOptions& filter);

}  // namespace skiff::kernel::api
