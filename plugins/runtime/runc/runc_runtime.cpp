#include "runc_runtime.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "image_store.hpp"
#include "oci_spec.hpp"
#include "pod_network.hpp"
#include "reference.hpp"
#include "registry_pull.hpp"
#include "subprocess.hpp"

extern char** environ;

namespace skiff::plugins::runtime::runc {
namespace {

namespace fs = std::filesystem;
namespace rt = plugin::runtime;
using Json = nlohmann::json;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[25];
  std::snprintf(hex, sizeof hex, "%016llx%08llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() & 0xffffffffu));
  return hex;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

plugin::Status write_text(const fs::path& p, std::string_view text) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) return plugin::internal("write " + tmp.string() + " failed");
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) return plugin::internal("rename " + tmp.string() + ": " + ec.message());
  return plugin::Status::ok();
}

Json read_json(const fs::path& p) { return Json::parse(read_text(p), nullptr, false); }

// An id from the agent becomes a path component: only the ids this plugin makes are accepted.
bool valid_id(std::string_view id) {
  return id.size() == 24 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool loopback_registry(const std::string& registry) {
  return registry.starts_with("127.") || registry.starts_with("localhost") || registry.starts_with("[::1]");
}

Json pod_json(const rt::PodRef& p) { return {{"ns", p.ns}, {"name", p.name}, {"uid", p.uid}, {"attempt", p.attempt}}; }
rt::PodRef pod_from(const Json& j) {
  return {j.value("ns", ""), j.value("name", ""), j.value("uid", ""), j.value("attempt", 0u)};
}

Json ports_json(const std::vector<rt::PortMapping>& ports) {
  Json out = Json::array();
  for (const auto& p : ports)
    out.push_back({{"protocol", p.protocol}, {"container_port", p.container_port}, {"host_port", p.host_port},
                   {"host_ip", p.host_ip}});
  return out;
}
std::vector<rt::PortMapping> ports_from(const Json& j) {
  std::vector<rt::PortMapping> out;
  if (j.is_array())
    for (const auto& p : j)
      out.push_back({p.value("protocol", "TCP"), p.value("container_port", 0), p.value("host_port", 0),
                     p.value("host_ip", "")});
  return out;
}

// The directory of the shared object (or executable) this code is linked into.
fs::path own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) != 0 && info.dli_fname != nullptr)
    return fs::absolute(info.dli_fname).parent_path();
  return {};
}

class RuncRuntime final : public rt::Runtime {
 public:
  RuncRuntime(RuncOptions o, plugin::Logger* logger, std::string binary, std::string version,
              bool hide_cgroup2, bool exec_fifo_start)
      : o_(std::move(o)), logger_(logger), binary_(std::move(binary)), version_(std::move(version)),
        hide_cgroup2_(hide_cgroup2), exec_fifo_start_(exec_fifo_start),
        images_(o_.image_dir),
        network_(NetworkOptions{o_.cni_plugin_dir, o_.pod_cidr, o_.bridge, o_.node_netns,
                                fs::path(o_.state_dir) / "cni" / "ipam", o_.ip_masq}) {
    // Warm networks an earlier instance left (it crashed, or stopped without tearing them down)
    // are torn down: no pod holds them, and their record is only their directory.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(o_.state_dir) / "warm", ec))
      tear_down_warm(entry.path().filename().string());
    refill_warm();
  }

  ~RuncRuntime() override {
    std::future<void> filling;
    {
      std::lock_guard lock(warm_mu_);
      stopping_ = true;
      filling = std::move(warm_fill_);
    }
    if (filling.valid()) filling.wait();
    for (const auto& w : warm_) tear_down_warm(w.id);
    std::lock_guard lock(networks_mu_);
    for (auto& [id, done] : networks_) done.wait();
  }

  std::string version() const noexcept override { return version_; }

  // ---- sandboxes ----

  plugin::Result<std::string> run_sandbox(const rt::SandboxConfig& config) noexcept override {
    try {
      std::string id = random_id();
      fs::path dir = sandbox_dir(id);
      fs::create_directories(dir);
      Json meta = {{"id", id},
                   {"pod", pod_json(config.pod)},
                   {"hostname", config.hostname},
                   {"log_directory", config.log_directory},
                   {"ports", ports_json(config.port_mappings)},
                   {"created_at_ms", wall_ms()},
                   {"ip", ""}};
      if (auto st = write_text(dir / "sandbox.json", meta.dump()); !st) return st;
      auto fail = [&](const plugin::Status& st) -> plugin::Result<std::string> {
        (void)network_.del(meta.value("cni_id", id), (dir / "netns").string(), config.port_mappings, dir / "cni-result.json");
        (void)destroy_netns(dir / "netns");
        std::error_code ec;
        fs::remove_all(dir, ec);
        return st.with_context("run sandbox for pod " + config.pod.ns + "/" + config.pod.name);
      };
      // A pod without hostPorts takes a network made ahead of time, if one is ready: its namespace
      // moves under the sandbox and the pod has its IP now, with no CNI run on its path. (portmap
      // needs the pod's ports at ADD.)
      std::optional<WarmNetwork> warm;
      if (config.port_mappings.empty()) warm = take_warm();
      if (warm) {
        fs::path from = warm_dir(warm->id);
        std::error_code ec;
        if (auto st = move_netns(from / "netns", dir / "netns"); !st) {
          tear_down_warm(warm->id);
          return fail(st);
        }
        meta["cni_id"] = warm->id;  // the container id its CNI ADD used, which the DEL must use
        meta["ip"] = warm->ip;
        fs::rename(from / "cni-result.json", dir / "cni-result.json", ec);
        if (ec) return fail(plugin::internal("take warm network " + warm->id + ": " + ec.message()));
        fs::remove_all(from, ec);
      } else if (auto st = create_netns(dir / "netns"); !st) {
        return fail(st);
      }
      // The files every container of the pod sees as /etc/resolv.conf, /etc/hosts, /etc/hostname.
      std::string resolv;
      if (config.dns_servers.empty()) {
        resolv = read_text("/etc/resolv.conf");
      } else {
        for (const auto& s : config.dns_servers) resolv += "nameserver " + s + "\n";
        if (!config.dns_searches.empty()) {
          resolv += "search";
          for (const auto& s : config.dns_searches) resolv += " " + s;
          resolv += "\n";
        }
        if (!config.dns_options.empty()) {
          resolv += "options";
          for (const auto& s : config.dns_options) resolv += " " + s;
          resolv += "\n";
        }
      }
      std::string hostname = config.hostname.empty() ? config.pod.name : config.hostname;
      if (auto st = write_text(dir / "resolv.conf", resolv); !st) return fail(st);
      // The pod's own line now when its IP is known, else once set_up_network has it.
      if (auto st = write_text(dir / "hosts", hosts_file(warm ? warm->ip + "\t" + hostname + "\n" : "")); !st) return fail(st);
      if (auto st = write_text(dir / "hostname", hostname + "\n"); !st) return fail(st);
      meta["hostname"] = hostname;
      if (warm) {
        if (auto st = write_text(dir / "sandbox.json", meta.dump()); !st) return fail(st);
        return id;
      }
      meta["network"] = "pending";
      if (auto st = write_text(dir / "sandbox.json", meta.dump()); !st) return fail(st);
      // CNI ADD (two Go programs, ~45 ms here) runs beside `runc create` of the pod's first container
      // (~80 ms); start_container waits for it, so no container runs before its pod has its IP.
      std::lock_guard lock(networks_mu_);
      networks_[id] = std::async(std::launch::async, [this, id, ports = config.port_mappings,
                                                      pod = config.pod.ns + "/" + config.pod.name] {
                        return set_up_network(id, ports, pod);
                      }).share();
      return id;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc run_sandbox: ") + e.what());
    }
  }

  plugin::Status stop_sandbox(std::string_view sandbox_id) noexcept override {
    try {
      if (!valid_id(sandbox_id)) return plugin::Status::ok();
      fs::path dir = sandbox_dir(sandbox_id);
      (void)await_network(sandbox_id);  // a CNI DEL must not overtake the ADD
      Json meta = read_json(dir / "sandbox.json");
      if (!meta.is_object()) return plugin::Status::ok();  // gone already: stop is idempotent
      for (const auto& c : containers_of(sandbox_id))
        if (auto st = stop_container(c, o_.sandbox_stop_grace_seconds); !st) return st;
      if (!fs::exists(dir / "stopped")) {
        std::string id(sandbox_id);
        if (fs::exists(dir / "netns"))
          if (auto st = network_.del(meta.value("cni_id", id), (dir / "netns").string(), ports_from(meta["ports"]),
                                     dir / "cni-result.json");
              !st)
            return st.with_context("stop sandbox " + id);
        if (auto st = destroy_netns(dir / "netns"); !st) return st;
        if (auto st = write_text(dir / "stopped", ""); !st) return st;
      }
      return plugin::Status::ok();
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc stop_sandbox: ") + e.what());
    }
  }

  plugin::Status remove_sandbox(std::string_view sandbox_id) noexcept override {
    try {
      if (!valid_id(sandbox_id)) return plugin::Status::ok();
      if (auto st = stop_sandbox(sandbox_id); !st) return st;
      for (const auto& c : containers_of(sandbox_id))
        if (auto st = remove_container(c); !st) return st;
      std::error_code ec;
      fs::remove_all(sandbox_dir(sandbox_id), ec);
      if (ec) return plugin::internal("remove sandbox " + std::string(sandbox_id) + ": " + ec.message());
      return plugin::Status::ok();
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc remove_sandbox: ") + e.what());
    }
  }

  plugin::Result<rt::SandboxStatus> sandbox_status(std::string_view sandbox_id) noexcept override {
    try {
      if (!valid_id(sandbox_id)) return plugin::not_found("runc: no sandbox " + std::string(sandbox_id));
      (void)await_network(sandbox_id);  // the IP is part of the answer
      fs::path dir = sandbox_dir(sandbox_id);
      Json meta = read_json(dir / "sandbox.json");
      if (!meta.is_object()) return plugin::not_found("runc: no sandbox " + std::string(sandbox_id));
      rt::SandboxStatus s;
      s.id = std::string(sandbox_id);
      s.pod = pod_from(meta["pod"]);
      s.ip = meta.value("ip", "");
      s.created_at_ms = meta.value("created_at_ms", std::int64_t{0});
      bool ready = !s.ip.empty() && !fs::exists(dir / "stopped") && fs::exists(dir / "netns");
      s.state = ready ? rt::SandboxState::kReady : rt::SandboxState::kNotReady;
      return s;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc sandbox_status: ") + e.what());
    }
  }

  plugin::Result<std::vector<rt::SandboxStatus>> list_sandboxes() noexcept override {
    try {
      std::vector<rt::SandboxStatus> out;
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(fs::path(o_.state_dir) / "sandboxes", ec))
        if (auto s = sandbox_status(entry.path().filename().string())) out.push_back(std::move(*s));
      return out;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc list_sandboxes: ") + e.what());
    }
  }

  // ---- containers ----

  plugin::Result<std::string> create_container(std::string_view sandbox_id, const rt::ContainerConfig& config,
                                               const rt::SandboxConfig& sandbox) noexcept override {
    try {
      // Not sandbox_status: that waits for the pod's network, which start_container does instead.
      if (!valid_id(sandbox_id)) return plugin::not_found("runc: no sandbox " + std::string(sandbox_id));
      fs::path sbdir = sandbox_dir(sandbox_id);
      Json sbmeta = read_json(sbdir / "sandbox.json");
      if (!sbmeta.is_object()) return plugin::not_found("runc: no sandbox " + std::string(sandbox_id));
      if (fs::exists(sbdir / "stopped") || sbmeta.contains("network_error"))
        return plugin::bad_request("runc: sandbox " + std::string(sandbox_id) + " is not ready");
      const rt::PodRef pod = pod_from(sbmeta["pod"]);
      const std::string where = "create container " + config.name + " in pod " + pod.ns + "/" + pod.name;
      auto image = images_.find(config.image);
      if (!image) return image.status().with_context(where);
      if (!*image) return plugin::not_found(where + ": image " + config.image + " is not on this node");
      auto image_config = images_.config(**image);
      if (!image_config) return image_config.status().with_context(where);
      auto lower = images_.rootfs(**image);
      if (!lower) return lower.status().with_context(where);

      std::string id = random_id();
      fs::path dir = container_dir(id);
      fs::create_directories(dir / "upper");
      fs::create_directories(dir / "work");
      fs::create_directories(dir / "rootfs");
      auto fail = [&](const plugin::Status& st) -> plugin::Result<std::string> {
        ::umount2((dir / "rootfs").c_str(), MNT_DETACH);
        std::error_code ec;
        fs::remove_all(dir, ec);
        return st.with_context(where);
      };
      // The container's root: the image's unpacked layers (shared, read-only) under its own upper dir.
      std::string overlay = "lowerdir=" + lower->string() + ",upperdir=" + (dir / "upper").string() +
                            ",workdir=" + (dir / "work").string();
      if (::mount("overlay", (dir / "rootfs").c_str(), "overlay", 0, overlay.c_str()) != 0)
        return fail(plugin::internal(std::string("mount the overlay root: ") + std::strerror(errno)));

      SpecInputs in;
      in.container = &config;
      in.image = &*image_config;
      in.rootfs = dir / "rootfs";
      in.hostname = sbmeta.value("hostname", pod.name);
      in.netns = (sbdir / "netns").string();
      in.cgroups_path = (sandbox.cgroup_parent.empty() ? o_.cgroup_parent : sandbox.cgroup_parent) + "/" + id;
      in.resolv_conf = sbdir / "resolv.conf";
      in.hosts = sbdir / "hosts";
      in.hostname_file = sbdir / "hostname";
      in.swap_accounting = fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
      auto spec = make_spec(in);
      if (!spec) return fail(spec.status());
      if (auto st = write_text(dir / "config.json", *spec); !st) return fail(st);

      std::string log_dir = sandbox.log_directory.empty() ? sbmeta.value("log_directory", "") : sandbox.log_directory;
      fs::path log_path = log_dir.empty() ? dir / "container.log" : fs::path(log_dir) / config.log_path;
      fs::create_directories(log_path.parent_path());
      Json meta = {{"id", id},
                   {"sandbox_id", sandbox_id},
                   {"name", config.name},
                   {"attempt", config.attempt},
                   {"image", (*image)->reference},
                   {"image_id", (*image)->config_digest},
                   {"log_path", log_path.string()},
                   {"cgroups_path", in.cgroups_path},
                   {"created_at_ms", wall_ms()},
                   {"started_at_ms", 0}};
      if (auto st = write_text(dir / "container.json", meta.dump()); !st) return fail(st);
      return id;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc create_container: ") + e.what());
    }
  }

  plugin::Status start_container(std::string_view container_id) noexcept override {
    try {
      if (!valid_id(container_id)) return plugin::not_found("runc: no container " + std::string(container_id));
      fs::path dir = container_dir(container_id);
      Json meta = read_json(dir / "container.json");
      if (!meta.is_object()) return plugin::not_found("runc: no container " + std::string(container_id));
      if (meta.value("started_at_ms", std::int64_t{0}) != 0 || meta.contains("shim_pid") || fs::exists(dir / "exit.json"))
        return plugin::bad_request("runc: container " + std::string(container_id) + " was started already");
      const std::string id(container_id);
      // As containerd does: a container that could not start has exited (128, StartError), so the
      // agent's restart policy and backoff apply to it.
      auto start_error = [&](const std::string& error) {
        Json exit = {{"exit_code", 128}, {"finished_at_ms", wall_ms()}, {"reason", "StartError"}, {"message", error}};
        (void)write_text(dir / "exit.json", exit.dump());
        return plugin::unavailable("start container " + meta.value("name", "") + ": " + error);
      };
      // The monitor runs `runc create`: the container's process exists, held before its exec.
      if (std::string error = spawn_shim(id, dir, meta.value("log_path", "")); !error.empty()) return start_error(error);
      // The monitor's pid outlives its pid file: remove_container waits for the process itself.
      std::ifstream pid_in(dir / "shim.pid");
      long shim_pid = 0;
      if (pid_in >> shim_pid) {
        meta["shim_pid"] = shim_pid;
        (void)write_text(dir / "container.json", meta.dump());
      }
      // A created container that must not run: killed, and what the monitor writes of its end
      // replaced by why it never started.
      auto abandon = [&](const std::string& error) {
        (void)runc({"kill", "--all", id, "KILL"});
        (void)wait_exit(dir, std::chrono::seconds(10));
        return start_error(error);
      };
      const std::string sandbox_id = meta.value("sandbox_id", "");
      auto network = await_network(sandbox_id);
      if (!network) network = recorded_network(sandbox_id);
      if (!*network) return abandon(network->message());
      // The start time is read before the release: a process that exits at once must not finish
      // before it started.
      const std::int64_t started_at = wall_ms();
      if (std::string error = release_created(id, dir); !error.empty()) return abandon(error);
      // Only now is it running: until this write container_status says Created (see there).
      meta["started_at_ms"] = started_at;
      plugin::Status written = write_text(dir / "container.json", meta.dump());
      // The pool refills now, off this start's path (made beside it, the next network took CPU
      // from this very `runc create`).
      refill_warm();
      return written;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc start_container: ") + e.what());
    }
  }

  plugin::Status stop_container(std::string_view container_id, std::int64_t grace_seconds) noexcept override {
    try {
      if (!valid_id(container_id)) return plugin::not_found("runc: no container " + std::string(container_id));
      fs::path dir = container_dir(container_id);
      if (!fs::exists(dir / "container.json")) return plugin::not_found("runc: no container " + std::string(container_id));
      if (!shim_alive(dir)) return plugin::Status::ok();
      std::string id(container_id);
      (void)runc({"kill", id, "TERM"});
      if (wait_exit(dir, std::chrono::seconds(std::max<std::int64_t>(grace_seconds, 0)))) return plugin::Status::ok();
      (void)runc({"kill", "--all", id, "KILL"});
      if (wait_exit(dir, std::chrono::seconds(10))) return plugin::Status::ok();
      return plugin::unavailable("runc: container " + id + " did not exit 10 s after SIGKILL");
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc stop_container: ") + e.what());
    }
  }

  plugin::Status remove_container(std::string_view container_id) noexcept override {
    try {
      if (!valid_id(container_id)) return plugin::Status::ok();
      fs::path dir = container_dir(container_id);
      if (!fs::exists(dir)) return plugin::Status::ok();
      if (auto st = stop_container(container_id, 0); !st && st.code() != plugin::Code::kNotFound) return st;
      std::string id(container_id);
      // runc deletes its state and the container's cgroups; a container never started has neither.
      auto deleted = runc({"delete", "--force", id});
      if (deleted && deleted->exit_code != 0 && deleted->err.find("does not exist") == std::string::npos &&
          deleted->err.find("not found") == std::string::npos && fs::exists(dir / "container.pid"))
        return plugin::unavailable("runc delete " + id + ": " + deleted->err);
      // The monitor removes its pid file just before it ends; it must be gone before its files are.
      if (long shim_pid = read_json(dir / "container.json").value("shim_pid", 0L); shim_pid > 0) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (fs::exists("/proc/" + std::to_string(shim_pid)) && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (::umount2((dir / "rootfs").c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        return plugin::internal("unmount the root of container " + id + ": " + std::strerror(errno));
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec) return plugin::internal("remove container " + id + ": " + ec.message());
      return plugin::Status::ok();
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc remove_container: ") + e.what());
    }
  }

  plugin::Result<rt::ContainerStatus> container_status(std::string_view container_id) noexcept override {
    try {
      if (!valid_id(container_id)) return plugin::not_found("runc: no container " + std::string(container_id));
      fs::path dir = container_dir(container_id);
      Json meta = read_json(dir / "container.json");
      if (!meta.is_object()) return plugin::not_found("runc: no container " + std::string(container_id));
      rt::ContainerStatus s;
      s.id = std::string(container_id);
      s.sandbox_id = meta.value("sandbox_id", "");
      s.name = meta.value("name", "");
      s.attempt = meta.value("attempt", 0u);
      s.created_at_ms = meta.value("created_at_ms", std::int64_t{0});
      s.started_at_ms = meta.value("started_at_ms", std::int64_t{0});
      s.image = meta.value("image", "");
      s.image_id = meta.value("image_id", "");
      s.log_path = meta.value("log_path", "");
      // Order matters: the shim writes exit.json before it removes shim.pid.
      bool alive = shim_alive(dir);
      Json exit = read_json(dir / "exit.json");
      // Created until start_container has let the process run and said so (started_at_ms): while
      // it starts, the monitor may not have written its pid yet, which must not read as an exit.
      // (The agent's relist once saw such an "exit", then the real one as no change, and the pod
      // stayed Running with its container gone.)
      if (!exit.is_object() && s.started_at_ms == 0) {
        s.state = rt::ContainerState::kCreated;
        return s;
      }
      if (!exit.is_object() && alive) {
        s.state = rt::ContainerState::kRunning;
        return s;
      }
      s.state = rt::ContainerState::kExited;
      if (!exit.is_object()) {
        s.exit_code = 255;
        s.reason = "Unknown";
        s.message = "the container's monitor (skiff-runc-shim) is gone and left no exit code";
        s.finished_at_ms = s.started_at_ms;
        return s;
      }
      s.exit_code = exit.value("exit_code", -1);
      s.finished_at_ms = exit.value("finished_at_ms", std::int64_t{0});
      s.reason = exit.value("reason", "");
      s.message = exit.value("message", "");
      if (s.exit_code < 0) {
        s.exit_code = 255;
        s.reason = "Unknown";
      }
      if (s.reason.empty())
        s.reason = s.exit_code == 0 ? "Completed" : oom_killed(meta.value("cgroups_path", "")) ? "OOMKilled" : "Error";
      return s;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc container_status: ") + e.what());
    }
  }

  plugin::Result<std::vector<rt::ContainerStatus>> list_containers(std::string_view sandbox_id) noexcept override {
    try {
      std::vector<rt::ContainerStatus> out;
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(fs::path(o_.state_dir) / "containers", ec)) {
        auto s = container_status(entry.path().filename().string());
        if (s && (sandbox_id.empty() || s->sandbox_id == sandbox_id)) out.push_back(std::move(*s));
      }
      return out;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc list_containers: ") + e.what());
    }
  }

  plugin::Result<rt::ExecResult> exec_sync(std::string_view container_id, const std::vector<std::string>& command,
                                           std::int64_t timeout_seconds) noexcept override {
    try {
      auto st = running(container_id);
      if (!st.is_ok()) return st;
      std::vector<std::string> args = {"exec", std::string(container_id)};
      args.insert(args.end(), command.begin(), command.end());
      RunOptions options;
      options.timeout = std::chrono::seconds(timeout_seconds > 0 ? timeout_seconds : 3600);
      auto r = runc(args, options);
      if (!r) return r.status();
      if (r->timed_out)
        return plugin::unavailable("exec in container " + std::string(container_id) + " timed out after " +
                                   std::to_string(timeout_seconds) + " s");
      return rt::ExecResult{r->exit_code, std::move(r->out), std::move(r->err)};
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc exec_sync: ") + e.what());
    }
  }

  plugin::Result<std::int32_t> exec(std::string_view container_id, const std::vector<std::string>& command,
                                    const rt::ExecStreams& streams) noexcept override {
    try {
      auto st = running(container_id);
      if (!st.is_ok()) return st;
      std::vector<std::string> args = {"exec"};
      // With a terminal, runc in the foreground makes one for the process and copies between it and
      // its own stdio, which must be a terminal too: subprocess gives it one, whose size we set and
      // runc passes on (it forwards SIGWINCH).
      if (streams.tty) args.push_back("--tty");
      args.push_back(std::string(container_id));
      args.insert(args.end(), command.begin(), command.end());
      RunOptions options;
      options.timeout = std::chrono::hours(24);
      options.on_output = streams.on_output ? streams.on_output : [](int, std::string_view) {};
      options.read_stdin = streams.read_stdin;
      options.terminal = streams.tty;
      if (streams.tty && streams.terminal_resized)
        options.terminal_resized = [&streams](unsigned short& columns, unsigned short& rows) {
          rt::TerminalSize size;
          if (!streams.terminal_resized(size)) return false;
          columns = size.width;
          rows = size.height;
          return true;
        };
      auto r = runc(args, options);
      if (!r) return r.status();
      return r->exit_code;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc exec: ") + e.what());
    }
  }

  plugin::Result<rt::ContainerStats> container_stats(std::string_view container_id) noexcept override {
    try {
      if (!valid_id(container_id)) return plugin::not_found("runc: no container " + std::string(container_id));
      Json meta = read_json(container_dir(container_id) / "container.json");
      if (!meta.is_object()) return plugin::not_found("runc: no container " + std::string(container_id));
      std::string cg = meta.value("cgroups_path", "");
      rt::ContainerStats s;
      s.id = std::string(container_id);
      auto number = [](const fs::path& p) -> std::uint64_t {
        std::ifstream in(p);
        std::uint64_t v = 0;
        in >> v;
        return v;
      };
      if (fs::exists("/sys/fs/cgroup/cpuacct" + cg)) {  // cgroup v1 (as on this machine)
        s.cpu_usage_nanos = number("/sys/fs/cgroup/cpuacct" + cg + "/cpuacct.usage");
        std::uint64_t usage = number("/sys/fs/cgroup/memory" + cg + "/memory.usage_in_bytes");
        std::uint64_t inactive = stat_field("/sys/fs/cgroup/memory" + cg + "/memory.stat", "total_inactive_file");
        s.memory_working_set_bytes = usage > inactive ? usage - inactive : 0;
      } else {  // cgroup v2
        s.cpu_usage_nanos = stat_field("/sys/fs/cgroup" + cg + "/cpu.stat", "usage_usec") * 1000;
        std::uint64_t usage = number("/sys/fs/cgroup" + cg + "/memory.current");
        std::uint64_t inactive = stat_field("/sys/fs/cgroup" + cg + "/memory.stat", "inactive_file");
        s.memory_working_set_bytes = usage > inactive ? usage - inactive : 0;
      }
      return s;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc container_stats: ") + e.what());
    }
  }

  // ---- images ----

  plugin::Result<rt::ImageInfo> pull_image(std::string_view reference) noexcept override {
    try {
      auto ref = oci::parse_reference(reference);
      if (!ref) return ref.status();
      oci::PullOptions options;
      options.scheme = loopback_registry(ref->registry) ? "http" : "https";
      if (options.scheme == "https")
        return plugin::unavailable("pull " + ref->str() + ": only registries on this machine (plain HTTP on "
                                   "127.0.0.1/localhost) can be pulled from yet; import the image with "
                                   "`skiff image import`");
      auto image = oci::pull_image(images_, reference, options);
      if (!image) return image.status();
      return info(*image);
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc pull_image: ") + e.what());
    }
  }

  plugin::Result<std::optional<rt::ImageInfo>> image_status(std::string_view reference) noexcept override {
    try {
      auto image = images_.find(reference);
      if (!image) return image.status();
      if (!*image) return std::optional<rt::ImageInfo>{};
      return std::optional<rt::ImageInfo>(info(**image));
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc image_status: ") + e.what());
    }
  }

  plugin::Result<std::vector<rt::ImageInfo>> list_images() noexcept override {
    try {
      auto all = images_.list();
      if (!all) return all.status();
      std::map<std::string, rt::ImageInfo> by_id;
      for (const auto& image : *all) {
        rt::ImageInfo i = info(image);
        auto [it, fresh] = by_id.emplace(i.id, i);
        if (!fresh) {
          it->second.repo_tags.insert(it->second.repo_tags.end(), i.repo_tags.begin(), i.repo_tags.end());
          it->second.repo_digests.insert(it->second.repo_digests.end(), i.repo_digests.begin(), i.repo_digests.end());
        }
      }
      std::vector<rt::ImageInfo> out;
      for (auto& [id, i] : by_id) out.push_back(std::move(i));
      return out;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc list_images: ") + e.what());
    }
  }

  plugin::Status remove_image(std::string_view image_id) noexcept override {
    try {
      // Images a container still runs from keep their unpacked root (the overlay's lower layer).
      std::vector<std::string> in_use;
      if (auto all = list_containers(""))
        for (const auto& c : *all) in_use.push_back(c.image_id);
      if (std::find(in_use.begin(), in_use.end(), std::string(image_id)) != in_use.end())
        return plugin::conflict("image " + std::string(image_id) + " is in use by a container");
      return images_.remove(image_id);
    } catch (const std::exception& e) {
      return plugin::internal(std::string("runc remove_image: ") + e.what());
    }
  }

 private:
  fs::path sandbox_dir(std::string_view id) const { return fs::path(o_.state_dir) / "sandboxes" / std::string(id); }
  fs::path container_dir(std::string_view id) const { return fs::path(o_.state_dir) / "containers" / std::string(id); }

  void log_info(std::string_view m, std::initializer_list<plugin::LogField> f) {
    if (logger_) logger_->info(m, f);
  }
  void log_warn(std::string_view m, std::initializer_list<plugin::LogField> f) {
    if (logger_) logger_->warn(m, f);
  }

  std::vector<std::string> containers_of(std::string_view sandbox_id) {
    std::vector<std::string> out;
    if (auto all = list_containers(sandbox_id))
      for (const auto& c : *all) out.push_back(c.id);
    return out;
  }

  plugin::Result<RunResult> runc(const std::vector<std::string>& args, const RunOptions& options = {}) {
    std::vector<std::string> argv = {binary_, "--root", (fs::path(o_.state_dir) / "runc-root").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o = options;
    o.hide_cgroup2 = hide_cgroup2_;
    return run(argv, o);
  }

  plugin::Status running(std::string_view container_id) {
    auto s = container_status(container_id);
    if (!s) return s.status();
    if (s->state != rt::ContainerState::kRunning)
      return plugin::bad_request("runc: container " + std::string(container_id) + " is not running");
    return plugin::Status::ok();
  }

  // The shim of this container is alive: its pid file names a live process whose command line
  // carries the container id (so a recycled pid is not mistaken for it).
  static bool shim_alive(const fs::path& dir) {
    std::ifstream in(dir / "shim.pid");
    long pid = 0;
    if (!(in >> pid) || pid <= 0) return false;
    std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
    return cmdline.find(dir.filename().string()) != std::string::npos;
  }

  static bool wait_exit(const fs::path& dir, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (fs::exists(dir / "exit.json") || !shim_alive(dir)) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  static std::uint64_t stat_field(const fs::path& p, std::string_view key) {
    std::ifstream in(p);
    std::string k;
    std::uint64_t v = 0;
    while (in >> k >> v)
      if (k == key) return v;
    return 0;
  }

  static bool oom_killed(const std::string& cgroups_path) {
    if (cgroups_path.empty()) return false;
    if (stat_field("/sys/fs/cgroup/memory" + cgroups_path + "/memory.oom_control", "oom_kill") > 0) return true;
    return stat_field("/sys/fs/cgroup" + cgroups_path + "/memory.events", "oom_kill") > 0;
  }

  // /etc/hosts of a pod; its own line once the pod has an IP.
  static std::string hosts_file(const std::string& ip_line) {
    return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" + ip_line;
  }

  // The background half of run_sandbox: CNI ADD, then the IP in sandbox.json and /etc/hosts. The
  // hosts file is rewritten in place: containers created meanwhile bind-mounted that very inode.
  // A failed ADD is undone (CNI DEL) and recorded as network_error; the sandbox is then NotReady.
  plugin::Status set_up_network(const std::string& id, const std::vector<rt::PortMapping>& ports,
                                const std::string& pod) {
    fs::path dir = sandbox_dir(id);
    auto ip = network_.add(id, (dir / "netns").string(), ports, dir / "cni-result.json");
    Json meta = read_json(dir / "sandbox.json");
    if (!meta.is_object()) meta = Json::object();
    meta.erase("network");
    if (!ip) {
      (void)network_.del(id, (dir / "netns").string(), ports, dir / "cni-result.json");
      std::string error = "pod network of " + pod + ": " + ip.status().message();
      meta["network_error"] = error;
      (void)write_text(dir / "sandbox.json", meta.dump());
      log_warn("sandbox network failed", {{"sandbox", id}, {"pod", pod}, {"error", error}});
      return plugin::unavailable(error);
    }
    {
      std::ofstream hosts(dir / "hosts", std::ios::trunc);
      hosts << hosts_file(*ip + "\t" + meta.value("hostname", "") + "\n");
      if (!hosts) return plugin::internal("write " + (dir / "hosts").string() + " failed");
    }
    meta["ip"] = *ip;
    if (auto st = write_text(dir / "sandbox.json", meta.dump()); !st) return st;
    log_info("sandbox ready", {{"sandbox", id}, {"pod", pod}, {"ip", *ip}});
    return plugin::Status::ok();
  }

  // ---- warm networks ----
  // A pod network is two Go programs (CNI bridge and host-local, ~60-90 ms of CPU here) beside the
  // first container's `runc create` (~80 ms) on the pod's start path, and they share the CPU. So up
  // to `warm-networks` networks are made ahead of time, each a namespace with CNI ADD done under a
  // container id of its own, kept in <state>/warm/<id>/ (netns, cni-result.json); run_sandbox
  // hands one to a pod without hostPorts (portmap needs the pod's ports at ADD). Each holds a pod
  // address and a veth on the bridge while it waits.
  struct WarmNetwork {
    std::string id;  // CNI_CONTAINERID of its ADD
    std::string ip;
  };

  fs::path warm_dir(std::string_view id) const { return fs::path(o_.state_dir) / "warm" / std::string(id); }

  std::optional<WarmNetwork> take_warm() {
    std::lock_guard lock(warm_mu_);
    if (warm_.empty()) return std::nullopt;
    WarmNetwork w = std::move(warm_.back());
    warm_.pop_back();
    return w;
  }

  // Starts making networks until the pool is full, unless that is under way: at construction, and
  // after each container start. One failure (say, no address left) ends the round; the next
  // container start tries again.
  void refill_warm() {
    std::lock_guard lock(warm_mu_);
    if (o_.warm_networks <= 0 || filling_ || stopping_ || warm_.size() >= static_cast<std::size_t>(o_.warm_networks)) return;
    filling_ = true;
    if (warm_fill_.valid()) warm_fill_.wait();  // finished: it cleared filling_ as its last step
    warm_fill_ = std::async(std::launch::async, [this] {
      while (true) {
        {
          std::lock_guard l(warm_mu_);
          if (stopping_ || warm_.size() >= static_cast<std::size_t>(o_.warm_networks)) {
            filling_ = false;
            return;
          }
        }
        auto made = make_warm();
        std::lock_guard l(warm_mu_);
        if (!made) {
          filling_ = false;
          return;
        }
        warm_.push_back(std::move(*made));
      }
    });
  }

  std::optional<WarmNetwork> make_warm() {
    WarmNetwork w{random_id(), ""};
    fs::path dir = warm_dir(w.id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    plugin::Status made = ec ? plugin::internal("create " + dir.string() + ": " + ec.message()) : create_netns(dir / "netns");
    if (made) {
      auto ip = network_.add(w.id, (dir / "netns").string(), {}, dir / "cni-result.json");
      if (ip) w.ip = *ip;
      else made = ip.status();
    }
    if (!made) {
      log_warn("warm pod network not made", {{"error", made.message()}});
      tear_down_warm(w.id);
      return std::nullopt;
    }
    return w;
  }

  void tear_down_warm(const std::string& id) {
    fs::path dir = warm_dir(id);
    std::error_code ec;
    if (fs::exists(dir / "netns", ec)) (void)network_.del(id, (dir / "netns").string(), {}, dir / "cni-result.json");
    (void)destroy_netns(dir / "netns");
    fs::remove_all(dir, ec);
  }

  // Waits for the network run_sandbox set up in the background, if it still is: what became of it;
  // nullopt when none was being set up.
  std::optional<plugin::Status> await_network(std::string_view sandbox_id) {
    std::shared_future<plugin::Status> done;
    {
      std::lock_guard lock(networks_mu_);
      auto it = networks_.find(sandbox_id);
      if (it == networks_.end()) return std::nullopt;
      done = it->second;
    }
    plugin::Status result = done.get();
    std::lock_guard lock(networks_mu_);
    networks_.erase(std::string(sandbox_id));
    return result;
  }

  // The outcome of a sandbox's network set up earlier (or by an earlier instance): its error, if any.
  plugin::Status recorded_network(std::string_view sandbox_id) {
    Json meta = read_json(sandbox_dir(sandbox_id) / "sandbox.json");
    if (meta.is_object() && meta.contains("network_error")) return plugin::unavailable(meta.value("network_error", ""));
    return plugin::Status::ok();
  }

  // What `runc start` does, without its ~40 ms of Go start-up: runc init, once created, blocks
  // opening the exec fifo in the container's state directory for writing; the reader's open lets
  // it write one byte and exec the container's process, which closes its end. Then the fifo goes,
  // and runc reports the container running. Other binaries (crun) get `<binary> start`.
  std::string release_created(const std::string& id, const fs::path& dir) {
    if (!exec_fifo_start_) {
      auto r = runc({"start", id});
      if (!r) return r.status().message();
      return r->exit_code == 0 ? "" : binary_ + " start: " + r->err;
    }
    const fs::path fifo = fs::path(o_.state_dir) / "runc-root" / id / "exec.fifo";
    long init_pid = 0;
    std::ifstream(dir / "container.pid") >> init_pid;
    int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return "open " + fifo.string() + ": " + std::strerror(errno);
    std::string error;
    bool written = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      char byte[8];
      ssize_t n = ::read(fd, byte, sizeof byte);
      if (n > 0) {
        written = true;
        continue;
      }
      if (n == 0 && written) break;  // the writer's end closed on exec: the process runs
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        error = "read " + fifo.string() + ": " + std::strerror(errno);
        break;
      }
      // No writer yet (n == 0), or no byte yet (EAGAIN).
      if (init_pid <= 0 || ::kill(static_cast<pid_t>(init_pid), 0) != 0) {
        error = "the container's init process ended before it was started";
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        error = "runc init did not take the exec fifo within 10 s";
        break;
      }
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 1);  // no POLLHUP before a writer has come and gone: this waits ≤ 1 ms
    }
    ::close(fd);
    if (error.empty()) ::unlink(fifo.c_str());
    return error;
  }

  // Starts the container through skiff-runc-shim and waits for its verdict; "" when running.
  std::string spawn_shim(const std::string& id, const fs::path& dir, const std::string& log_path) {
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    std::string shim_log = (dir / "shim.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, shim_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_adddup2(&actions, sync[1], 3);  // dup2 clears FD_CLOEXEC on fd 3
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    std::vector<std::string> args = {o_.shim, binary_, (fs::path(o_.state_dir) / "runc-root").string(), id,
                                     dir.string(), log_path, dir.string()};
    if (hide_cgroup2_) args.push_back("--hide-cgroup2");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, o_.shim.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(sync[1]);
    if (rc != 0) {
      ::close(sync[0]);
      return "start " + o_.shim + ": " + std::strerror(rc);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // The detached monitor answers once runc has started the container (or failed to).
    std::string answer;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::close(sync[0]);
        return "no answer from skiff-runc-shim within 60 s (see " + shim_log + ")";
      }
      pollfd p{sync[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = ::read(sync[0], buf, sizeof buf);
      if (n <= 0) break;
      answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(sync[0]);
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == ' ')) answer.pop_back();
    if (answer == "ok") return {};
    if (answer.starts_with("error: ")) return answer.substr(7);
    return "skiff-runc-shim exited without an answer (see " + shim_log + ")";
  }

  rt::ImageInfo info(const oci::ImageRecord& image) const {
    rt::ImageInfo i;
    i.id = image.config_digest;
    auto ref = oci::parse_reference(image.reference);
    if (ref && ref->digest.empty()) i.repo_tags.push_back(image.reference);
    if (ref) i.repo_digests.push_back(ref->name() + "@" + image.manifest_digest);
    i.size_bytes = image.size_bytes;
    return i;
  }

  const RuncOptions o_;
  plugin::Logger* logger_;
  const std::string binary_;
  const std::string version_;
  const bool hide_cgroup2_;  // crun on a hybrid cgroup host: see subprocess.hpp
  const bool exec_fifo_start_;  // runc: start a created container through its exec fifo
  oci::ImageStore images_;
  PodNetwork network_;
  // Pod networks being set up (see run_sandbox); the destructor waits for them.
  std::mutex networks_mu_;
  std::map<std::string, std::shared_future<plugin::Status>, std::less<>> networks_;
  // Warm networks (see refill_warm); the destructor tears down those still waiting.
  std::mutex warm_mu_;
  std::vector<WarmNetwork> warm_;
  bool filling_ = false;   // a refill is under way
  bool stopping_ = false;  // the destructor has begun: no new refill
  std::future<void> warm_fill_;
};

}  // namespace

const std::array<plugin::OptionSpec, 11> kOptions{{
    {"binary", "runc", "the OCI runtime binary: runc or crun (a path, or a name looked up in PATH)"},
    {"state-dir", "", "sandboxes, containers and runc's --root; empty: <data-dir>/runtime/runc"},
    {"image-dir", "", "the OCI image store (skiff image import writes there); empty: <data-dir>/images"},
    {"shim", "", "path of skiff-runc-shim; empty: the one next to this plugin"},
    {"cni-plugin-dir", "/usr/lib/cni", "where the CNI plugins (bridge, host-local, portmap) are"},
    {"pod-cidr", "10.88.0.0/16", "the node's pod network; pod IPs come from it (host-local)"},
    {"bridge", "skiff0", "name of the Linux bridge pods are attached to"},
    {"node-netns", "", "path of the network namespace the bridge and veths live in; empty: the daemon's"},
    {"ip-masq", "false", "masquerade pod traffic leaving the pod network (iptables, via the bridge plugin)"},
    {"sandbox-stop-grace-seconds", "10", "grace before SIGKILL for containers still running when a pod is stopped"},
    {"warm-networks", "1", "pod networks made ahead of time, so a pod without hostPorts starts without waiting for CNI (each holds an address); 0: none"},
}};

plugin::Result<std::unique_ptr<rt::Runtime>> make_runc_runtime(RuncOptions options, plugin::Logger* logger) {
  // A helper that exits early must not take the daemon with it when we write its stdin.
  ::signal(SIGPIPE, SIG_IGN);
  std::string binary = find_executable(options.binary);
  if (binary.empty() || ::access(binary.c_str(), X_OK) != 0)
    return plugin::invalid("runtime.runc.binary: '" + options.binary + "' is not an executable (install runc or crun)");
  if (options.shim.empty()) options.shim = (own_directory() / "skiff-runc-shim").string();
  if (::access(options.shim.c_str(), X_OK) != 0)
    return plugin::invalid("runtime.runc.shim: '" + options.shim + "' is not an executable (build skiff-runc-shim)");
  for (const char* cni : {"bridge", "host-local", "portmap"})
    if (::access((options.cni_plugin_dir + "/" + cni).c_str(), X_OK) != 0)
      return plugin::invalid("runtime.runc.cni-plugin-dir: no CNI plugin '" + std::string(cni) + "' in " +
                             options.cni_plugin_dir + " (install containernetworking-plugins)");
  if (options.state_dir.empty() || options.image_dir.empty())
    return plugin::invalid("runtime.runc: state-dir and image-dir must be set");
  if (options.state_dir.front() != '/' || options.image_dir.front() != '/' || options.shim.front() != '/')
    return plugin::invalid("runtime.runc: state-dir, image-dir and shim must be absolute paths");
  std::error_code ec;
  for (const char* sub : {"sandboxes", "containers", "runc-root", "cni/ipam", "warm"}) {
    fs::create_directories(fs::path(options.state_dir) / sub, ec);
    if (ec) return plugin::internal("runtime.runc: create " + options.state_dir + "/" + sub + ": " + ec.message());
  }
  auto v = run({binary, "--version"}, RunOptions{});
  if (!v || v->exit_code != 0) return plugin::invalid("runtime.runc.binary: '" + binary + " --version' failed");
  // "runc version 1.1.5+ds1" / "crun version 1.8.1": the word after "version".
  std::string version = "unknown";
  if (auto at = v->out.find("version "); at != std::string::npos) {
    version = v->out.substr(at + 8);
    version = version.substr(0, version.find_first_of(" \n"));
  }
  bool hide_cgroup2 = fs::path(binary).filename() == "crun" && cgroup2_has_controllers();
  bool exec_fifo_start = v->out.starts_with("runc version");
  return std::unique_ptr<rt::Runtime>(
      std::make_unique<RuncRuntime>(std::move(options), logger, binary, version, hide_cgroup2, exec_fifo_start));
}

plugin::Result<std::unique_ptr<rt::Runtime>> make_runtime(const plugin::PluginContext& context) {
  const auto& c = context.config;
  RuncOptions o;
  auto text = [&](const char* key, std::string& into) -> plugin::Status {
    auto v = c.get_string(key);
    if (!v) return v.status();
    into = *v;
    return plugin::Status::ok();
  };
  for (auto [key, into] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"binary", &o.binary}, {"state-dir", &o.state_dir}, {"image-dir", &o.image_dir}, {"shim", &o.shim},
           {"cni-plugin-dir", &o.cni_plugin_dir}, {"pod-cidr", &o.pod_cidr}, {"bridge", &o.bridge},
           {"node-netns", &o.node_netns}})
    if (auto st = text(key, *into); !st) return st;
  auto masq = c.get_bool("ip-masq");
  if (!masq) return masq.status();
  o.ip_masq = *masq;
  auto grace = c.get_int("sandbox-stop-grace-seconds", 0, 3600);
  if (!grace) return grace.status();
  o.sandbox_stop_grace_seconds = *grace;
  auto warm = c.get_int("warm-networks", 0, 64);
  if (!warm) return warm.status();
  o.warm_networks = *warm;
  if (o.state_dir.empty()) o.state_dir = (fs::path(context.data_dir) / "runtime" / "runc").string();
  if (o.image_dir.empty()) o.image_dir = (fs::path(context.data_dir) / "images").string();
  if (o.pod_cidr.find('/') == std::string::npos)
    return plugin::invalid("config " + c.full_key("pod-cidr") + ": expected a CIDR like 10.88.0.0/16, got '" + o.pod_cidr + "'");
  return make_runc_runtime(std::move(o), &context.logger);
}

}  // namespace skiff::plugins::runtime::runc
