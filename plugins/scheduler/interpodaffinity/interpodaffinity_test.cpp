#include "interpodaffinity.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::interpodaffinity {
namespace {

using namespace skiff::testing::sched;

sp::PodAffinityTerm term(plugin::StringPairs labels, std::string key) {
  sp::PodAffinityTerm t;
  t.selector = selector(std::move(labels));
  t.topology_key = std::move(key);
  return t;
}

// Three nodes in two zones: a1 and a2 in zone a, b1 in zone b.
std::vector<sp::NodeInfo> cluster() {
  std::vector<sp::NodeInfo> nodes{node("a1"), node("a2"), node("b1")};
  set_label(nodes[0], "zone", "a");
  set_label(nodes[1], "zone", "a");
  set_label(nodes[2], "zone", "b");
  return nodes;
}

TEST(InterPodAffinityFilter, Table) {
  auto f = make<sp::FilterPlugin>(&make_interpodaffinityfilter);
  const std::string aff = "node(s) didn't match pod affinity rules";
  const std::string anti = "node(s) didn't match pod anti-affinity rules";
  const std::string existing_anti = "node(s) didn't satisfy existing pods anti-affinity rules";
  sp::PodInfo db = pod("db");
  db.labels = {{"app", "db"}};
  sp::PodInfo lonely = pod("lonely");
  lonely.labels = {{"app", "lonely"}};
  lonely.required_anti_affinity = {term({{"app", "web"}}, "zone")};

  sp::PodInfo near_db = pod("web");
  near_db.labels = {{"app", "web"}};
  near_db.required_affinity = {term({{"app", "db"}}, "zone")};
  sp::PodInfo away_from_db = pod("web");
  away_from_db.labels = {{"app", "web"}};
  away_from_db.required_anti_affinity = {term({{"app", "db"}}, "kubernetes.io/hostname")};
  sp::PodInfo first_of_group = pod("cache");
  first_of_group.labels = {{"app", "cache"}};
  first_of_group.required_affinity = {term({{"app", "cache"}}, "zone")};
  sp::PodInfo other_ns = near_db;
  other_ns.ns = "other";

  struct Case {
    const char* name;
    std::vector<std::pair<int, sp::PodInfo>> placed;  // node index, pod
    sp::PodInfo pod;
    std::vector<std::string> want;  // per node a1, a2, b1
  };
  std::vector<Case> cases = {
      {"affinity by zone follows db to zone a", {{0, db}}, near_db, {"", "", aff}},
      {"affinity with no db anywhere", {}, near_db, {aff, aff, aff}},
      {"the first pod of a self-affine group goes anywhere", {}, first_of_group, {"", "", ""}},
      {"anti-affinity by hostname avoids only db's node", {{0, db}}, away_from_db, {anti, "", ""}},
      {"existing anti-affinity is checked first", {{2, lonely}}, near_db, {aff, aff, existing_anti}},
      {"existing anti-affinity alone", {{2, lonely}, {0, db}}, near_db, {"", "", existing_anti}},
      {"terms select the pod's own namespace only", {{0, db}}, other_ns, {aff, aff, aff}},
  };
  for (auto& c : cases) {
    auto nodes = cluster();
    int i = 0;
    for (auto& [idx, p] : c.placed) {
      sp::PodInfo copy = p;
      copy.name += std::to_string(i++);
      nodes[static_cast<std::size_t>(idx)].add_pod(share(copy));
    }
    TestSnapshot snap(nodes);
    for (std::size_t n = 0; n < nodes.size(); ++n)
      EXPECT_EQ(run_filter(*f, c.pod, nodes[n], snap), c.want[n]) << c.name << " on " << nodes[n].name;
  }
}

TEST(InterPodAffinityScore, PreferredTermsWeighTopologies) {
  auto s = make<sp::ScorePlugin>(&make_interpodaffinityscore);
  auto nodes = cluster();
  sp::PodInfo db = pod("db");
  db.labels = {{"app", "db"}};
  nodes[2].add_pod(share(db));
  TestSnapshot snap(nodes);
  sp::PodInfo web = pod("web");
  web.preferred_affinity = {{50, term({{"app", "db"}}, "zone")}};
  EXPECT_EQ(run_score(*s, web, snap), (std::vector<std::int64_t>{0, 0, 100}));
  sp::PodInfo shy = pod("shy");
  shy.preferred_anti_affinity = {{50, term({{"app", "db"}}, "zone")}};
  EXPECT_EQ(run_score(*s, shy, snap), (std::vector<std::int64_t>{100, 100, 0}));
  // An existing pod's preference about the incoming one counts too.
  auto nodes2 = cluster();
  sp::PodInfo fan = pod("fan");
  fan.preferred_affinity = {{10, term({{"app", "star"}}, "kubernetes.io/hostname")}};
  nodes2[1].add_pod(share(fan));
  TestSnapshot snap2(nodes2);
  sp::PodInfo star = pod("star");
  star.labels = {{"app", "star"}};
  EXPECT_EQ(run_score(*s, star, snap2), (std::vector<std::int64_t>{0, 100, 0}));
  EXPECT_EQ(run_score(*s, pod("plain"), snap), (std::vector<std::int64_t>{0, 0, 0}));
}

}  // namespace
}  // namespace skiff::plugins::scheduler::interpodaffinity
