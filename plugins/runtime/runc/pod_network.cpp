#include "pod_network.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "subprocess.hpp"

namespace skiff::plugins::runtime::runc {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
constexpr const char* kCniVersion = "1.0.0";
constexpr const char* kNetworkName = "skiff-pods";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

plugin::Status create_netns(const fs::path& path) {
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return plugin::internal("create " + path.string() + ": " + std::strerror(errno));
    ::close(fd);
  }
  // A child unshares its network namespace and bind-mounts it onto the file; the mount keeps it alive.
  const std::string target = path.string();
  pid_t pid = ::fork();
  if (pid < 0) return plugin::internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) ::_exit(1);
    if (::mount("/proc/self/ns/net", target.c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(target.c_str());
    return plugin::internal("create network namespace at " + target + ": " +
                            (WIFEXITED(status) && WEXITSTATUS(status) == 1 ? "unshare" : "bind mount") +
                            " failed (needs root)");
  }
  return plugin::Status::ok();
}

plugin::Status destroy_netns(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return plugin::Status::ok();
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return plugin::internal("unmount network namespace " + path.string() + ": " + std::strerror(errno));
  fs::remove(path, ec);
  return plugin::Status::ok();
}

plugin::Result<std::string> PodNetwork::invoke(const std::string& command, const std::string& type,
                                               const std::string& ifname, const std::string& sandbox_id,
                                               const std::string& netns, const std::string& config) {
  RunOptions run_options;
  run_options.input = config;
  run_options.netns = options_.node_netns;
  run_options.timeout = std::chrono::seconds(30);
  const char* path = std::getenv("PATH");
  run_options.env = {"CNI_COMMAND=" + command,   "CNI_CONTAINERID=" + sandbox_id,     "CNI_NETNS=" + netns,
                     "CNI_IFNAME=" + ifname,     "CNI_PATH=" + options_.plugin_dir,
                     std::string("PATH=") + (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin")};
  auto r = run({options_.plugin_dir + "/" + type}, run_options);
  if (!r) return r.status().with_context("CNI plugin " + type);
  if (r->exit_code != 0) {
    // CNI errors come as JSON on stdout: {"code":…, "msg":…, "details":…}.
    Json e = Json::parse(r->out, nullptr, false);
    std::string msg = e.is_object() ? e.value("msg", "") + (e.contains("details") ? ": " + e.value("details", "") : "")
                                    : r->out + r->err;
    return plugin::unavailable("CNI " + command + " " + type + " for sandbox " + sandbox_id + " failed: " + msg);
  }
  return r->out;
}

std::string PodNetwork::bridge_config() const {
  Json ipam = {{"type", "host-local"},
               {"ranges", Json::array({Json::array({{{"subnet", options_.pod_cidr}}})})},
               {"routes", Json::array({{{"dst", "0.0.0.0/0"}}})},
               {"dataDir", options_.ipam_dir.string()}};
  Json conf = {{"cniVersion", kCniVersion}, {"name", kNetworkName}, {"type", "bridge"},
               {"bridge", options_.bridge},  {"isGateway", true},    {"ipMasq", options_.ip_masq},
               {"hairpinMode", true},        {"ipam", ipam}};
  return conf.dump();
}

std::string PodNetwork::portmap_config(const std::vector<plugin::runtime::PortMapping>& ports,
                                       const std::string& prev) const {
  Json mappings = Json::array();
  for (const auto& p : ports) {
    if (p.host_port <= 0) continue;
    Json m = {{"hostPort", p.host_port}, {"containerPort", p.container_port}, {"protocol", lower(p.protocol)}};
    if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
    mappings.push_back(m);
  }
  Json conf = {{"cniVersion", kCniVersion},
               {"name", kNetworkName},
               {"type", "portmap"},
               {"capabilities", {{"portMappings", true}}},
               {"runtimeConfig", {{"portMappings", mappings}}}};
  Json prev_result = Json::parse(prev, nullptr, false);
  if (prev_result.is_object()) conf["prevResult"] = prev_result;
  return conf.dump();
}

plugin::Result<std::string> PodNetwork::add(const std::string& sandbox_id, const std::string& netns,
                                            const std::vector<plugin::runtime::PortMapping>& ports,
                                            const fs::path& result_file) {
  Json lo = {{"cniVersion", kCniVersion}, {"name", "skiff-loopback"}, {"type", "loopback"}};
  if (auto r = invoke("ADD", "loopback", "lo", sandbox_id, netns, lo.dump()); !r) return r.status();
  auto result = invoke("ADD", "bridge", "eth0", sandbox_id, netns, bridge_config());
  if (!result) return result.status();
  {
    std::ofstream out(result_file, std::ios::trunc);
    out << *result;
  }
  bool published = false;
  for (const auto& p : ports) published = published || p.host_port > 0;
  if (published)
    if (auto r = invoke("ADD", "portmap", "eth0", sandbox_id, netns, portmap_config(ports, *result)); !r)
      return r.status();
  Json j = Json::parse(*result, nullptr, false);
  if (j.is_object())
    for (const auto& ip : j.value("ips", Json::array())) {
      std::string address = ip.value("address", "");
      if (auto slash = address.find('/'); slash != std::string::npos) address.resize(slash);
      if (!address.empty()) return address;
    }
  return plugin::internal("CNI bridge for sandbox " + sandbox_id + " returned no IP: " + *result);
}

plugin::Status PodNetwork::del(const std::string& sandbox_id, const std::string& netns,
                               const std::vector<plugin::runtime::PortMapping>& ports, const fs::path& result_file) {
  std::string prev;
  {
    std::ifstream in(result_file);
    std::stringstream s;
    s << in.rdbuf();
    prev = s.str();
  }
  bool published = false;
  for (const auto& p : ports) published = published || p.host_port > 0;
  if (published)
    if (auto r = invoke("DEL", "portmap", "eth0", sandbox_id, netns, portmap_config(ports, prev)); !r) return r.status();
  Json bridge = Json::parse(bridge_config());
  if (Json p = Json::parse(prev, nullptr, false); p.is_object()) bridge["prevResult"] = p;
  if (auto r = invoke("DEL", "bridge", "eth0", sandbox_id, netns, bridge.dump()); !r) return r.status();
  Json lo = {{"cniVersion", kCniVersion}, {"name", "skiff-loopback"}, {"type", "loopback"}};
  if (auto r = invoke("DEL", "loopback", "lo", sandbox_id, netns, lo.dump()); !r) return r.status();
  return plugin::Status::ok();
}

}  // namespace skiff::plugins::runtime::runc
