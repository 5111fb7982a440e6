#include "agent/component.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/agent_services.hpp"
#include "agent/image_gc.hpp"
#include "agent/node_agent.hpp"
#include "controller_common.hpp"
#include "kernel/api/client.hpp"
#include "kernel/api/pki.hpp"
#include "kernel/api/remote_client.hpp"
#include "kernel/api/remote_node_services.hpp"
#include "kernel/api/server.hpp"
#include "kernel/reconcile/controller_runner.hpp"
#include "kernel/reconcile/informer.hpp"

namespace skiff::agent {
namespace {

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "skiff-node";
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The machine's memory as a Kubernetes quantity (MemTotal from /proc/meminfo, in Ki).
std::string machine_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  long long kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemTotal:") return std::to_string(kib) + "Ki";
  return "0";
}

// Is the container's current attempt running, as the agent last reported it in the pod's status?
bool container_running(const plugin::Cache& cache, const kernel::api::PodLogRequest& r) {
  static const plugin::ResourceId kPods{"", "v1", "pods"};
  plugin::ObjectPtr pod = cache.get(kPods, r.ns, r.pod);
  if (!pod || pod->uid != r.uid) return false;
  auto j = nlohmann::json::parse(pod->json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("status")) return false;
  for (const char* list : {"containerStatuses", "initContainerStatuses"})
    for (const auto& c : j["status"].value(list, nlohmann::json::array()))
      if (c.value("name", "") == r.container) return c.contains("state") && c["state"].contains("running");
  return false;
}

// The local address this machine uses toward `host` (what the API server can reach us at): a UDP
// socket "connected" to it sends nothing but gets a source address from the routing table.
std::string local_address_toward(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), "443", &hints, &found) != 0 || found == nullptr) return {};
  std::string out;
  int fd = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr = local.ss_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                                                   : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
    if (inet_ntop(local.ss_family, addr, text, sizeof text) != nullptr) out = text;
  }
  if (fd >= 0) ::close(fd);
  freeaddrinfo(found);
  return out;
}

// "https://HOST:PORT/…" → HOST (brackets of an IPv6 literal removed).
std::string host_of_url(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::string rest = url.substr(start, url.find('/', start) - start);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.rfind(':') == std::string::npos ? rest.size() : rest.rfind(':'));
}

class AgentComponent final : public kernel::Component {
 public:
  explicit AgentComponent(kernel::Daemon& daemon) : daemon_(daemon) {}
  std::string_view name() const noexcept override { return "agent"; }

  plugin::Status start() override {
    const auto& config = daemon_.config();
    std::string runtime_name = config.value_or("agent.runtime", "");
    if (runtime_name.empty()) {
      daemon_.logger().info("node agent off (set agent.runtime to run pods on this machine)");
      return plugin::Status::ok();
    }
    const std::string server = config.value_or("agent.server", "");
    plugin::Client* client = nullptr;
    if (!server.empty()) {
      // `skiffd agent`: the cluster's API server is elsewhere.
      if (auto st = connect_remote(server, config.value_or("agent.token", ""), config.value_or("agent.ca-file", "")); !st) return st;
      client = remote_.get();
    } else {
      client = daemon_.api_client();
      if (client == nullptr) return plugin::internal("the agent needs the API component started before it");
    }
    const kernel::ExportInfo* found = nullptr;
    auto exports = daemon_.plugins().exports_of(plugin::runtime::Runtime::kRole);
    for (const auto& e : exports)
      if (e.name == runtime_name) found = &e;
    if (found == nullptr) {
      std::string known;
      for (const auto& e : exports) known += (known.empty() ? "" : ", ") + e.name;
      return plugin::invalid("agent.runtime: no runtime plugin named '" + runtime_name + "' (loaded: " +
                             (known.empty() ? "none" : known) + ")");
    }
    auto runtime = daemon_.plugins().create<plugin::runtime::Runtime>(found->name, daemon_.plugin_context(*found));
    if (!runtime) return runtime.status().with_context("agent.runtime " + runtime_name);
    runtime_ = std::move(*runtime);

    AgentOptions options;
    options.runtime_name = runtime_name;
    options.log_dir = (config.data_dir / "pod-logs").string();
    options.pods_dir = (config.data_dir / "pods").string();
    options.heartbeat_interval_ms = std::stol(config.value_or("agent.heartbeat-interval-ms", "10000"));
    options.restart_backoff_base_ms = std::stol(config.value_or("agent.restart-backoff-base-ms", "10000"));
    options.restart_backoff_max_ms = std::stol(config.value_or("agent.restart-backoff-max-ms", "300000"));
    if (options.restart_backoff_max_ms < options.restart_backoff_base_ms)
      return plugin::invalid("agent.restart-backoff-max-ms (" + std::to_string(options.restart_backoff_max_ms) +
                             ") must not be below agent.restart-backoff-base-ms (" +
                             std::to_string(options.restart_backoff_base_ms) + ")");
    long simulated = std::stol(config.value_or("agent.simulated-nodes", "0"));
    std::string node_name = config.value_or("agent.node-name", "");
    if (node_name.empty()) node_name = hostname();
    if (simulated > 0) {
      if (runtime_name != "sim")
        return plugin::invalid("agent.simulated-nodes: only the sim runtime can host simulated nodes, not '" +
                               runtime_name + "'");
      for (long i = 0; i < simulated; ++i) options.nodes.push_back(node_name + "-" + std::to_string(i));
    } else {
      options.nodes.push_back(node_name);
    }
    options.capacity.cpu = config.value_or("agent.node-cpu", "");
    options.capacity.memory = config.value_or("agent.node-memory", "");
    if (options.capacity.cpu.empty()) options.capacity.cpu = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
    if (options.capacity.memory.empty()) options.capacity.memory = machine_memory();
    options.capacity.pods = config.value_or("agent.node-pods", "110");

    // The final DELETE of a pod the agent has stopped carries gracePeriodSeconds=0, which the plugin
    // SDK's Client cannot say yet: the daemon's own API client (in-process or remote) can.
    options.delete_pod = [this, client](const std::string& ns, const std::string& name, const std::string& uid) {
      const plugin::ResourceId pods{"", "v1", "pods"};
      plugin::DeleteOptions o;
      o.precondition_uid = uid;
      auto r = remote_ ? remote_->remove_with_grace(pods, ns, name, o, 0)
                       : static_cast<kernel::api::ApiClient*>(client)->remove_with_grace(pods, ns, name, o, 0);
      return r ? plugin::Status::ok() : r.status();
    };
    if (remote_) {
      // The endpoint's address goes into pods' hostIP and the Node's InternalIP.
      std::string listen = config.value_or("agent.listen", "0.0.0.0:10250");
      std::string listen_host = listen.substr(0, listen.rfind(':'));
      options.host_ip = config.value_or("agent.node-ip", "");
      if (options.host_ip.empty() && listen_host != "0.0.0.0" && listen_host != "::" && listen_host != "[::]")
        options.host_ip = listen_host;
      if (options.host_ip.empty()) options.host_ip = local_address_toward(host_of_url(server));
      if (options.host_ip.empty())
        return plugin::invalid("agent.node-ip: cannot tell which address of this machine reaches " + server +
                               "; set agent.node-ip");
      informers_ = std::make_unique<kernel::SharedInformerFactory>(
          daemon_.resources(), [this](const kernel::ResourceType& type) { return remote_->lister_watcher(type); },
          kernel::InformerOptions{.logger = &daemon_.logger()});
    } else {
      informers_ = std::make_unique<kernel::SharedInformerFactory>(daemon_.store(), kernel::InformerOptions{});
    }
    sync_ = std::make_shared<PodSync>(options, *runtime_);
    if (auto st = sync_->adopt(); !st) return st;
    kernel::ControllerRunnerOptions runner_options;
    runner_options.workers = 4;
    runner_ = std::make_unique<kernel::ControllerRunner>("agent", sync_, *client, *informers_, daemon_.metrics(),
                                                         daemon_.logger(), daemon_.clock(), runner_options);
    if (auto st = runner_->start(); !st) return st;
    // Containers change state on their own (exit, OOM kill): look at the runtime every relist interval.
    relist_ = std::make_unique<PodRelist>(*sync_, std::stol(config.value_or("agent.relist-interval-ms", "1000")),
                                          [runner = runner_.get()](const std::string& key) { runner->queue().add(key); });
    relist_->start();
    // pods/log and pods/exec: the API reaches this agent through the daemon's node directory, or (for
    // `skiffd agent`) through the agent's own endpoint, advertised in its Nodes before the heartbeats.
    const plugin::Cache* cache = sync_->cache();
    services_ = std::make_shared<AgentServices>(
        options.log_dir, [cache](const kernel::api::PodLogRequest& r) { return container_running(*cache, r); }, runtime_);
    heartbeat_ = std::make_unique<NodeHeartbeat>(options, *client, daemon_.clock(), daemon_.logger(), runtime_->version());
    if (auto st = heartbeat_->register_nodes(*sync_->cache()); !st) return st;
    if (remote_) {
      if (auto st = serve_endpoint(options, config.value_or("agent.listen", "0.0.0.0:10250"), config.value_or("agent.token", "")); !st) return st;
    } else {
      for (const auto& node : options.nodes) daemon_.node_directory()->add(node, services_);
    }
    heartbeat_->start(*sync_->cache());
    if (auto st = start_image_gc(config, *client, options.nodes); !st) return st;
    daemon_.logger().info("node agent started", {{"runtime", runtime_name},
                                                 {"nodes", std::to_string(options.nodes.size())},
                                                 {"node", options.nodes.front()}});
    return plugin::Status::ok();
  }

  void stop() noexcept override {
    if (image_gc_) image_gc_->stop();
    image_gc_.reset();
    if (endpoint_) endpoint_->stop();
    endpoint_.reset();
    endpoint_handler_.reset();
    if (services_) {
      daemon_.node_directory()->remove(services_.get());
      services_->detach();  // follows still open end instead of reading the cache that goes below
      services_.reset();
    }
    if (heartbeat_) heartbeat_->stop();
    if (relist_) relist_->stop();
    if (runner_) runner_->stop();
    if (informers_) informers_->stop();
    heartbeat_.reset();
    relist_.reset();
    runner_.reset();
    sync_.reset();
    informers_.reset();
    runtime_.reset();
    remote_.reset();
  }

 private:
  plugin::Status start_image_gc(const kernel::DaemonConfig& config, plugin::Client& client,
                                const std::vector<std::string>& nodes) {
    ImageGcPolicy policy;
    policy.high_threshold_percent = std::stoi(config.value_or("agent.image-gc-high-threshold-percent", "85"));
    policy.low_threshold_percent = std::stoi(config.value_or("agent.image-gc-low-threshold-percent", "80"));
    policy.minimum_age_ms = std::stol(config.value_or("agent.image-minimum-gc-age-seconds", "120")) * 1000;
    policy.period_ms = std::stol(config.value_or("agent.image-gc-period-seconds", "300")) * 1000;
    if (policy.low_threshold_percent >= policy.high_threshold_percent && policy.high_threshold_percent < 100)
      return plugin::invalid("agent.image-gc-low-threshold-percent (" + std::to_string(policy.low_threshold_percent) +
                             ") must be below agent.image-gc-high-threshold-percent (" +
                             std::to_string(policy.high_threshold_percent) + ")");
    std::string path = config.value_or("agent.image-fs-path", "");
    if (path.empty()) path = config.data_dir.string();
    if (auto usage = filesystem_usage(path); !usage) return usage.status().with_context("agent.image-fs-path");
    // Not enough freed: the kubelet's FreeDiskSpaceFailed warning, on each Node this agent runs.
    auto events = std::make_shared<plugins::controllers::EventRecorder>(client, daemon_.clock(), "kubelet");
    auto free_disk_space_failed = [events, nodes](const std::string& message) {
      for (const auto& node : nodes)
        (void)events->record({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", node}, {"uid", node}}}},
                             "Warning", "FreeDiskSpaceFailed", message);
    };
    image_gc_ = std::make_unique<ImageGarbageCollector>(*runtime_, daemon_.clock(), daemon_.logger(), policy,
                                                        [path] { return filesystem_usage(path); }, free_disk_space_failed);
    image_gc_->start();
    return plugin::Status::ok();
  }

  // The API server's client for `skiffd agent`, checked before anything else starts: a refused token
  // or an unreachable server stops the agent with a message naming the server.
  plugin::Status connect_remote(const std::string& server, const std::string& token, const std::string& ca_file) {
    if (token.empty())
      return plugin::invalid("agent.token: skiffd agent needs the cluster's token (--token) to join " + server);
    kernel::api::RemoteClientOptions options;
    options.http.server = server;
    options.http.token = token;
    options.http.user_agent = "skiffd-agent";
    options.http.timeout_hint = "agent.request-timeout-ms";
    options.request_timeout = std::chrono::milliseconds(std::stol(
        daemon_.config().value("agent.request-timeout-ms") ? daemon_.config().value("agent.request-timeout-ms")->value
                                                            : std::string("15000")));
    options.logger = &daemon_.logger();
    if (!ca_file.empty()) {
      std::ifstream in(ca_file);
      if (!in) return plugin::invalid("agent.ca-file: cannot read " + ca_file);
      std::stringstream text;
      text << in.rdbuf();
      options.http.ca_pem = text.str();
      options.http.ca_source = "agent.ca-file " + ca_file;
    }
    try {
      remote_ = std::make_unique<kernel::api::RemoteClient>(daemon_.resources(), std::move(options));
    } catch (const std::exception& e) {
      return plugin::invalid(std::string("agent.server: ") + e.what());
    }
    if (auto st = remote_->check(); !st) return plugin::unavailable("cannot join the cluster: " + st.message());
    daemon_.logger().info("joined the cluster's API server", {{"server", server}});
    return plugin::Status::ok();
  }

  // The endpoint the API server proxies pods/log and pods/exec to, advertised in each Node.
  plugin::Status serve_endpoint(const AgentOptions& options, const std::string& listen, const std::string& token) {
    auto cert = kernel::api::self_signed_certificate("skiff-agent " + options.nodes.front(),
                                                     {options.host_ip, "127.0.0.1", "localhost", options.nodes.front()});
    if (!cert) return cert.status().with_context("agent endpoint certificate");
    kernel::api::ServerOptions server_options;
    server_options.listen = listen;
    server_options.cert_pem = cert->cert_pem;
    server_options.key_pem = cert->key_pem;
    server_options.token = token;  // the API server presents the cluster's token the agent joined with
    server_options.workers = 4;
    endpoint_handler_ = std::make_unique<AgentEndpoint>(services_);
    endpoint_ = std::make_unique<kernel::api::Server>(*endpoint_handler_, daemon_.metrics(), daemon_.logger(), server_options);
    if (auto st = endpoint_->start(); !st) return st.with_context("agent.listen " + listen);
    static const plugin::ResourceId kNodes{"", "v1", "nodes"};
    for (const auto& node : options.nodes) {
      nlohmann::json meta = {{"metadata", {{"annotations", {{std::string(kernel::api::kAgentServingCertAnnotation), cert->cert_pem}}}}}};
      if (auto r = remote_->patch(kNodes, "", node, "", meta.dump()); !r)
        return r.status().with_context("advertise the agent endpoint in node " + node);
      nlohmann::json status = {
          {"status",
           {{"addresses", {{{"type", "InternalIP"}, {"address", options.host_ip}}, {{"type", "Hostname"}, {"address", node}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", endpoint_->port()}}}}}}}};
      if (auto r = remote_->patch(kNodes, "", node, "status", status.dump()); !r)
        return r.status().with_context("advertise the agent endpoint in node " + node);
    }
    daemon_.logger().info("agent endpoint listening", {{"url", endpoint_->url()}, {"address", options.host_ip}});
    return plugin::Status::ok();
  }

  kernel::Daemon& daemon_;
  std::shared_ptr<plugin::runtime::Runtime> runtime_;
  std::unique_ptr<kernel::SharedInformerFactory> informers_;
  std::shared_ptr<PodSync> sync_;
  std::unique_ptr<kernel::ControllerRunner> runner_;
  std::unique_ptr<PodRelist> relist_;
  std::unique_ptr<NodeHeartbeat> heartbeat_;
  std::shared_ptr<AgentServices> services_;
  std::unique_ptr<ImageGarbageCollector> image_gc_;
  // `skiffd agent` only: the remote API and the agent's own endpoint.
  std::unique_ptr<kernel::api::RemoteClient> remote_;
  std::unique_ptr<AgentEndpoint> endpoint_handler_;
  std::unique_ptr<kernel::api::Server> endpoint_;
};

}  // namespace

std::vector<kernel::ComponentOption> agent_options() {
  auto any = [](std::string_view) { return std::string(); };
  return {
      {"agent.runtime", "",
       "Container runtime plugin the node agent drives (sim: pods run without processes); empty: no agent.", any},
      {"agent.node-name", "", "Name of this node; empty: the host name.", any},
      {"agent.simulated-nodes", "0",
       "With agent.runtime=sim: host this many simulated nodes (<node-name>-0 …) instead of one.",
       [](std::string_view v) { return kernel::integer_in(v, 0, 100000); }},
      {"agent.heartbeat-interval-ms", "10000", "How often the node's Lease is renewed and its status posted.",
       [](std::string_view v) { return kernel::integer_in(v, 100, 3600000); }},
      {"agent.relist-interval-ms", "1000",
       "How often the agent lists the runtime's containers to notice those that changed state on their own (exits).",
       [](std::string_view v) { return kernel::integer_in(v, 10, 600000); }},
      {"agent.restart-backoff-base-ms", "10000",
       "First CrashLoopBackOff delay before a crashed container restarts again; it doubles on every crash.",
       [](std::string_view v) { return kernel::integer_in(v, 100, 3600000); }},
      {"agent.restart-backoff-max-ms", "300000", "Longest CrashLoopBackOff delay.",
       [](std::string_view v) { return kernel::integer_in(v, 100, 86400000); }},
      {"agent.image-gc-high-threshold-percent", "85",
       "Disk usage of the image filesystem at which unused images are removed (least recently used first); 100: never.",
       [](std::string_view v) { return kernel::integer_in(v, 0, 100); }},
      {"agent.image-gc-low-threshold-percent", "80", "Disk usage image garbage collection frees down to.",
       [](std::string_view v) { return kernel::integer_in(v, 0, 100); }},
      {"agent.image-minimum-gc-age-seconds", "120", "An image unused for less than this is never collected.",
       [](std::string_view v) { return kernel::integer_in(v, 0, 31536000); }},
      {"agent.image-gc-period-seconds", "300", "How often image garbage collection looks at the disk.",
       [](std::string_view v) { return kernel::integer_in(v, 1, 86400); }},
      {"agent.image-fs-path", "",
       "A path on the filesystem holding the runtime's images, for image garbage collection; empty: the data dir "
       "(where the runc runtime keeps images by default).",
       any},
      {"agent.node-cpu", "", "CPU capacity the node reports; empty: this machine's.", any},
      {"agent.node-memory", "", "Memory capacity the node reports (a quantity); empty: this machine's.", any},
      {"agent.node-pods", "110", "Most pods the node accepts.", [](std::string_view v) { return kernel::integer_in(v, 1, 10000); }},
      // `skiffd agent --server URL --token TOKEN` sets these.
      {"agent.server", "",
       "URL of the cluster's API server (https://HOST:PORT) for an agent in its own process; empty: the agent "
       "runs inside this skiffd.",
       any},
      {"agent.token", "", "Bearer token the agent joins with (the admin token in the API server's DATA_DIR/kubeconfig).",
       any},
      {"agent.ca-file", "", "PEM file of the cluster's CA (the API server's DATA_DIR/pki/ca.crt); empty: the system's CAs.",
       any},
      {"agent.listen", "0.0.0.0:10250",
       "HOST:PORT of the agent's own HTTPS endpoint (logs, exec) with agent.server; port 0 picks a free one.", any},
      {"agent.node-ip", "",
       "Address the Node advertises (InternalIP, pods' hostIP) with agent.server; empty: the listen host, or the "
       "local address toward the API server.",
       any},
      {"agent.request-timeout-ms", "15000", "With agent.server: how long one API request may take.",
       [](std::string_view v) { return kernel::integer_in(v, 100, 600000); }},
  };
}

kernel::Daemon::ComponentFactory agent_component() {
  return [](kernel::Daemon& daemon) -> plugin::Result<std::unique_ptr<kernel::Component>> {
    return std::unique_ptr<kernel::Component>(std::make_unique<AgentComponent>(daemon));
  };
}

}  // namespace skiff::agent
