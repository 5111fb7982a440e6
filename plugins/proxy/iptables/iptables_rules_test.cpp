// What the iptables mode writes for a given state: kube-proxy's chain layout and the restore
// script's incremental shape (the conformance suite runs these rules against the kernel).
#include <gtest/gtest.h>

#include "iptables.hpp"
#include "tests/proxy/proxy_samples.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::plugins::proxy {
namespace {

using plugin::proxy::Protocol;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;
using samples::count;
using samples::joined;
using samples::sample;

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

}  // namespace
}  // namespace skiff::plugins::proxy
