// The nftables mode's staged load (declarations, elements through netlink, then rules and base
// chains) against the kernel, in a node network namespace the test makes: the table it writes must
// be exactly the one `nft -f` writes from element text, element for element, on a first start, on a
// restart (through the standby table) and after a restart that stopped halfway. Built into
// proxy_conformance_test (root, like the rest of that suite).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "nftables.hpp"
#include "proxy_modes.hpp"
#include "tests/support/netns_lab.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

namespace nft = plugins::proxy::nftables;
using Json = nlohmann::json;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

// 300 service ports of 10 endpoints (more than one netlink message per map), a third of them with a
// node port, two with ClientIP affinity, and one with no endpoint.
ProxyState many_services() {
  ProxyState state;
  for (int i = 0; i < 300; ++i) {
    ServicePort sp;
    sp.ns = "staged";
    sp.name = "svc-" + std::to_string(i);
    sp.protocol = i % 7 == 0 ? plugin::proxy::Protocol::kUdp : plugin::proxy::Protocol::kTcp;
    sp.cluster_ip = "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    sp.port = 80;
    if (i % 3 == 0) sp.node_port = 30000 + i;
    sp.client_ip_affinity = i < 2;
    sp.affinity_timeout_seconds = 60;
    const int endpoints = i == 299 ? 0 : 10;
    for (int e = 0; e < endpoints; ++e) sp.endpoints.push_back({"10.244." + std::to_string(e) + "." + std::to_string(i % 250 + 2), 8080, true});
    state.services.push_back(std::move(sp));
  }
  return state;
}

std::string nft_must(const std::vector<std::string>& args, const std::string& input = {}) {
  std::vector<std::string> argv = {"nft"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv, {}, std::chrono::seconds(60), input);
  if (r.exit_code != 0) throw std::runtime_error("nft " + args.front() + ": " + r.err);
  return r.out;
}

// The table as the kernel reports it, without what differs between two equal loads: handles, and
// the order a hash set lists its elements in. Rules keep their order within their chain.
Json listed_table() {
  Json listed = Json::parse(nft_must({"-j", "list", "table", "ip", std::string(nft::kTable)}));
  std::vector<Json> entries;
  std::function<void(Json&)> strip = [&](Json& j) {
    if (j.is_object()) {
      j.erase("handle");
      for (auto& [k, v] : j.items()) strip(v);
    } else if (j.is_array()) {
      for (auto& v : j) strip(v);
    }
  };
  for (Json& entry : listed["nftables"]) {
    if (entry.contains("metainfo")) continue;
    strip(entry);
    for (const char* kind : {"set", "map"})
      if (entry.contains(kind) && entry[kind].contains("elem"))
        std::sort(entry[kind]["elem"].begin(), entry[kind]["elem"].end(),
                  [](const Json& a, const Json& b) { return a.dump() < b.dump(); });
    entries.push_back(std::move(entry));
  }
  auto order = [](const Json& e) {
    const auto& [kind, body] = *e.items().begin();
    return kind + "/" + body.value("chain", body.value("name", ""));
  };
  std::stable_sort(entries.begin(), entries.end(), [&](const Json& a, const Json& b) { return order(a) < order(b); });
  return Json(entries);
}

TEST(NftablesStagedLoad, WritesTheSameTableAsOneTextTransaction) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root (network namespaces, nft)";
  ASSERT_TRUE(tool_installed("nft")) << "'nft' is missing: run scripts/install-deps.sh";
  NetnsLab lab(0, "sl");
  lab.enter_node();
  const auto objects = nft::render_objects(many_services(), {});

  auto staged = nft::staged_load(objects);
  EXPECT_EQ(staged.declare.find("hook"), std::string::npos) << "no base chain before the elements are in";
  EXPECT_EQ(staged.declare.find("add element"), std::string::npos);
  EXPECT_EQ(staged.finish.find("add element"), std::string::npos) << "every element here is netlink-encodable";
  nft_must({"-f", "-"}, staged.declare);
  ASSERT_TRUE(nft::load_elements(nft::kTable, staged.elements));
  nft_must({"-f", "-"}, staged.finish);
  const Json by_netlink = listed_table();

  nft_must({"-f", "-"}, nft::nft_script({}, objects, /*replace_table=*/true));
  const Json by_text = listed_table();
  ASSERT_GT(by_text.size(), 20u);
  std::size_t elements = 0;
  for (const auto& e : by_text)
    if (e.contains("map") && e["map"].contains("elem")) elements += e["map"]["elem"].size();
  EXPECT_GT(elements, 3000u) << by_text.dump().substr(0, 2000);
  EXPECT_EQ(by_netlink, by_text);

  // A kernel refusal comes back whole, naming the set: elements for a set that does not exist.
  std::vector<std::string> lines = {"10.96.9.9 . tcp . 80 : 10.244.9.9 . 8080"};
  nft::ElementList missing{"no-such-map", *nft::element_layout("{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }"), &lines};
  auto refused = nft::load_elements(nft::kTable, {staged.elements.front(), missing});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.message().find("no-such-map"), std::string::npos) << refused.message();
  EXPECT_EQ(listed_table(), by_text) << "a refused batch must change nothing";

  // The mode itself: a first sync into this empty node is one staged load, and writes the same.
  nft_must({"delete", "table", "ip", std::string(nft::kTable)});
  auto tables = [] { return nft_must({"list", "tables", "ip"}); };
  auto proxy = nft::make_nftables_proxy({}, nullptr);
  ASSERT_TRUE(proxy->start());
  auto synced = proxy->sync(many_services());
  ASSERT_TRUE(synced) << synced.status().message();
  EXPECT_EQ(listed_table(), by_text);
  EXPECT_EQ(tables(), "table ip skiff-proxy\n");
  // A second instance (a restart) finds the table in place: it loads the standby table, which takes
  // over in one transaction, then loads the table back. The same table again, and nothing else.
  auto restarted = nft::make_nftables_proxy({}, nullptr);
  ASSERT_TRUE(restarted->sync(many_services()));
  EXPECT_EQ(listed_table(), by_text);
  EXPECT_EQ(tables(), "table ip skiff-proxy\n");

  // A restart that stopped halfway, with the standby table serving and the main one gone: the next
  // start loads the main table and retires the standby in the same transaction.
  auto standby = nft::staged_load(objects, nft::kStandbyTable, nft::kTable);
  nft_must({"-f", "-"}, standby.declare);
  ASSERT_TRUE(nft::load_elements(nft::kStandbyTable, standby.elements));
  nft_must({"-f", "-"}, standby.finish);
  EXPECT_EQ(tables(), "table ip skiff-proxy-next\n");
  auto recovered = nft::make_nftables_proxy({}, nullptr);
  auto recovered_sync = recovered->sync(many_services());
  ASSERT_TRUE(recovered_sync) << recovered_sync.status().message();
  EXPECT_EQ(listed_table(), by_text);
  EXPECT_EQ(tables(), "table ip skiff-proxy\n");
  EXPECT_TRUE(recovered->cleanup());
  EXPECT_EQ(tables(), "");
}

}  // namespace
}  // namespace skiff::testing
