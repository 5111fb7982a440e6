#include "agent/node_agent.hpp"

#include <algorithm>
#include <exception>
#include <thread>

#include "agent/container_env.hpp"
#include "agent/pod_status.hpp"
#include "controller_common.hpp"
#include "skiff/plugin/time.hpp"

namespace skiff::agent {
namespace {

namespace rt = plugin::runtime;
using plugin::controller::ReconcileResult;

const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kLeases{"coordination.k8s.io", "v1", "leases"};
const plugin::ResourceId kServices{"", "v1", "services"};
constexpr std::string_view kLeaseNamespace = "kube-node-lease";

std::pair<std::string, std::string> split_key(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

// Kubernetes' MicroTime, for Lease.spec.renewTime.
std::string micro_time(std::int64_t ms) {
  std::string t = plugin::format_rfc3339(ms);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>((ms % 1000) * 1000));
  return t.substr(0, t.size() - 1) + frac + "Z";
}

std::vector<std::string> strings(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// The spec's containers of one kind ("initContainers" or "containers").
const Json& spec_list(const Json& pod, const char* which) {
  static const Json kEmpty = Json::array();
  auto spec = pod.find("spec");
  if (spec == pod.end() || !spec->contains(which) || !(*spec)[which].is_array()) return kEmpty;
  return (*spec)[which];
}

// Does the pod refer to ConfigMap (`secret` false) or Secret `name` in env, envFrom or volumes?
bool refers_to(const Json& pod, bool secret, const std::string& name) {
  const char* key_ref = secret ? "secretKeyRef" : "configMapKeyRef";
  const char* from_ref = secret ? "secretRef" : "configMapRef";
  auto named = [&](const Json& ref) { return ref.is_object() && ref.value("name", "") == name; };
  for (const char* list : {"initContainers", "containers"})
    for (const auto& c : spec_list(pod, list)) {
      for (const auto& e : c.value("env", Json::array()))
        if (e.is_object() && e.contains("valueFrom") && named(e["valueFrom"].value(key_ref, Json()))) return true;
      for (const auto& e : c.value("envFrom", Json::array()))
        if (e.is_object() && named(e.value(from_ref, Json()))) return true;
    }
  for (const auto& v : spec_list(pod, "volumes")) {
    if (!v.is_object()) continue;
    const Json source = v.value(secret ? "secret" : "configMap", Json());
    if (source.is_object() && source.value(secret ? "secretName" : "name", "") == name) return true;
  }
  return false;
}

}  // namespace

std::int64_t restart_backoff_ms(std::uint32_t restarts, std::int64_t base_ms, std::int64_t max_ms) {
  if (restarts == 0) return 0;
  std::int64_t delay = base_ms;
  for (std::uint32_t i = 1; i < restarts && delay < max_ms; ++i) delay *= 2;
  return std::min<std::int64_t>(delay, max_ms);
}

// ---- PodSync ----------------------------------------------------------------------------------

PodSync::PodSync(AgentOptions options, rt::Runtime& runtime)
    : options_(std::move(options)), nodes_(options_.nodes.begin(), options_.nodes.end()), runtime_(runtime),
      volumes_(options_.pods_dir) {}

std::vector<plugin::controller::WatchSpec> PodSync::watches() const noexcept {
  using plugin::controller::KeyMapping;
  // Nodes and leases are watched for their cache (the heartbeat reads them); their events map to no
  // pod. ConfigMaps and Secrets feed env and volumes; their events map to the pods using them.
  // Services feed the service links of containers yet to start (as the kubelet's, a running one
  // keeps what it started with), so theirs map to no pod either.
  return {{kPods, KeyMapping::kSelf, ""},
          {kNodes, KeyMapping::kController, ""},
          {kLeases, KeyMapping::kController, ""},
          {kConfigMaps, KeyMapping::kController, ""},
          {kSecrets, KeyMapping::kController, ""},
          {kServices, KeyMapping::kController, ""}};
}

std::vector<std::string> PodSync::map_event(const plugin::controller::WatchSpec& spec,
                                            const plugin::Object& object) noexcept {
  const bool secret = spec.resource == kSecrets;
  if ((!secret && spec.resource != kConfigMaps) || !host_) return {};
  std::vector<std::string> keys;
  try {
    auto pods = host_->cache.list(kPods, plugin::ListFilter{object.ns, ""});
    if (!pods) return {};
    const std::string quoted = "\"" + object.name + "\"";
    for (const auto& p : *pods) {
      const std::string* node = p->field("spec.nodeName");
      if (node == nullptr || !nodes_.contains(*node)) continue;
      if (p->json.find(quoted) == std::string::npos) continue;  // cheap: most pods never name it
      Json pod = Json::parse(p->json, nullptr, /*allow_exceptions=*/false);
      if (pod.is_object() && refers_to(pod, secret, object.name)) keys.push_back(p->key());
    }
  } catch (const std::exception&) {
    return keys;
  }
  return keys;
}

bool PodSync::first_report(const std::string& key, const std::string& what, const std::string& message) {
  std::lock_guard lock(mu_);
  std::string& last = reported_[key][what];
  if (last == message) return false;
  last = message;
  return true;
}

void PodSync::clear_report(const std::string& key, const std::string& what) {
  std::lock_guard lock(mu_);
  auto it = reported_.find(key);
  if (it != reported_.end()) it->second.erase(what);
}

void PodSync::bind(const plugin::controller::Host& host) noexcept {
  host_ = std::make_unique<plugin::controller::Host>(host);
}

plugin::Status PodSync::adopt() {
  auto sandboxes = runtime_.list_sandboxes();
  if (!sandboxes) return sandboxes.status().with_context("adopt running sandboxes");
  std::set<std::string> uids;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : *sandboxes) {
      if (s.state != rt::SandboxState::kReady) continue;
      std::string key = s.pod.ns + "/" + s.pod.name;
      sandbox_of_[key] = s.id;
      uid_of_[key] = s.pod.uid;
      uids.insert(s.pod.uid);
    }
  }
  // Volumes of pods that went while no agent ran: nothing will tear them down otherwise.
  return volumes_.remove_all_but(uids).with_context("remove the volumes of pods gone");
}

std::size_t PodSync::sandboxes() const {
  std::lock_guard lock(mu_);
  return sandbox_of_.size();
}

plugin::Status PodSync::tear_down(const std::string& key, const char* /*reason*/) {
  std::string id, uid;
  {
    std::lock_guard lock(mu_);
    auto it = sandbox_of_.find(key);
    if (it == sandbox_of_.end()) return plugin::Status::ok();
    id = it->second;
    uid = uid_of_[key];
  }
  if (auto st = runtime_.stop_sandbox(id); !st) return st.with_context("stop sandbox of " + key);
  if (auto st = runtime_.remove_sandbox(id); !st) return st.with_context("remove sandbox of " + key);
  if (auto st = volumes_.tear_down(uid); !st) return st.with_context("volumes of " + key);
  std::lock_guard lock(mu_);
  sandbox_of_.erase(key);
  uid_of_.erase(key);
  probes_.erase(key);
  reported_.erase(key);
  return plugin::Status::ok();
}

void PodSync::stop_containers(const Json& pod, const std::string& sandbox_id,
                              const std::function<void(const std::string& container)>& killing) {
  auto listed = runtime_.list_containers(sandbox_id);
  if (!listed) return;  // the status pass below reports what the runtime says
  const Json& meta = pod["metadata"];
  std::int64_t grace = pod["spec"].value("terminationGracePeriodSeconds", std::int64_t{30});
  if (meta.contains("deletionGracePeriodSeconds") && meta["deletionGracePeriodSeconds"].is_number_integer())
    grace = meta["deletionGracePeriodSeconds"].get<std::int64_t>();
  std::vector<std::thread> stopping;
  for (const auto& c : *listed) {
    if (c.state == rt::ContainerState::kExited) continue;
    killing(c.name);
    std::string id = c.id;
    stopping.emplace_back([this, id, grace] { (void)runtime_.stop_container(id, grace); });
  }
  for (auto& t : stopping) t.join();
}

plugin::Result<ReconcileResult> PodSync::reconcile(std::string_view key) noexcept {
  try {
    return sync(std::string(key));
  } catch (const std::exception& e) {
    return plugin::internal("sync pod " + std::string(key) + ": " + e.what());
  }
}

plugin::Result<ReconcileResult> PodSync::sync(const std::string& key) {
  auto [ns, name] = split_key(key);
  plugin::ObjectPtr object = host_->cache.get(kPods, ns, name);
  const std::string* node = object ? object->field("spec.nodeName") : nullptr;
  if (!object || node == nullptr || !nodes_.contains(*node)) {
    if (auto st = tear_down(key, "deleted"); !st) return st;
    return ReconcileResult{};
  }
  // Being deleted (deletionTimestamp set): the containers are stopped gracefully below, the status
  // shows them terminated, the sandbox goes, and then the agent deletes the pod for good.
  const bool deleting = object->deleting;
  Json pod = Json::parse(object->json);
  const std::int64_t now = host_->clock.now_ms();
  const std::string uid = pod["metadata"].value("uid", "");
  // Same name, new pod: the old one's sandbox goes first.
  bool stale = false;
  {
    std::lock_guard lock(mu_);
    auto it = uid_of_.find(key);
    stale = it != uid_of_.end() && it->second != uid;
  }
  if (stale)
    if (auto st = tear_down(key, "replaced"); !st) return st;

  std::string phase = pod.contains("status") ? pod["status"].value("phase", "") : "";
  std::string sandbox_id;
  {
    std::lock_guard lock(mu_);
    if (auto it = sandbox_of_.find(key); it != sandbox_of_.end()) sandbox_id = it->second;
  }
  plugins::controllers::EventRecorder events(host_->client, host_->clock, "kubelet");
  auto event = [&](std::string_view type, std::string_view reason, const std::string& message) {
    if (options_.events) (void)events.record(pod, type, reason, message);
  };
  // The last step of a graceful deletion: nothing of the pod runs here any more.
  auto finish_deletion = [&]() -> plugin::Result<ReconcileResult> {
    if (auto st = tear_down(key, "deleted"); !st) return st;
    if (!options_.delete_pod) return ReconcileResult{};
    auto st = options_.delete_pod(ns, name, uid);
    // Gone already, or the name now holds another pod (the uid precondition failed): nothing to do.
    if (!st && st.code() != plugin::Code::kNotFound && st.code() != plugin::Code::kConflict)
      return st.with_context("delete pod " + key);
    return ReconcileResult{};
  };
  if (sandbox_id.empty() && deleting) return finish_deletion();  // never started here
  if (sandbox_id.empty() && (phase == "Succeeded" || phase == "Failed")) return ReconcileResult{};  // finished
  if (deleting)
    stop_containers(pod, sandbox_id, [&](const std::string& container) {
      event("Normal", "Killing", "Stopping container " + container);
    });

  rt::SandboxConfig sandbox;
  sandbox.pod = {ns, name, uid, 0};
  sandbox.hostname = name;
  sandbox.log_directory = options_.log_dir + "/" + ns + "_" + name + "_" + uid;
  if (sandbox_id.empty()) {
    auto created = runtime_.run_sandbox(sandbox);
    if (!created) {
      event("Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: " + created.status().message());
      return created.status().with_context("run sandbox for " + key);
    }
    sandbox_id = *created;
    std::lock_guard lock(mu_);
    sandbox_of_[key] = sandbox_id;
    uid_of_[key] = uid;
  }
  // The sandbox's status waits for its network, which the runtime may still be setting up beside
  // the first container's creation: asked only once the IP is needed (an env var reading
  // status.podIP, probes, the pod's status), after the containers of this pass have started.
  std::optional<plugin::Result<rt::SandboxStatus>> sandbox_answer;
  auto sandbox_status = [&]() -> const plugin::Result<rt::SandboxStatus>& {
    if (!sandbox_answer) sandbox_answer = runtime_.sandbox_status(sandbox_id);
    return *sandbox_answer;
  };
  std::string start_error;  // the last start_container failure of this pass

  // The runtime's instances of each container, newest attempt first.
  auto listed = runtime_.list_containers(sandbox_id);
  if (!listed) return listed.status().with_context("containers of " + key);
  std::map<std::string, std::vector<rt::ContainerStatus>> instances;
  for (auto& c : *listed) instances[c.name].push_back(std::move(c));
  for (auto& [n, list] : instances)
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.attempt > b.attempt; });

  const std::string restart_policy = pod["spec"].value("restartPolicy", "Always");
  std::int64_t requeue_ms = 0;
  auto requeue = [&](std::int64_t ms) {
    ms = std::clamp<std::int64_t>(ms, 1, options_.max_requeue_ms);
    requeue_ms = requeue_ms == 0 ? ms : std::min(requeue_ms, ms);
  };

  // The pod's volumes, made (or brought up to date with their ConfigMaps and Secrets) on each pass
  // of a pod that runs. A volume that cannot be made keeps the containers still to start in
  // ContainerCreating, with a FailedMount event, as the kubelet does.
  const ObjectLookup lookup = [this](const plugin::ResourceId& r, std::string_view object_ns, std::string_view object_name) {
    return host_->cache.get(r, object_ns, object_name);
  };
  const bool finished = phase == "Succeeded" || phase == "Failed" || deleting;  // nothing (re)starts
  plugin::Result<NodeVolumes> volumes = NodeVolumes{};
  if (!finished) volumes = volumes_.set_up(pod, lookup);
  if (volumes) clear_report(key, "FailedMount");
  else if (first_report(key, "FailedMount", volumes.status().message()))
    event("Warning", "FailedMount", volumes.status().message());
  const auto pod_ip = [&] {
    const auto& sb = sandbox_status();
    return sb ? sb->ip : std::string();
  };
  PodFacts facts{&pod, pod_ip, options_.host_ip, options_.capacity.cpu, options_.capacity.memory,
                 options_.capacity.ephemeral_storage};
  // Service links, read once per sync and only when a container starts (most syncs start none, and
  // a namespace may hold many Services): the pod's namespace's and the `kubernetes` Service, the
  // only ones service_links() can choose.
  bool links_read = false;
  auto read_service_links = [&] {
    if (links_read) return;
    links_read = true;
    std::vector<plugin::ObjectPtr> services;
    if (auto in_ns = host_->cache.list(kServices, plugin::ListFilter{object->ns, ""}); in_ns) services = std::move(*in_ns);
    if (object->ns != "default")
      if (auto master = host_->cache.get(kServices, "default", "kubernetes")) services.push_back(std::move(master));
    facts.service_links = service_links(services, pod);
  };

  // Starts instance `attempt` of `spec` and reports what the runtime then says of it.
  auto start_instance = [&](ContainerView& view, const Json& spec, std::uint32_t attempt) -> bool {
    if (!volumes) {
      view.waiting_reason = "ContainerCreating";
      requeue(backoff_ms(1));
      return false;
    }
    std::string image = spec.value("image", "");
    // imagePullPolicy as the kubelet reads it (the API server defaults it): IfNotPresent and Never
    // use an image already on the node; Never never pulls.
    const std::string policy = spec.value("imagePullPolicy", "IfNotPresent");
    plugin::Result<rt::ImageInfo> pulled = plugin::not_found("image " + image + " is not on the node");
    if (policy != "Always") {
      auto present = runtime_.image_status(image);
      if (present && *present) pulled = **present;
    }
    if (!pulled && policy == "Never") {
      view.waiting_reason = "ErrImageNeverPull";
      view.waiting_message = "Container image \"" + image + "\" is not present with pull policy of Never";
      event("Warning", "ErrImageNeverPull", view.waiting_message);
      requeue(backoff_ms(attempt + 1));
      return false;
    }
    if (!pulled) {
      event("Normal", "Pulling", "Pulling image \"" + image + "\"");
      pulled = runtime_.pull_image(image);
      if (pulled) event("Normal", "Pulled", "Successfully pulled image \"" + image + "\"");
    }
    if (!pulled) {
      view.waiting_reason = "ErrImagePull";
      view.waiting_message = pulled.status().message();
      event("Warning", "Failed", "Failed to pull image \"" + image + "\": " + pulled.status().message());
      requeue(backoff_ms(attempt + 1));
      return false;
    }
    // What the kubelet calls generating the container config: env, mounts and resources. What it
    // refers to may not exist yet (a ConfigMap, a Secret, a key): CreateContainerConfigError, and
    // another try once the object appears (map_event) or after the backoff.
    const std::string config_report = "config/" + view.name;
    auto config_error = [&](const std::string& message) {
      view.waiting_reason = "CreateContainerConfigError";
      view.waiting_message = message;
      if (first_report(key, config_report, message)) event("Warning", "Failed", "Error: " + message);
      requeue(backoff_ms(attempt + 1));
      return false;
    };
    read_service_links();
    auto env = container_env(spec, facts, lookup);
    if (!env) return config_error(env.status().message());
    auto resources = container_resources(spec);
    if (!resources) return config_error(resources.status().message());
    auto mounts = container_mounts(spec, *volumes, env->env);
    if (!mounts) return config_error(mounts.status().message());
    clear_report(key, config_report);
    for (const auto& skipped : env->skipped) event("Warning", "InvalidEnvironmentVariableNames", skipped);
    rt::ContainerConfig config;
    config.name = view.name;
    config.attempt = attempt;
    config.image = pulled->id;
    // $(VAR) in command and args reads the container's variables, as Kubernetes expands them.
    config.command = expand_words(strings(spec.value("command", Json::array())), env->env);
    config.args = expand_words(strings(spec.value("args", Json::array())), env->env);
    config.working_dir = spec.value("workingDir", "");
    config.env = std::move(env->env);
    config.mounts = std::move(*mounts);
    config.resources = *resources;
    config.log_path = view.name + "/" + std::to_string(attempt) + ".log";
    auto id = runtime_.create_container(sandbox_id, config, sandbox);
    if (!id) {
      view.waiting_reason = "CreateContainerError";
      view.waiting_message = id.status().message();
      requeue(backoff_ms(attempt + 1));
      return false;
    }
    event("Normal", "Created", "Created container " + view.name);
    if (auto st = runtime_.start_container(*id); !st) {
      start_error = st.message();
      view.waiting_reason = "RunContainerError";
      view.waiting_message = st.message();
      requeue(backoff_ms(attempt + 1));
      return false;
    }
    event("Normal", "Started", "Started container " + view.name);
    // Only the newest two instances matter (state and lastState); older ones go.
    if (view.previous) (void)runtime_.remove_container(view.previous->id);
    view.previous = view.current;
    auto status = runtime_.container_status(*id);
    if (status) view.current = *status;
    return true;
  };

  // Brings one container forward; true when it has completed successfully (what init containers wait for).
  auto drive = [&](ContainerView& view, const Json& spec) -> bool {
    if (!view.current) {
      start_instance(view, spec, 0);
    } else if (view.current->state == rt::ContainerState::kExited) {
      bool ok = view.current->exit_code == 0;
      if (view.init && ok) return true;
      bool restart = view.init ? restart_policy != "Never"
                               : restart_policy == "Always" || (restart_policy == "OnFailure" && !ok);
      if (!restart) return ok;
      std::uint32_t next = view.current->attempt + 1;
      std::int64_t ready_at = view.current->finished_at_ms + backoff_ms(view.current->attempt);
      if (now < ready_at) {
        view.waiting_reason = "CrashLoopBackOff";
        view.waiting_message = "back-off " + std::to_string(backoff_ms(view.current->attempt) / 1000) +
                               "s restarting failed container=" + view.name + " pod=" + name + "_" + ns + "(" + uid + ")";
        event("Warning", "BackOff", "Back-off restarting failed container " + view.name + " in pod " + name + "_" + ns);
        requeue(ready_at - now);
      } else {
        start_instance(view, spec, next);
      }
    }
    if (view.current && view.current->state == rt::ContainerState::kCreated && view.waiting_reason.empty())
      requeue(100);  // still starting: look again soon
    return view.current && view.current->state == rt::ContainerState::kExited && view.current->exit_code == 0;
  };

  // Startup, liveness and readiness probes of a running app container: due ones run now, the pod is
  // requeued for the next. A failed liveness or startup probe stops the container; drive() then
  // restarts it by restartPolicy with the usual backoff.
  auto probe = [&](ContainerView& view, const Json& spec) {
    if (!view.current || view.current->state != rt::ContainerState::kRunning || !view.waiting_reason.empty()) return;
    const std::string id = view.current->id;
    static const char* const kProbeFields[] = {"startupProbe", "livenessProbe", "readinessProbe"};
    if (std::none_of(std::begin(kProbeFields), std::end(kProbeFields),
                     [&](const char* f) { return spec.contains(f) && !spec[f].is_null(); }))
      return;
    ContainerProbes* state = nullptr;
    {
      std::lock_guard lock(mu_);
      state = &probes_[key][view.name];
      if (state->container_id != id) {
        *state = ContainerProbes{id, {}, {}, {}, false};
        state->liveness.result = true;  // alive until proven otherwise; not started, not ready
      }
    }
    std::optional<ProbeSpec> startup, liveness, readiness;
    for (auto [field, target] : {std::pair{"startupProbe", &startup}, std::pair{"livenessProbe", &liveness},
                                 std::pair{"readinessProbe", &readiness}}) {
      if (!spec.contains(field) || spec[field].is_null()) continue;
      auto parsed = parse_probe(spec[field], spec, "spec.containers[" + view.name + "]." + field);
      if (!parsed) {
        // Bad input: reported, and the container is neither started nor ready, but not killed.
        if (!state->reported_bad) event("Warning", "FailedProbeSpec", parsed.status().message());
        state->reported_bad = true;  // once per container instance, not on every pass
        view.started = view.ready = false;
        return;
      }
      *target = *parsed;
    }
    const std::string ip = facts.pod_ip();
    bool killed = false;
    // One probe's step; events for a failure, true when its failures reached the threshold.
    auto run = [&](const ProbeSpec& p, ProbeState& st, const char* kind) {
      ProbeStep step = step_probe(p, st, view.current->started_at_ms, now, runtime_, id, ip);
      requeue(step.wait_ms);
      if (!step.ran || step.outcome->success) return false;
      event("Warning", "Unhealthy", std::string(kind) + " probe failed: " + step.outcome->message);
      return st.failures >= p.failure_threshold;
    };
    auto kill = [&](const char* kind) {
      event("Normal", "Killing", "Container " + view.name + " failed " + kind + " probe, will be restarted");
      std::int64_t grace = pod["spec"].value("terminationGracePeriodSeconds", std::int64_t{30});
      (void)runtime_.stop_container(id, grace);
      if (auto after = runtime_.container_status(id)) view.current = *after;
      killed = true;
      requeue(1);
    };
    if (startup && !state->startup.result && run(*startup, state->startup, "Startup")) kill("startup");
    const bool started = !startup || state->startup.result;
    if (!killed && started && liveness && run(*liveness, state->liveness, "Liveness")) kill("liveness");
    if (!killed && started && readiness) run(*readiness, state->readiness, "Readiness");
    view.started = started;
    view.ready = !readiness || state->readiness.result;
  };

  PodView view;
  view.pod = &pod;
  view.host_ip = options_.host_ip;
  view.runtime_name = options_.runtime_name;
  view.now_ms = now;
  auto make_view = [&](const Json& spec, bool init) {
    ContainerView v;
    v.name = spec.value("name", "");
    v.image = spec.value("image", "");
    v.init = init;
    auto it = instances.find(v.name);
    if (it != instances.end()) {
      if (!it->second.empty()) v.current = it->second[0];
      if (it->second.size() > 1) v.previous = it->second[1];
    }
    return v;
  };
  bool initialized = true;
  for (const auto& spec : spec_list(pod, "initContainers")) {
    ContainerView v = make_view(spec, true);
    if (initialized && !finished) initialized = drive(v, spec);
    else if (!initialized) v.waiting_reason = "PodInitializing";
    view.containers.push_back(std::move(v));
  }
  for (const auto& spec : spec_list(pod, "containers")) {
    ContainerView v = make_view(spec, false);
    if (initialized && !finished) {
      drive(v, spec);
      probe(v, spec);
    } else if (!initialized) {
      v.waiting_reason = "PodInitializing";
    }
    view.containers.push_back(std::move(v));
  }

  const auto& sb = sandbox_status();
  if (!sb) return sb.status().with_context("sandbox of " + key);
  // A sandbox whose network failed (the runtime reports it not ready): as the kubelet does, it goes,
  // and the next pass (after the queue's backoff) makes a new one.
  if (!finished && sb->state != rt::SandboxState::kReady) {
    std::string why = start_error.empty() ? "sandbox " + sandbox_id + " is not ready" : start_error;
    event("Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: " + why);
    if (auto st = tear_down(key, "sandbox not ready"); !st) return st;
    return plugin::unavailable(why).with_context("run sandbox for " + key);
  }
  view.sandbox = *sb;
  Json status = compute_pod_status(view);
  if (!pod.contains("status") || pod["status"] != status) {
    pod["status"] = status;
    auto written = host_->client.update_status(kPods, pod.dump());
    if (!written) return written.status();
  }
  if (deleting) return finish_deletion();
  // A finished pod keeps no sandbox (its IP and resources go back), as the kubelet does.
  std::string new_phase = status.value("phase", "");
  if (new_phase == "Succeeded" || new_phase == "Failed")
    if (auto st = tear_down(key, "finished"); !st) return st;
  return ReconcileResult{requeue_ms};
}

// ---- relist (PLEG) ---------------------------------------------------------------------------

std::vector<std::string> PodSync::relist() {
  auto listed = runtime_.list_containers("");
  if (!listed) return {};
  std::map<std::string, std::string> pod_of_sandbox;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, id] : sandbox_of_) pod_of_sandbox[id] = key;
  }
  std::set<std::string> changed;
  std::map<std::string, rt::ContainerState> now;
  std::lock_guard lock(relist_mu_);
  for (const auto& c : *listed) {
    auto pod = pod_of_sandbox.find(c.sandbox_id);
    if (pod == pod_of_sandbox.end()) continue;
    now[c.id] = c.state;
    auto before = relisted_.find(c.id);
    if (before == relisted_.end() || before->second != c.state) changed.insert(pod->second);
  }
  relisted_ = std::move(now);
  return {changed.begin(), changed.end()};
}

PodRelist::PodRelist(PodSync& sync, std::int64_t interval_ms, std::function<void(const std::string&)> enqueue)
    : sync_(sync), interval_ms_(interval_ms), enqueue_(std::move(enqueue)) {}

PodRelist::~PodRelist() { stop(); }

void PodRelist::start() {
  periodic_.start(std::chrono::milliseconds(interval_ms_), [this] {
    for (const auto& key : sync_.relist()) enqueue_(key);
  });
}

void PodRelist::stop() { periodic_.stop(); }

// ---- NodeHeartbeat -----------------------------------------------------------------------------

NodeHeartbeat::NodeHeartbeat(AgentOptions options, plugin::Client& client, const plugin::Clock& clock,
                             plugin::Logger& logger, std::string runtime_version)
    : options_(std::move(options)), client_(client), clock_(clock), logger_(logger),
      runtime_version_(std::move(runtime_version)) {}

NodeHeartbeat::~NodeHeartbeat() { stop(); }

plugin::Status NodeHeartbeat::register_nodes(const plugin::Cache& cache) {
  plugin::Status first = plugin::Status::ok();
  for (const auto& name : options_.nodes) {
    if (cache.get(kNodes, "", name)) continue;
    const auto& cap = options_.capacity;
    Json resources = {{"cpu", cap.cpu}, {"memory", cap.memory}, {"pods", cap.pods},
                      {"ephemeral-storage", cap.ephemeral_storage}};
    std::string now = plugin::format_rfc3339(clock_.now_ms());
    Json node = {
        {"apiVersion", "v1"},
        {"kind", "Node"},
        {"metadata",
         {{"name", name},
          {"labels",
           {{"kubernetes.io/hostname", name}, {"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", "amd64"},
            {"beta.kubernetes.io/os", "linux"}, {"beta.kubernetes.io/arch", "amd64"}}}}},
        {"spec", Json::object()},
        {"status",
         {{"capacity", resources},
          {"allocatable", resources},
          {"addresses", {{{"type", "InternalIP"}, {"address", options_.host_ip}}, {{"type", "Hostname"}, {"address", name}}}},
          {"nodeInfo",
           {{"kubeletVersion", "v1.32.0-skiff"}, {"containerRuntimeVersion", options_.runtime_name + "://" + runtime_version_},
            {"operatingSystem", "linux"}, {"architecture", "amd64"}, {"osImage", "Skiff"}, {"kernelVersion", ""},
            {"kubeProxyVersion", ""}, {"machineID", ""}, {"systemUUID", ""}, {"bootID", ""}}},
          {"conditions",
           {{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"},
             {"message", "skiff agent is posting ready status"}, {"lastHeartbeatTime", now}, {"lastTransitionTime", now}}}}}}};
    auto created = client_.create(kNodes, "", node.dump());
    if (!created && created.status().code() != plugin::Code::kAlreadyExists && first.is_ok())
      first = created.status().with_context("register node " + name);
  }
  return first;
}

plugin::Status NodeHeartbeat::beat_node(const plugin::Cache& cache, const std::string& name) {
  const std::int64_t now = clock_.now_ms();
  // The Lease: the cheap, frequent heartbeat the node lifecycle controller reads.
  if (auto lease = cache.get(kLeases, kLeaseNamespace, name)) {
    Json j = Json::parse(lease->json);
    j["spec"]["renewTime"] = micro_time(now);
    j["spec"]["holderIdentity"] = name;
    auto written = client_.update(kLeases, j.dump());
    if (!written) return written.status().with_context("renew lease of " + name);
  } else {
    Json j = {{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata", {{"name", name}, {"namespace", kLeaseNamespace}}},
              {"spec",
               {{"holderIdentity", name},
                {"leaseDurationSeconds", options_.lease_duration_seconds},
                {"renewTime", micro_time(now)}}}};
    auto created = client_.create(kLeases, std::string(kLeaseNamespace), j.dump());
    if (!created && created.status().code() != plugin::Code::kAlreadyExists)
      return created.status().with_context("create lease of " + name);
  }
  // Node status: Ready=True with a fresh heartbeat (a node the lifecycle controller marked Unknown
  // becomes Ready again here).
  auto node = cache.get(kNodes, "", name);
  if (!node) return register_nodes(cache);
  Json j = Json::parse(node->json);
  std::string stamp = plugin::format_rfc3339(now);
  Json& conditions = j["status"]["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  bool found = false;
  for (Json& c : conditions) {
    if (!c.is_object() || c.value("type", "") != "Ready") continue;
    found = true;
    if (c.value("status", "") != "True") {
      c["status"] = "True";
      c["reason"] = "KubeletReady";
      c["message"] = "skiff agent is posting ready status";
      c["lastTransitionTime"] = stamp;
    }
    c["lastHeartbeatTime"] = stamp;
  }
  if (!found)
    conditions.push_back({{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"},
                          {"message", "skiff agent is posting ready status"}, {"lastHeartbeatTime", stamp},
                          {"lastTransitionTime", stamp}});
  auto written = client_.update_status(kNodes, j.dump());
  if (!written) return written.status().with_context("node status of " + name);
  return plugin::Status::ok();
}

plugin::Status NodeHeartbeat::beat(const plugin::Cache& cache) {
  plugin::Status first = plugin::Status::ok();
  for (const auto& name : options_.nodes)
    if (auto st = beat_node(cache, name); !st && first.is_ok()) first = st;
  return first;
}

void NodeHeartbeat::start(const plugin::Cache& cache) {
  periodic_.start(
      std::chrono::milliseconds(options_.heartbeat_interval_ms),
      [this, &cache] {
        if (auto st = beat(cache); !st) logger_.warn("heartbeat failed", {{"error", st.message()}});
      },
      /*run_at_start=*/true);
}

void NodeHeartbeat::stop() { periodic_.stop(); }

}  // namespace skiff::agent
