#include "ipvs.hpp"

#include <ifaddrs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <unistd.h>

#include <sstream>

#include "command.hpp"
#include "proxy_common.hpp"

namespace skiff::plugins::proxy::ipvs {
namespace {

std::string flag(plugin::proxy::Protocol p) {
  switch (p) {
    case plugin::proxy::Protocol::kTcp: return "-t";
    case plugin::proxy::Protocol::kUdp: return "-u";
    case plugin::proxy::Protocol::kSctp: return "--sctp-service";
  }
  return "-t";
}

// The node's IPv4 addresses, without loopback and the dummy link (node ports are served on these).
std::vector<std::string> node_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    if (std::string_view(a->ifa_name) == kDummyLink) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    out.emplace_back(buf);
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

std::string restore_rules(const plugin::proxy::ProxyState& state, const std::vector<std::string>& node_ips,
                          const IpvsOptions& options) {
  std::string out = "-C\n";
  for (const auto& sp : state.services) {
    std::vector<std::string> fronts = {sp.cluster_ip + ":" + std::to_string(sp.port)};
    if (sp.node_port != 0)
      for (const auto& ip : node_ips) fronts.push_back(ip + ":" + std::to_string(sp.node_port));
    for (const auto& front : fronts) {
      out += "-A " + flag(sp.protocol) + " " + front + " -s " + options.scheduler;
      if (sp.client_ip_affinity) out += " -p " + std::to_string(sp.affinity_timeout_seconds);
      out += "\n";
      for (const auto* e : ready_endpoints(sp))
        out += "-a " + flag(sp.protocol) + " " + front + " -r " + endpoint_address(*e) + " -m -w 1\n";
    }
  }
  return out;
}

std::string link_script(const std::set<std::string>& have, const std::set<std::string>& want, bool link_exists) {
  std::string out;
  const std::string link(kDummyLink);
  if (!link_exists) out += "link add " + link + " type dummy\n";
  for (const auto& ip : want)
    if (!have.contains(ip)) out += "address add " + ip + "/32 dev " + link + "\n";
  for (const auto& ip : have)
    if (!want.contains(ip)) out += "address del " + ip + "/32 dev " + link + "\n";
  return out;
}

namespace {

class IpvsProxy final : public plugin::proxy::Proxy {
 public:
  IpvsProxy(IpvsOptions options, plugin::Logger* logger) : options_(std::move(options)), logger_(logger) {}

  plugin::Status start() noexcept override {
    if (::access(options_.proc_ip_vs.c_str(), F_OK) != 0)
      return plugin::unavailable(
          "proxy mode ipvs: this kernel has no IPVS (" + options_.proc_ip_vs +
          " is missing: load ip_vs, or build the kernel with CONFIG_IP_VS); use proxy.mode iptables, nftables or userspace");
    for (const char* tool : {"ipvsadm-restore", "ipvsadm", "ip"})
      if (!have_program(tool))
        return plugin::unavailable(std::string("proxy mode ipvs needs '") + tool +
                                   "' (Debian packages ipvsadm, iproute2); other modes: iptables, nftables, userspace");
    return plugin::Status::ok();
  }

  plugin::Result<plugin::proxy::SyncResult> sync(const plugin::proxy::ProxyState& state) noexcept override {
    try {
      std::string rules = restore_rules(state, node_addresses(), options_);
      std::set<std::string> want;
      for (const auto& sp : state.services) want.insert(sp.cluster_ip);
      auto have = link_addresses();
      std::string script = link_script(have.second, want, have.first);
      if (!script.empty())
        if (auto r = run_checked({"ip", "-batch", "-"}, script); !r) return r.status().with_context("proxy ipvs");
      if (auto r = run_checked({"ipvsadm-restore"}, rules); !r) return r.status().with_context("proxy ipvs");
      std::size_t count = 0;
      for (char c : rules) count += c == '\n';
      return plugin::proxy::SyncResult{count};
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy ipvs sync: ") + e.what());
    }
  }

  plugin::Status cleanup() noexcept override {
    try {
      // Without IPVS in the kernel there can be no virtual servers; the dummy link may still exist.
      if (::access(options_.proc_ip_vs.c_str(), F_OK) == 0 && have_program("ipvsadm"))
        if (auto r = run_checked({"ipvsadm", "-C"}); !r) return r.status().with_context("proxy ipvs cleanup");
      if (have_program("ip") && link_addresses().first)
        if (auto r = run_checked({"ip", "link", "del", std::string(kDummyLink)}); !r)
          return r.status().with_context("proxy ipvs cleanup");
      return plugin::Status::ok();
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy ipvs cleanup: ") + e.what());
    }
  }

 private:
  // (link exists, its IPv4 addresses)
  std::pair<bool, std::set<std::string>> link_addresses() {
    std::set<std::string> out;
    auto r = run_command({"ip", "-4", "-o", "addr", "show", "dev", std::string(kDummyLink)});
    if (!r || r->exit_code != 0) return {false, out};
    std::istringstream in(r->out);
    for (std::string line; std::getline(in, line);) {
      auto at = line.find(" inet ");
      if (at == std::string::npos) continue;
      std::string cidr = line.substr(at + 6, line.find(' ', at + 6) - at - 6);
      out.insert(cidr.substr(0, cidr.find('/')));
    }
    return {true, out};
  }

  const IpvsOptions options_;
  plugin::Logger* logger_;
};

}  // namespace

std::unique_ptr<plugin::proxy::Proxy> make_ipvs_proxy(IpvsOptions options, plugin::Logger* logger) {
  return std::make_unique<IpvsProxy>(std::move(options), logger);
}

const std::array<plugin::OptionSpec, 1> kOptions{{
    {"scheduler", "rr", "IPVS scheduler for every virtual server (rr, wrr, lc, wlc, sh, dh, …)."},
}};

plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context) {
  IpvsOptions options;
  auto scheduler = context.config.get_string("scheduler");
  if (!scheduler) return scheduler.status();
  static const std::set<std::string> kSchedulers = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"};
  if (!kSchedulers.contains(*scheduler))
    return plugin::invalid("config " + context.config.full_key("scheduler") + ": unknown IPVS scheduler '" + *scheduler + "'");
  options.scheduler = *scheduler;
  return make_ipvs_proxy(std::move(options), &context.logger);
}

}  // namespace skiff::plugins::proxy::ipvs
