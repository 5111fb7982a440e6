// The nftables proxy mode: everything lives in its own table (`ip skiff-proxy`). Dispatch is O(1):
// a verdict map keyed by (daddr . protocol . port) sends a packet to the chain lb-<n> of its number
// of endpoints, which picks slot i with `numgen random mod n vmap`; slot i's chain DNATs through the
// map holding every service's endpoint i. Services and endpoints are map elements, not chains. Each
// sync is one `nft -f -` transaction that touches only what changed since the last one (element
// edits for maps and sets). The first sync after start loads the table staged, with the elements
// as netlink messages (StagedLoad); when rules are in place already (a restart), through the
// standby table and back, so that the old rules serve until the new ones are whole.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "netlink_elements.hpp"
#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/proxy.hpp"

namespace skiff::plugins::proxy::nftables {

inline constexpr std::string_view kName = "nftables";
inline constexpr std::string_view kTable = "skiff-proxy";
// Where a restart stages the new rules while the old ones in kTable keep serving (StagedLoad).
inline constexpr std::string_view kStandbyTable = "skiff-proxy-next";

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
// (the mode loads a whole table staged instead; tests use this one text transaction as the reference).
std::string nft_script(const NftObjects& current, const NftObjects& desired, bool replace_table);

// A full load of table `ip <table>` in three steps that no packet sees half done: `declare` (nft)
// creates the table afresh with its sets and maps, empty, and its regular chains, empty; `elements`
// then go in through netlink (load_elements), one batch; `finish` (nft) adds every rule and, with
// them, the base chains that hook the table into the packet path, and deletes table `retire` in the
// same transaction. So at every instant exactly one of the two tables is hooked in. Elements the
// netlink encoder cannot write are `add element` lines of `finish`. At 10,000 services this
// replaces ~2 s of nft parsing element text.
struct StagedLoad {
  std::string table;  // the table loaded
  std::string declare;
  std::vector<ElementList> elements;  // point into the objects staged_load was given
  std::string finish;
};
StagedLoad staged_load(const NftObjects& desired, std::string_view table = kTable,
                       std::string_view retire = kStandbyTable);

// What one sync wrote, kept for the next: the objects, and how many ready endpoints of all service
// ports have each IP (the hairpin set holds an IP while that count is above zero).
struct NftWritten {
  NftObjects objects;
  std::unordered_map<std::string, std::size_t> endpoint_ip_refs;
};
NftWritten written_for(const plugin::proxy::ProxyState& state, const NftablesOptions& options);

// The common resync, where only endpoints of existing service ports moved: the transaction that
// edits just the map and set elements of the service ports that differ between `synced` (what
// `written` was made from) and `next`, with both brought up to date. Rendering and diffing all
// 10,000 services for that took ~35 ms. nullopt, and nothing changed, when it needs more than
// element edits (a service port added or removed, a chain or a declaration to change, many ports
// changed): render everything then.
std::optional<std::string> element_delta(plugin::proxy::ProxyState& synced, const plugin::proxy::ProxyState& next,
                                         NftWritten& written, const NftablesOptions& options);

std::unique_ptr<plugin::proxy::Proxy> make_nftables_proxy(NftablesOptions options, plugin::Logger* logger);
plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 1> kOptions;

}  // namespace skiff::plugins::proxy::nftables
