#include "agent/component.hpp"

#include <unistd.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/agent_services.hpp"
#include "agent/node_agent.hpp"
#include "kernel/api/client.hpp"
#include "kernel/reconcile/controller_runner.hpp"
#include "kernel/reconcile/informer.hpp"

namespace skiff::agent {
namespace {

std::string integer_in(std::string_view v, long min, long max) {
  std::string s(v);
  char* end = nullptr;
  long n = std::strtol(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && n >= min && n <= max) return {};
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

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

class AgentComponent final : public kernel::Component {
 public:
  explicit AgentComponent(kernel::Daemon& daemon) : daemon_(daemon) {}
  std::string_view name() const noexcept override { return "agent"; }

  plugin::Status start() override {
    const auto& config = daemon_.config();
    auto get = [&config](std::string_view key, std::string fallback) {
      const kernel::ConfigValue* v = config.value(key);
      return v != nullptr ? v->value : fallback;
    };
    std::string runtime_name = get("agent.runtime", "");
    if (runtime_name.empty()) {
      daemon_.logger().info("node agent off (set agent.runtime to run pods on this machine)");
      return plugin::Status::ok();
    }
    plugin::Client* client = daemon_.api_client();
    if (client == nullptr) return plugin::internal("the agent needs the API component started before it");
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
    options.heartbeat_interval_ms = std::stol(get("agent.heartbeat-interval-ms", "10000"));
    options.restart_backoff_base_ms = std::stol(get("agent.restart-backoff-base-ms", "10000"));
    options.restart_backoff_max_ms = std::stol(get("agent.restart-backoff-max-ms", "300000"));
    if (options.restart_backoff_max_ms < options.restart_backoff_base_ms)
      return plugin::invalid("agent.restart-backoff-max-ms (" + std::to_string(options.restart_backoff_max_ms) +
                             ") must not be below agent.restart-backoff-base-ms (" +
                             std::to_string(options.restart_backoff_base_ms) + ")");
    long simulated = std::stol(get("agent.simulated-nodes", "0"));
    std::string node_name = get("agent.node-name", "");
    if (node_name.empty()) node_name = hostname();
    if (simulated > 0) {
      if (runtime_name != "sim")
        return plugin::invalid("agent.simulated-nodes: only the sim runtime can host simulated nodes, not '" +
                               runtime_name + "'");
      for (long i = 0; i < simulated; ++i) options.nodes.push_back(node_name + "-" + std::to_string(i));
    } else {
      options.nodes.push_back(node_name);
    }
    options.capacity.cpu = get("agent.node-cpu", "");
    options.capacity.memory = get("agent.node-memory", "");
    if (options.capacity.cpu.empty()) options.capacity.cpu = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
    if (options.capacity.memory.empty()) options.capacity.memory = machine_memory();
    options.capacity.pods = get("agent.node-pods", "110");

    // The final DELETE of a pod the agent has stopped carries gracePeriodSeconds=0, which only the
    // daemon's own API client can say (the plugin SDK's Client has no grace period).
    if (auto* api = dynamic_cast<kernel::api::ApiClient*>(client))
      options.delete_pod = [api](const std::string& ns, const std::string& name, const std::string& uid) {
        plugin::DeleteOptions o;
        o.precondition_uid = uid;
        auto r = api->remove_with_grace({"", "v1", "pods"}, ns, name, o, 0);
        return r ? plugin::Status::ok() : r.status();
      };
    informers_ = std::make_unique<kernel::SharedInformerFactory>(daemon_.store(), kernel::InformerOptions{});
    sync_ = std::make_shared<PodSync>(options, *runtime_);
    if (auto st = sync_->adopt(); !st) return st;
    kernel::ControllerRunnerOptions runner_options;
    runner_options.workers = 4;
    runner_ = std::make_unique<kernel::ControllerRunner>("agent", sync_, *client, *informers_, daemon_.metrics(),
                                                         daemon_.logger(), daemon_.clock(), runner_options);
    if (auto st = runner_->start(); !st) return st;
    // Containers change state on their own (exit, OOM kill): look at the runtime every relist interval.
    relist_ = std::make_unique<PodRelist>(*sync_, std::stol(get("agent.relist-interval-ms", "1000")),
                                          [runner = runner_.get()](const std::string& key) { runner->queue().add(key); });
    relist_->start();
    heartbeat_ = std::make_unique<NodeHeartbeat>(options, *client, daemon_.clock(), daemon_.logger(), runtime_->version());
    if (auto st = heartbeat_->register_nodes(*sync_->cache()); !st) return st;
    heartbeat_->start(*sync_->cache());
    // pods/log and pods/exec: the API reaches this agent through the daemon's node directory.
    const plugin::Cache* cache = sync_->cache();
    services_ = std::make_shared<AgentServices>(
        options.log_dir, [cache](const kernel::api::PodLogRequest& r) { return container_running(*cache, r); }, runtime_);
    for (const auto& node : options.nodes) daemon_.node_directory()->add(node, services_);
    daemon_.logger().info("node agent started", {{"runtime", runtime_name},
                                                 {"nodes", std::to_string(options.nodes.size())},
                                                 {"node", options.nodes.front()}});
    return plugin::Status::ok();
  }

  void stop() noexcept override {
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
  }

 private:
  kernel::Daemon& daemon_;
  std::shared_ptr<plugin::runtime::Runtime> runtime_;
  std::unique_ptr<kernel::SharedInformerFactory> informers_;
  std::shared_ptr<PodSync> sync_;
  std::unique_ptr<kernel::ControllerRunner> runner_;
  std::unique_ptr<PodRelist> relist_;
  std::unique_ptr<NodeHeartbeat> heartbeat_;
  std::shared_ptr<AgentServices> services_;
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
       [](std::string_view v) { return integer_in(v, 0, 100000); }},
      {"agent.heartbeat-interval-ms", "10000", "How often the node's Lease is renewed and its status posted.",
       [](std::string_view v) { return integer_in(v, 100, 3600000); }},
      {"agent.relist-interval-ms", "1000",
       "How often the agent lists the runtime's containers to notice those that changed state on their own (exits).",
       [](std::string_view v) { return integer_in(v, 10, 600000); }},
      {"agent.restart-backoff-base-ms", "10000",
       "First CrashLoopBackOff delay before a crashed container restarts again; it doubles on every crash.",
       [](std::string_view v) { return integer_in(v, 100, 3600000); }},
      {"agent.restart-backoff-max-ms", "300000", "Longest CrashLoopBackOff delay.",
       [](std::string_view v) { return integer_in(v, 100, 86400000); }},
      {"agent.node-cpu", "", "CPU capacity the node reports; empty: this machine's.", any},
      {"agent.node-memory", "", "Memory capacity the node reports (a quantity); empty: this machine's.", any},
      {"agent.node-pods", "110", "Most pods the node accepts.", [](std::string_view v) { return integer_in(v, 1, 10000); }},
  };
}

kernel::Daemon::ComponentFactory agent_component() {
  return [](kernel::Daemon& daemon) -> plugin::Result<std::unique_ptr<kernel::Component>> {
    return std::unique_ptr<kernel::Component>(std::make_unique<AgentComponent>(daemon));
  };
}

}  // namespace skiff::agent
