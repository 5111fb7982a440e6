// The skiff.proxy.v1 conformance suite: every proxy mode that can run on this machine (iptables,
// nftables, userspace; IPVS cannot: the kernel lacks it, see plugins/proxy/ipvs) routes real traffic
// in a network namespace the test creates for the node, to real backend processes in pod namespaces.
// The mode's rules are installed inside the node namespace (the test thread enters it first), and the
// test is the client on the node. Needs root and the tools scripts/install-deps.sh installs; without
// them every test fails and says what is missing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "proxy_modes.hpp"
#include "tests/support/netns_lab.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

using plugin::proxy::Endpoint;
using plugin::proxy::Protocol;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

constexpr const char* kClusterIp = "10.96.0.10";
constexpr int kPort = 80;
constexpr int kNodePort = 30080;
constexpr int kBackendPort = 8080;
constexpr int kPods = 3;

struct Reply {
  bool ok = false;
  std::string text;  // the backend's name
  int error = 0;     // errno of the failure
};

// One TCP connection: what the backend says, or why it failed (bounded by `timeout`).
Reply tcp_ask(const std::string& ip, int port, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  Reply r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  deadline - std::chrono::steady_clock::now()).count()));
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    r.error = errno;
    ::close(fd);
    return r;
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, left()) <= 0) {
    r.error = ETIMEDOUT;
    ::close(fd);
    return r;
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    r.error = err;
    ::close(fd);
    return r;
  }
  char buf[256];
  for (;;) {
    p = {fd, POLLIN, 0};
    if (::poll(&p, 1, left()) <= 0) {
      r.error = ETIMEDOUT;
      break;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      r.text.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) r.ok = !r.text.empty();
    else r.error = errno;
    break;
  }
  ::close(fd);
  if (!r.text.empty() && r.text.back() == '\n') r.text.pop_back();
  return r;
}

Reply udp_ask(const std::string& ip, int port, std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  Reply r;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  ::sendto(fd, "?", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) > 0) {
    char buf[256];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.ok = true;
      r.text.assign(buf, static_cast<std::size_t>(n));
      if (r.text.back() == '\n') r.text.pop_back();
    } else {
      r.error = errno;
    }
  } else {
    r.error = ETIMEDOUT;
  }
  ::close(fd);
  return r;
}

ServicePort service(std::string name, Protocol protocol, std::vector<int> pods, int node_port = 0) {
  ServicePort sp;
  sp.ns = "default";
  sp.name = std::move(name);
  sp.protocol = protocol;
  sp.cluster_ip = kClusterIp;
  sp.port = kPort;
  sp.node_port = node_port;
  for (int i : pods) sp.endpoints.push_back(Endpoint{NetnsLab::pod_ip(i), kBackendPort, true});
  return sp;
}

// Both protocols of one web service, as a Service with a TCP and a UDP port gives them.
ProxyState web(std::vector<int> pods, bool affinity = false) {
  ProxyState s;
  for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
    auto sp = service("web", p, pods, kNodePort);
    sp.port_name = p == Protocol::kTcp ? "http" : "dns";
    sp.client_ip_affinity = affinity;
    s.services.push_back(sp);
  }
  return s;
}

class ProxyConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the proxy conformance suite needs root (network namespaces, iptables, nft)";
    for (const auto& tool : required_tools(GetParam()))
      ASSERT_TRUE(tool_installed(tool)) << "'" << tool << "' is missing: run scripts/install-deps.sh";
    lab_ = std::make_unique<NetnsLab>(kPods);
    for (int i = 0; i < kPods; ++i)
      lab_->start_in_pod(i, {backend_binary(), "pod" + std::to_string(i), std::to_string(kBackendPort)});
    lab_->enter_node();
    for (int i = 0; i < kPods; ++i)
      ASSERT_TRUE(eventually([&] { return tcp_ask(NetnsLab::pod_ip(i), kBackendPort).ok; }))
          << "backend in pod " << i << " did not come up";
    proxy_ = make_mode(GetParam(), context_);
    ASSERT_TRUE(proxy_ != nullptr);
    auto started = proxy_->start();
    ASSERT_TRUE(started) << started.message();
  }

  void TearDown() override {
    if (proxy_) {
      auto st = proxy_->cleanup();
      EXPECT_TRUE(st) << st.message();
      proxy_.reset();
    }
    lab_.reset();
  }

  void sync(const ProxyState& state) {
    auto r = proxy_->sync(state);
    ASSERT_TRUE(r) << r.status().message();
  }

  // Names of the backends `n` new TCP connections to ip:port reached; fails on any failed connection.
  std::multiset<std::string> spread(const std::string& ip, int port, int n) {
    std::multiset<std::string> seen;
    for (int i = 0; i < n; ++i) {
      Reply r = tcp_ask(ip, port);
      EXPECT_TRUE(r.ok) << "connection " << i << " to " << ip << ":" << port << " failed: " << std::strerror(r.error);
      if (r.ok) seen.insert(r.text);
    }
    return seen;
  }

  TestPluginContext context_{"proxy.mode", {}, "/tmp"};
  std::unique_ptr<NetnsLab> lab_;
  std::unique_ptr<plugin::proxy::Proxy> proxy_;
};

TEST_P(ProxyConformance, ClusterIpReachesEveryReadyEndpointOverTcp) {
  sync(web({0, 1, 2}));
  auto seen = spread(kClusterIp, kPort, 60);
  for (int i = 0; i < kPods; ++i)
    EXPECT_GT(seen.count("pod" + std::to_string(i)), 0u) << "pod" << i << " got none of 60 connections";
}

TEST_P(ProxyConformance, ClusterIpAndNodePortServeUdp) {
  sync(web({0, 1, 2}));
  Reply via_cluster_ip = udp_ask(kClusterIp, kPort);
  EXPECT_TRUE(via_cluster_ip.ok) << std::strerror(via_cluster_ip.error);
  EXPECT_TRUE(via_cluster_ip.text.starts_with("pod")) << via_cluster_ip.text;
  Reply via_node_port = udp_ask(NetnsLab::kNodeIp, kNodePort);
  EXPECT_TRUE(via_node_port.ok) << std::strerror(via_node_port.error);
  EXPECT_TRUE(via_node_port.text.starts_with("pod")) << via_node_port.text;
}

TEST_P(ProxyConformance, NodePortReachesEndpointsOverTcp) {
  sync(web({0, 1, 2}));
  auto seen = spread(NetnsLab::kNodeIp, kNodePort, 30);
  EXPECT_EQ(seen.size(), 30u);
  std::set<std::string> distinct(seen.begin(), seen.end());
  EXPECT_GE(distinct.size(), 2u) << "30 node-port connections all went to one endpoint";
}

TEST_P(ProxyConformance, RemovedEndpointGetsNoNewConnections) {
  sync(web({0, 1, 2}));
  ASSERT_EQ(spread(kClusterIp, kPort, 3).size(), 3u);
  sync(web({0, 1}));
  auto seen = spread(kClusterIp, kPort, 40);
  EXPECT_EQ(seen.count("pod2"), 0u) << "a removed endpoint still received new connections";
  EXPECT_GT(seen.count("pod0"), 0u);
  EXPECT_GT(seen.count("pod1"), 0u);
}

// Same number of endpoints, one swapped for another: the resync modes do as element edits alone
// (nftables' element_delta), with the balancing chains left as they are.
TEST_P(ProxyConformance, ReplacedEndpointTakesOverFromTheOldOne) {
  sync(web({0, 1}));
  ASSERT_EQ(spread(kClusterIp, kPort, 3).size(), 3u);  // three connections answered
  sync(web({0, 2}));
  auto seen = spread(kClusterIp, kPort, 40);
  EXPECT_EQ(seen.count("pod1"), 0u) << "the replaced endpoint still received new connections";
  EXPECT_GT(seen.count("pod0"), 0u);
  EXPECT_GT(seen.count("pod2"), 0u) << "the new endpoint received no connections";
}

TEST_P(ProxyConformance, NotReadyEndpointGetsNoNewConnections) {
  auto state = web({0, 1, 2});
  for (auto& sp : state.services) sp.endpoints[0].ready = false;
  sync(state);
  auto seen = spread(kClusterIp, kPort, 30);
  EXPECT_EQ(seen.count("pod0"), 0u);
}

TEST_P(ProxyConformance, ClientIpAffinitySticks) {
  sync(web({0, 1, 2}, /*affinity=*/true));
  auto seen = spread(kClusterIp, kPort, 20);
  std::set<std::string> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct.size(), 1u) << "with ClientIP affinity one client must stay on one endpoint";
}

TEST_P(ProxyConformance, ServiceWithoutEndpointsRejectsInsteadOfHanging) {
  sync(web({}));
  auto started = std::chrono::steady_clock::now();
  Reply r = tcp_ask(kClusterIp, kPort, std::chrono::seconds(5));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error, ETIMEDOUT) << "a connection to a service without endpoints hung instead of being refused";
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST_P(ProxyConformance, EndpointsComeBackAfterHavingNone) {
  sync(web({}));
  EXPECT_FALSE(tcp_ask(kClusterIp, kPort).ok);
  sync(web({1}));
  Reply r = tcp_ask(kClusterIp, kPort);
  EXPECT_TRUE(r.ok) << std::strerror(r.error);
  EXPECT_EQ(r.text, "pod1");
}

TEST_P(ProxyConformance, PodReachesServiceThroughTheNode) {
  sync(web({1, 2}));
  // pod0 is a client here: its traffic to the cluster IP is forwarded (and translated) by the node.
  auto out = run_process({"ip", "netns", "exec", lab_->pod(0), backend_binary(), "--ask", kClusterIp,
                          std::to_string(kPort)},
                         {}, std::chrono::seconds(20));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(out.out.starts_with("pod1") || out.out.starts_with("pod2")) << out.out;
}

TEST_P(ProxyConformance, ARestartedProxyTakesOverItsRulesWithoutDuplicates) {
  sync(web({0, 1, 2}));
  const std::string before = leftovers(GetParam());
  ASSERT_NE(before, "");
  // What skiffd does across a restart: a new instance of the mode, whose first sync finds the old
  // rules in the kernel (the old instance is gone without cleaning up).
  proxy_.reset();
  proxy_ = make_mode(GetParam(), context_);
  auto started = proxy_->start();
  ASSERT_TRUE(started) << started.message();
  sync(web({0, 1, 2}));
  EXPECT_EQ(leftovers(GetParam()), before) << "the second instance's first sync changed or duplicated rules";
  EXPECT_EQ(spread(kClusterIp, kPort, 5).size(), 5u);
}

TEST_P(ProxyConformance, CleanupRemovesEverything) {
  sync(web({0, 1, 2}));
  ASSERT_TRUE(tcp_ask(kClusterIp, kPort).ok);
  auto st = proxy_->cleanup();
  ASSERT_TRUE(st) << st.message();
  EXPECT_EQ(leftovers(GetParam()), "") << "left behind after cleanup";
  EXPECT_FALSE(tcp_ask(kClusterIp, kPort, std::chrono::seconds(1)).ok);
  proxy_.reset();
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxyConformance,
                         ::testing::Values("iptables", "iptables-legacy", "nftables", "userspace"),
                         [](const auto& mode) {
                           std::string name = mode.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// proxy.iptables.backend: the nf_tables-backed and the legacy iptables keep separate rule sets that
// are both live, so switching the backend must move the rules, never duplicate them.
TEST(IptablesBackendSwitch, EachBackendTakesOverAndLeavesNothingInTheOther) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root (network namespaces, iptables)";
  for (const char* mode : {"iptables", "iptables-legacy"})
    for (const auto& tool : required_tools(mode))
      ASSERT_TRUE(tool_installed(tool)) << "'" << tool << "' is missing: run scripts/install-deps.sh";
  NetnsLab lab(kPods);
  for (int i = 0; i < kPods; ++i)
    lab.start_in_pod(i, {backend_binary(), "pod" + std::to_string(i), std::to_string(kBackendPort)});
  lab.enter_node();
  TestPluginContext context{"proxy.mode", {}, "/tmp"};
  struct Cleanup {
    TestPluginContext& context;
    ~Cleanup() { (void)make_mode("iptables", context)->cleanup(); }
  } cleanup_on_exit{context};

  auto run = [&](const std::string& mode) {
    auto proxy = make_mode(mode, context);
    auto started = proxy->start();
    EXPECT_TRUE(started) << mode << ": " << started.message();
    auto r = proxy->sync(web({0, 1, 2}));
    EXPECT_TRUE(r) << mode << ": " << r.status().message();
    EXPECT_TRUE(eventually([&] { return tcp_ask(kClusterIp, kPort).ok; })) << mode << " does not route the service";
    return proxy;  // like a stopped skiffd: its rules stay
  };
  run("iptables");
  ASSERT_NE(iptables_leftovers("nft"), "");
  run("iptables-legacy");
  EXPECT_NE(iptables_leftovers("legacy"), "") << "the legacy backend holds no rules after its sync";
  EXPECT_EQ(iptables_leftovers("nft"), "") << "switching to legacy left rules in the nf_tables backend";
  run("iptables");
  EXPECT_EQ(iptables_leftovers("legacy"), "") << "switching back to nft left rules in the legacy backend";
  EXPECT_NE(iptables_leftovers("nft"), "");
  // cleanup() from either backend's instance removes both.
  run("iptables-legacy");
  auto st = make_mode("iptables", context)->cleanup();
  ASSERT_TRUE(st) << st.message();
  EXPECT_EQ(leftovers("iptables"), "");
}

}  // namespace
}  // namespace skiff::testing
