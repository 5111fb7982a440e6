#include "iptables.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "command.hpp"
#include "proxy_common.hpp"

namespace skiff::plugins::proxy::iptables {
namespace {

using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

constexpr std::string_view kPrefix = "KUBE-";

// Where the mode's chains hang off the built-in ones. kube-proxy keeps these outside the restore of
// its own chains; here they go into the same transaction, but only when the save output read at the
// first sync shows them missing (with --noflush, an unconditional append would add a copy per sync).
struct Jump {
  const char* table;
  const char* chain;
  const char* match;  // extra matches before the comment
  const char* target;
};
constexpr Jump kJumps[] = {
    {"nat", "PREROUTING", "", "KUBE-SERVICES"},
    {"nat", "OUTPUT", "", "KUBE-SERVICES"},
    {"nat", "POSTROUTING", "", "KUBE-POSTROUTING"},
    {"filter", "INPUT", "-m conntrack --ctstate NEW ", "KUBE-EXTERNAL-SERVICES"},
    {"filter", "FORWARD", "-m conntrack --ctstate NEW ", "KUBE-SERVICES"},
    {"filter", "OUTPUT", "-m conntrack --ctstate NEW ", "KUBE-SERVICES"},
};
constexpr std::string_view kJumpComment = "skiff proxy";

// How long one iptables-restore (or -save) may take. Generous on purpose: stopping it only throws
// the work away (a restore commits at its end, so nothing is half-written) and the next sync starts
// over. The nf_tables backend's restore of kube-proxy's layout is slow at scale: at 10,000 services
// x 10 endpoints (110,000 chains) it took 4 minutes here, nearly all of it iptables-nft looking
// chains up by name (bench/proxy/README.md).
constexpr auto kRestoreTimeout = std::chrono::minutes(10);
// A sync slower than this is logged with its size and the mode that does the same work faster.
constexpr auto kSlowSync = std::chrono::seconds(5);

// "-I PREROUTING 1 -m comment --comment \"skiff proxy\" -j KUBE-SERVICES"
std::string jump_insert(const Jump& j) {
  return "-I " + std::string(j.chain) + " 1 " + j.match + "-m comment --comment \"" + std::string(kJumpComment) +
         "\" -j " + j.target;
}

// Whether an iptables-save rule line is one of the mode's jumps from built-in chain `chain`.
bool is_jump_line(const std::string& line, std::string_view chain) {
  return line.starts_with("-A " + std::string(chain) + " ") &&
         line.find("--comment \"" + std::string(kJumpComment) + "\"") != std::string::npos &&
         line.find(" -j KUBE-") != std::string::npos;
}

std::string mark_hex(int bit) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%x", 1u << bit);
  return buf;
}

std::string probability(std::size_t remaining) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10f", 1.0 / static_cast<double>(remaining));
  return buf;
}

std::string svc_chain(const ServicePort& sp) {
  return "KUBE-SVC-" + short_hash(sp.id() + "/" + std::string(lower_protocol(sp.protocol)));
}

std::string sep_chain(const ServicePort& sp, const plugin::proxy::Endpoint& e) {
  return "KUBE-SEP-" + short_hash(sp.id() + "/" + std::string(lower_protocol(sp.protocol)) + "/" + endpoint_address(e));
}

// What the mode has in one table, from `iptables-save -t <table>` output: its chains, and the rule
// lines in built-in chains that jump to them.
struct Found {
  std::set<std::string> chains;
  std::vector<std::string> jumps;
};
Found owned_in(const std::string& save_output) {
  Found out;
  std::istringstream in(save_output);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line[0] == ':') {
      std::string name = line.substr(1, line.find(' ') - 1);
      if (name.starts_with(kPrefix)) out.chains.insert(name);
    } else if (line.starts_with("-A ")) {
      std::string chain = line.substr(3, line.find(' ', 3) - 3);
      if (!chain.starts_with(kPrefix) && is_jump_line(line, chain)) out.jumps.push_back(line);
    }
  }
  return out;
}

// `extra` lines added to `table`'s section of an iptables-restore script (a section is made when
// the script has none for that table).
void add_to_table(std::string& script, const std::string& table, const std::string& extra) {
  if (extra.empty()) return;
  const std::string header = "*" + table + "\n";
  auto at = script.find(header);
  if (at == std::string::npos) {
    script += header + extra + "COMMIT\n";
    return;
  }
  auto commit = script.find("COMMIT\n", at);
  script.insert(commit, extra);
}

}  // namespace

Tables render_rules(const ProxyState& state, const IptablesOptions& options) {
  Tables t;
  auto& nat = t["nat"];
  auto& filter = t["filter"];
  const std::string mark = mark_hex(options.masquerade_bit);
  nat["KUBE-MARK-MASQ"] = {"-A KUBE-MARK-MASQ -j MARK --or-mark " + mark};
  // Only marked packets are masqueraded; the mark is cleared so a re-routed packet is not done twice.
  nat["KUBE-POSTROUTING"] = {"-A KUBE-POSTROUTING -m mark ! --mark " + mark + "/" + mark + " -j RETURN",
                             "-A KUBE-POSTROUTING -j MARK --xor-mark " + mark,
                             "-A KUBE-POSTROUTING -m comment --comment \"skiff service traffic requiring SNAT\" -j MASQUERADE --random-fully"};
  auto& services = nat["KUBE-SERVICES"];
  auto& nodeports = nat["KUBE-NODEPORTS"];
  auto& reject = filter["KUBE-SERVICES"];
  auto& external_reject = filter["KUBE-EXTERNAL-SERVICES"];

  for (const ServicePort& sp : state.services) {
    const std::string proto(lower_protocol(sp.protocol));
    const std::string match = " -p " + proto + " -m " + proto + " --dport ";
    // No per-rule comments (kube-proxy drops them on large clusters too): at 10,000 services they
    // would be a good part of what iptables-restore parses and the kernel stores.
    auto ready = ready_endpoints(sp);
    if (ready.empty()) {
      // Kubernetes rejects rather than black-holes: a client learns at once that nobody serves.
      reject.push_back("-A KUBE-SERVICES -d " + sp.cluster_ip + "/32" + match + std::to_string(sp.port) +
                       " -j REJECT --reject-with icmp-port-unreachable");
      if (sp.node_port != 0)
        external_reject.push_back("-A KUBE-EXTERNAL-SERVICES -m addrtype --dst-type LOCAL" + match +
                                  std::to_string(sp.node_port) + " -j REJECT --reject-with icmp-port-unreachable");
      continue;
    }
    const std::string svc = svc_chain(sp);
    services.push_back("-A KUBE-SERVICES -d " + sp.cluster_ip + "/32" + match + std::to_string(sp.port) +
                       " -j " + svc);
    if (sp.node_port != 0) {
      // Traffic arriving at a node port came from outside the pod network: masquerade it so replies
      // come back through this node.
      nodeports.push_back("-A KUBE-NODEPORTS" + match + std::to_string(sp.node_port) + " -j KUBE-MARK-MASQ");
      nodeports.push_back("-A KUBE-NODEPORTS" + match + std::to_string(sp.node_port) + " -j " + svc);
    }
    auto& svc_rules = nat[svc];
    const std::string recent_opts = " --mask 255.255.255.255 --rsource";
    if (sp.client_ip_affinity)
      for (const auto* e : ready) {
        std::string sep = sep_chain(sp, *e);
        svc_rules.push_back("-A " + svc + " -m recent --name " + sep + recent_opts + " --rcheck --seconds " +
                            std::to_string(sp.affinity_timeout_seconds) + " --reap -j " + sep);
      }
    for (std::size_t i = 0; i < ready.size(); ++i) {
      const auto& e = *ready[i];
      std::string sep = sep_chain(sp, e);
      // Endpoint i of n is picked with probability 1/(n-i) among those left: uniform overall.
      if (i + 1 < ready.size())
        svc_rules.push_back("-A " + svc + " -m statistic --mode random --probability " + probability(ready.size() - i) +
                            " -j " + sep);
      else
        svc_rules.push_back("-A " + svc + " -j " + sep);
      auto& sep_rules = nat[sep];
      // Hairpin: a pod reaching itself through the service must see the node as the source.
      sep_rules.push_back("-A " + sep + " -s " + e.ip + "/32 -j KUBE-MARK-MASQ");
      sep_rules.push_back("-A " + sep + " -p " + proto +
                          (sp.client_ip_affinity ? " -m recent --name " + sep + recent_opts + " --set" : std::string()) +
                          " -m " + proto + " -j DNAT --to-destination " + endpoint_address(e));
    }
  }
  services.push_back("-A KUBE-SERVICES -m comment --comment \"node ports\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS");
  return t;
}

std::string restore_script(const Tables& current, const Tables& desired) {
  std::string out;
  std::set<std::string> tables;
  for (const auto& [name, chains] : current) tables.insert(name);
  for (const auto& [name, chains] : desired) tables.insert(name);
  static const std::map<std::string, std::vector<std::string>> kEmpty;
  for (const auto& table : tables) {
    auto c = current.find(table);
    auto d = desired.find(table);
    const auto& cur = c == current.end() ? kEmpty : c->second;
    const auto& want = d == desired.end() ? kEmpty : d->second;
    std::string declare, rules, remove;
    for (const auto& [chain, lines] : want) {
      auto it = cur.find(chain);
      if (it != cur.end() && it->second == lines) continue;  // unchanged: not touched at all
      declare += ":" + chain + " - [0:0]\n";                 // creates, or flushes an existing chain
      for (const auto& l : lines) rules += l + "\n";
    }
    for (const auto& [chain, lines] : cur)
      if (!want.contains(chain)) {
        declare += ":" + chain + " - [0:0]\n";
        remove += "-X " + chain + "\n";
      }
    if (declare.empty()) continue;
    out += "*" + table + "\n" + declare + rules + remove + "COMMIT\n";
  }
  return out;
}

Tools tools_for(Backend backend) {
  if (backend == Backend::kLegacy) return {"iptables-legacy-restore", "iptables-legacy-save"};
  return {"iptables-nft-restore", "iptables-nft-save"};
}

std::string_view backend_name(Backend backend) noexcept { return backend == Backend::kLegacy ? "legacy" : "nft"; }

Backend default_backend() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = std::min(dirs.find(':', start), dirs.size());
    std::error_code ec;
    auto target = std::filesystem::canonical(dirs.substr(start, end - start) + "/iptables", ec);
    if (!ec) return target.filename().string().find("legacy") != std::string::npos ? Backend::kLegacy : Backend::kNft;
    start = end + 1;
  }
  return Backend::kNft;
}

namespace {

Backend other(Backend b) { return b == Backend::kLegacy ? Backend::kNft : Backend::kLegacy; }

// The tables the legacy backend has in this network namespace. Reading a table with the legacy
// tools would create it (empty), so the other-backend sweep only reads tables that already exist.
std::set<std::string> legacy_tables() {
  std::set<std::string> out;
  std::ifstream in("/proc/net/ip_tables_names");
  for (std::string line; std::getline(in, line);) out.insert(line);
  return out;
}

class IptablesProxy final : public plugin::proxy::Proxy {
 public:
  IptablesProxy(IptablesOptions options, plugin::Logger* logger)
      : options_(std::move(options)), tools_(tools_for(options_.backend)), logger_(logger) {}

  plugin::Status start() noexcept override {
    const std::string package = options_.backend == Backend::kLegacy ? "iptables (legacy tools)" : "iptables";
    for (const auto& tool : {tools_.restore, tools_.save})
      if (!have_program(tool))
        return plugin::unavailable("proxy mode iptables (backend " + std::string(backend_name(options_.backend)) +
                                   ") needs '" + tool + "' (Debian package " + package +
                                   "); other modes: nftables, userspace, ipvs");
    auto probe = run_command({tools_.save, "-t", "nat"});
    if (!probe || probe->exit_code != 0)
      return plugin::unavailable("proxy mode iptables (backend " + std::string(backend_name(options_.backend)) +
                                 "): cannot read the nat table (" + (probe ? probe->err : probe.status().message()) +
                                 "); other modes: nftables, userspace, ipvs");
    return plugin::Status::ok();
  }

  plugin::Result<plugin::proxy::SyncResult> sync(const ProxyState& state) noexcept override {
    try {
      std::lock_guard lock(mutex_);
      Tables desired = render_rules(state, options_);
      std::map<std::string, std::string> hooks;  // table → jump insertions this sync adds
      if (!known_) {
        // Rules of ours through the other backend would be evaluated too (both sets are live):
        // a backend switch clears them before the first write through this one.
        if (auto st = remove_owned(other(options_.backend)); !st) return st.with_context("proxy iptables sync");
        // First sync (or after a failure): what is in the kernel is unknown, so every chain of ours
        // found there is treated as stale and rewritten or removed, and missing jumps are added.
        auto found = read_owned(options_.backend, /*existing_only=*/false);
        if (!found) return found.status();
        written_.clear();
        for (const auto& [table, f] : *found) {
          for (const auto& chain : f.chains) written_[table][chain] = {"?"};  // content unknown
          for (const Jump& j : kJumps) {
            if (table != j.table) continue;
            bool present = std::any_of(f.jumps.begin(), f.jumps.end(), [&](const std::string& line) {
              return line.starts_with("-A " + std::string(j.chain) + " ") && line.ends_with(std::string(" -j ") + j.target);
            });
            if (!present) hooks[table] += jump_insert(j) + "\n";
          }
        }
      }
      std::string script = restore_script(written_, desired);
      for (const auto& [table, lines] : hooks) add_to_table(script, table, lines);
      const auto started = std::chrono::steady_clock::now();
      if (!script.empty()) {
        auto r = run_checked({tools_.restore, "-w", "5", "--noflush"}, script, kRestoreTimeout);
        if (!r) {
          known_ = false;
          return r.status().with_context("proxy iptables sync");
        }
      }
      const auto took = std::chrono::steady_clock::now() - started;
      written_ = std::move(desired);
      known_ = true;
      std::size_t rules = 0;
      for (const auto& [table, chains] : written_)
        for (const auto& [chain, lines] : chains) rules += lines.size();
      if (took > kSlowSync && logger_ != nullptr)
        logger_->warn("iptables-restore is slow at this size; the nftables mode writes the same services in "
                      "a fraction of the time (proxy.mode = nftables)",
                      {{"backend", std::string(backend_name(options_.backend))},
                       {"rules", std::to_string(rules)},
                       {"script_bytes", std::to_string(script.size())},
                       {"seconds", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(took).count())}});
      return plugin::proxy::SyncResult{rules};
    } catch (const std::exception& e) {
      known_ = false;
      return plugin::internal(std::string("proxy iptables sync: ") + e.what());
    }
  }

  // Through both backends (whichever has tools here): what an earlier run with the other backend
  // left must go too.
  plugin::Status cleanup() noexcept override {
    try {
      std::lock_guard lock(mutex_);
      known_ = false;
      written_.clear();
      if (auto st = remove_owned(options_.backend); !st) return st.with_context("proxy iptables cleanup");
      if (auto st = remove_owned(other(options_.backend)); !st) return st.with_context("proxy iptables cleanup");
      return plugin::Status::ok();
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy iptables cleanup: ") + e.what());
    }
  }

 private:
  // One transaction through `backend`: the jumps from the built-in chains are deleted (by the very
  // lines iptables-save printed), then every KUBE-* chain is flushed and deleted.
  plugin::Status remove_owned(Backend backend) {
    const Tools tools = tools_for(backend);
    if (!have_program(tools.save) || !have_program(tools.restore))
      return plugin::Status::ok();  // without the tools nothing of ours can be there
    auto found = read_owned(backend, /*existing_only=*/true);
    if (!found) return found.status();
    Tables chains;
    std::map<std::string, std::string> unhook;
    for (const auto& [table, f] : *found) {
      for (const auto& chain : f.chains) chains[table][chain] = {"?"};
      for (const auto& line : f.jumps) unhook[table] += "-D" + line.substr(2) + "\n";
    }
    std::string script = restore_script(chains, {});
    // Deletions of jumps must come before the chains they target go: put them first in each table.
    for (const auto& [table, lines] : unhook) {
      const std::string header = "*" + table + "\n";
      auto at = script.find(header);
      if (at == std::string::npos)
        script += header + lines + "COMMIT\n";
      else
        script.insert(at + header.size(), lines);
    }
    if (script.empty()) return plugin::Status::ok();
    auto r = run_checked({tools.restore, "-w", "5", "--noflush"}, script, kRestoreTimeout);
    return r ? plugin::Status::ok() : r.status();
  }

  // What the mode owns in the nat and filter tables of `backend`. Every table the sync writes must
  // be in the answer (its missing jumps are found that way); a sweep only needs existing ones.
  plugin::Result<std::map<std::string, Found>> read_owned(Backend backend, bool existing_only) {
    const Tools tools = tools_for(backend);
    const auto legacy = backend == Backend::kLegacy ? legacy_tables() : std::set<std::string>{};
    std::map<std::string, Found> found;
    for (const char* table : {"nat", "filter"}) {
      if (existing_only && backend == Backend::kLegacy && !legacy.contains(table)) continue;
      auto r = run_checked({tools.save, "-t", table}, {}, kRestoreTimeout);
      if (!r) return r.status().with_context("proxy iptables");
      found[table] = owned_in(r->out);
    }
    return found;
  }

  const IptablesOptions options_;
  const Tools tools_;
  plugin::Logger* logger_;
  std::mutex mutex_;
  bool known_ = false;
  Tables written_;
};

}  // namespace

std::unique_ptr<plugin::proxy::Proxy> make_iptables_proxy(IptablesOptions options, plugin::Logger* logger) {
  return std::make_unique<IptablesProxy>(std::move(options), logger);
}

const std::array<plugin::OptionSpec, 2> kOptions{{
    {"masquerade-bit", "14", "Bit of the packet mark that asks for masquerading (kube-proxy's --iptables-masquerade-bit)."},
    {"backend", "", "nft or legacy: which iptables tools write the rules (default: what the iptables alternative points at). "
                    "The other backend is cleared of the mode's rules at start."},
}};

plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context) {
  IptablesOptions options;
  auto bit = context.config.get_int("masquerade-bit", 0, 31);
  if (!bit) return bit.status();
  options.masquerade_bit = static_cast<int>(*bit);
  auto backend = context.config.get_string("backend");
  if (!backend) return backend.status();
  if (backend->empty())
    options.backend = default_backend();
  else if (*backend == "nft" || *backend == "legacy")
    options.backend = *backend == "nft" ? Backend::kNft : Backend::kLegacy;
  else
    return plugin::invalid("config " + context.config.full_key("backend") + ": '" + *backend +
                           "' is not one of nft, legacy");
  return make_iptables_proxy(std::move(options), &context.logger);
}

}  // namespace skiff::plugins::proxy::iptables
