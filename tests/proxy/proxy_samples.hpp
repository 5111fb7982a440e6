// The service state the proxy modes' rule tests render: service port "web" (ClusterIP 10.96.0.10:80,
// node port 30080) with `endpoints` ready endpoints 10.244.0.10…, and "empty" (10.96.0.11:80) with
// none; plus small text helpers. Used by plugins/proxy/{iptables,nftables,ipvs}/*_rules_test.cpp.
#pragma once

#include <string>
#include <vector>

#include "skiff/plugin/proxy.hpp"

namespace skiff::plugins::proxy::samples {

using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

inline ProxyState sample(bool affinity = false, int endpoints = 3) {
  ServicePort sp;
  sp.ns = "default";
  sp.name = "web";
  sp.cluster_ip = "10.96.0.10";
  sp.port = 80;
  sp.node_port = 30080;
  sp.client_ip_affinity = affinity;
  sp.affinity_timeout_seconds = 60;
  for (int i = 0; i < endpoints; ++i) sp.endpoints.push_back({"10.244.0." + std::to_string(10 + i), 8080, true});
  ServicePort empty = sp;
  empty.name = "empty";
  empty.cluster_ip = "10.96.0.11";
  empty.node_port = 0;
  empty.endpoints.clear();
  return ProxyState{{sp, empty}};
}

inline std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace skiff::plugins::proxy::samples
