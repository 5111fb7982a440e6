// The Kubernetes REST API over the object store: discovery, OpenAPI, the verbs (get, list, watch,
// create, update, patch, delete, deletecollection), the status and scale subresources, eviction and
// binding, Table output, and admission (defaults, validation, strict field checks) on every write.
//
// Transport-free: it maps an HttpRequest to an HttpResponse (server.hpp is the NNG shell), so tests
// can drive it directly and in-process clients (controllers, client.hpp) go through the same admission.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>
#include <string>

#include "kernel/api/http.hpp"
#include "kernel/api/node_services.hpp"
#include "kernel/metrics/registry.hpp"
#include "kernel/store/object_store.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::kernel::api {

// The HTTP status code of a Status code, and Kubernetes' Status reason for it ("NotFound",
// "ServiceUnavailable", …), as every answer of the API shows them.
int http_code(plugin::Code code);
std::string reason_of(plugin::Code code);

// A named readiness check ("store", "informers", …) reported by /readyz?verbose like Kubernetes'.
struct HealthCheck {
  std::string name;
  std::function<plugin::Status()> check;
};

struct HandlerOptions {
  std::string server_address = "127.0.0.1:6443";  // for /api's serverAddressByClientCIDRs
  std::chrono::seconds max_watch_timeout{1800};
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(60)};
  std::vector<HealthCheck> ready_checks;  // besides "ping" and "store", which are built in
  // Non-Kubernetes endpoints the daemon adds under /skiff/v1/ ("plugins" → GET /skiff/v1/plugins).
  std::map<std::string, std::function<HttpResponse(const HttpRequest&)>> skiff_endpoints;
  // The node agents pods/log reaches (null: no agent, every log request answers 503).
  std::shared_ptr<NodeDirectory> nodes;
  // The bearer token pods/log and pods/exec present to a node agent in another process (the agents
  // accept the cluster's token they joined with).
  std::string agent_token;
  // Where Services get their clusterIP and nodePorts (kube-apiserver's --service-cluster-ip-range and
  // --service-node-port-range); the daemon's config checks them, an unparsable value falls back to these.
  std::string service_cluster_ip_range = "10.96.0.0/12";
  std::string service_node_port_range = "30000-32767";
};

class ApiHandler final : public Handler {
 public:
  ApiHandler(ObjectStore& store, MetricsRegistry& metrics, plugin::Logger& logger, const plugin::Clock& clock,
             HandlerOptions options = {});
  ~ApiHandler() override;

  HttpResponse handle(const HttpRequest& request) override;
  // A GET of one object by name (no subresource, no watch), which the object store answers from its cache.
  bool answers_at_once(const HttpRequest& request) const override;

  // Creates the namespaces every cluster has (default, kube-system, kube-public, kube-node-lease).
  plugin::Status bootstrap();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::kernel::api
