// The IPVS proxy mode: one IPVS virtual server per ClusterIP:port (and per node address:nodePort),
// its endpoints as real servers in masquerading (NAT) mode, round robin, ClientIP affinity as IPVS
// persistence. The cluster IPs go on a dummy link (kube-ipvs0) so the node accepts them. Each sync
// clears and reloads the table through `ipvsadm-restore` and fixes the link's addresses with
// `ip -batch`. Needs the kernel's IP_VS: without it start() refuses and names the other modes.
#pragma once

#include <array>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/proxy.hpp"

namespace skiff::plugins::proxy::ipvs {

inline constexpr std::string_view kName = "ipvs";
inline constexpr std::string_view kDummyLink = "kube-ipvs0";

struct IpvsOptions {
  std::string scheduler = "rr";  // IPVS scheduler: rr, wrr, lc, sh, …
  std::string proc_ip_vs = "/proc/net/ip_vs";  // present when the kernel has IP_VS
};

// ipvsadm-restore input for `state` (starting with -C, which clears the table); `node_ips` are the
// addresses node ports are served on.
std::string restore_rules(const plugin::proxy::ProxyState& state, const std::vector<std::string>& node_ips,
                          const IpvsOptions& options);
// `ip -batch` input that makes the dummy link hold exactly `want` when it holds `have` now.
std::string link_script(const std::set<std::string>& have, const std::set<std::string>& want, bool link_exists);

std::unique_ptr<plugin::proxy::Proxy> make_ipvs_proxy(IpvsOptions options, plugin::Logger* logger);
plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 1> kOptions;

}  // namespace skiff::plugins::proxy::ipvs
