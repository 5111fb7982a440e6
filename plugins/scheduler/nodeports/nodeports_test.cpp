#include "nodeports.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::nodeports {
namespace {

using namespace skiff::testing::sched;

TEST(NodePorts, Table) {
  auto f = make<sp::FilterPlugin>(&make_nodeports);
  const std::string busy = "node(s) didn't have free ports for the requested pod ports";
  struct Case {
    const char* name;
    std::vector<sp::HostPort> used, wanted;
    std::string want;
  };
  std::vector<Case> cases = {
      {"no ports", {}, {}, ""},
      {"free port", {{80, "TCP", ""}}, {{8080, "TCP", ""}}, ""},
      {"same port", {{80, "TCP", ""}}, {{80, "TCP", ""}}, busy},
      {"other protocol", {{53, "TCP", ""}}, {{53, "UDP", ""}}, ""},
      {"different host IPs", {{80, "TCP", "10.0.0.1"}}, {{80, "TCP", "10.0.0.2"}}, ""},
      {"wildcard against an IP", {{80, "TCP", "0.0.0.0"}}, {{80, "TCP", "10.0.0.2"}}, busy},
      {"same IP", {{80, "TCP", "10.0.0.1"}}, {{80, "TCP", "10.0.0.1"}}, busy},
  };
  for (const auto& c : cases) {
    std::vector<sp::NodeInfo> nodes{node("n")};
    sp::PodInfo existing = pod("existing");
    existing.host_ports = c.used;
    nodes[0].add_pod(share(existing));
    sp::PodInfo p = pod("p");
    p.host_ports = c.wanted;
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_filter(*f, p, nodes[0], snap), c.want) << c.name;
  }
}

}  // namespace
}  // namespace skiff::plugins::scheduler::nodeports
