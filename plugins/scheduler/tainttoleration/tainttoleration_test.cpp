#include "tainttoleration.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::tainttoleration {
namespace {

using namespace skiff::testing::sched;

TEST(TaintTolerationFilter, Table) {
  auto f = make<sp::FilterPlugin>(&make_tainttolerationfilter);
  struct Case {
    const char* name;
    std::vector<sp::Taint> taints;
    std::vector<sp::Toleration> tolerations;
    std::string want;
  };
  const sp::Taint gpu{"dedicated", "gpu", "NoSchedule"};
  std::vector<Case> cases = {
      {"no taints", {}, {}, ""},
      {"untolerated NoSchedule", {gpu}, {}, "node(s) had untolerated taint {dedicated: gpu}"},
      {"untolerated NoExecute", {{"k", "v", "NoExecute"}}, {}, "node(s) had untolerated taint {k: v}"},
      {"PreferNoSchedule does not filter", {{"k", "v", "PreferNoSchedule"}}, {}, ""},
      {"Equal toleration", {gpu}, {{"dedicated", false, "gpu", "NoSchedule"}}, ""},
      {"Equal, other value", {gpu}, {{"dedicated", false, "cpu", "NoSchedule"}}, "node(s) had untolerated taint {dedicated: gpu}"},
      {"Exists toleration", {gpu}, {{"dedicated", true, "", ""}}, ""},
      {"effect must match", {gpu}, {{"dedicated", true, "", "NoExecute"}}, "node(s) had untolerated taint {dedicated: gpu}"},
      {"empty key Exists tolerates all", {gpu, {"k", "v", "NoExecute"}}, {{"", true, "", ""}}, ""},
      {"second taint untolerated", {gpu, {"k", "v", "NoExecute"}}, {{"dedicated", true, "", ""}}, "node(s) had untolerated taint {k: v}"},
  };
  for (const auto& c : cases) {
    std::vector<sp::NodeInfo> nodes{node("n")};
    nodes[0].taints = c.taints;
    sp::PodInfo p = pod("p");
    p.tolerations = c.tolerations;
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_filter(*f, p, nodes[0], snap), c.want) << c.name;
  }
}

TEST(TaintTolerationScore, FewerPreferNoScheduleTaintsWin) {
  auto s = make<sp::ScorePlugin>(&make_tainttolerationscore);
  std::vector<sp::NodeInfo> nodes{node("clean"), node("one"), node("two")};
  nodes[1].taints = {{"a", "1", "PreferNoSchedule"}};
  nodes[2].taints = {{"a", "1", "PreferNoSchedule"}, {"b", "1", "PreferNoSchedule"}, {"c", "1", "NoSchedule"}};
  TestSnapshot snap(nodes);
  EXPECT_EQ(run_score(*s, pod("p"), snap), (std::vector<std::int64_t>{100, 50, 0}));
  sp::PodInfo tolerant = pod("t");
  tolerant.tolerations = {{"a", true, "", "PreferNoSchedule"}};
  EXPECT_EQ(run_score(*s, tolerant, snap), (std::vector<std::int64_t>{100, 100, 0}));
  // A toleration for another effect does not count.
  sp::PodInfo other = pod("o");
  other.tolerations = {{"a", true, "", "NoSchedule"}};
  EXPECT_EQ(run_score(*s, other, snap), (std::vector<std::int64_t>{100, 50, 0}));
}

}  // namespace
}  // namespace skiff::plugins::scheduler::tainttoleration
