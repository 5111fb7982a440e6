#include "sim_runtime.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>

namespace skiff::plugins::runtime::sim {
namespace {

namespace rt = plugin::runtime;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The image name without registry-less tag or digest: "app-exit-3:v1" → "app-exit-3".
std::string_view image_name(std::string_view reference) {
  if (auto at = reference.find('@'); at != std::string_view::npos) reference = reference.substr(0, at);
  auto slash = reference.rfind('/');
  auto colon = reference.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
    reference = reference.substr(0, colon);
  return reference;
}

// The exit code an image asks for ("-exit-<N>"), if any.
std::optional<std::int32_t> requested_exit(std::string_view image) {
  std::string_view name = image_name(image);
  auto at = name.rfind("-exit-");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view digits = name.substr(at + 6);
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  std::int32_t code = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    code = code * 10 + (c - '0');
  }
  return code;
}

class SimRuntime final : public rt::Runtime {
 public:
  SimRuntime(SimOptions options, std::function<std::int64_t()> now) : options_(std::move(options)), now_(std::move(now)) {
    if (!now_) now_ = wall_ms;
  }

  std::string version() const noexcept override { return "0.1.0"; }

  plugin::Result<std::string> run_sandbox(const rt::SandboxConfig& config) noexcept override {
    try {
      std::lock_guard lock(mu_);
      std::string id = "sb-" + std::to_string(++next_id_);
      rt::SandboxStatus s;
      s.id = id;
      s.pod = config.pod;
      s.state = rt::SandboxState::kReady;
      s.ip = next_ip();
      s.created_at_ms = now_();
      sandboxes_[id] = std::move(s);
      return id;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("sim run_sandbox: ") + e.what());
    }
  }

  plugin::Status stop_sandbox(std::string_view sandbox_id) noexcept override {
    std::lock_guard lock(mu_);
    auto it = sandboxes_.find(std::string(sandbox_id));
    if (it == sandboxes_.end()) return plugin::Status::ok();  // idempotent, as CRI asks
    for (auto& [id, c] : containers_)
      if (c.sandbox_id == sandbox_id) stop_locked(c, 137);
    it->second.state = rt::SandboxState::kNotReady;
    return plugin::Status::ok();
  }

  plugin::Status remove_sandbox(std::string_view sandbox_id) noexcept override {
    std::lock_guard lock(mu_);
    std::erase_if(containers_, [&](const auto& entry) { return entry.second.sandbox_id == sandbox_id; });
    sandboxes_.erase(std::string(sandbox_id));
    return plugin::Status::ok();
  }

  plugin::Result<rt::SandboxStatus> sandbox_status(std::string_view sandbox_id) noexcept override {
    std::lock_guard lock(mu_);
    auto it = sandboxes_.find(std::string(sandbox_id));
    if (it == sandboxes_.end()) return plugin::not_found("sim: no sandbox " + std::string(sandbox_id));
    return it->second;
  }

  plugin::Result<std::vector<rt::SandboxStatus>> list_sandboxes() noexcept override {
    try {
      std::lock_guard lock(mu_);
      std::vector<rt::SandboxStatus> out;
      for (const auto& [id, s] : sandboxes_) out.push_back(s);
      return out;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("sim list_sandboxes: ") + e.what());
    }
  }

  plugin::Result<std::string> create_container(std::string_view sandbox_id, const rt::ContainerConfig& config,
                                               const rt::SandboxConfig& sandbox) noexcept override {
    try {
      std::lock_guard lock(mu_);
      if (!sandboxes_.contains(std::string(sandbox_id)))
        return plugin::not_found("sim: no sandbox " + std::string(sandbox_id));
      std::string id = "ctr-" + std::to_string(++next_id_);
      rt::ContainerStatus c;
      c.id = id;
      c.sandbox_id = std::string(sandbox_id);
      c.name = config.name;
      c.attempt = config.attempt;
      c.state = rt::ContainerState::kCreated;
      c.created_at_ms = now_();
      // The agent passes the pulled image's id; behaviour follows the reference it was pulled as.
      c.image = config.image;
      for (const auto& [reference, info] : images_)
        if (info.id == config.image) c.image = reference;
      c.image_id = image_id(c.image);
      c.log_path = sandbox.log_directory + "/" + config.log_path;
      containers_[id] = std::move(c);
      return id;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("sim create_container: ") + e.what());
    }
  }

  plugin::Status start_container(std::string_view container_id) noexcept override {
    std::lock_guard lock(mu_);
    auto* c = find(container_id);
    if (c == nullptr) return plugin::not_found("sim: no container " + std::string(container_id));
    if (c->state != rt::ContainerState::kCreated)
      return plugin::bad_request("sim: container " + std::string(container_id) + " is not in state created");
    c->state = rt::ContainerState::kRunning;
    c->started_at_ms = now_() + options_.start_latency_ms;
    if (auto code = requested_exit(c->image)) {
      c->state = rt::ContainerState::kExited;
      c->finished_at_ms = c->started_at_ms;
      c->exit_code = *code;
      c->reason = *code == 0 ? "Completed" : "Error";
    }
    return plugin::Status::ok();
  }

  plugin::Status stop_container(std::string_view container_id, std::int64_t /*grace_seconds*/) noexcept override {
    std::lock_guard lock(mu_);
    auto* c = find(container_id);
    if (c == nullptr) return plugin::not_found("sim: no container " + std::string(container_id));
    stop_locked(*c, 143);  // a simulated process honours SIGTERM at once
    return plugin::Status::ok();
  }

  plugin::Status remove_container(std::string_view container_id) noexcept override {
    std::lock_guard lock(mu_);
    containers_.erase(std::string(container_id));
    return plugin::Status::ok();
  }

  plugin::Result<rt::ContainerStatus> container_status(std::string_view container_id) noexcept override {
    std::lock_guard lock(mu_);
    auto* c = find(container_id);
    if (c == nullptr) return plugin::not_found("sim: no container " + std::string(container_id));
    return visible(*c);
  }

  plugin::Result<std::vector<rt::ContainerStatus>> list_containers(std::string_view sandbox_id) noexcept override {
    try {
      std::lock_guard lock(mu_);
      std::vector<rt::ContainerStatus> out;
      for (const auto& [id, c] : containers_)
        if (sandbox_id.empty() || c.sandbox_id == sandbox_id) out.push_back(visible(c));
      return out;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("sim list_containers: ") + e.what());
    }
  }

  plugin::Result<rt::ExecResult> exec_sync(std::string_view container_id, const std::vector<std::string>& command,
                                           std::int64_t /*timeout_seconds*/) noexcept override {
    std::lock_guard lock(mu_);
    auto* c = find(container_id);
    if (c == nullptr || visible(*c).state != rt::ContainerState::kRunning)
      return plugin::bad_request("sim: container " + std::string(container_id) + " is not running");
    // Probes and `kubectl exec` succeed; `false` fails, so tests can make a probe fail.
    rt::ExecResult r;
    r.exit_code = !command.empty() && command.front() == "false" ? 1 : 0;
    return r;
  }

  plugin::Result<std::int32_t> exec(std::string_view container_id, const std::vector<std::string>& command,
                                    const rt::ExecStreams& streams) noexcept override {
    auto r = exec_sync(container_id, command, 0);
    if (!r) return r.status();
    if (streams.on_output) streams.on_output(1, "");
    // `cat` copies stdin to stdout, so tests can see input travel through the API and the agent.
    if (!command.empty() && command.front() == "cat" && streams.read_stdin) {
      std::string chunk;
      while (streams.read_stdin(chunk))
        if (!chunk.empty() && streams.on_output) streams.on_output(1, chunk);
    }
    return r->exit_code;
  }

  plugin::Result<rt::ContainerStats> container_stats(std::string_view container_id) noexcept override {
    std::lock_guard lock(mu_);
    if (find(container_id) == nullptr) return plugin::not_found("sim: no container " + std::string(container_id));
    return rt::ContainerStats{std::string(container_id), 0, 0};
  }

  plugin::Result<rt::ImageInfo> pull_image(std::string_view reference) noexcept override {
    if (image_name(reference).ends_with("-missing"))
      return plugin::not_found("sim: pull " + std::string(reference) + ": manifest unknown");
    try {
      std::lock_guard lock(mu_);
      rt::ImageInfo info{image_id(reference), {std::string(reference)}, {}, 1024};
      images_[std::string(reference)] = info;
      return info;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("sim pull_image: ") + e.what());
    }
  }

  plugin::Result<std::optional<rt::ImageInfo>> image_status(std::string_view reference) noexcept override {
    std::lock_guard lock(mu_);
    auto it = images_.find(std::string(reference));
    if (it == images_.end()) return std::optional<rt::ImageInfo>{};
    return std::optional<rt::ImageInfo>{it->second};
  }

  plugin::Result<std::vector<rt::ImageInfo>> list_images() noexcept override {
    try {
      std::lock_guard lock(mu_);
      std::vector<rt::ImageInfo> out;
      for (const auto& [ref, info] : images_) out.push_back(info);
      return out;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("sim list_images: ") + e.what());
    }
  }

  plugin::Status remove_image(std::string_view image_id) noexcept override {
    std::lock_guard lock(mu_);
    std::erase_if(images_, [&](const auto& entry) { return entry.second.id == image_id; });
    return plugin::Status::ok();
  }

 private:
  rt::ContainerStatus* find(std::string_view id) {
    auto it = containers_.find(std::string(id));
    return it == containers_.end() ? nullptr : &it->second;
  }

  // Before its start latency has passed, a started container still shows as created.
  rt::ContainerStatus visible(const rt::ContainerStatus& c) const {
    rt::ContainerStatus out = c;
    if (c.state != rt::ContainerState::kCreated && c.started_at_ms > now_()) {
      out.state = rt::ContainerState::kCreated;
      out.started_at_ms = 0;
      out.finished_at_ms = 0;
      out.exit_code = 0;
      out.reason.clear();
    }
    return out;
  }

  void stop_locked(rt::ContainerStatus& c, std::int32_t code) {
    if (c.state == rt::ContainerState::kExited) return;
    std::int64_t now = now_();
    if (c.state == rt::ContainerState::kCreated || c.started_at_ms > now) c.started_at_ms = now;
    c.state = rt::ContainerState::kExited;
    c.finished_at_ms = now;
    c.exit_code = code;
    c.reason = "Error";
  }

  std::string next_ip() {
    // 65,534 addresses per pool; the counter wraps, which is fine for a simulation.
    std::uint32_t n = (next_ip_++ % 65534u) + 2u;
    return options_.ip_pool + "." + std::to_string(n / 256) + "." + std::to_string(n % 256);
  }

  static std::string image_id(std::string_view reference) {
    // A stable fake digest: FNV-1a of the reference, repeated to digest length.
    std::uint64_t h = 1469598103934665603ull;
    for (char ch : reference) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    std::string digest = "sha256:";
    for (int i = 0; i < 4; ++i) digest += hex;
    return digest;
  }

  const SimOptions options_;
  std::function<std::int64_t()> now_;
  std::mutex mu_;
  std::uint64_t next_id_ = 0;
  std::uint32_t next_ip_ = 0;
  std::map<std::string, rt::SandboxStatus> sandboxes_;
  std::map<std::string, rt::ContainerStatus> containers_;
  std::map<std::string, rt::ImageInfo> images_;
};

}  // namespace

const std::array<plugin::OptionSpec, 2> kOptions{{
    {"start-latency-ms", "0", "time from starting a simulated container to it counting as running, in ms"},
    {"ip-pool", "10.88", "first two octets of the /16 that simulated pod IPs come from"},
}};

std::unique_ptr<plugin::runtime::Runtime> make_sim_runtime(SimOptions options, std::function<std::int64_t()> now_ms) {
  return std::make_unique<SimRuntime>(std::move(options), std::move(now_ms));
}

plugin::Result<std::unique_ptr<plugin::runtime::Runtime>> make_runtime(const plugin::PluginContext& context) {
  SimOptions options;
  auto latency = context.config.get_int("start-latency-ms", 0, 3'600'000);
  if (!latency) return latency.status();
  options.start_latency_ms = *latency;
  auto pool = context.config.get_string("ip-pool");
  if (!pool) return pool.status();
  int a = -1, b = -1;
  char extra = 0;
  if (std::sscanf(pool->c_str(), "%d.%d%c", &a, &b, &extra) != 2 || a < 0 || a > 255 || b < 0 || b > 255)
    return plugin::invalid("config " + context.config.full_key("ip-pool") + ": expected two octets like 10.88, got '" +
                           *pool + "'");
  options.ip_pool = *pool;
  return make_sim_runtime(std::move(options));
}

}  // namespace skiff::plugins::runtime::sim
