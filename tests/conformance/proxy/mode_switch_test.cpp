// The real skiffd with proxy.mode set, in a node network namespace the test creates: a Service and
// its Endpoints written with kubectl become rules and working traffic; restarting with another
// proxy.mode removes the first mode's rules and installs the second's. And a mode the kernel cannot
// run (ipvs: no IP_VS here) stops skiffd with a message naming the modes that can.
#include <gtest/gtest.h>

#include <fstream>

#include "proxy_modes.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/netns_lab.hpp"

namespace skiff::testing {
namespace {

constexpr const char* kManifest = R"(apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: default
spec:
  clusterIP: 10.96.0.50
  ports:
  - name: tcp
    port: 80
    protocol: TCP
---
apiVersion: v1
kind: Endpoints
metadata:
  name: echo
  namespace: default
subsets:
- addresses:
  - ip: 10.244.0.2
  ports:
  - name: tcp
    port: 8080
    protocol: TCP
)";

std::string ask_echo() {
  auto r = run_process({backend_binary(), "--ask", "10.96.0.50", "80"}, {}, std::chrono::seconds(10));
  return r.exit_code == 0 ? r.out : "";
}

TEST(ProxyModeSwitch, RestartingWithAnotherModeReplacesTheOldModesRules) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root (network namespaces, iptables, nft)";
  for (const char* tool : {"ip", "iptables-save", "nft"})
    ASSERT_TRUE(tool_installed(tool)) << "'" << tool << "' is missing: run scripts/install-deps.sh";
  NetnsLab lab(1, "ms");
  lab.start_in_pod(0, {backend_binary(), "pod0", "8080"});
  lab.enter_node();  // skiffd, kubectl and the checks below all run in the node namespace
  TempDir data("skiff-proxy-switch");

  {
    Cluster cluster(false, data.str(), {"--proxy.mode=iptables", "--proxy.min-sync-period-ms=10"});
    ASSERT_TRUE(cluster.ready()) << cluster.log();
    auto applied = cluster.kubectl({"apply", "-f", cluster.write("echo.yaml", kManifest)});
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
    EXPECT_TRUE(eventually([] { return ask_echo() == "pod0\n"; }, std::chrono::seconds(20)))
        << "the service never answered through the iptables mode\n" << cluster.log();
    EXPECT_NE(leftovers("iptables").find("10.96.0.50/32"), std::string::npos) << leftovers("iptables");
    EXPECT_EQ(leftovers("nftables"), "");
  }  // skiffd stops; its rules stay (proxy.cleanup-on-stop is false), as kube-proxy's do

  ASSERT_NE(leftovers("iptables"), "") << "the iptables rules should outlive the daemon";
  {
    Cluster cluster(false, data.str(), {"--proxy.mode=nftables", "--proxy.min-sync-period-ms=10"});
    ASSERT_TRUE(cluster.ready()) << cluster.log();
    EXPECT_TRUE(eventually([] { return leftovers("nftables").find("10.96.0.50") != std::string::npos; },
                           std::chrono::seconds(20)))
        << cluster.log();
    EXPECT_EQ(leftovers("iptables"), "") << "the iptables mode's rules survived the switch to nftables";
    EXPECT_EQ(ask_echo(), "pod0\n") << "the service does not answer through the nftables mode";
  }
  // Leave the node clean even though the namespace is about to go.
  auto cleared = run_process({"nft", "delete", "table", "ip", "skiff-proxy"});
  EXPECT_EQ(cleared.exit_code, 0) << cleared.err;
}

TEST(ProxyModeSwitch, IpvsModeFailsAtStartupNamingTheOtherModes) {
  // This machine's kernel has no IP_VS, which is exactly what is checked here.
  ASSERT_NE(::access("/proc/net/ip_vs", F_OK), 0) << "this kernel has IPVS; the test expects one without it";
  // In a node namespace of its own, so nothing the daemon does to rules can touch this machine's.
  NetnsLab lab(0, "iv");
  lab.enter_node();
  Cluster cluster(false, {}, {"--proxy.mode=ipvs"});
  EXPECT_FALSE(cluster.ready());
  EXPECT_TRUE(eventually([&] { return cluster.log_contains("use proxy.mode iptables, nftables or userspace"); },
                         std::chrono::seconds(10)))
      << cluster.log();
}

}  // namespace
}  // namespace skiff::testing
