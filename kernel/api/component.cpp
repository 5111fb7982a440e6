#include "kernel/api/component.hpp"

#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "kernel/api/client.hpp"
#include "kernel/api/handler.hpp"
#include "kernel/api/kubernetes_service.hpp"
#include "kernel/api/pki.hpp"
#include "kernel/api/server.hpp"
#include "kernel/api/service_allocator.hpp"

namespace skiff::kernel::api {
namespace {

class ApiServerComponent final : public Component {
 public:
  explicit ApiServerComponent(Daemon& daemon) : daemon_(daemon) {}
  std::string_view name() const noexcept override { return "api-server"; }

  plugin::Status start() override {
    const DaemonConfig& config = daemon_.config();
    std::string listen = config.listen;
    bool insecure = config.value_or("api.insecure-http", "false") == "true";
    auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);

    // Plain HTTP is Kubernetes' old insecure port: clients (client-go, so kubectl) never send a bearer
    // token over plain HTTP, so it cannot be authenticated — and is therefore loopback-only.
    if (insecure && host != "127.0.0.1" && host != "::1" && host != "localhost")
      return plugin::invalid("api.insecure-http=true serves the API without authentication, so listen must be a "
                             "loopback address (127.0.0.1, ::1 or localhost), not '" + listen + "'");

    ServerOptions options;
    options.listen = listen;
    options.tls = !insecure;
    options.workers = static_cast<std::size_t>(std::stoul(config.value_or("api.workers", "64")));
    std::vector<std::string> sans = {"127.0.0.1", "::1", "localhost"};
    char hostname[256] = {};
    if (gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0] != '\0') sans.emplace_back(hostname);
    if (!host.empty() && host != "0.0.0.0" && host != "::" &&
        std::find(sans.begin(), sans.end(), host) == sans.end())
      sans.push_back(host);
    auto creds = ensure_credentials(config.data_dir.string(), sans);
    if (!creds) return creds.status().with_context("api credentials");
    options.cert_pem = creds->serving_cert_pem;
    options.key_pem = creds->serving_key_pem;
    options.token = insecure ? std::string() : creds->admin_token;

    HandlerOptions handler_options{.server_address = listen};
    handler_options.nodes = daemon_.node_directory();
    handler_options.agent_token = creds->admin_token;
    handler_options.service_cluster_ip_range = config.value_or("api.service-cluster-ip-range", "10.96.0.0/12");
    handler_options.service_node_port_range = config.value_or("api.service-node-port-range", "30000-32767");
    handler_options.skiff_endpoints["plugins"] = [this](const HttpRequest&) { return plugins_response(); };
    handler_ = std::make_unique<ApiHandler>(daemon_.store(), daemon_.metrics(), daemon_.logger(), daemon_.clock(),
                                            std::move(handler_options));
    if (auto st = handler_->bootstrap(); !st) return st;
    client_ = std::make_unique<ApiClient>(*handler_, daemon_.store());
    daemon_.set_api_client(client_.get());
    server_ = std::make_unique<Server>(*handler_, daemon_.metrics(), daemon_.logger(), options);
    if (auto st = server_->start(); !st) return st;
    // Published once the port is bound (listen may ask for port 0). A failure here leaves the API
    // serving: the Service is a convenience for clients, not something the API needs.
    if (auto st = publish_kubernetes_service(*client_, daemon_.store(),
                                             config.value_or("api.service-cluster-ip-range", "10.96.0.0/12"),
                                             host == "localhost" ? "127.0.0.1" : host, server_->port());
        !st)
      daemon_.logger().warn("api server: cannot publish the kubernetes Service", {{"error", st.message()}});
    std::string kubeconfig = (config.data_dir / "kubeconfig").string();
    if (auto st = write_kubeconfig(kubeconfig, server_->url(), insecure ? "" : creds->ca_pem,
                                   insecure ? "" : creds->admin_token);
        !st)
      return st;
    daemon_.logger().info("api server listening",
                          {{"url", server_->url()}, {"kubeconfig", kubeconfig}, {"tls", insecure ? "false" : "true"}});
    return plugin::Status::ok();
  }

  void stop() noexcept override {
    if (server_) server_->stop();
    server_.reset();
    daemon_.set_api_client(nullptr);
    client_.reset();
    handler_.reset();
  }

 private:
  // GET /skiff/v1/plugins: what this daemon loaded (per plugin: version, ABI, exports) and refused.
  HttpResponse plugins_response() {
    nlohmann::json plugins = nlohmann::json::array();
    for (const auto& p : daemon_.plugins().plugins()) {
      nlohmann::json exports = nlohmann::json::array();
      for (const auto& e : p.exports)
        exports.push_back({{"role", e.role}, {"name", e.name}, {"description", e.description}, {"section", e.section}});
      plugins.push_back({{"name", p.name},
                         {"version", p.version},
                         {"file", p.file},
                         {"abi", std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor)},
                         {"abiTag", p.abi_tag},
                         {"exports", exports}});
    }
    nlohmann::json refused = nlohmann::json::array();
    for (const auto& r : daemon_.plugins().refusals()) refused.push_back({{"file", r.file}, {"message", r.message()}});
    HttpResponse out;
    out.body = nlohmann::json{{"plugins", plugins}, {"refused", refused}}.dump();
    out.verb = "get";
    out.resource = "skiff/plugins";
    return out;
  }

  Daemon& daemon_;
  std::unique_ptr<ApiHandler> handler_;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<Server> server_;
};

}  // namespace

std::vector<ComponentOption> api_server_options() {
  auto workers = [](std::string_view v) { return integer_in(v, 1, 512); };
  return {
      {"api.insecure-http", "false",
       "Serve plain HTTP instead of HTTPS, without authentication (clients send no token over plain HTTP). "
       "Only on a loopback listen address.",
       boolean},
      // 64: a write holds its thread through the store's group commit (an fsync), so the threads bound
      // how many creates share one commit. With 64 clients creating pods, skiffd answered 5.4k
      // creates/s with 64 threads and 4.0k with 16 (wrk, insecure-http, 2 cores).
      {"api.workers", "64",
       "Threads that serve API writes, each held through its write's durable commit; reads get half as many "
       "threads of their own (watch streams hold none).",
       workers},
      {"api.service-cluster-ip-range", "10.96.0.0/12",
       "IPv4 CIDR Services' cluster IPs are allocated from (kube-apiserver's --service-cluster-ip-range).",
       [](std::string_view v) {
         auto r = parse_ipv4_cidr(v);
         return r ? std::string() : r.status().message();
       }},
      {"api.service-node-port-range", "30000-32767",
       "Ports NodePort Services are allocated from, as MIN-MAX (kube-apiserver's --service-node-port-range).",
       [](std::string_view v) {
         auto r = parse_port_range(v);
         return r ? std::string() : r.status().message();
       }},
  };
}

Daemon::ComponentFactory api_server_component() {
  return [](Daemon& daemon) -> plugin::Result<std::unique_ptr<Component>> {
    return std::unique_ptr<Component>(std::make_unique<ApiServerComponent>(daemon));
  };
}

}  // namespace skiff::kernel::api
