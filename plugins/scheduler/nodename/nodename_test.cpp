#include "nodename.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::nodename {
namespace {

using namespace skiff::testing::sched;

TEST(NodeName, Table) {
  auto f = make<sp::FilterPlugin>(&make_nodename);
  struct Case {
    const char* name;
    std::string asked;
    std::string want;
  };
  std::vector<Case> cases = {{"none asked", "", ""},
                             {"this node", "n1", ""},
                             {"another node", "n2", "node(s) didn't match the requested node name"}};
  for (const auto& c : cases) {
    std::vector<sp::NodeInfo> nodes{node("n1")};
    sp::PodInfo p = pod("p");
    p.node_name = c.asked;
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_filter(*f, p, nodes[0], snap), c.want) << c.name;
  }
  EXPECT_FALSE(f->preemption_can_help());
}

}  // namespace
}  // namespace skiff::plugins::scheduler::nodename
