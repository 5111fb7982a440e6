#include "proxy/desired_state.hpp"

#include <algorithm>

namespace skiff::proxy {
namespace {

using Json = nlohmann::json;
using plugin::proxy::Protocol;

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Protocol protocol_of(const Json& port) {
  std::string p = str(port, "protocol");
  if (p == "UDP") return Protocol::kUdp;
  if (p == "SCTP") return Protocol::kSctp;
  return Protocol::kTcp;
}

void add_addresses(const Json& subset, const char* field, bool ready, std::int32_t port,
                   std::vector<plugin::proxy::Endpoint>& out) {
  auto it = subset.find(field);
  if (it == subset.end() || !it->is_array()) return;
  for (const auto& a : *it) {
    std::string ip = str(a, "ip");
    if (!ip.empty()) out.push_back({ip, port, ready});
  }
}

}  // namespace

plugin::proxy::ProxyState desired_state(const std::vector<Json>& services, const std::map<std::string, Json>& endpoints) {
  plugin::proxy::ProxyState state;
  for (const Json& svc : services) {
    if (!svc.contains("spec") || !svc["spec"].is_object() || !svc.contains("metadata")) continue;
    const Json& spec = svc["spec"];
    const std::string type = str(spec, "type");
    const std::string cluster_ip = str(spec, "clusterIP");
    if (type == "ExternalName" || cluster_ip.empty() || cluster_ip == "None") continue;
    const std::string ns = str(svc["metadata"], "namespace"), name = str(svc["metadata"], "name");
    const bool affinity = str(spec, "sessionAffinity") == "ClientIP";
    std::int32_t timeout = 10800;
    if (affinity && spec.contains("sessionAffinityConfig")) {
      const Json& cfg = spec["sessionAffinityConfig"];
      if (cfg.is_object() && cfg.contains("clientIP") && cfg["clientIP"].is_object() &&
          cfg["clientIP"].contains("timeoutSeconds") && cfg["clientIP"]["timeoutSeconds"].is_number_integer())
        timeout = cfg["clientIP"]["timeoutSeconds"].get<std::int32_t>();
    }
    auto ep_it = endpoints.find(ns + "/" + name);
    const Json* subsets = nullptr;
    if (ep_it != endpoints.end() && ep_it->second.contains("subsets") && ep_it->second["subsets"].is_array())
      subsets = &ep_it->second["subsets"];
    if (!spec.contains("ports") || !spec["ports"].is_array()) continue;
    for (const Json& port : spec["ports"]) {
      if (!port.is_object()) continue;
      plugin::proxy::ServicePort sp;
      sp.ns = ns;
      sp.name = name;
      sp.port_name = str(port, "name");
      sp.protocol = protocol_of(port);
      sp.cluster_ip = cluster_ip;
      sp.port = port.value("port", 0);
      sp.node_port = port.contains("nodePort") && port["nodePort"].is_number_integer() ? port["nodePort"].get<std::int32_t>() : 0;
      sp.client_ip_affinity = affinity;
      sp.affinity_timeout_seconds = timeout;
      if (subsets != nullptr)
        for (const Json& subset : *subsets) {
          if (!subset.is_object() || !subset.contains("ports") || !subset["ports"].is_array()) continue;
          for (const Json& ep_port : subset["ports"]) {
            if (!ep_port.is_object() || str(ep_port, "name") != sp.port_name || protocol_of(ep_port) != sp.protocol) continue;
            std::int32_t target = ep_port.value("port", 0);
            add_addresses(subset, "addresses", true, target, sp.endpoints);
            add_addresses(subset, "notReadyAddresses", false, target, sp.endpoints);
          }
        }
      // Sorted so that the same endpoints always render the same rules.
      std::sort(sp.endpoints.begin(), sp.endpoints.end(), [](const auto& a, const auto& b) {
        return std::tie(a.ip, a.port) < std::tie(b.ip, b.port);
      });
      state.services.push_back(std::move(sp));
    }
  }
  std::sort(state.services.begin(), state.services.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.id(), a.protocol) < std::make_pair(b.id(), b.protocol);
  });
  return state;
}

}  // namespace skiff::proxy
