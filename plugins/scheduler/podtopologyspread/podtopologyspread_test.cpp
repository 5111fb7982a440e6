#include "podtopologyspread.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::podtopologyspread {
namespace {

using namespace skiff::testing::sched;

// Zone a: a1, a2; zone b: b1; n-nolabel has no zone label.
std::vector<sp::NodeInfo> cluster(std::vector<int> web_pods) {
  std::vector<sp::NodeInfo> nodes{node("a1"), node("a2"), node("b1"), node("nolabel")};
  set_label(nodes[0], "zone", "a");
  set_label(nodes[1], "zone", "a");
  set_label(nodes[2], "zone", "b");
  int k = 0;
  for (std::size_t i = 0; i < web_pods.size(); ++i)
    for (int j = 0; j < web_pods[i]; ++j) {
      sp::PodInfo p = pod("web" + std::to_string(k++));
      p.labels = {{"app", "web"}};
      nodes[i].add_pod(share(p));
    }
  return nodes;
}

sp::PodInfo web(int max_skew, bool hard) {
  sp::PodInfo p = pod("new");
  p.labels = {{"app", "web"}};
  sp::TopologySpreadConstraint c;
  c.max_skew = max_skew;
  c.topology_key = "zone";
  c.do_not_schedule = hard;
  c.selector = selector({{"app", "web"}});
  p.topology_spread = {c};
  return p;
}

TEST(PodTopologySpreadFilter, Table) {
  auto f = make<sp::FilterPlugin>(&make_podtopologyspreadfilter);
  const std::string skew = "node(s) didn't match pod topology spread constraints";
  const std::string missing = "node(s) didn't match pod topology spread constraints (missing required label)";
  struct Case {
    const char* name;
    std::vector<int> placed;  // web pods per node
    sp::PodInfo pod;
    std::vector<std::string> want;
  };
  std::vector<Case> cases = {
      {"empty cluster: every zone", {}, web(1, true), {"", "", "", missing}},
      {"zone a ahead by one: only b", {1, 0, 0}, web(1, true), {skew, skew, "", missing}},
      {"maxSkew 2 allows a", {1, 0, 0}, web(2, true), {"", "", "", missing}},
      {"balanced: both", {1, 0, 1}, web(1, true), {"", "", "", missing}},
      {"ScheduleAnyway does not filter", {3, 0, 0}, web(1, false), {"", "", "", ""}},
  };
  for (auto& c : cases) {
    auto nodes = cluster(c.placed);
    TestSnapshot snap(nodes);
    for (std::size_t n = 0; n < nodes.size(); ++n)
      EXPECT_EQ(run_filter(*f, c.pod, nodes[n], snap), c.want[n]) << c.name << " on " << nodes[n].name;
  }
}

TEST(PodTopologySpreadFilter, PodsNotMatchingTheSelectorDoNotCount) {
  auto f = make<sp::FilterPlugin>(&make_podtopologyspreadfilter);
  auto nodes = cluster({});
  nodes[0].add_pod(share(pod("unrelated")));
  TestSnapshot snap(nodes);
  EXPECT_EQ(run_filter(*f, web(1, true), nodes[0], snap), "");
}

TEST(PodTopologySpreadScore, EmptierDomainsScoreHigher) {
  auto s = make<sp::ScorePlugin>(&make_podtopologyspreadscore);
  auto nodes = cluster({2, 0, 1});
  TestSnapshot snap(nodes);
  auto scores = run_score(*s, web(1, false), snap);
  ASSERT_EQ(scores.size(), 4u);
  // Zone a holds 2, zone b 1: b1 best; a1 and a2 share their zone's count; no label → 0.
  EXPECT_EQ(scores[2], 100);
  EXPECT_EQ(scores[0], scores[1]);
  EXPECT_LT(scores[0], scores[2]);
  EXPECT_EQ(scores[3], 0);
  // Hard constraints are the filter's business: no score.
  EXPECT_EQ(run_score(*s, web(1, true), snap), (std::vector<std::int64_t>{0, 0, 0, 0}));
}

}  // namespace
}  // namespace skiff::plugins::scheduler::podtopologyspread
