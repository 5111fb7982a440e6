// The nftables proxy mode: everything lives in its own table (`ip skiff-proxy`). Dispatch is O(1):
// a verdict map keyed by (daddr . protocol . port) sends a packet to the chain lb-<n> of its number
// of endpoints, which picks slot i with `numgen random mod n vmap`; slot i's chain DNATs through the
// map holding every service's endpoint i. Services and endpoints are map elements, not chains. Each
// sync is one `nft -f -` transaction that touches only what changed since the last one (element
// edits for maps and sets); the first sync after start replaces the table.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/proxy.hpp"

namespace skiff::plugins::proxy::nftables {

inline constexpr std::string_view kName = "nftables";
inline constexpr std::string_view kTable = "skiff-proxy";

struct NftablesOptions {
  int masquerade_bit = 14;
  std::string nft_command = "nft";
};

// One object of the table. `spec` is what follows `add <kind> ip skiff-proxy <name>` ("{ type nat
// hook … }" for a base chain, a map's or set's type); `lines` are a chain's rules or a map's/set's
// elements.
struct NftObject {
  std::string kind;  // "chain", "map", "set"
  std::string spec;
  std::vector<std::string> lines;
  bool operator==(const NftObject&) const = default;
};
using NftObjects = std::map<std::string, NftObject>;

NftObjects render_objects(const plugin::proxy::ProxyState& state, const NftablesOptions& options);
// The transaction from `current` to `desired`; `replace_table` starts by deleting the whole table
// (used when what is in the kernel is unknown).
std::string nft_script(const NftObjects& current, const NftObjects& desired, bool replace_table);

std::unique_ptr<plugin::proxy::Proxy> make_nftables_proxy(NftablesOptions options, plugin::Logger* logger);
plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 1> kOptions;

}  // namespace skiff::plugins::proxy::nftables
