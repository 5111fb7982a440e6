#include "nftables.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <set>

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
  auto collection = [&](const std::string& kind, const std::string& name, std::string spec) -> std::vector<std::string>& {
    auto& o = objs[name];
    o.kind = kind;
    o.spec = std::move(spec);
    return o.lines;
  };
  chain("nat-prerouting", "{ type nat hook prerouting priority dstnat; policy accept; }") = {"jump services"};
  chain("nat-output", "{ type nat hook output priority -100; policy accept; }") = {"jump services"};
  // Hairpin (a pod reaching itself through a service) is seen after DNAT as source == destination:
  // one set of "ip . ip" pairs covers every endpoint, instead of a rule per endpoint.
  chain("nat-postrouting", "{ type nat hook postrouting priority srcnat; policy accept; }") = {
      "meta mark & " + mark + " == " + mark + " masquerade fully-random",
      "ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random"};
  const std::string reject_services = "ct state new ip daddr . meta l4proto . th dport @no-endpoint-services reject";
  chain("filter-output", "{ type filter hook output priority filter; policy accept; }") = {reject_services};
  chain("filter-forward", "{ type filter hook forward priority filter; policy accept; }") = {reject_services};
  chain("filter-input", "{ type filter hook input priority filter; policy accept; }") = {
      reject_services, "ct state new fib daddr type local meta l4proto . th dport @no-endpoint-nodeports reject"};
  chain("services") = {"ip daddr . meta l4proto . th dport vmap @service-ips",
                       "fib daddr type local meta l4proto . th dport vmap @service-nodeports"};
  chain("mark-for-masquerade") = {"meta mark set meta mark | " + mark};

  auto& ips = collection("map", "service-ips", "{ type ipv4_addr . inet_proto . inet_service : verdict; }");
  auto& nodeports = collection("map", "service-nodeports", "{ type inet_proto . inet_service : verdict; }");
  auto& hairpin = collection("set", "hairpin", "{ type ipv4_addr . ipv4_addr; }");
  auto& no_eps = collection("set", "no-endpoint-services", "{ type ipv4_addr . inet_proto . inet_service; }");
  auto& no_eps_np = collection("set", "no-endpoint-nodeports", "{ type inet_proto . inet_service; }");

  std::set<std::string> endpoint_ips;
  // Endpoint i of every service port lives in the map of slot i, keyed by what the packet carries
  // (destination, protocol, port); the chain of slot i DNATs through that map. A service port with
  // n endpoints goes to the chain lb-n, which picks a slot with `numgen random mod n`. So the rule
  // set is a handful of chains whatever the number of services, and an endpoint is one map element.
  auto slot_map = [&](std::size_t i, bool node_port) -> std::vector<std::string>& {
    const std::string map = (node_port ? "nodeport-endpoints-" : "endpoints-") + std::to_string(i);
    if (!objs.contains(map)) {
      const std::string chain_name = (node_port ? "nodeport-slot-" : "slot-") + std::to_string(i);
      collection("map", map,
                 node_port ? "{ type inet_proto . inet_service : ipv4_addr . inet_service; }"
                           : "{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }");
      chain(chain_name) = {"dnat ip to " + std::string(node_port ? "" : "ip daddr . ") + "meta l4proto . th dport map @" + map};
    }
    return objs[map].lines;
  };
  auto balancer = [&](std::size_t n, bool node_port) {
    const std::string name = (node_port ? "nodeport-lb-" : "lb-") + std::to_string(n);
    auto& rules = chain(name);
    if (!rules.empty()) return name;
    if (node_port) rules.push_back("jump mark-for-masquerade");  // from outside: replies must come back here
    std::string vmap;
    for (std::size_t i = 0; i < n; ++i)
      vmap += (i ? ", " : "") + std::to_string(i) + " : goto " + (node_port ? "nodeport-slot-" : "slot-") + std::to_string(i);
    rules.push_back("numgen random mod " + std::to_string(n) + " vmap { " + vmap + " }");
    return name;
  };

  for (const ServicePort& sp : state.services) {
    const std::string proto(lower_protocol(sp.protocol));
    const std::string service_key = sp.cluster_ip + " . " + proto + " . " + std::to_string(sp.port);
    const std::string node_port_key = proto + " . " + std::to_string(sp.node_port);
    auto ready = ready_endpoints(sp);
    if (ready.empty()) {
      no_eps.push_back(service_key);
      if (sp.node_port != 0) no_eps_np.push_back(node_port_key);
      continue;
    }
    for (const auto* e : ready) endpoint_ips.insert(e->ip);
    if (!sp.client_ip_affinity) {
      ips.push_back(service_key + " : goto " + balancer(ready.size(), false));
      for (std::size_t i = 0; i < ready.size(); ++i)
        slot_map(i, false).push_back(service_key + " : " + ready[i]->ip + " . " + std::to_string(ready[i]->port));
      if (sp.node_port != 0) {
        nodeports.push_back(node_port_key + " : goto " + balancer(ready.size(), true));
        for (std::size_t i = 0; i < ready.size(); ++i)
          slot_map(i, true).push_back(node_port_key + " : " + ready[i]->ip + " . " + std::to_string(ready[i]->port));
      }
      continue;
    }
    // ClientIP affinity needs per-endpoint state (a dynamic set of recent clients), so these
    // service ports keep a chain of their own and one per endpoint.
    const std::string key = base_key(sp);
    const std::string svc = "svc-" + short_hash(key);
    ips.push_back(service_key + " : goto " + svc);
    if (sp.node_port != 0) {
      const std::string ext = "ext-" + short_hash(key);
      chain(ext) = {"jump mark-for-masquerade", "goto " + svc};
      nodeports.push_back(node_port_key + " : goto " + ext);
    }
    auto& svc_rules = chain(svc);
    std::string vmap;
    for (std::size_t i = 0; i < ready.size(); ++i) {
      const auto& e = *ready[i];
      const std::string id = short_hash(key + "/" + endpoint_address(e));
      const std::string sep = "sep-" + id;
      // The set's name carries the timeout, so a changed timeout is a new set rather than an edit.
      const std::string affinity_set = "affinity-" + short_hash(id + "/" + std::to_string(sp.affinity_timeout_seconds));
      collection("set", affinity_set,
                 "{ type ipv4_addr; flags dynamic,timeout; timeout " + std::to_string(sp.affinity_timeout_seconds) + "s; }");
      svc_rules.push_back("ip saddr @" + affinity_set + " goto " + sep);
      vmap += (i ? ", " : "") + std::to_string(i) + " : goto " + sep;
      chain(sep) = {"update @" + affinity_set + " { ip saddr }", "meta l4proto " + proto + " dnat to " + endpoint_address(e)};
    }
    svc_rules.push_back("numgen random mod " + std::to_string(ready.size()) + " vmap { " + vmap + " }");
  }
  for (const auto& ip : endpoint_ips) hairpin.push_back(ip + " . " + ip);
  return objs;
}

namespace {

// A map element's key: what `delete element` takes.
std::string_view element_key(std::string_view line) { return line.substr(0, line.find(" : ")); }

std::string element_list(const std::vector<std::string_view>& items) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out + " }";
}

}  // namespace

std::string nft_script(const NftObjects& current, const NftObjects& desired, bool replace_table) {
  std::string out;
  if (replace_table) out += "add table " + kT + "\ndelete table " + kT + "\n";
  out += "add table " + kT + "\n";
  // Objects declared (new, or changed in their spec) are filled whole; maps and sets that exist with
  // the same spec get only their changed elements, so one moved endpoint is two element edits.
  std::vector<const std::pair<const std::string, NftObject>*> declared, edited;
  for (const auto& entry : desired) {
    auto it = current.find(entry.first);
    if (!replace_table && it != current.end() && it->second == entry.second) continue;
    bool same_collection = !replace_table && it != current.end() && entry.second.kind != "chain" &&
                           it->second.kind == entry.second.kind && it->second.spec == entry.second.spec;
    (same_collection ? edited : declared).push_back(&entry);
  }
  std::stable_sort(declared.begin(), declared.end(), [](auto* a, auto* b) { return rank(a->second) < rank(b->second); });
  // Declarations first (a rule may goto a chain declared later in the file).
  for (const auto* e : declared) {
    const auto& [name, o] = *e;
    out += "add " + o.kind + " " + kT + " " + name + (o.spec.empty() ? "" : " " + o.spec) + "\n";
    bool dynamic_set = o.kind == "set" && o.spec.find("dynamic") != std::string::npos;
    if (!dynamic_set) out += "flush " + o.kind + " " + kT + " " + name + "\n";  // affinity entries survive
  }
  for (const auto* e : declared) {
    const auto& [name, o] = *e;
    if (o.kind == "chain") {
      for (const auto& rule : o.lines) out += "add rule " + kT + " " + name + " " + rule + "\n";
    } else if (!o.lines.empty()) {
      out += "add element " + kT + " " + name + " " +
             element_list(std::vector<std::string_view>(o.lines.begin(), o.lines.end())) + "\n";
    }
  }
  // Element edits: every removal before any addition, so a key whose value changed is re-added.
  std::string additions;
  for (const auto* e : edited) {
    const auto& [name, o] = *e;
    std::vector<std::string_view> have(current.at(name).lines.begin(), current.at(name).lines.end());
    std::vector<std::string_view> want(o.lines.begin(), o.lines.end());
    std::sort(have.begin(), have.end());
    std::sort(want.begin(), want.end());
    std::vector<std::string_view> gone, added;
    std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(gone));
    std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(added));
    for (auto& g : gone) g = element_key(g);
    if (!gone.empty()) out += "delete element " + kT + " " + name + " " + element_list(gone) + "\n";
    if (!added.empty()) additions += "add element " + kT + " " + name + " " + element_list(added) + "\n";
  }
  out += additions;
  if (!replace_table) {
    // Chains that go are emptied first (their rules may jump to one another), then deleted, then
    // the sets they referenced; elements referencing them are gone by now.
    for (int pass = 0; pass < 3; ++pass)
      for (const auto& [name, o] : current)
        if (!desired.contains(name) && (o.kind == "chain") == (pass < 2))
          out += std::string(pass == 0 ? "flush " : "delete ") + o.kind + " " + kT + " " + name + "\n";
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
