// What the nftables mode writes for a given state: the objects, the transaction, and the element
// edits of an endpoint move (the conformance suite runs them against the kernel).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "nftables.hpp"
#include "tests/proxy/proxy_samples.hpp"

namespace skiff::plugins::proxy {
namespace {

using plugin::proxy::Protocol;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;
using samples::count;
using samples::joined;
using samples::sample;

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

TEST(NftablesRules, ElementsEncodeAsTheKernelLaysOutConcatenations) {
  auto verdicts = nftables::element_layout("{ type ipv4_addr . inet_proto . inet_service : verdict; }");
  ASSERT_TRUE(verdicts);
  auto e = nftables::encode_element(*verdicts, "10.96.0.10 . udp . 8080 : goto lb-3");
  ASSERT_TRUE(e) << e.status().message();
  // Each field of a concatenation takes 4 bytes, value first: address, protocol, port (big endian).
  EXPECT_EQ(e->key, std::string("\x0a\x60\x00\x0a" "\x11\x00\x00\x00" "\x1f\x90\x00\x00", 12));
  EXPECT_EQ(e->chain, "lb-3");
  EXPECT_TRUE(e->data.empty());

  auto endpoints = nftables::element_layout("{ type inet_proto . inet_service : ipv4_addr . inet_service; }");
  ASSERT_TRUE(endpoints);
  e = nftables::encode_element(*endpoints, "tcp . 30080 : 10.244.0.12 . 8080");
  ASSERT_TRUE(e) << e.status().message();
  EXPECT_EQ(e->key, std::string("\x06\x00\x00\x00" "\x75\x80\x00\x00", 8));
  EXPECT_EQ(e->data, std::string("\x0a\xf4\x00\x0c" "\x1f\x90\x00\x00", 8));

  // A lone field is its own size.
  auto single = nftables::element_layout("{ type ipv4_addr; flags dynamic,timeout; timeout 60s; }");
  ASSERT_TRUE(single);
  e = nftables::encode_element(*single, "10.244.0.12");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, std::string("\x0a\xf4\x00\x0c", 4));

  // Bad lines name themselves and the field; unknown types are left to nft.
  auto bad = nftables::encode_element(*endpoints, "tcp . 70000 : 10.244.0.12 . 8080");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("\"70000\" is not a port"), std::string::npos) << bad.status().message();
  bad = nftables::encode_element(*verdicts, "10.96.0.300 . tcp . 80 : goto lb-3");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("10.96.0.300"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(nftables::encode_element(*verdicts, "10.96.0.10 . tcp : goto lb-3"));
  EXPECT_FALSE(nftables::encode_element(*verdicts, "10.96.0.10 . tcp . 80"));
  EXPECT_FALSE(nftables::element_layout("{ type ipv6_addr . inet_service; }"));
}

TEST(NftablesRules, AStagedLoadHooksTheTableInOnlyAfterItsElements) {
  auto objs = nftables::render_objects(sample(), {});
  auto load = nftables::staged_load(objs);
  // Declarations: every set, map and regular chain, empty; no base chain, no rule, no element.
  EXPECT_EQ(count(load.declare, "hook"), 0u) << load.declare;
  EXPECT_EQ(count(load.declare, "add rule"), 0u) << load.declare;
  EXPECT_EQ(count(load.declare, "add element"), 0u) << load.declare;
  EXPECT_NE(load.declare.find("add map ip skiff-proxy endpoints-0 "), std::string::npos) << load.declare;
  EXPECT_NE(load.declare.find("add chain ip skiff-proxy services\n"), std::string::npos) << load.declare;
  // Every element goes through netlink, none as text.
  std::size_t lines = 0, listed = 0;
  for (const auto& [name, o] : objs)
    if (o.kind != "chain") lines += o.lines.size();
  for (const auto& list : load.elements) listed += list.lines->size();
  EXPECT_EQ(listed, lines);
  EXPECT_EQ(count(load.finish, "add element"), 0u) << load.finish;
  // The rest: base chains and every rule, and the other table retired in the same transaction.
  EXPECT_EQ(count(load.finish, "hook"), 6u) << load.finish;
  EXPECT_TRUE(load.finish.ends_with("add table ip skiff-proxy-next\ndelete table ip skiff-proxy-next\n")) << load.finish;
  auto standby = nftables::staged_load(objs, nftables::kStandbyTable, nftables::kTable);
  EXPECT_EQ(standby.table, "skiff-proxy-next");
  EXPECT_NE(standby.declare.find("add map ip skiff-proxy-next endpoints-0 "), std::string::npos) << standby.declare;
  EXPECT_TRUE(standby.finish.ends_with("add table ip skiff-proxy\ndelete table ip skiff-proxy\n")) << standby.finish;
  EXPECT_NE(load.finish.find("add rule ip skiff-proxy slot-0 dnat ip to"), std::string::npos) << load.finish;
}

}  // namespace
}  // namespace skiff::plugins::proxy
