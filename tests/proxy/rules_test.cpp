// What each proxy mode writes for a given state: the iptables chains and the restore script's
// incremental shape, the nftables objects and transaction, and the IPVS rules (IPVS cannot run on
// this kernel, so for that mode these generated rules and the startup refusal are what is tested).
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "ipvs.hpp"
#include "iptables.hpp"
#include "nftables.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::plugins::proxy {
namespace {

using plugin::proxy::Endpoint;
using plugin::proxy::Protocol;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

ProxyState sample(bool affinity = false, int endpoints = 3) {
  ServicePort sp;
  sp.ns = "default";
  sp.name = "web";
  sp.cluster_ip = "10.96.0.10";
  sp.port = 80;
  sp.node_port = 30080;
  sp.client_ip_affinity = affinity;
  sp.affinity_timeout_seconds = 60;
  for (int i = 0; i < endpoints; ++i) sp.endpoints.push_back({"10.244.0." + std::to_string(10 + i), 8080, true});
  ServicePort empty = sp;
  empty.name = "empty";
  empty.cluster_ip = "10.96.0.11";
  empty.node_port = 0;
  empty.endpoints.clear();
  return ProxyState{{sp, empty}};
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(IptablesRules, KubernetesChainLayoutWithRandomBalancingMasqueradeAndReject) {
  auto t = iptables::render_rules(sample(), {});
  auto& nat = t["nat"];
  std::string services = joined(nat["KUBE-SERVICES"]);
  EXPECT_NE(services.find("-d 10.96.0.10/32 -p tcp -m tcp --dport 80"), std::string::npos) << services;
  EXPECT_EQ(services.find("10.96.0.11"), std::string::npos) << "a service without endpoints has no DNAT path";
  EXPECT_NE(services.find("--dst-type LOCAL -j KUBE-NODEPORTS"), std::string::npos);
  std::string svc_chain;
  for (const auto& [name, rules] : nat)
    if (name.starts_with("KUBE-SVC-")) svc_chain = joined(rules);
  EXPECT_NE(svc_chain.find("--probability 0.3333333333"), std::string::npos) << svc_chain;
  EXPECT_NE(svc_chain.find("--probability 0.5000000000"), std::string::npos) << svc_chain;
  EXPECT_EQ(count(svc_chain, "-j KUBE-SEP-"), 3u);
  std::size_t seps = 0;
  for (const auto& [name, rules] : nat)
    if (name.starts_with("KUBE-SEP-")) {
      ++seps;
      std::string r = joined(rules);
      EXPECT_NE(r.find("-j KUBE-MARK-MASQ"), std::string::npos) << "hairpin masquerade missing: " << r;
      EXPECT_NE(r.find("-j DNAT --to-destination 10.244.0."), std::string::npos) << r;
    }
  EXPECT_EQ(seps, 3u);
  EXPECT_NE(joined(nat["KUBE-NODEPORTS"]).find("--dport 30080"), std::string::npos);
  EXPECT_NE(joined(nat["KUBE-POSTROUTING"]).find("-j MASQUERADE"), std::string::npos);
  std::string reject = joined(t["filter"]["KUBE-SERVICES"]);
  EXPECT_NE(reject.find("-d 10.96.0.11/32 -p tcp -m tcp --dport 80"), std::string::npos) << reject;
  EXPECT_NE(reject.find("-j REJECT"), std::string::npos);
}

TEST(IptablesRules, BackendOptionPicksTheToolsAndRefusesUnknownValues) {
  EXPECT_EQ(iptables::tools_for(iptables::Backend::kLegacy).restore, "iptables-legacy-restore");
  EXPECT_EQ(iptables::tools_for(iptables::Backend::kNft).save, "iptables-nft-save");
  for (const char* ok : {"nft", "legacy", ""}) {
    testing::TestPluginContext ctx{"proxy.iptables", {{"masquerade-bit", "14"}, {"backend", ok}}, "/tmp"};
    auto made = iptables::make_proxy(ctx.context());
    EXPECT_TRUE(made) << ok << ": " << made.status().message();
  }
  testing::TestPluginContext bad{"proxy.iptables", {{"masquerade-bit", "14"}, {"backend", "xtables"}}, "/tmp"};
  auto refused = iptables::make_proxy(bad.context());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("proxy.iptables.backend"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("xtables"), std::string::npos) << refused.status().message();
}

TEST(IptablesRules, AffinityUsesRecentMatches) {
  auto t = iptables::render_rules(sample(true), {});
  std::string all;
  for (const auto& [name, rules] : t["nat"]) all += joined(rules);
  EXPECT_EQ(count(all, "--rcheck --seconds 60 --reap"), 3u);
  EXPECT_EQ(count(all, "--set"), 3u);
}

TEST(IptablesRules, RestoreScriptRewritesOnlyChangedChainsAndDeletesStaleOnes) {
  auto before = iptables::render_rules(sample(false, 3), {});
  auto after = iptables::render_rules(sample(false, 2), {});
  std::string script = iptables::restore_script(before, after);
  // The service chain changes and the third endpoint's chain goes; nothing else is touched.
  EXPECT_EQ(count(script, ":KUBE-SVC-"), 1u) << script;
  EXPECT_EQ(count(script, "-X KUBE-SEP-"), 1u) << script;
  EXPECT_EQ(count(script, ":KUBE-SERVICES"), 0u) << script;
  EXPECT_EQ(count(script, "COMMIT"), 1u) << script;
  EXPECT_EQ(iptables::restore_script(after, after), "");
  // From nothing: every chain declared, one COMMIT per table.
  std::string full = iptables::restore_script({}, after);
  EXPECT_EQ(count(full, "*nat\n"), 1u);
  EXPECT_EQ(count(full, "*filter\n"), 1u);
  EXPECT_EQ(count(full, "-X "), 0u);
}

TEST(NftablesRules, VerdictMapsAndOneTransaction) {
  auto objs = nftables::render_objects(sample(), {});
  ASSERT_TRUE(objs.contains("service-ips"));
  EXPECT_EQ(objs["service-ips"].kind, "map");
  EXPECT_EQ(objs["service-ips"].lines, std::vector<std::string>{"10.96.0.10 . tcp . 80 : goto lb-3"});
  EXPECT_EQ(objs["service-nodeports"].lines, std::vector<std::string>{"tcp . 30080 : goto nodeport-lb-3"});
  EXPECT_EQ(objs["no-endpoint-services"].lines, std::vector<std::string>{"10.96.0.11 . tcp . 80"});
  // Endpoint i is an element of slot i's map; lb-3 picks one of three slots.
  EXPECT_EQ(joined(objs["lb-3"].lines), "numgen random mod 3 vmap { 0 : goto slot-0, 1 : goto slot-1, 2 : goto slot-2 }\n");
  EXPECT_EQ(objs["endpoints-1"].lines, std::vector<std::string>{"10.96.0.10 . tcp . 80 : 10.244.0.11 . 8080"});
  EXPECT_EQ(objs["nodeport-endpoints-2"].lines, std::vector<std::string>{"tcp . 30080 : 10.244.0.12 . 8080"});
  EXPECT_EQ(joined(objs["slot-1"].lines), "dnat ip to ip daddr . meta l4proto . th dport map @endpoints-1\n");
  EXPECT_EQ(objs["hairpin"].lines.size(), 3u);
  std::string full = nftables::nft_script({}, objs, true);
  EXPECT_TRUE(full.starts_with("add table ip skiff-proxy\ndelete table ip skiff-proxy\n")) << full;
  // Incremental: a moved endpoint is one element out and one in; nothing else is touched.
  auto moved_state = sample();
  moved_state.services[0].endpoints[1].ip = "10.244.9.9";
  std::string moved = nftables::nft_script(objs, nftables::render_objects(moved_state, {}), false);
  EXPECT_EQ(moved,
            "add table ip skiff-proxy\n"
            "delete element ip skiff-proxy endpoints-1 { 10.96.0.10 . tcp . 80 }\n"
            "delete element ip skiff-proxy hairpin { 10.244.0.11 . 10.244.0.11 }\n"
            "delete element ip skiff-proxy nodeport-endpoints-1 { tcp . 30080 }\n"
            "add element ip skiff-proxy endpoints-1 { 10.96.0.10 . tcp . 80 : 10.244.9.9 . 8080 }\n"
            "add element ip skiff-proxy hairpin { 10.244.9.9 . 10.244.9.9 }\n"
            "add element ip skiff-proxy nodeport-endpoints-1 { tcp . 30080 : 10.244.9.9 . 8080 }\n");
  // One endpoint fewer: the service moves to lb-2, the unused slot and lb-3 go (emptied first).
  auto fewer = nftables::render_objects(sample(false, 2), {});
  std::string delta = nftables::nft_script(objs, fewer, false);
  EXPECT_NE(delta.find("delete element ip skiff-proxy service-ips { 10.96.0.10 . tcp . 80 }\n"), std::string::npos) << delta;
  EXPECT_NE(delta.find("add element ip skiff-proxy service-ips { 10.96.0.10 . tcp . 80 : goto lb-2 }\n"), std::string::npos) << delta;
  EXPECT_LT(delta.find("flush chain ip skiff-proxy lb-3"), delta.find("delete chain ip skiff-proxy slot-2")) << delta;
  EXPECT_LT(delta.find("delete chain ip skiff-proxy slot-2"), delta.find("delete map ip skiff-proxy endpoints-2")) << delta;
  EXPECT_EQ(count(delta, "endpoints-0"), 0u) << "an unchanged map must not be touched: " << delta;
}

// The objects as sets of lines: element_delta appends and erases, render_objects writes in order.
std::map<std::string, std::set<std::string>> line_sets(const nftables::NftObjects& objs) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [name, o] : objs) out[name] = {o.lines.begin(), o.lines.end()};
  return out;
}

TEST(NftablesRules, AMovedEndpointIsElementEditsWorkedOutFromItsServicePortAlone) {
  // A second service shares the first one's endpoint 10.244.0.11: its hairpin pair must stay.
  ProxyState state = sample();
  ServicePort other = state.services[0];
  other.name = "other";
  other.cluster_ip = "10.96.0.12";
  other.node_port = 0;
  other.endpoints = {{"10.244.0.11", 9090, true}};
  state.services.push_back(other);
  nftables::NftWritten written = nftables::written_for(state, {});
  ProxyState synced = state;

  ProxyState moved = state;
  moved.services[0].endpoints[1].ip = "10.244.9.9";
  auto script = nftables::element_delta(synced, moved, written, {});
  ASSERT_TRUE(script);
  // The same transaction a full render and diff makes, less the hairpin pair still in use.
  EXPECT_EQ(*script,
            "add table ip skiff-proxy\n"
            "delete element ip skiff-proxy endpoints-1 { 10.96.0.10 . tcp . 80 }\n"
            "delete element ip skiff-proxy nodeport-endpoints-1 { tcp . 30080 }\n"
            "add element ip skiff-proxy endpoints-1 { 10.96.0.10 . tcp . 80 : 10.244.9.9 . 8080 }\n"
            "add element ip skiff-proxy hairpin { 10.244.9.9 . 10.244.9.9 }\n"
            "add element ip skiff-proxy nodeport-endpoints-1 { tcp . 30080 : 10.244.9.9 . 8080 }\n");
  // What it wrote down is what rendering the new state gives, and the state it came from moved on.
  EXPECT_EQ(line_sets(written.objects), line_sets(nftables::render_objects(moved, {})));
  EXPECT_EQ(synced.services[0].endpoints[1].ip, "10.244.9.9");
  EXPECT_EQ(nftables::element_delta(synced, moved, written, {}), std::string()) << "nothing changed: nothing to run";

  // The other service leaves 10.244.0.11 too: now its hairpin pair goes.
  ProxyState gone = moved;
  gone.services[2].endpoints[0].ip = "10.244.7.7";
  script = nftables::element_delta(synced, gone, written, {});
  ASSERT_TRUE(script);
  EXPECT_NE(script->find("delete element ip skiff-proxy hairpin { 10.244.0.11 . 10.244.0.11 }\n"), std::string::npos) << *script;
  EXPECT_EQ(line_sets(written.objects), line_sets(nftables::render_objects(gone, {})));

  // More than element edits: refused, and nothing touched.
  const auto before = line_sets(written.objects);
  ProxyState fewer = gone;
  fewer.services[0].endpoints.pop_back();  // needs lb-2, which the table does not have
  EXPECT_FALSE(nftables::element_delta(synced, fewer, written, {}));
  ProxyState added = gone;
  added.services.push_back(other);  // a new service port
  EXPECT_FALSE(nftables::element_delta(synced, added, written, {}));
  EXPECT_EQ(line_sets(written.objects), before);
  EXPECT_EQ(synced.services[0].endpoints.size(), 3u);

  ProxyState affinity_state = sample(true);
  nftables::NftWritten affinity_written = nftables::written_for(affinity_state, {});
  ProxyState affinity_synced = affinity_state;
  ProxyState affinity_moved = affinity_state;
  affinity_moved.services[0].endpoints[0].ip = "10.244.9.9";
  EXPECT_FALSE(nftables::element_delta(affinity_synced, affinity_moved, affinity_written, {}))
      << "ClientIP affinity keeps a chain per endpoint: a full render";
}

TEST(NftablesRules, AffinityUsesDynamicSetsThatSurviveResyncs) {
  auto objs = nftables::render_objects(sample(true), {});
  std::size_t sets = 0;
  for (const auto& [name, o] : objs)
    if (name.starts_with("affinity-")) {
      ++sets;
      EXPECT_NE(o.spec.find("flags dynamic,timeout; timeout 60s;"), std::string::npos) << o.spec;
    }
  EXPECT_EQ(sets, 3u);
  std::string script = nftables::nft_script({}, objs, true);
  EXPECT_EQ(count(script, "flush set ip skiff-proxy affinity-"), 0u) << "affinity entries must not be flushed";
}

TEST(IpvsRules, VirtualServersWithMasqueradingRealServers) {
  std::string rules = ipvs::restore_rules(sample(true), {"192.168.1.5"}, {});
  EXPECT_TRUE(rules.starts_with("-C\n"));
  EXPECT_NE(rules.find("-A -t 10.96.0.10:80 -s rr -p 60\n"), std::string::npos) << rules;
  EXPECT_NE(rules.find("-a -t 10.96.0.10:80 -r 10.244.0.10:8080 -m -w 1\n"), std::string::npos) << rules;
  EXPECT_NE(rules.find("-A -t 192.168.1.5:30080 -s rr -p 60\n"), std::string::npos) << "node port virtual server";
  EXPECT_EQ(count(rules, "-a -t 192.168.1.5:30080 -r "), 3u);
  EXPECT_NE(rules.find("-A -t 10.96.0.11:80 -s rr"), std::string::npos) << "no endpoints: a server with no reals";
  auto udp = sample();
  udp.services[0].protocol = Protocol::kUdp;
  EXPECT_NE(ipvs::restore_rules(udp, {}, {}).find("-A -u 10.96.0.10:80"), std::string::npos);
}

TEST(IpvsRules, DummyLinkHoldsExactlyTheClusterIps) {
  EXPECT_EQ(ipvs::link_script({}, {"10.96.0.1"}, false),
            "link add kube-ipvs0 type dummy\naddress add 10.96.0.1/32 dev kube-ipvs0\n");
  EXPECT_EQ(ipvs::link_script({"10.96.0.1", "10.96.0.2"}, {"10.96.0.2", "10.96.0.3"}, true),
            "address add 10.96.0.3/32 dev kube-ipvs0\naddress del 10.96.0.1/32 dev kube-ipvs0\n");
}

TEST(IpvsRules, StartRefusesWithoutKernelSupportNamingTheOtherModes) {
  // Real check against this machine's kernel, which has no IP_VS.
  ASSERT_NE(::access("/proc/net/ip_vs", F_OK), 0) << "this kernel has IPVS; the test expects one without it";
  auto proxy = ipvs::make_ipvs_proxy({}, nullptr);
  auto st = proxy->start();
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("no IPVS"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("iptables, nftables or userspace"), std::string::npos) << st.message();
  // Cleanup must still work (there is nothing to clean).
  EXPECT_TRUE(proxy->cleanup());
}

}  // namespace
}  // namespace skiff::plugins::proxy
