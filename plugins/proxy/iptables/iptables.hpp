// The iptables proxy mode: kube-proxy's chain layout (KUBE-SERVICES → KUBE-SVC-<hash> → KUBE-SEP-<hash>)
// written with one `iptables-restore --noflush` per sync (nf_tables or legacy backend, by config). Only chains whose rules changed since the
// last sync are rewritten (and chains that are no longer needed are flushed and deleted) in that same
// transaction, so a changed endpoint costs a few chains, not the whole table.
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

namespace skiff::plugins::proxy::iptables {

inline constexpr std::string_view kName = "iptables";

// Which kernel interface the iptables tools drive. The two keep separate rule sets, both active at
// once, so the mode writes through one and clears what it owns from the other.
enum class Backend { kNft, kLegacy };

// The restore/save pair of one backend.
struct Tools {
  std::string restore;
  std::string save;
};
Tools tools_for(Backend backend);
// "nft" or "legacy".
std::string_view backend_name(Backend backend) noexcept;
// What Debian's `iptables` alternative points at (xtables-legacy-multi → legacy, else nft).
Backend default_backend();

struct IptablesOptions {
  int masquerade_bit = 14;  // the packet mark bit that asks KUBE-POSTROUTING to masquerade
  Backend backend = Backend::kNft;
};

// table ("nat", "filter") → chain → its rules (each an "-A CHAIN …" line), for every chain the mode owns.
using Tables = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

// The chains and rules for `state` (pure: what the tests look at).
Tables render_rules(const plugin::proxy::ProxyState& state, const IptablesOptions& options);

// The iptables-restore input that takes the kernel from `current` (what the mode wrote last; chains
// with unknown content have an empty rule list and a "?" first rule) to `desired`: changed and new
// chains declared and filled, vanished chains flushed and deleted, one COMMIT per table.
std::string restore_script(const Tables& current, const Tables& desired);

std::unique_ptr<plugin::proxy::Proxy> make_iptables_proxy(IptablesOptions options, plugin::Logger* logger);
plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 2> kOptions;

}  // namespace skiff::plugins::proxy::iptables
