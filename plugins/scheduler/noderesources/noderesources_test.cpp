// Table-driven: a node, a pod, the expected Fit answer or score.
#include "noderesources.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::noderesources {
namespace {

using namespace skiff::testing::sched;

TEST(NodeResourcesFit, Table) {
  auto fit = make<sp::FilterPlugin>(&make_fit);
  ASSERT_TRUE(fit);
  struct Case {
    const char* name;
    sp::NodeInfo node;
    std::vector<sp::PodInfo> existing;
    sp::PodInfo pod;
    std::string want;
  };
  sp::PodInfo gpu = pod("gpu", 100, kGi);
  gpu.requests.add_scalar("nvidia.com/gpu", 1);
  sp::NodeInfo gpu_node = node("n", 4000, 8 * kGi);
  gpu_node.allocatable.add_scalar("nvidia.com/gpu", 1);
  sp::PodInfo storage = pod("st");
  storage.requests.ephemeral_storage = 200 * kGi;
  std::vector<Case> cases = {
      {"fits", node("n"), {}, pod("p", 1000, kGi), ""},
      {"exactly full fits", node("n", 2000), {pod("a", 1000)}, pod("p", 1000), ""},
      {"cpu short", node("n", 2000), {pod("a", 1500)}, pod("p", 1000), "Insufficient cpu"},
      {"memory short", node("n", 4000, 2 * kGi), {pod("a", 0, kGi + 1)}, pod("p", 0, kGi), "Insufficient memory"},
      {"both short, both named", node("n", 1000, kGi), {}, pod("p", 2000, 2 * kGi), "Insufficient cpu\nInsufficient memory"},
      {"pod slots", node("n", 4000, 8 * kGi, 1), {pod("a")}, pod("p"), "Too many pods"},
      {"no requests fit a full node", node("n", 1000), {pod("a", 1000)}, pod("p"), ""},
      {"extended resource missing", node("n"), {}, gpu, "Insufficient nvidia.com/gpu"},
      {"extended resource present", gpu_node, {}, gpu, ""},
      {"extended resource taken", gpu_node, {gpu}, gpu, "Insufficient nvidia.com/gpu"},
      {"ephemeral storage", node("n"), {}, storage, "Insufficient ephemeral-storage"},
  };
  for (auto& c : cases) {
    for (auto& e : c.existing) {
      e.name += "-existing";
      c.node.add_pod(share(e));
    }
    std::vector<sp::NodeInfo> nodes{c.node};
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_filter(*fit, c.pod, nodes[0], snap), c.want) << c.name;
  }
}

TEST(NodeResourcesScores, LeastMostBalanced) {
  auto least = make<sp::ScorePlugin>(&make_leastallocated);
  auto most = make<sp::ScorePlugin>(&make_mostallocated);
  auto balanced = make<sp::ScorePlugin>(&make_balancedallocation);
  // Node a: empty. Node b: half its cpu and memory used.
  std::vector<sp::NodeInfo> nodes{node("a", 4000, 8 * kGi), node("b", 4000, 8 * kGi)};
  nodes[1].add_pod(share(pod("used", 2000, 4 * kGi)));
  TestSnapshot snap(nodes);
  sp::PodInfo p = pod("p", 1000, 2 * kGi);
  // least: ((4000-1000)/4000*100 + (8-2)/8*100)/2 = 75 on a; (1000/4000*100 + 2/8*100)/2 = 25 on b.
  EXPECT_EQ(run_score(*least, p, snap), (std::vector<std::int64_t>{75, 25}));
  EXPECT_EQ(run_score(*most, p, snap), (std::vector<std::int64_t>{25, 75}));
  // Balanced: equal fractions on both → 100.
  EXPECT_EQ(run_score(*balanced, p, snap), (std::vector<std::int64_t>{100, 100}));
  // cpu-only pod on an empty node: fractions 0.5 and 0 → 100 × (1 − 0.25) = 75.
  std::vector<sp::NodeInfo> one{node("c", 4000, 8 * kGi)};
  TestSnapshot snap1(one);
  EXPECT_EQ(run_score(*balanced, pod("cpu", 2000, 0), snap1), (std::vector<std::int64_t>{75}));
  // No requests: the scoring defaults (100m, 200Mi) count, so an empty node is still not "full".
  EXPECT_EQ(run_score(*most, pod("none"), snap1), (std::vector<std::int64_t>{(100 * 100 / 4000 + 200 * 100 / 8192) / 2}));
}

}  // namespace
}  // namespace skiff::plugins::scheduler::noderesources
