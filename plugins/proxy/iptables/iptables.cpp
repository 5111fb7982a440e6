#include "iptables.hpp"

#include <cstdio>
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

// Where the mode's chains hang off the built-in ones. Kept outside the restore script (kube-proxy
// does the same): with --noflush, appending to a built-in chain would add a copy every sync.
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
    {"filter", "INPUT", "-m conntrack --ctstate NEW", "KUBE-EXTERNAL-SERVICES"},
    {"filter", "FORWARD", "-m conntrack --ctstate NEW", "KUBE-SERVICES"},
    {"filter", "OUTPUT", "-m conntrack --ctstate NEW", "KUBE-SERVICES"},
};

std::vector<std::string> jump_args(const Jump& j, const char* op, const std::string& iptables) {
  std::vector<std::string> argv = {iptables, "-w", "5", "-t", j.table, op, j.chain};
  std::istringstream extra(j.match);
  for (std::string word; extra >> word;) argv.push_back(word);
  for (const char* w : {"-m", "comment", "--comment", "skiff proxy", "-j"}) argv.emplace_back(w);
  argv.emplace_back(j.target);
  return argv;
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

// Chains of the mode found in `iptables-save -t <table>` output.
std::set<std::string> owned_chains(const std::string& save_output) {
  std::set<std::string> out;
  std::istringstream in(save_output);
  for (std::string line; std::getline(in, line);) {
    if (line.size() < 2 || line[0] != ':') continue;
    std::string name = line.substr(1, line.find(' ') - 1);
    if (name.starts_with(kPrefix)) out.insert(name);
  }
  return out;
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
    const std::string comment = " -m comment --comment \"" + sp.id() + "\"";
    auto ready = ready_endpoints(sp);
    if (ready.empty()) {
      // Kubernetes rejects rather than black-holes: a client learns at once that nobody serves.
      reject.push_back("-A KUBE-SERVICES -d " + sp.cluster_ip + "/32" + match + std::to_string(sp.port) + comment +
                       " -j REJECT --reject-with icmp-port-unreachable");
      if (sp.node_port != 0)
        external_reject.push_back("-A KUBE-EXTERNAL-SERVICES -m addrtype --dst-type LOCAL" + match +
                                  std::to_string(sp.node_port) + comment + " -j REJECT --reject-with icmp-port-unreachable");
      continue;
    }
    const std::string svc = svc_chain(sp);
    services.push_back("-A KUBE-SERVICES -d " + sp.cluster_ip + "/32" + match + std::to_string(sp.port) + comment +
                       " -j " + svc);
    if (sp.node_port != 0) {
      // Traffic arriving at a node port came from outside the pod network: masquerade it so replies
      // come back through this node.
      nodeports.push_back("-A KUBE-NODEPORTS" + match + std::to_string(sp.node_port) + comment + " -j KUBE-MARK-MASQ");
      nodeports.push_back("-A KUBE-NODEPORTS" + match + std::to_string(sp.node_port) + comment + " -j " + svc);
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

namespace {

class IptablesProxy final : public plugin::proxy::Proxy {
 public:
  IptablesProxy(IptablesOptions options, plugin::Logger* logger) : options_(std::move(options)), logger_(logger) {}

  plugin::Status start() noexcept override {
    for (const auto& tool : {options_.restore_command, options_.save_command, options_.iptables_command})
      if (!have_program(tool))
        return plugin::unavailable("proxy mode iptables needs '" + tool +
                                   "' (Debian package iptables); other modes: nftables, userspace, ipvs");
    auto probe = run_command({options_.save_command, "-t", "nat"});
    if (!probe || probe->exit_code != 0)
      return plugin::unavailable("proxy mode iptables: cannot read the nat table (" +
                                 (probe ? probe->err : probe.status().message()) +
                                 "); other modes: nftables, userspace, ipvs");
    return plugin::Status::ok();
  }

  plugin::Result<plugin::proxy::SyncResult> sync(const ProxyState& state) noexcept override {
    try {
      std::lock_guard lock(mutex_);
      Tables desired = render_rules(state, options_);
      if (!known_) {
        // First sync (or after a failure): what is in the kernel is unknown, so every chain of ours
        // found there is treated as stale and rewritten or removed.
        auto found = read_owned();
        if (!found) return found.status();
        written_ = std::move(*found);
      }
      std::string script = restore_script(written_, desired);
      if (!script.empty()) {
        auto r = run_checked({options_.restore_command, "-w", "5", "--noflush"}, script);
        if (!r) {
          known_ = false;
          return r.status().with_context("proxy iptables sync");
        }
      }
      written_ = std::move(desired);
      if (!known_) {
        if (auto st = ensure_jumps(); !st) return st;
        known_ = true;
      }
      std::size_t rules = 0;
      for (const auto& [table, chains] : written_)
        for (const auto& [chain, lines] : chains) rules += lines.size();
      return plugin::proxy::SyncResult{rules};
    } catch (const std::exception& e) {
      known_ = false;
      return plugin::internal(std::string("proxy iptables sync: ") + e.what());
    }
  }

  plugin::Status cleanup() noexcept override {
    try {
      std::lock_guard lock(mutex_);
      known_ = false;
      written_.clear();
      if (!have_program(options_.iptables_command)) return plugin::Status::ok();  // nothing can be there
      for (const Jump& j : kJumps)
        for (int i = 0; i < 16; ++i) {  // a crashed run may have left more than one copy
          auto r = run_command(jump_args(j, "-D", options_.iptables_command));
          if (!r || r->exit_code != 0) break;
        }
      auto found = read_owned();
      if (!found) return found.status();
      std::string script = restore_script(*found, {});
      if (script.empty()) return plugin::Status::ok();
      auto r = run_checked({options_.restore_command, "-w", "5", "--noflush"}, script);
      return r ? plugin::Status::ok() : r.status().with_context("proxy iptables cleanup");
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy iptables cleanup: ") + e.what());
    }
  }

 private:
  plugin::Result<Tables> read_owned() {
    Tables found;
    for (const char* table : {"nat", "filter"}) {
      auto r = run_checked({options_.save_command, "-t", table});
      if (!r) return r.status().with_context("proxy iptables");
      for (const auto& chain : owned_chains(r->out)) found[table][chain] = {"?"};  // content unknown
    }
    return found;
  }

  plugin::Status ensure_jumps() {
    for (const Jump& j : kJumps) {
      auto check = run_command(jump_args(j, "-C", options_.iptables_command));
      if (check && check->exit_code == 0) continue;
      auto add = run_checked(jump_args(j, "-I", options_.iptables_command));
      if (!add) return add.status().with_context("proxy iptables: hooking " + std::string(j.table) + "/" + j.chain);
    }
    return plugin::Status::ok();
  }

  const IptablesOptions options_;
  plugin::Logger* logger_;
  std::mutex mutex_;
  bool known_ = false;
  Tables written_;
};

}  // namespace

std::unique_ptr<plugin::proxy::Proxy> make_iptables_proxy(IptablesOptions options, plugin::Logger* logger) {
  return std::make_unique<IptablesProxy>(std::move(options), logger);
}

const std::array<plugin::OptionSpec, 1> kOptions{{
    {"masquerade-bit", "14", "Bit of the packet mark that asks for masquerading (kube-proxy's --iptables-masquerade-bit)."},
}};

plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context) {
  IptablesOptions options;
  auto bit = context.config.get_int("masquerade-bit", 0, 31);
  if (!bit) return bit.status();
  options.masquerade_bit = static_cast<int>(*bit);
  return make_iptables_proxy(std::move(options), &context.logger);
}

}  // namespace skiff::plugins::proxy::iptables
