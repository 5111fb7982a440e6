// Role skiff.proxy.v1: a service proxy mode (kube-proxy's iptables, nftables, IPVS, userspace).
//
// The proxy component in skiffd watches Services and Endpoints, and on every change (rate-limited)
// hands the mode the complete desired state: every service port with its ready endpoints. The mode
// makes the node's data plane match it — whatever it installed before that is not in the new state
// goes away — so a sync is idempotent and a missed event is repaired by the next one.
//
// Lifecycle: the factory only reads and checks config. start() checks what the mode needs on this
// machine (tools, kernel features) and fails with a message naming the alternatives when something
// is missing. sync() may then be called any number of times, from one thread at a time. cleanup()
// removes everything the mode installs, including what an earlier process left behind; it must work
// without start() (skiffd calls it for every mode it is not running, so that switching proxy.mode
// and restarting leaves no old rules behind).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugin::proxy {

enum class Protocol : std::uint8_t { kTcp, kUdp, kSctp };

inline std::string_view protocol_name(Protocol p) noexcept {
  switch (p) {
    case Protocol::kTcp: return "TCP";
    case Protocol::kUdp: return "UDP";
    case Protocol::kSctp: return "SCTP";
  }
  return "TCP";
}

// One backend of a service port: the pod's address and the resolved target port.
struct Endpoint {
  std::string ip;
  std::int32_t port = 0;
  // Endpoints that are not ready get no new connections; modes may keep serving existing ones.
  bool ready = true;
};

// One port of one Service: what clients address and where traffic goes.
struct ServicePort {
  std::string ns;         // the Service's namespace
  std::string name;       // the Service's name
  std::string port_name;  // spec.ports[].name ("" for a single unnamed port)
  Protocol protocol = Protocol::kTcp;
  std::string cluster_ip;  // IPv4; a headless Service is never handed to a mode
  std::int32_t port = 0;
  std::int32_t node_port = 0;  // 0: none (a ClusterIP Service)
  // sessionAffinity: ClientIP; the same client goes to the same endpoint for this long.
  bool client_ip_affinity = false;
  std::int32_t affinity_timeout_seconds = 10800;
  std::vector<Endpoint> endpoints;

  // "ns/name:port_name" (":port" when unnamed): how modes name a service port in logs and rules.
  std::string id() const {
    return ns + "/" + name + ":" + (port_name.empty() ? std::to_string(port) : port_name);
  }
};

struct ProxyState {
  std::vector<ServicePort> services;  // ordered by id(), one entry per (Service, port)
};

// What one sync did, for logs and metrics.
struct SyncResult {
  std::size_t rules = 0;  // whatever unit the mode counts (rules, map elements, listeners)
};

class Proxy {
 public:
  static constexpr std::string_view kRole = "skiff.proxy.v1";
  virtual ~Proxy() = default;

  virtual Status start() noexcept = 0;
  // Makes the node match `state` (see the top of this file). Errors leave the previous state in place.
  virtual Result<SyncResult> sync(const ProxyState& state) noexcept = 0;
  // Removes everything this mode installs; OK when there was nothing to remove.
  virtual Status cleanup() noexcept = 0;
};

}  // namespace skiff::plugin::proxy
