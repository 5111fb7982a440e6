#include "nodeunschedulable.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::nodeunschedulable {
namespace {

using namespace skiff::testing::sched;

TEST(NodeUnschedulable, Table) {
  auto f = make<sp::FilterPlugin>(&make_nodeunschedulable);
  struct Case {
    const char* name;
    bool cordoned;
    std::vector<sp::Toleration> tolerations;
    std::string want;
  };
  std::vector<Case> cases = {
      {"schedulable", false, {}, ""},
      {"cordoned", true, {}, "node(s) were unschedulable"},
      {"cordoned, tolerated", true, {{"node.kubernetes.io/unschedulable", true, "", "NoSchedule"}}, ""},
      {"cordoned, tolerate everything", true, {{"", true, "", ""}}, ""},
      {"cordoned, other toleration", true, {{"dedicated", true, "", "NoSchedule"}}, "node(s) were unschedulable"},
  };
  for (const auto& c : cases) {
    std::vector<sp::NodeInfo> nodes{node("n")};
    nodes[0].unschedulable = c.cordoned;
    sp::PodInfo p = pod("p");
    p.tolerations = c.tolerations;
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_filter(*f, p, nodes[0], snap), c.want) << c.name;
  }
}

}  // namespace
}  // namespace skiff::plugins::scheduler::nodeunschedulable
