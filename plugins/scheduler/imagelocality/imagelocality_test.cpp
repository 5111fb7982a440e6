#include "imagelocality.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::imagelocality {
namespace {

using namespace skiff::testing::sched;

TEST(ImageLocality, Table) {
  auto s = make<sp::ScorePlugin>(&make_imagelocality);
  const std::string big = "docker.io/library/big:1", small = "docker.io/library/small:1";
  struct Case {
    const char* name;
    std::vector<std::vector<std::pair<std::string, std::int64_t>>> images;  // per node
    std::vector<std::string> pod_images;
    std::vector<std::int64_t> want;
  };
  std::vector<Case> cases = {
      {"no images anywhere", {{}, {}}, {big}, {0, 0}},
      // 523MB on one of two nodes: spread 0.5 → 261.5MB → (261.5 − 23) / 977 × 100 = 24.
      {"big image on one node", {{{big, 523 * kMi}}, {}}, {big}, {24, 0}},
      // On both nodes it is spread everywhere: 523MB × 1 → 51 on each.
      {"big image everywhere", {{{big, 523 * kMi}}, {{big, 523 * kMi}}}, {big}, {51, 51}},
      {"below the threshold", {{{small, 10 * kMi}}, {}}, {small}, {0, 0}},
      {"pod without that image", {{{big, 523 * kMi}}, {}}, {small}, {0, 0}},
  };
  for (const auto& c : cases) {
    std::vector<sp::NodeInfo> nodes;
    for (std::size_t i = 0; i < c.images.size(); ++i) {
      nodes.push_back(node("n" + std::to_string(i)));
      nodes.back().images = c.images[i];
    }
    sp::PodInfo p = pod("p");
    p.images = c.pod_images;
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_score(*s, p, snap), c.want) << c.name;
  }
}

}  // namespace
}  // namespace skiff::plugins::scheduler::imagelocality
