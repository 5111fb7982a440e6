// Parsing Pods and Nodes into the scheduler's value types, the FailedScheduling summary, node
// sampling, and the scheduler.* config.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kernel/scheduler/component.hpp"
#include "kernel/scheduler/parse.hpp"
#include "kernel/scheduler/scheduler.hpp"
#include "tests/scheduler/static_plugins.hpp"

namespace skiff::kernel::scheduler {
namespace {

using Json = nlohmann::json;

plugin::Object object(const Json& j) {
  plugin::Object o;
  o.json = j.dump();
  o.ns = j["metadata"].value("namespace", "");
  o.name = j["metadata"].value("name", "");
  if (j["metadata"].contains("labels"))
    for (auto it = j["metadata"]["labels"].begin(); it != j["metadata"]["labels"].end(); ++it)
      o.labels.emplace_back(it.key(), it.value().get<std::string>());
  return o;
}

Json container(const char* name, Json requests) {
  return {{"name", name}, {"image", "nginx"}, {"resources", {{"requests", requests}}}};
}

TEST(ParsePod, InitContainersCountAsKubernetesCounts) {
  struct Case {
    const char* name;
    Json spec;
    std::int64_t cpu, memory;
  };
  std::vector<Case> cases = {
      {"app containers add up",
       {{"containers", {container("a", {{"cpu", "500m"}, {"memory", "1Gi"}}), container("b", {{"cpu", "250m"}})}}},
       750, 1LL << 30},
      {"a bigger init container wins per resource",
       {{"containers", {container("a", {{"cpu", "500m"}, {"memory", "1Gi"}})}},
        {"initContainers", {container("i", {{"cpu", "2"}, {"memory", "100Mi"}})}}},
       2000, 1LL << 30},
      {"sidecars run beside the app and the later init containers",
       {{"containers", {container("a", {{"cpu", "500m"}})}},
        {"initContainers",
         {{{"name", "side"}, {"image", "x"}, {"restartPolicy", "Always"}, {"resources", {{"requests", {{"cpu", "300m"}}}}}},
          container("i", {{"cpu", "1"}})}}},
       1300, 0},
      {"overhead on top", {{"containers", {container("a", {{"cpu", "1"}})}}, {"overhead", {{"cpu", "250m"}}}}, 1250, 0},
      {"limits stand in for missing requests",
       {{"containers", {{{"name", "a"}, {"image", "x"}, {"resources", {{"limits", {{"cpu", "2"}, {"memory", "64Mi"}}}}}}}}},
       2000, 64LL << 20},
  };
  for (const auto& c : cases) {
    Json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}}}, {"spec", c.spec}};
    auto parsed = parse_pod(object(pod));
    ASSERT_TRUE(parsed) << c.name << ": " << parsed.status().message();
    EXPECT_EQ(parsed->requests.milli_cpu, c.cpu) << c.name;
    EXPECT_EQ(parsed->requests.memory, c.memory) << c.name;
  }
}

TEST(ParsePod, FieldsAndPriority) {
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}, {"labels", {{"app", "web"}}}}},
              {"spec",
               {{"priorityClassName", "high"},
                {"containers", {{{"name", "a"}, {"image", "nginx:1.25"}, {"ports", {{{"containerPort", 80}, {"hostPort", 8080}}}},
                                 {"resources", {{"requests", {{"nvidia.com/gpu", "1"}}}}}}}},
                {"nodeSelector", {{"zone", "a"}}},
                {"tolerations", {{{"key", "dedicated"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}}},
                {"affinity",
                 {{"nodeAffinity",
                   {{"requiredDuringSchedulingIgnoredDuringExecution",
                     {{"nodeSelectorTerms", {{{"matchExpressions", {{{"key", "cores"}, {"operator", "Gt"}, {"values", {"4"}}}}}}}}}}}},
                  {"podAntiAffinity",
                   {{"requiredDuringSchedulingIgnoredDuringExecution",
                     {{{"labelSelector", {{"matchLabels", {{"app", "web"}}}}}, {"topologyKey", "kubernetes.io/hostname"}}}}}}}},
                {"topologySpreadConstraints",
                 {{{"maxSkew", 2}, {"topologyKey", "zone"}, {"whenUnsatisfiable", "ScheduleAnyway"},
                   {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}}}}}}};
  PriorityResolver resolver{[](std::string_view n) -> std::optional<std::int32_t> {
                              if (n == "high") return 1000;
                              return std::nullopt;
                            },
                            [] { return std::optional<std::int32_t>(7); }};
  auto parsed = parse_pod(object(pod), &resolver);
  ASSERT_TRUE(parsed) << parsed.status().message();
  const auto& p = *parsed;
  EXPECT_EQ(p.priority, 1000);
  EXPECT_EQ(p.scheduler_name, "default-scheduler");
  EXPECT_EQ(p.requests.scalar_value("nvidia.com/gpu"), 1);
  ASSERT_EQ(p.host_ports.size(), 1u);
  EXPECT_EQ(p.host_ports[0].port, 8080);
  EXPECT_EQ(p.images, std::vector<std::string>{"docker.io/library/nginx:1.25"});
  EXPECT_EQ(p.node_selector, (plugin::StringPairs{{"zone", "a"}}));
  ASSERT_EQ(p.tolerations.size(), 1u);
  EXPECT_TRUE(p.tolerations[0].exists);
  ASSERT_TRUE(p.has_required_node_affinity);
  EXPECT_EQ(p.required_node_affinity[0].match_expressions[0].op, plugin::scheduler::Requirement::Op::kGt);
  ASSERT_EQ(p.required_anti_affinity.size(), 1u);
  EXPECT_EQ(p.required_anti_affinity[0].topology_key, "kubernetes.io/hostname");
  ASSERT_EQ(p.topology_spread.size(), 1u);
  EXPECT_FALSE(p.topology_spread[0].do_not_schedule);
  EXPECT_EQ(p.topology_spread[0].max_skew, 2);

  // matchLabelKeys: the pod's own value of each key joins the selector; a key it lacks is ignored.
  Json revision = pod;
  revision["metadata"]["labels"] = {{"app", "web"}, {"pod-template-hash", "abc"}};
  revision["spec"]["topologySpreadConstraints"][0]["matchLabelKeys"] = {"pod-template-hash", "not-on-the-pod"};
  auto keyed = parse_pod(object(revision), &resolver);
  ASSERT_TRUE(keyed) << keyed.status().message();
  const auto& spread = keyed->topology_spread.at(0).selector;
  EXPECT_TRUE(spread.matches({{"app", "web"}, {"pod-template-hash", "abc"}}));
  EXPECT_FALSE(spread.matches({{"app", "web"}, {"pod-template-hash", "xyz"}})) << "another revision's pods do not count";
  EXPECT_FALSE(spread.matches({{"app", "web"}}));
  EXPECT_FALSE(spread.matches({{"app", "db"}, {"pod-template-hash", "abc"}}));

  // No class named: the global default; a class that does not exist: 0.
  pod["spec"].erase("priorityClassName");
  EXPECT_EQ(parse_pod(object(pod), &resolver)->priority, 7);
  pod["spec"]["priorityClassName"] = "missing";
  EXPECT_EQ(parse_pod(object(pod), &resolver)->priority, 0);
  pod["spec"]["priority"] = 5;
  EXPECT_EQ(parse_pod(object(pod), &resolver)->priority, 5);
}

TEST(ParsePod, BadInputNamesTheField) {
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}}},
              {"spec", {{"containers", {container("a", {{"cpu", "lots"}})}}}}};
  auto parsed = parse_pod(object(pod));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.status().message().find("spec.containers[0].resources.requests.cpu"), std::string::npos)
      << parsed.status().message();
}

// parse_pod builds only the spec: a pod whose metadata and status are large and odd parses the
// same, and its fingerprint follows the spec and labels, not a status write.
TEST(ParsePod, ReadsOnlyTheSpecAndFingerprintsSpecAndLabels) {
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"labels", {{"app", "web"}}}}},
              {"spec", {{"nodeName", ""}, {"containers", {container("a", {{"cpu", "250m"}})}}}},
              {"status", {{"phase", "Pending"}}}};
  std::string before;
  auto parsed = parse_pod(object(pod), nullptr, &before);
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->requests.milli_cpu, 250);

  // Status and managedFields (never read) change: same result, same fingerprint.
  Json written = pod;
  written["status"] = {{"phase", "Pending"}, {"conditions", {{{"type", "PodScheduled"}, {"status", "False"}}}}};
  written["metadata"]["managedFields"] = {{{"manager", "m"}, {"fieldsV1", {{"f:spec", Json::object()}}}}};
  std::string after_status;
  ASSERT_TRUE(parse_pod(object(written), nullptr, &after_status));
  EXPECT_EQ(after_status, before);

  // The spec or the labels change: a new fingerprint.
  Json resized = pod;
  resized["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "500m";
  std::string after_spec;
  auto parsed_resized = parse_pod(object(resized), nullptr, &after_spec);
  ASSERT_TRUE(parsed_resized);
  EXPECT_EQ(parsed_resized->requests.milli_cpu, 500);
  EXPECT_NE(after_spec, before);
  Json relabelled = pod;
  relabelled["metadata"]["labels"]["app"] = "api";
  std::string after_labels;
  ASSERT_TRUE(parse_pod(object(relabelled), nullptr, &after_labels));
  EXPECT_NE(after_labels, before);
}

TEST(ParseNode, AllocatableTaintsImages) {
  Json node = {{"metadata", {{"name", "n1"}, {"labels", {{"zone", "a"}}}}},
               {"spec", {{"unschedulable", true}, {"taints", {{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}}}}}},
               {"status",
                {{"capacity", {{"cpu", "8"}, {"memory", "16Gi"}, {"pods", "110"}}},
                 {"allocatable", {{"cpu", "7500m"}, {"memory", "15Gi"}, {"pods", "100"}, {"nvidia.com/gpu", "2"}}},
                 {"images", {{{"names", {"nginx:1.25", "docker.io/library/nginx@sha256:abc"}}, {"sizeBytes", 1000}}}}}}};
  auto parsed = parse_node(object(node));
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->allocatable.milli_cpu, 7500);
  EXPECT_EQ(parsed->allocatable.memory, 15LL << 30);
  EXPECT_EQ(parsed->allocatable.pods, 100);
  EXPECT_EQ(parsed->allocatable.scalar_value("nvidia.com/gpu"), 2);
  EXPECT_TRUE(parsed->unschedulable);
  ASSERT_EQ(parsed->taints.size(), 1u);
  EXPECT_EQ(parsed->taints[0].value, "gpu");
  ASSERT_EQ(parsed->images.size(), 2u);
  EXPECT_EQ(parsed->images[0].first, "docker.io/library/nginx:1.25");  // ':' sorts before '@'
}

TEST(NormalizeImage, AsTheImageLocalityScoreComparesThem) {
  EXPECT_EQ(normalize_image("nginx"), "docker.io/library/nginx:latest");
  EXPECT_EQ(normalize_image("user/app:v1"), "docker.io/user/app:v1");
  EXPECT_EQ(normalize_image("registry.local:5000/app"), "registry.local:5000/app:latest");
  EXPECT_EQ(normalize_image("quay.io/x/y@sha256:1"), "quay.io/x/y@sha256:1");
}

TEST(FitErrorMessage, CountsPerReasonSortedLikeKubernetes) {
  EXPECT_EQ(fit_error_message(5, {{"Insufficient cpu", 3}, {"node(s) had untolerated taint {dedicated: gpu}", 2}}),
            "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu.");
  EXPECT_EQ(fit_error_message(0, {}), "no nodes available to schedule pods");
}

TEST(NodesToFind, AdaptivePercentage) {
  EXPECT_EQ(nodes_to_find(50, 0), 50u);       // under 100 nodes: all
  EXPECT_EQ(nodes_to_find(1000, 0), 420u);    // 50 − 8 = 42%
  EXPECT_EQ(nodes_to_find(5000, 0), 500u);    // 50 − 40 = 10%
  EXPECT_EQ(nodes_to_find(10000, 0), 500u);   // floor of 5%
  EXPECT_EQ(nodes_to_find(1000, 5), 100u);    // at least 100
  EXPECT_EQ(nodes_to_find(5000, 100), 5000u);
  EXPECT_EQ(nodes_to_find(5000, 30), 1500u);
}

TEST(SchedulerConfig, ProfilesParseAndBadValuesNameTheKey) {
  auto specs = parse_profiles("default-scheduler; packer:scores=node_resources_most_allocated=2:filters=node_resources_fit",
                              "node_resources_fit,node_ports", "node_resources_least_allocated=1");
  ASSERT_TRUE(specs) << specs.status().message();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].filters, (std::vector<std::string>{"node_resources_fit", "node_ports"}));
  EXPECT_EQ((*specs)[1].scheduler_name, "packer");
  EXPECT_EQ((*specs)[1].filters, std::vector<std::string>{"node_resources_fit"});
  ASSERT_EQ((*specs)[1].scores.size(), 1u);
  EXPECT_EQ((*specs)[1].scores[0].second, 2);

  auto bad_weight = parse_profiles("a:scores=x=0", "", "");
  ASSERT_FALSE(bad_weight);
  EXPECT_NE(bad_weight.status().message().find("scheduler.profiles"), std::string::npos);
  auto twice = parse_profiles("a;a", "", "");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.status().message().find("given twice"), std::string::npos);
  auto bad_part = parse_profiles("a:colour=blue", "", "");
  ASSERT_FALSE(bad_part);

  testing::sched::StaticPlugins plugins;
  auto unknown = build_profiles(*parse_profiles("default-scheduler", "node_resources_fit,no_such_filter", ""),
                                plugins.filters, plugins.scores);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("scheduler.filters"), std::string::npos) << unknown.status().message();
  EXPECT_NE(unknown.status().message().find("no_such_filter"), std::string::npos);

  // The component's validators reject what parse_profiles rejects, naming the format.
  for (const auto& o : scheduler_options())
    if (o.key == "scheduler.percentage-of-nodes-to-score") {
      EXPECT_EQ(o.validate("30"), "");
      EXPECT_NE(o.validate("101"), "");
    }
}

}  // namespace
}  // namespace skiff::kernel::scheduler
