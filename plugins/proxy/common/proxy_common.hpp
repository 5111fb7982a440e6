// Helpers every proxy mode shares: stable short names for per-service and per-endpoint objects
// (chains, sets), the endpoints that take new connections, and the mode's typed config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/proxy.hpp"

namespace skiff::plugins::proxy {

// 16 characters of [A-Z2-7] derived from `text` (FNV-1a, 80 bits shown as base32): the same input
// always gives the same name, so a chain survives resyncs and restarts under one name.
std::string short_hash(std::string_view text);

// The endpoints of `port` that take new connections.
std::vector<const plugin::proxy::Endpoint*> ready_endpoints(const plugin::proxy::ServicePort& port);

// "tcp", "udp", "sctp": how iptables, nft and ipvsadm spell a protocol.
std::string_view lower_protocol(plugin::proxy::Protocol p) noexcept;

// "10.0.0.1:80".
std::string endpoint_address(const plugin::proxy::Endpoint& e);

}  // namespace skiff::plugins::proxy
