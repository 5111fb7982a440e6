#include "oci_spec.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace skiff::plugins::runtime::runc {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const std::vector<std::string> kCapabilities = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",    "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",     "CAP_SETUID",           "CAP_SETFCAP",   "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",          "CAP_SYS_CHROOT",       "CAP_KILL",      "CAP_AUDIT_WRITE"};

bool numeric(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// uid or gid of `name` in the image's /etc/passwd or /etc/group (field 3).
std::optional<std::uint32_t> lookup(const fs::path& file, const std::string& name) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    for (int k = 0; k < 4; ++k) {
      std::size_t j = line.find(':', i);
      fields.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    if (fields.size() >= 3 && fields[0] == name && numeric(fields[2])) return static_cast<std::uint32_t>(std::stoul(fields[2]));
  }
  return std::nullopt;
}

plugin::Result<std::pair<std::uint32_t, std::uint32_t>> resolve_user(const std::string& user, const fs::path& rootfs) {
  if (user.empty()) return std::pair<std::uint32_t, std::uint32_t>{0, 0};
  std::string u = user, g;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    u = user.substr(0, colon);
    g = user.substr(colon + 1);
  }
  std::uint32_t uid = 0, gid = 0;
  if (numeric(u)) uid = static_cast<std::uint32_t>(std::stoul(u));
  else if (auto found = lookup(rootfs / "etc/passwd", u)) uid = *found;
  else return plugin::invalid("image user '" + u + "' is not in the image's /etc/passwd");
  if (g.empty()) {
    // The user's primary group: field 4 of its passwd line; 0 when only a uid was given and it is unknown.
    std::ifstream in(rootfs / "etc/passwd");
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::size_t i = 0, j;
      while ((j = line.find(':', i)) != std::string::npos) {
        f.push_back(line.substr(i, j - i));
        i = j + 1;
      }
      f.push_back(line.substr(i));
      if (f.size() >= 4 && f[2] == std::to_string(uid) && numeric(f[3])) {
        gid = static_cast<std::uint32_t>(std::stoul(f[3]));
        break;
      }
    }
  } else if (numeric(g)) {
    gid = static_cast<std::uint32_t>(std::stoul(g));
  } else if (auto found = lookup(rootfs / "etc/group", g)) {
    gid = *found;
  } else {
    return plugin::invalid("image group '" + g + "' is not in the image's /etc/group");
  }
  return std::pair{uid, gid};
}

Json mount(const std::string& dest, const std::string& type, const std::string& source, std::vector<std::string> opts) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", opts}};
}

}  // namespace

std::vector<std::string> container_argv(const plugin::runtime::ContainerConfig& c, const oci::ImageConfig& image) {
  std::vector<std::string> argv;
  if (!c.command.empty()) {
    argv = c.command;
    argv.insert(argv.end(), c.args.begin(), c.args.end());
  } else {
    argv = image.entrypoint;
    const auto& rest = c.args.empty() ? image.cmd : c.args;
    argv.insert(argv.end(), rest.begin(), rest.end());
  }
  return argv;
}

plugin::Result<std::string> make_spec(const SpecInputs& in) {
  const auto& c = *in.container;
  std::vector<std::string> argv = container_argv(c, *in.image);
  if (argv.empty())
    return plugin::invalid("container " + c.name + ": no command (the image has no entrypoint or cmd and the pod gives none)");
  auto user = resolve_user(in.image->user, in.rootfs);
  if (!user) return user.status().with_context("container " + c.name);

  // Environment: the image's, then the pod's (a pod value wins), PATH always present.
  std::vector<std::pair<std::string, std::string>> env;
  auto set = [&env](const std::string& k, const std::string& v) {
    for (auto& e : env)
      if (e.first == k) {
        e.second = v;
        return;
      }
    env.emplace_back(k, v);
  };
  set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  set("HOSTNAME", in.hostname);
  for (const auto& kv : in.image->env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& [k, v] : c.env) set(k, v);
  Json env_list = Json::array();
  for (const auto& [k, v] : env) env_list.push_back(k + "=" + v);

  std::string cwd = !c.working_dir.empty() ? c.working_dir : !in.image->working_dir.empty() ? in.image->working_dir : "/";
  Json caps = kCapabilities;
  // Containers get as many open files as the node allows: 1048576 as containerd gives, but never
  // above the daemon's own hard limit, which runc (without CAP_SYS_RESOURCE) cannot raise.
  rlimit own{};
  std::uint64_t nofile = 1048576;
  if (::getrlimit(RLIMIT_NOFILE, &own) == 0 && own.rlim_max != RLIM_INFINITY)
    nofile = std::min<std::uint64_t>(nofile, own.rlim_max);
  Json process = {{"terminal", c.tty},
                  {"user", {{"uid", user->first}, {"gid", user->second}}},
                  {"args", argv},
                  {"env", env_list},
                  {"cwd", cwd},
                  {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                  {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", nofile}, {"soft", nofile}}})},
                  {"noNewPrivileges", false}};

  Json mounts = Json::array({
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      mount("/etc/resolv.conf", "bind", in.resolv_conf.string(), {"rbind", "rprivate"}),
      mount("/etc/hosts", "bind", in.hosts.string(), {"rbind", "rprivate"}),
      mount("/etc/hostname", "bind", in.hostname_file.string(), {"rbind", "rprivate"}),
  });
  for (const auto& m : c.mounts) {
    std::vector<std::string> opts = {"rbind", "rprivate"};
    if (m.read_only) opts.push_back("ro");
    mounts.push_back(mount(m.container_path, "bind", m.host_path, opts));
  }

  Json resources = Json::object();
  resources["devices"] = Json::array({{{"allow", false}, {"access", "rwm"}}});
  if (c.resources.memory_limit_bytes > 0) {
    resources["memory"] = {{"limit", c.resources.memory_limit_bytes}};
    if (in.swap_accounting) resources["memory"]["swap"] = c.resources.memory_limit_bytes;
  }
  Json cpu = Json::object();
  if (c.resources.cpu_millis > 0) cpu["shares"] = std::max<std::int64_t>(2, c.resources.cpu_millis * 1024 / 1000);
  if (c.resources.cpu_limit_millis > 0) {
    cpu["period"] = 100000;
    cpu["quota"] = std::max<std::int64_t>(1000, c.resources.cpu_limit_millis * 100);
  }
  if (!cpu.empty()) resources["cpu"] = cpu;

  Json linux_section = {
      {"namespaces", Json::array({{{"type", "pid"}},
                                  {{"type", "ipc"}},
                                  {{"type", "uts"}},
                                  {{"type", "mount"}},
                                  {{"type", "network"}, {"path", in.netns}}})},
      {"cgroupsPath", in.cgroups_path},
      {"resources", resources},
      {"maskedPaths", Json::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                   "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                   "/proc/scsi"})},
      {"readonlyPaths", Json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})}};

  Json spec = {{"ociVersion", "1.0.2"},
               {"process", process},
               {"root", {{"path", in.rootfs.string()}, {"readonly", false}}},
               {"hostname", in.hostname},
               {"mounts", mounts},
               {"linux", linux_section}};
  return spec.dump(2);
}

}  // namespace skiff::plugins::runtime::runc
