// The userspace proxy mode: the proxy itself forwards. Each service port gets a socket bound to
// ClusterIP:port (the cluster IPs are put on `lo` under the label lo:skiffproxy, so no packet
// rewriting is involved) and, for NodePort services, one on 0.0.0.0:nodePort. One epoll thread
// accepts TCP connections, picks a ready endpoint round-robin (or the client's sticky one with
// ClientIP affinity) and relays bytes both ways with splice(2) through a pipe: data never enters
// user memory. UDP is relayed per client through a connected socket per (client, endpoint).
// A sync swaps the endpoint lists under the listeners; established connections are not touched.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/proxy.hpp"

namespace skiff::plugins::proxy::userspace {

inline constexpr std::string_view kName = "userspace";
inline constexpr std::string_view kAddressLabel = "lo:skiffproxy";

struct UserspaceOptions {
  std::string ip_command = "ip";
  int udp_idle_timeout_seconds = 30;  // a UDP client's relay socket is closed after this much silence
};

std::unique_ptr<plugin::proxy::Proxy> make_userspace_proxy(UserspaceOptions options, plugin::Logger* logger);
plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 1> kOptions;

}  // namespace skiff::plugins::proxy::userspace
