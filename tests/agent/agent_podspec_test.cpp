// The agent turns a pod spec into what the runtime gets, through the real kernel (memory store, API
// admission, informer cache) and the simulated runtime: env from ConfigMaps, Secrets and the
// downward API, $(VAR) in command and args, resources, volume mounts over real pod directories;
// a missing ConfigMap or Secret is a CreateContainerConfigError (or a FailedMount for a volume) with
// the kubelet's message and a Warning event, and the container starts as soon as the object appears.
// The runtime is wrapped only to record the ContainerConfig the agent hands it.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "agent/node_agent.hpp"
#include "sim_runtime.hpp"
#include "tests/support/control_plane.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace rt = plugin::runtime;
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};
const plugin::ResourceId kSecrets{"", "v1", "secrets"};

// The simulated runtime, plus a record of every container config it was asked to create.
class RecordingRuntime final : public rt::Runtime {
 public:
  explicit RecordingRuntime(std::unique_ptr<rt::Runtime> inner) : inner_(std::move(inner)) {}
  std::vector<rt::ContainerConfig> created(const std::string& name) const {
    std::lock_guard lock(mu_);
    std::vector<rt::ContainerConfig> out;
    for (const auto& c : created_)
      if (c.name == name) out.push_back(c);
    return out;
  }

  std::string version() const noexcept override { return inner_->version(); }
  plugin::Result<std::string> run_sandbox(const rt::SandboxConfig& c) noexcept override { return inner_->run_sandbox(c); }
  plugin::Status stop_sandbox(std::string_view id) noexcept override { return inner_->stop_sandbox(id); }
  plugin::Status remove_sandbox(std::string_view id) noexcept override { return inner_->remove_sandbox(id); }
  plugin::Result<rt::SandboxStatus> sandbox_status(std::string_view id) noexcept override { return inner_->sandbox_status(id); }
  plugin::Result<std::vector<rt::SandboxStatus>> list_sandboxes() noexcept override { return inner_->list_sandboxes(); }
  plugin::Result<std::string> create_container(std::string_view sandbox_id, const rt::ContainerConfig& config,
                                               const rt::SandboxConfig& sandbox) noexcept override {
    {
      std::lock_guard lock(mu_);
      created_.push_back(config);
    }
    return inner_->create_container(sandbox_id, config, sandbox);
  }
  plugin::Status start_container(std::string_view id) noexcept override { return inner_->start_container(id); }
  plugin::Status stop_container(std::string_view id, std::int64_t grace) noexcept override {
    return inner_->stop_container(id, grace);
  }
  plugin::Status remove_container(std::string_view id) noexcept override { return inner_->remove_container(id); }
  plugin::Result<rt::ContainerStatus> container_status(std::string_view id) noexcept override {
    return inner_->container_status(id);
  }
  plugin::Result<std::vector<rt::ContainerStatus>> list_containers(std::string_view id) noexcept override {
    return inner_->list_containers(id);
  }
  plugin::Result<rt::ExecResult> exec_sync(std::string_view id, const std::vector<std::string>& cmd,
                                           std::int64_t timeout) noexcept override {
    return inner_->exec_sync(id, cmd, timeout);
  }
  plugin::Result<std::int32_t> exec(std::string_view id, const std::vector<std::string>& cmd,
                                    const rt::ExecStreams& streams) noexcept override {
    return inner_->exec(id, cmd, streams);
  }
  plugin::Result<rt::ContainerStats> container_stats(std::string_view id) noexcept override {
    return inner_->container_stats(id);
  }
  plugin::Result<rt::ImageInfo> pull_image(std::string_view ref) noexcept override { return inner_->pull_image(ref); }
  plugin::Result<std::optional<rt::ImageInfo>> image_status(std::string_view ref) noexcept override {
    return inner_->image_status(ref);
  }
  plugin::Result<std::vector<rt::ImageInfo>> list_images() noexcept override { return inner_->list_images(); }
  plugin::Status remove_image(std::string_view id) noexcept override { return inner_->remove_image(id); }

 private:
  std::unique_ptr<rt::Runtime> inner_;
  mutable std::mutex mu_;
  std::vector<rt::ContainerConfig> created_;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class AgentPodSpecTest : public ::testing::Test {
 protected:
  AgentPodSpecTest() {
    options.nodes = {"node-1"};
    options.log_dir = (pods.path() / "logs").string();
    options.pods_dir = (pods.path() / "pods").string();
    options.capacity.cpu = "4";
    options.capacity.memory = "8Gi";
    // Long: a container waiting for a ConfigMap must be started by the ConfigMap's event, not by a timer.
    options.max_requeue_ms = 600'000;
  }
  void start_agent() {
    sync = std::make_shared<agent::PodSync>(options, runtime);
    ASSERT_TRUE(sync->adopt().is_ok());
    runner = &cp.run("agent", sync);
    heartbeat = std::make_unique<agent::NodeHeartbeat>(options, cp.client(), cp.clock(), logger, runtime.version());
    ASSERT_TRUE(heartbeat->register_nodes(*sync->cache()).is_ok());
  }
  json status_of(const std::string& name) { return cp.get(kPods, "default", name).value("status", json::object()); }
  json container(const std::string& pod, std::size_t i = 0) {
    json s = status_of(pod);
    return s.contains("containerStatuses") && s["containerStatuses"].size() > i ? s["containerStatuses"][i] : json::object();
  }
  std::string waiting_reason(const std::string& pod) {
    json c = container(pod);
    return c.contains("state") && c["state"].contains("waiting") ? c["state"]["waiting"].value("reason", "") : "";
  }
  bool running(const std::string& pod) {
    json c = container(pod);
    return c.contains("state") && c["state"].contains("running");
  }
  std::vector<std::string> events(const std::string& pod, const std::string& reason) {
    std::vector<std::string> out;
    for (const auto& e : cp.list({"", "v1", "events"}, "default"))
      if (e.value("reason", "") == reason && e["involvedObject"]["name"] == pod) out.push_back(e.value("message", ""));
    return out;
  }
  static json pod(const std::string& name, json container, json volumes = json::array()) {
    container["image"] = "app:1";
    json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"tier", "web"}}}}},
              {"spec", {{"nodeName", "node-1"}, {"containers", {container}}}}};
    if (!volumes.empty()) p["spec"]["volumes"] = volumes;
    return p;
  }
  static json config_map(const std::string& name, json data) {
    return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "default"}}}, {"data", data}};
  }

  TempDir pods{"skiff-agent-podspec"};
  // Unmounts the tmpfs volumes the test's pods still have, after the agent stopped (cp goes first).
  struct VolumeCleanup {
    std::string dir;
    ~VolumeCleanup() { (void)agent::PodVolumes(dir).remove_all_but({}); }
  } cleanup{(pods.path() / "pods").string()};
  // Declared before cp: the agent's runner threads (stopped by cp's destructor) call into it.
  RecordingRuntime runtime{plugins::runtime::sim::make_sim_runtime({}, [this] { return cp.clock().now_ms(); })};
  ControlPlane cp;
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kWarn};
  agent::AgentOptions options;
  std::shared_ptr<agent::PodSync> sync;
  kernel::ControllerRunner* runner = nullptr;
  std::unique_ptr<agent::NodeHeartbeat> heartbeat;
};

TEST_F(AgentPodSpecTest, EnvCommandResourcesAndMountsReachTheRuntime) {
  start_agent();
  cp.create(kConfigMaps, config_map("settings", {{"MODE", "fast"}, {"app.conf", "port=80\n"}}));
  json secret = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "creds"}, {"namespace", "default"}}},
                 {"stringData", {{"PASSWORD", "s3cr3t"}}}};  // the API turns stringData into base64 data
  cp.create(kSecrets, secret);
  json c = {{"name", "main"},
            {"command", {"/bin/sh", "-c"}},
            {"args", {"echo $(GREETING) from $(POD_NAME) $$(POD_NAME)"}},
            {"resources", {{"limits", {{"memory", "16Mi"}, {"cpu", "500m"}}}}},
            {"envFrom", {{{"configMapRef", {{"name", "settings"}}}, {"prefix", "CM_"}}}},
            {"env",
             {{{"name", "GREETING"}, {"value", "hello"}},
              {{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
              {{"name", "TIER"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['tier']"}}}}}},
              {{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
              {{"name", "PASSWORD"}, {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "PASSWORD"}}}}}},
              {{"name", "MEM_MI"},
               {"valueFrom", {{"resourceFieldRef", {{"resource", "limits.memory"}, {"divisor", "1Mi"}}}}}}}},
            {"volumeMounts",
             {{{"name", "config"}, {"mountPath", "/etc/app"}},
              {{"name", "scratch"}, {"mountPath", "/scratch"}, {"readOnly", true}}}}};
  json volumes = {{{"name", "config"}, {"configMap", {{"name", "settings"}, {"items", {{{"key", "app.conf"}, {"path", "app.conf"}}}}}}},
                  {{"name", "scratch"}, {"emptyDir", json::object()}}};
  cp.create(kPods, pod("web", c, volumes));
  ASSERT_TRUE(eventually([&] { return running("web"); })) << status_of("web").dump();

  auto created = runtime.created("main");
  ASSERT_EQ(created.size(), 1u);
  const rt::ContainerConfig& config = created[0];
  std::map<std::string, std::string> env(config.env.begin(), config.env.end());
  EXPECT_EQ(env["CM_MODE"], "fast");
  EXPECT_EQ(env["CM_app.conf"], "port=80\n") << "a dotted key is a valid variable name";
  EXPECT_EQ(env["POD_NAME"], "web");
  EXPECT_EQ(env["TIER"], "web");
  EXPECT_EQ(env["POD_IP"], status_of("web")["podIP"]);
  EXPECT_EQ(env["PASSWORD"], "s3cr3t");
  EXPECT_EQ(env["MEM_MI"], "16");
  EXPECT_EQ(config.command, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(config.args, (std::vector<std::string>{"echo hello from web $(POD_NAME)"}));
  EXPECT_EQ(config.resources.memory_limit_bytes, 16 * 1024 * 1024);
  EXPECT_EQ(config.resources.cpu_limit_millis, 500);

  ASSERT_EQ(config.mounts.size(), 2u);
  EXPECT_EQ(config.mounts[0].container_path, "/etc/app");
  EXPECT_TRUE(config.mounts[0].read_only) << "configMap volumes are read-only";
  EXPECT_EQ(read_all(fs::path(config.mounts[0].host_path) / "app.conf"), "port=80\n");
  EXPECT_EQ(config.mounts[1].container_path, "/scratch");
  EXPECT_TRUE(config.mounts[1].read_only);
  const std::string uid = cp.get(kPods, "default", "web")["metadata"]["uid"];
  EXPECT_EQ(config.mounts[1].host_path, options.pods_dir + "/" + uid + "/volumes/kubernetes.io~empty-dir/scratch");
  EXPECT_TRUE(fs::is_directory(config.mounts[1].host_path));

  // The ConfigMap changes: the volume's file follows while the container runs.
  json updated = cp.get(kConfigMaps, "default", "settings");
  updated["data"]["app.conf"] = "port=8080\n";
  ASSERT_TRUE(cp.client().update(kConfigMaps, updated.dump()).is_ok());
  ASSERT_TRUE(eventually([&] { return read_all(fs::path(config.mounts[0].host_path) / "app.conf") == "port=8080\n"; }));

  // The pod goes: so does its directory.
  ASSERT_TRUE(cp.client().remove(kPods, "default", "web", {}).is_ok());
  ASSERT_TRUE(eventually([&] { return !fs::exists(options.pods_dir + "/" + uid); }));
}

TEST_F(AgentPodSpecTest, AMissingConfigMapHoldsTheContainerUntilItAppears) {
  start_agent();
  json c = {{"name", "main"},
            {"env", {{{"name", "MODE"}, {"valueFrom", {{"configMapKeyRef", {{"name", "late"}, {"key", "MODE"}}}}}}}}};
  cp.create(kPods, pod("wait", c));
  ASSERT_TRUE(eventually([&] { return waiting_reason("wait") == "CreateContainerConfigError"; })) << status_of("wait").dump();
  EXPECT_EQ(container("wait")["state"]["waiting"]["message"], "configmap \"late\" not found");
  EXPECT_EQ(status_of("wait")["phase"], "Pending");
  ASSERT_TRUE(eventually([&] { return !events("wait", "Failed").empty(); }));
  EXPECT_EQ(events("wait", "Failed")[0], "Error: configmap \"late\" not found");
  EXPECT_TRUE(runtime.created("main").empty());

  // The ConfigMap appears without the key: another message.
  cp.create(kConfigMaps, config_map("late", {{"OTHER", "x"}}));
  ASSERT_TRUE(eventually([&] {
    return container("wait")["state"]["waiting"].value("message", "") == "couldn't find key MODE in ConfigMap default/late";
  })) << status_of("wait").dump();
  // The key is added: the container starts, with no clock moved (the ConfigMap's event did it).
  json cm = cp.get(kConfigMaps, "default", "late");
  cm["data"]["MODE"] = "slow";
  ASSERT_TRUE(cp.client().update(kConfigMaps, cm.dump()).is_ok());
  ASSERT_TRUE(eventually([&] { return running("wait"); })) << status_of("wait").dump();
  ASSERT_EQ(runtime.created("main").size(), 1u);
  EXPECT_EQ(runtime.created("main")[0].env, (agent::EnvList{{"MODE", "slow"}}));
  EXPECT_EQ(events("wait", "Failed").size(), 2u) << "one event per distinct error, not one per pass";
}

TEST_F(AgentPodSpecTest, AMissingSecretVolumeIsAFailedMountUntilItAppears) {
  start_agent();
  json c = {{"name", "main"}, {"volumeMounts", {{{"name", "tls"}, {"mountPath", "/tls"}}}}};
  cp.create(kPods, pod("tls", c, {{{"name", "tls"}, {"secret", {{"secretName", "certs"}}}}}));
  // The event is recorded before the status is written: wait for both.
  ASSERT_TRUE(eventually([&] { return !events("tls", "FailedMount").empty() && waiting_reason("tls") == "ContainerCreating"; }))
      << status_of("tls").dump();
  EXPECT_EQ(events("tls", "FailedMount")[0], "MountVolume.SetUp failed for volume \"tls\" : secret \"certs\" not found");
  EXPECT_TRUE(runtime.created("main").empty());

  json secret = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "certs"}, {"namespace", "default"}}},
                 {"data", {{"tls.crt", "Y2VydA=="}}}};
  cp.create(kSecrets, secret);
  ASSERT_TRUE(eventually([&] { return running("tls"); })) << status_of("tls").dump();
  auto created = runtime.created("main");
  ASSERT_EQ(created.size(), 1u);
  ASSERT_EQ(created[0].mounts.size(), 1u);
  EXPECT_EQ(read_all(fs::path(created[0].mounts[0].host_path) / "tls.crt"), "cert");
  EXPECT_EQ(events("tls", "FailedMount").size(), 1u);
}

TEST_F(AgentPodSpecTest, AContainerThatExitsOnItsOwnIsNoticedByTheRelist) {
  start_agent();
  json p = pod("job", {{"name", "main"}});
  p["spec"]["restartPolicy"] = "Never";
  cp.create(kPods, p);
  ASSERT_TRUE(eventually([&] { return running("job"); })) << status_of("job").dump();
  // The first relist sees the container; nothing changed since, so the second returns nothing.
  EXPECT_EQ(sync->relist(), std::vector<std::string>{"default/job"});
  EXPECT_TRUE(sync->relist().empty());

  agent::PodRelist relist(*sync, 10, [this](const std::string& key) { runner->queue().add(key); });
  relist.start();
  // The process ends by itself (here: the simulated runtime is told to stop it behind the agent's
  // back). No pod event and no timer would wake the pod up (max_requeue_ms is long): the relist does.
  auto listed = runtime.list_containers("");
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE(runtime.stop_container((*listed)[0].id, 0).is_ok());
  ASSERT_TRUE(eventually([&] { return status_of("job").value("phase", "") == "Failed"; })) << status_of("job").dump();
  EXPECT_EQ(container("job")["state"]["terminated"]["exitCode"], 143);
  relist.stop();
}

}  // namespace
}  // namespace skiff::testing
