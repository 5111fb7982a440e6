#include "nodeaffinity.hpp"

#include <gtest/gtest.h>

#include "tests/scheduler/fixtures.hpp"

namespace skiff::plugins::scheduler::nodeaffinity {
namespace {

using namespace skiff::testing::sched;
using Op = sp::Requirement::Op;

TEST(NodeAffinityFilter, EveryOperatorAndTheSelector) {
  auto f = make<sp::FilterPlugin>(&make_nodeaffinityfilter);
  const std::string no = "node(s) didn't match Pod's node affinity/selector";
  struct Case {
    const char* name;
    plugin::StringPairs selector;
    std::vector<sp::NodeSelectorTerm> terms;  // empty: no required affinity
    std::string want;
  };
  auto expr = [](std::string k, Op op, std::vector<std::string> v) {
    return sp::NodeSelectorTerm{{sp::Requirement{std::move(k), op, std::move(v)}}, {}};
  };
  // The node: zone=a, cores=8, name n1.
  std::vector<Case> cases = {
      {"nothing asked", {}, {}, ""},
      {"selector matches", {{"zone", "a"}}, {}, ""},
      {"selector differs", {{"zone", "b"}}, {}, no},
      {"selector label missing", {{"disk", "ssd"}}, {}, no},
      {"In", {}, {expr("zone", Op::kIn, {"a", "b"})}, ""},
      {"In, no", {}, {expr("zone", Op::kIn, {"b"})}, no},
      {"NotIn", {}, {expr("zone", Op::kNotIn, {"b"})}, ""},
      {"NotIn, no", {}, {expr("zone", Op::kNotIn, {"a"})}, no},
      {"NotIn, label missing", {}, {expr("disk", Op::kNotIn, {"ssd"})}, ""},
      {"Exists", {}, {expr("zone", Op::kExists, {})}, ""},
      {"Exists, no", {}, {expr("disk", Op::kExists, {})}, no},
      {"DoesNotExist", {}, {expr("disk", Op::kDoesNotExist, {})}, ""},
      {"DoesNotExist, no", {}, {expr("zone", Op::kDoesNotExist, {})}, no},
      {"Gt", {}, {expr("cores", Op::kGt, {"4"})}, ""},
      {"Gt, no", {}, {expr("cores", Op::kGt, {"8"})}, no},
      {"Lt", {}, {expr("cores", Op::kLt, {"16"})}, ""},
      {"Lt, no", {}, {expr("cores", Op::kLt, {"8"})}, no},
      {"Gt on a non-number", {}, {expr("zone", Op::kGt, {"1"})}, no},
      {"terms are ORed", {}, {expr("zone", Op::kIn, {"b"}), expr("zone", Op::kIn, {"a"})}, ""},
      {"matchFields name", {}, {sp::NodeSelectorTerm{{}, {{"metadata.name", Op::kIn, {"n1"}}}}}, ""},
      {"matchFields other name", {}, {sp::NodeSelectorTerm{{}, {{"metadata.name", Op::kIn, {"n2"}}}}}, no},
      {"empty term selects nothing", {}, {sp::NodeSelectorTerm{}}, no},
      {"selector and affinity both needed", {{"zone", "b"}}, {expr("zone", Op::kIn, {"a"})}, no},
  };
  for (const auto& c : cases) {
    std::vector<sp::NodeInfo> nodes{node("n1")};
    set_label(nodes[0], "zone", "a");
    set_label(nodes[0], "cores", "8");
    sp::PodInfo p = pod("p");
    p.node_selector = c.selector;
    p.has_required_node_affinity = !c.terms.empty();
    p.required_node_affinity = c.terms;
    TestSnapshot snap(nodes);
    EXPECT_EQ(run_filter(*f, p, nodes[0], snap), c.want) << c.name;
  }
}

TEST(NodeAffinityScore, PreferredWeightsNormalized) {
  auto s = make<sp::ScorePlugin>(&make_nodeaffinityscore);
  std::vector<sp::NodeInfo> nodes{node("a"), node("b"), node("c")};
  set_label(nodes[0], "zone", "x");
  set_label(nodes[1], "zone", "y");
  set_label(nodes[1], "disk", "ssd");
  TestSnapshot snap(nodes);
  sp::PodInfo p = pod("p");
  p.preferred_node_affinity = {{20, {{{"zone", Op::kIn, {"x"}}}, {}}},
                               {60, {{{"disk", Op::kExists, {}}}, {}}}};
  // a: 20, b: 60, c: 0 → ×100/60.
  EXPECT_EQ(run_score(*s, p, snap), (std::vector<std::int64_t>{33, 100, 0}));
  EXPECT_EQ(run_score(*s, pod("plain"), snap), (std::vector<std::int64_t>{0, 0, 0}));
}

}  // namespace
}  // namespace skiff::plugins::scheduler::nodeaffinity
