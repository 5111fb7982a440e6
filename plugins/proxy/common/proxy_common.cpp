#include "proxy_common.hpp"

namespace skiff::plugins::proxy {

std::string short_hash(std::string_view text) {
  // Two FNV-1a passes with different offsets give 128 bits, of which 80 are shown.
  std::uint64_t a = 1469598103934665603ULL, b = 14695981039346656037ULL ^ 0x9e3779b97f4a7c15ULL;
  for (unsigned char c : text) {
    a = (a ^ c) * 1099511628211ULL;
    b = (b ^ c) * 1099511628211ULL;
  }
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    std::uint64_t& word = i < 8 ? a : b;
    out.push_back(kAlphabet[word & 31]);
    word >>= 5;
  }
  return out;
}

std::vector<const plugin::proxy::Endpoint*> ready_endpoints(const plugin::proxy::ServicePort& port) {
  std::vector<const plugin::proxy::Endpoint*> out;
  for (const auto& e : port.endpoints)
    if (e.ready) out.push_back(&e);
  return out;
}

std::string_view lower_protocol(plugin::proxy::Protocol p) noexcept {
  switch (p) {
    case plugin::proxy::Protocol::kTcp: return "tcp";
    case plugin::proxy::Protocol::kUdp: return "udp";
    case plugin::proxy::Protocol::kSctp: return "sctp";
  }
  return "tcp";
}

std::string endpoint_address(const plugin::proxy::Endpoint& e) { return e.ip + ":" + std::to_string(e.port); }

}  // namespace skiff::plugins::proxy
