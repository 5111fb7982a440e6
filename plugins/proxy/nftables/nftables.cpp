#include "nftables.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

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

  // Hashed, not ordered: every endpoint of every service passes here (100,000 at 10,000 services).
  std::unordered_set<std::string> endpoint_ips;
  // Endpoint i of every service port lives in the map of slot i, keyed by what the packet carries
  // (destination, protocol, port); the chain of slot i DNATs through that map. A service port with
  // n endpoints goes to the chain lb-n, which picks a slot with `numgen random mod n`. So the rule
  // set is a handful of chains whatever the number of services, and an endpoint is one map element.
  // Looked up once per slot, not once per endpoint: this loop runs 100,000 times at 10,000 services.
  std::vector<std::vector<std::string>*> slot_maps[2];
  auto slot_map = [&](std::size_t i, bool node_port) -> std::vector<std::string>& {
    auto& cached = slot_maps[node_port];
    if (i < cached.size() && cached[i] != nullptr) return *cached[i];
    const std::string map = (node_port ? "nodeport-endpoints-" : "endpoints-") + std::to_string(i);
    if (!objs.contains(map)) {
      const std::string chain_name = (node_port ? "nodeport-slot-" : "slot-") + std::to_string(i);
      collection("map", map,
                 node_port ? "{ type inet_proto . inet_service : ipv4_addr . inet_service; }"
                           : "{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }");
      chain(chain_name) = {"dnat ip to " + std::string(node_port ? "" : "ip daddr . ") + "meta l4proto . th dport map @" + map};
    }
    if (cached.size() <= i) cached.resize(i + 1, nullptr);
    cached[i] = &objs[map].lines;  // std::map nodes stay put as others are added
    return *cached[i];
  };
  // An element line "<key> : <ip> . <port>", built in place (one allocation, not five).
  auto element = [](const std::string& key, const plugin::proxy::Endpoint& e) {
    std::string port = std::to_string(e.port);
    std::string line;
    line.reserve(key.size() + e.ip.size() + port.size() + 6);
    line.append(key).append(" : ").append(e.ip).append(" . ").append(port);
    return line;
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
      for (std::size_t i = 0; i < ready.size(); ++i) slot_map(i, false).push_back(element(service_key, *ready[i]));
      if (sp.node_port != 0) {
        nodeports.push_back(node_port_key + " : goto " + balancer(ready.size(), true));
        for (std::size_t i = 0; i < ready.size(); ++i) slot_map(i, true).push_back(element(node_port_key, *ready[i]));
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
  std::sort(hairpin.begin(), hairpin.end());  // the same state renders the same lines
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

StagedLoad staged_load(const NftObjects& desired, std::string_view table, std::string_view retire) {
  const std::string t = "ip " + std::string(table), r = "ip " + std::string(retire);
  StagedLoad load;
  load.table = table;
  // "add" first makes the delete succeed whether or not a stale, unhooked copy is there.
  load.declare = "add table " + t + "\ndelete table " + t + "\nadd table " + t + "\n";
  std::string base_chains, rules, text_elements;
  for (const auto& [name, o] : desired) {
    if (o.kind != "chain") {
      load.declare += "add " + o.kind + " " + t + " " + name + " " + o.spec + "\n";
      if (o.lines.empty()) continue;
      if (auto layout = element_layout(o.spec)) {
        load.elements.push_back(ElementList{name, std::move(*layout), &o.lines});
      } else {
        text_elements += "add element " + t + " " + name + " " +
                         element_list(std::vector<std::string_view>(o.lines.begin(), o.lines.end())) + "\n";
      }
      continue;
    }
    // A base chain (its spec names a hook) is what lets packets in: it comes with the rules.
    if (o.spec.empty())
      load.declare += "add chain " + t + " " + name + "\n";
    else
      base_chains += "add chain " + t + " " + name + " " + o.spec + "\n";
    for (const auto& rule : o.lines) rules += "add rule " + t + " " + name + " " + rule + "\n";
  }
  load.finish = "add table " + t + "\n" + text_elements + base_chains + rules + "add table " + r + "\ndelete table " + r + "\n";
  return load;
}

NftWritten written_for(const ProxyState& state, const NftablesOptions& options) {
  NftWritten w{render_objects(state, options), {}};
  for (const ServicePort& sp : state.services)
    for (const auto* e : ready_endpoints(sp)) ++w.endpoint_ip_refs[e->ip];
  return w;
}

namespace {

bool same_port(const ServicePort& a, const ServicePort& b) {
  return a.ns == b.ns && a.name == b.name && a.port_name == b.port_name && a.protocol == b.protocol &&
         a.cluster_ip == b.cluster_ip && a.port == b.port && a.node_port == b.node_port &&
         a.client_ip_affinity == b.client_ip_affinity && a.affinity_timeout_seconds == b.affinity_timeout_seconds;
}

bool same_endpoints(const ServicePort& a, const ServicePort& b) {
  return std::equal(a.endpoints.begin(), a.endpoints.end(), b.endpoints.begin(), b.endpoints.end(),
                    [](const auto& x, const auto& y) { return x.ip == y.ip && x.port == y.port && x.ready == y.ready; });
}

// Past this many changed service ports a full render is as cheap, and erasing lines one by one is not.
constexpr std::size_t kMaxDeltaPorts = 64;

}  // namespace

std::optional<std::string> element_delta(ProxyState& synced, const ProxyState& next, NftWritten& written,
                                         const NftablesOptions& options) {
  if (synced.services.size() != next.services.size()) return std::nullopt;
  ProxyState before, after;
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < next.services.size(); ++i) {
    const ServicePort &a = synced.services[i], &b = next.services[i];
    if (!same_port(a, b)) return std::nullopt;  // a port came, went or changed: not an endpoint move
    if (same_endpoints(a, b)) continue;
    if (a.client_ip_affinity || after.services.size() == kMaxDeltaPorts) return std::nullopt;
    before.services.push_back(a);
    after.services.push_back(b);
    changed.push_back(i);
  }
  if (after.services.empty()) return std::string();
  // The changed ports rendered alone: their chains must be ones the table has already, unchanged
  // (lb-<n> for their new endpoint counts, the slot chains), and their maps and sets declared.
  NftObjects old_part = render_objects(before, options), new_part = render_objects(after, options);
  for (const auto& [name, o] : new_part) {
    auto it = written.objects.find(name);
    if (it == written.objects.end() || it->second.kind != o.kind || it->second.spec != o.spec) return std::nullopt;
    if (o.kind == "chain" && it->second.lines != o.lines) return std::nullopt;
  }
  // From here on nothing can refuse: `synced` takes the changed ports.
  for (std::size_t i : changed) synced.services[i] = next.services[i];
  // Hairpin pairs follow the IP counts over every port; the changed ports' own lines do not say
  // whether another port still has an IP.
  std::map<std::string, std::ptrdiff_t> ip_change;
  for (const ServicePort& sp : before.services)
    for (const auto* e : ready_endpoints(sp)) --ip_change[e->ip];
  for (const ServicePort& sp : after.services)
    for (const auto* e : ready_endpoints(sp)) ++ip_change[e->ip];
  old_part.erase("hairpin");
  new_part.erase("hairpin");
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> edits;  // name → (gone, added)
  for (const auto& [ip, change] : ip_change) {
    std::size_t& refs = written.endpoint_ip_refs[ip];
    std::size_t was = refs;
    refs = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(refs) + change);
    if (was == 0 && refs > 0) edits["hairpin"].second.push_back(ip + " . " + ip);
    if (was > 0 && refs == 0) edits["hairpin"].first.push_back(ip + " . " + ip);
    if (refs == 0) written.endpoint_ip_refs.erase(ip);
  }
  auto lines_of = [](const NftObjects& objs, const std::string& name) {
    auto it = objs.find(name);
    std::vector<std::string> lines = it == objs.end() || it->second.kind == "chain" ? std::vector<std::string>{} : it->second.lines;
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  std::set<std::string> names;
  for (const auto* part : {&old_part, &new_part})
    for (const auto& [name, o] : *part)
      if (o.kind != "chain") names.insert(name);
  for (const auto& name : names) {
    auto have = lines_of(old_part, name), want = lines_of(new_part, name);
    auto& [gone, added] = edits[name];
    std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(gone));
    std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(added));
  }
  // The script: every removal before any addition (a key whose value changed is re-added), and the
  // same edits to what was written.
  std::string removals, additions;
  for (auto& [name, change] : edits) {
    auto& [gone, added] = change;
    auto& lines = written.objects.at(name).lines;
    if (!gone.empty()) {
      std::vector<std::string_view> keys;
      for (const auto& g : gone) keys.push_back(element_key(g));
      removals += "delete element " + kT + " " + name + " " + element_list(keys) + "\n";
      for (const auto& g : gone)
        if (auto it = std::find(lines.begin(), lines.end(), g); it != lines.end()) lines.erase(it);
    }
    if (!added.empty()) {
      additions += "add element " + kT + " " + name + " " +
                   element_list(std::vector<std::string_view>(added.begin(), added.end())) + "\n";
      lines.insert(lines.end(), added.begin(), added.end());
    }
  }
  if (removals.empty() && additions.empty()) return std::string();
  return "add table " + kT + "\n" + removals + additions;
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
      if (!known_) {
        // What the kernel holds is unknown (a start, a mode switch, a failed sync): the whole table
        // is loaded staged, its elements skipping nft's parser.
        NftWritten desired = written_for(state, options_);
        if (auto s = load_fresh(desired.objects); !s) return s.with_context("proxy nftables sync");
        written_ = std::move(desired);
        synced_ = state;
      } else {
        // Endpoints that moved are element edits worked out from the changed ports alone; anything
        // else renders the whole state and diffs it against what was written. (A failed nft run
        // leaves written_ and synced_ meaning nothing: known_ = false reloads the table next time.)
        std::optional<std::string> script = element_delta(synced_, state, written_, options_);
        if (!script) {
          NftWritten desired = written_for(state, options_);
          script = nft_script(written_.objects, desired.objects, /*replace_table=*/false);
          written_ = std::move(desired);
          synced_ = state;
        }
        if (!script->empty())
          if (auto r = run_checked({options_.nft_command, "-f", "-"}, *script); !r) {
            known_ = false;
            return r.status().with_context("proxy nftables sync");
          }
      }
      known_ = true;
      std::size_t count = 0;
      for (const auto& [name, o] : written_.objects) count += o.lines.size();
      return plugin::proxy::SyncResult{count};
    } catch (const std::exception& e) {
      known_ = false;
      return plugin::internal(std::string("proxy nftables sync: ") + e.what());
    }
  }

  // Loads `objects` into kTable, whatever the kernel holds:
  // - nothing, or the standby table hooked in (a restart that stopped halfway): staged into kTable,
  //   retiring the standby table;
  // - kTable (a restart, a failed sync): staged into the standby table, which takes over from
  //   kTable in one transaction, then back into kTable the same way. The old rules serve until
  //   the new ones are whole, which one text transaction replacing the table also gave, at ~10x
  //   the time for 10,000 services.
  plugin::Status load_fresh(const NftObjects& objects) {
    // `list chains` reads no elements (`list tables` fetches them all: ~2 s at 10,000 services).
    // Every table of ours has chains, so it is listed; base chains show their hook.
    auto listed = run_checked({options_.nft_command, "list", "chains", "ip"});
    if (!listed) return listed.status();
    std::map<std::string, bool, std::less<>> hooked;  // table → has a base chain
    std::string table;
    std::istringstream lines(listed->out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("table ip ")) {
        table = line.substr(9, line.find(' ', 9) - 9);
        hooked.try_emplace(table, false);
      } else if (line.find(" hook ") != std::string::npos) hooked[table] = true;
    }
    auto has = [&](std::string_view t) { return hooked.contains(t); };
    const bool standby_live = has(kStandbyTable) && hooked.find(kStandbyTable)->second;
    if (has(kTable) && !standby_live)
      if (auto s = load_staged(staged_load(objects, kStandbyTable, kTable)); !s) return s;
    return load_staged(staged_load(objects, kTable, kStandbyTable));
  }

  // The three steps of a StagedLoad. A failure leaves the loading table without base chains, which
  // no packet reaches, next to the one still hooked in; the next sync starts over.
  plugin::Status load_staged(const StagedLoad& load) {
    if (auto r = run_checked({options_.nft_command, "-f", "-"}, load.declare); !r) return r.status();
    if (auto s = load_elements(load.table, load.elements); !s) return s;
    if (auto r = run_checked({options_.nft_command, "-f", "-"}, load.finish); !r) return r.status();
    return plugin::Status::ok();
  }

  plugin::Status cleanup() noexcept override {
    try {
      std::lock_guard lock(mutex_);
      known_ = false;
      written_ = {};
      synced_ = {};
      if (!have_program(options_.nft_command)) return plugin::Status::ok();
      // "add" first makes the delete succeed whether or not the table exists, atomically.
      const std::string standby = "ip " + std::string(kStandbyTable);
      auto r = run_checked({options_.nft_command, "-f", "-"},
                           "add table " + kT + "\ndelete table " + kT + "\nadd table " + standby + "\ndelete table " + standby + "\n");
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
  NftWritten written_;  // what the table holds (when known_)
  ProxyState synced_;   // the state it was written from
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
