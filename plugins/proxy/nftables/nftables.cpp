#include "nftables.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "command.hpp"
#include "proxy_common.hpp"

namespace skiff::plugins::proxy::nftables {
namespace {

using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

const std::string kT = "ip " + std::string(kTable);

std::string hex(unsigned v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

std::string base_key(const ServicePort& sp) { return sp.id() + "/" + std::string(lower_protocol(sp.protocol)); }

// Order in a transaction: maps and sets first, then every chain is declared before any rule can
// jump to it, then base chains (which reference maps), then deletions.
int rank(const NftObject& o) { return o.kind == "chain" ? (o.spec.empty() ? 1 : 2) : 0; }

}  // namespace

NftObjects render_objects(const ProxyState& state, const NftablesOptions& options) {
  NftObjects objs;
  const std::string mark = hex(1u << options.masquerade_bit);
  auto chain = [&](const std::string& name, std::string spec = {}) -> std::vector<std::string>& {
    auto& o = objs[name];
    o.kind = "chain";
    o.spec = std::move(spec);
    return o.lines;
  };
  chain("nat-prerouting", "{ type nat hook prerouting priority dstnat; policy accept; }") = {"jump services"};
  chain("nat-output", "{ type nat hook output priority -100; policy accept; }") = {"jump services"};
  chain("nat-postrouting", "{ type nat hook postrouting priority srcnat; policy accept; }") = {
      "meta mark & " + mark + " == " + mark + " masquerade fully-random"};
  const std::string reject_services = "ct state new ip daddr . meta l4proto . th dport @no-endpoint-services reject";
  chain("filter-output", "{ type filter hook output priority filter; policy accept; }") = {reject_services};
  chain("filter-forward", "{ type filter hook forward priority filter; policy accept; }") = {reject_services};
  chain("filter-input", "{ type filter hook input priority filter; policy accept; }") = {
      reject_services, "ct state new fib daddr type local meta l4proto . th dport @no-endpoint-nodeports reject"};
  chain("services") = {"ip daddr . meta l4proto . th dport vmap @service-ips",
                       "fib daddr type local meta l4proto . th dport vmap @service-nodeports"};
  chain("mark-for-masquerade") = {"meta mark set meta mark | " + mark};

  auto& ips = objs["service-ips"];
  ips.kind = "map";
  ips.spec = "{ type ipv4_addr . inet_proto . inet_service : verdict; }";
  auto& nodeports = objs["service-nodeports"];
  nodeports.kind = "map";
  nodeports.spec = "{ type inet_proto . inet_service : verdict; }";
  auto& no_eps = objs["no-endpoint-services"];
  no_eps.kind = "set";
  no_eps.spec = "{ type ipv4_addr . inet_proto . inet_service; }";
  auto& no_eps_np = objs["no-endpoint-nodeports"];
  no_eps_np.kind = "set";
  no_eps_np.spec = "{ type inet_proto . inet_service; }";

  for (const ServicePort& sp : state.services) {
    const std::string proto(lower_protocol(sp.protocol));
    const std::string key = base_key(sp);
    auto ready = ready_endpoints(sp);
    if (ready.empty()) {
      no_eps.lines.push_back(sp.cluster_ip + " . " + proto + " . " + std::to_string(sp.port));
      if (sp.node_port != 0) no_eps_np.lines.push_back(proto + " . " + std::to_string(sp.node_port));
      continue;
    }
    const std::string svc = "svc-" + short_hash(key);
    ips.lines.push_back(sp.cluster_ip + " . " + proto + " . " + std::to_string(sp.port) + " : goto " + svc);
    if (sp.node_port != 0) {
      const std::string ext = "ext-" + short_hash(key);
      chain(ext) = {"jump mark-for-masquerade", "goto " + svc};
      nodeports.lines.push_back(proto + " . " + std::to_string(sp.node_port) + " : goto " + ext);
    }
    auto& svc_rules = chain(svc);
    std::string vmap;
    for (std::size_t i = 0; i < ready.size(); ++i) {
      const auto& e = *ready[i];
      const std::string id = short_hash(key + "/" + endpoint_address(e));
      const std::string sep = "sep-" + id;
      std::string affinity_set;
      if (sp.client_ip_affinity) {
        // The set's name carries the timeout, so a changed timeout is a new set rather than an edit.
        affinity_set = "affinity-" + short_hash(id + "/" + std::to_string(sp.affinity_timeout_seconds));
        auto& set = objs[affinity_set];
        set.kind = "set";
        set.spec = "{ type ipv4_addr; flags dynamic,timeout; timeout " + std::to_string(sp.affinity_timeout_seconds) + "s; }";
        svc_rules.push_back("ip saddr @" + affinity_set + " goto " + sep);
      }
      vmap += (i ? ", " : "") + std::to_string(i) + " : goto " + sep;
      auto& sep_rules = chain(sep);
      sep_rules.push_back("ip saddr " + e.ip + " jump mark-for-masquerade");  // hairpin
      if (!affinity_set.empty()) sep_rules.push_back("update @" + affinity_set + " { ip saddr }");
      sep_rules.push_back("meta l4proto " + proto + " dnat to " + endpoint_address(e));
    }
    svc_rules.push_back("numgen random mod " + std::to_string(ready.size()) + " vmap { " + vmap + " }");
  }
  return objs;
}

std::string nft_script(const NftObjects& current, const NftObjects& desired, bool replace_table) {
  std::string out;
  if (replace_table) out += "add table " + kT + "\ndelete table " + kT + "\n";
  out += "add table " + kT + "\n";
  std::vector<const std::pair<const std::string, NftObject>*> changed;
  for (const auto& entry : desired) {
    auto it = current.find(entry.first);
    if (!replace_table && it != current.end() && it->second == entry.second) continue;
    changed.push_back(&entry);
  }
  std::stable_sort(changed.begin(), changed.end(), [](auto* a, auto* b) { return rank(a->second) < rank(b->second); });
  // Declarations first (a rule may goto a chain declared later in the file).
  for (const auto* e : changed) {
    const auto& [name, o] = *e;
    out += "add " + o.kind + " " + kT + " " + name + (o.spec.empty() ? "" : " " + o.spec) + "\n";
    bool dynamic_set = o.kind == "set" && o.spec.find("dynamic") != std::string::npos;
    if (!dynamic_set) out += "flush " + o.kind + " " + kT + " " + name + "\n";  // affinity entries survive
  }
  for (const auto* e : changed) {
    const auto& [name, o] = *e;
    if (o.kind == "chain") {
      for (const auto& rule : o.lines) out += "add rule " + kT + " " + name + " " + rule + "\n";
    } else if (!o.lines.empty()) {
      out += "add element " + kT + " " + name + " { ";
      for (std::size_t i = 0; i < o.lines.size(); ++i) out += (i ? ", " : "") + o.lines[i];
      out += " }\n";
    }
  }
  if (!replace_table) {
    // Chains go before the sets they referenced; rules referencing them are gone by now.
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& [name, o] : current)
        if (!desired.contains(name) && (o.kind == "chain") == (pass == 0)) out += "delete " + o.kind + " " + kT + " " + name + "\n";
  }
  return out;
}

namespace {

class NftablesProxy final : public plugin::proxy::Proxy {
 public:
  NftablesProxy(NftablesOptions options, plugin::Logger* logger) : options_(std::move(options)), logger_(logger) {}

  plugin::Status start() noexcept override {
    if (!have_program(options_.nft_command))
      return plugin::unavailable("proxy mode nftables needs '" + options_.nft_command +
                                 "' (Debian package nftables); other modes: iptables, userspace, ipvs");
    auto probe = run_command({options_.nft_command, "list", "tables"});
    if (!probe || probe->exit_code != 0)
      return plugin::unavailable("proxy mode nftables: nft cannot talk to the kernel (" +
                                 (probe ? probe->err : probe.status().message()) + "); other modes: iptables, userspace, ipvs");
    return plugin::Status::ok();
  }

  plugin::Result<plugin::proxy::SyncResult> sync(const ProxyState& state) noexcept override {
    try {
      std::lock_guard lock(mutex_);
      NftObjects desired = render_objects(state, options_);
      std::string script = nft_script(written_, desired, !known_);
      auto r = run_checked({options_.nft_command, "-f", "-"}, script);
      if (!r) {
        known_ = false;
        return r.status().with_context("proxy nftables sync");
      }
      known_ = true;
      written_ = std::move(desired);
      std::size_t count = 0;
      for (const auto& [name, o] : written_) count += o.lines.size();
      return plugin::proxy::SyncResult{count};
    } catch (const std::exception& e) {
      known_ = false;
      return plugin::internal(std::string("proxy nftables sync: ") + e.what());
    }
  }

  plugin::Status cleanup() noexcept override {
    try {
      std::lock_guard lock(mutex_);
      known_ = false;
      written_.clear();
      if (!have_program(options_.nft_command)) return plugin::Status::ok();
      // "add" first makes the delete succeed whether or not the table exists, atomically.
      auto r = run_checked({options_.nft_command, "-f", "-"}, "add table " + kT + "\ndelete table " + kT + "\n");
      return r ? plugin::Status::ok() : r.status().with_context("proxy nftables cleanup");
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy nftables cleanup: ") + e.what());
    }
  }

 private:
  const NftablesOptions options_;
  plugin::Logger* logger_;
  std::mutex mutex_;
  bool known_ = false;
  NftObjects written_;
};

}  // namespace

std::unique_ptr<plugin::proxy::Proxy> make_nftables_proxy(NftablesOptions options, plugin::Logger* logger) {
  return std::make_unique<NftablesProxy>(std::move(options), logger);
}

const std::array<plugin::OptionSpec, 1> kOptions{{
    {"masquerade-bit", "14", "Bit of the packet mark that asks the postrouting chain to masquerade."},
}};

plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context) {
  NftablesOptions options;
  auto bit = context.config.get_int("masquerade-bit", 0, 31);
  if (!bit) return bit.status();
  options.masquerade_bit = static_cast<int>(*bit);
  return make_nftables_proxy(std::move(options), &context.logger);
}

}  // namespace skiff::plugins::proxy::nftables
