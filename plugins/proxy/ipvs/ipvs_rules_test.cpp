// What the IPVS mode writes for a given state. This kernel has no IP_VS, so these generated rules
// and the startup refusal are the mode's tests.
#include <gtest/gtest.h>

#include "ipvs.hpp"
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
