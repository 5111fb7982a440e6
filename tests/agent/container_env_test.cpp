// A container's environment, command and args as the kubelet builds them (agent/container_env.cpp):
// $(VAR) expansion with Kubernetes' rules, literal values, ConfigMap and Secret keys (optional or
// not), envFrom with prefixes, the downward API's pod fields and resources, and the kubelet's error
// messages for what is missing. Table-driven over the pure functions, with ConfigMaps and Secrets
// served from a map (the agent serves them from its informer cache; agent_test covers that path).
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "agent/container_env.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using agent::EnvList;

// ConfigMaps and Secrets of the test, by "<resource>/<ns>/<name>".
struct Objects {
  std::map<std::string, plugin::ObjectPtr> by_key;
  void add(const plugin::ResourceId& r, const json& object) {
    auto o = std::make_shared<plugin::Object>();
    o->json = object.dump();
    o->ns = object["metadata"].value("namespace", "");
    o->name = object["metadata"].value("name", "");
    by_key[r.resource + "/" + o->ns + "/" + o->name] = o;
  }
  agent::ObjectLookup lookup() const {
    return [this](const plugin::ResourceId& r, std::string_view ns, std::string_view name) -> plugin::ObjectPtr {
      auto it = by_key.find(r.resource + "/" + std::string(ns) + "/" + std::string(name));
      return it == by_key.end() ? nullptr : it->second;
    };
  }
};

json config_map(const std::string& name, json data) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "default"}}}, {"data", data}};
}
json secret(const std::string& name, json data) {
  return {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", name}, {"namespace", "default"}}}, {"data", data}};
}

json test_pod() {
  return {{"metadata",
           {{"name", "web"},
            {"namespace", "default"},
            {"uid", "0b1c2d3e-aaaa-bbbb-cccc-000000000001"},
            {"labels", {{"app", "shop"}}},
            {"annotations", {{"team", "blue"}}}}},
          {"spec", {{"nodeName", "node-1"}, {"serviceAccountName", "builder"}}}};
}

class ContainerEnvTest : public ::testing::Test {
 protected:
  ContainerEnvTest() {
    objects.add(agent::kConfigMaps, config_map("settings", {{"MODE", "fast"}, {"LEVEL", "3"}, {"bad key", "x"}}));
    objects.add(agent::kSecrets, secret("creds", {{"PASSWORD", "czNjcjN0"}, {"TOKEN", "dG9r"}}));  // s3cr3t, tok
    facts.pod = &pod;
    facts.pod_ip = [] { return std::string("10.88.0.7"); };
    facts.host_ip = "192.0.2.1";
    facts.node_cpu = "4";
    facts.node_memory = "8Gi";
  }
  plugin::Result<agent::ContainerEnv> env_of(const json& container) {
    return agent::container_env(container, facts, objects.lookup());
  }
  std::map<std::string, std::string> map_of(const json& container) {
    auto r = env_of(container);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    std::map<std::string, std::string> m;
    if (r)
      for (const auto& [k, v] : r->env) m[k] = v;
    return m;
  }

  json pod = test_pod();
  Objects objects;
  agent::PodFacts facts;
};

TEST(ExpandReferences, FollowsKubernetesRules) {
  std::map<std::string, std::string> vars = {{"A", "1"}, {"B", "two"}, {"EMPTY", ""}};
  auto lookup = [&](std::string_view n) -> const std::string* {
    auto it = vars.find(std::string(n));
    return it == vars.end() ? nullptr : &it->second;
  };
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "plain"},
      {"$(A)", "1"},
      {"x$(A)y$(B)z", "x1ytwoz"},
      {"$(EMPTY)-", "-"},
      {"$(MISSING)", "$(MISSING)"},  // unknown: left as written
      {"$$(A)", "$(A)"},             // escaped
      {"$$$(A)", "$1"},
      {"$$", "$"},
      {"a$b", "a$b"},                // '$' before anything else stays
      {"$", "$"},
      {"end$", "end$"},
      {"$(A", "$(A"},                // unterminated
      {"$(A$(B)", "$(A$(B)"},        // the first ')' closes "A$(B": no such variable
      {"$()", "$()"},
      {"$(A)$(A)", "11"},
  };
  for (const auto& c : cases) EXPECT_EQ(agent::expand_references(c.in, lookup), c.out) << c.in;
}

TEST_F(ContainerEnvTest, LiteralsExpandEarlierVariablesOnly) {
  json c = {{"name", "app"},
            {"env",
             {{{"name", "FIRST"}, {"value", "one"}},
              {{"name", "SECOND"}, {"value", "$(FIRST)-two-$(THIRD)"}},
              {{"name", "THIRD"}, {"value", "three"}},
              {{"name", "FIRST"}, {"value", "again:$(FIRST)"}},
              {{"name", "EMPTY"}}}}};
  auto r = env_of(c);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EnvList expected = {{"FIRST", "again:one"}, {"SECOND", "one-two-$(THIRD)"}, {"THIRD", "three"}, {"EMPTY", ""}};
  EXPECT_EQ(r->env, expected);
}

TEST_F(ContainerEnvTest, ConfigMapAndSecretKeysWithSecretsDecoded) {
  json c = {{"name", "app"},
            {"env",
             {{{"name", "MODE"}, {"valueFrom", {{"configMapKeyRef", {{"name", "settings"}, {"key", "MODE"}}}}}},
              {{"name", "PASS"}, {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "PASSWORD"}}}}}},
              {{"name", "URL"}, {"value", "db://admin:$(PASS)@host/$(MODE)"}},
              {{"name", "OPT"},
               {"valueFrom", {{"configMapKeyRef", {{"name", "absent"}, {"key", "x"}, {"optional", true}}}}}},
              {{"name", "OPTKEY"},
               {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "nope"}, {"optional", true}}}}}}}}};
  auto m = map_of(c);
  EXPECT_EQ(m["MODE"], "fast");
  EXPECT_EQ(m["PASS"], "s3cr3t");
  EXPECT_EQ(m["URL"], "db://admin:s3cr3t@host/fast");
  EXPECT_FALSE(m.contains("OPT")) << "an optional reference to nothing defines no variable";
  EXPECT_FALSE(m.contains("OPTKEY"));
}

TEST_F(ContainerEnvTest, MissingObjectsAndKeysAreTheKubeletsErrors) {
  struct Case {
    json from;
    std::string message;
  } cases[] = {
      {{{"configMapKeyRef", {{"name", "absent"}, {"key", "k"}}}}, "configmap \"absent\" not found"},
      {{{"configMapKeyRef", {{"name", "settings"}, {"key", "k"}}}}, "couldn't find key k in ConfigMap default/settings"},
      {{{"secretKeyRef", {{"name", "absent"}, {"key", "k"}}}}, "secret \"absent\" not found"},
      {{{"secretKeyRef", {{"name", "creds"}, {"key", "k"}}}}, "couldn't find key k in Secret default/creds"},
      {{{"fieldRef", {{"fieldPath", "spec.containers"}}}}, "unsupported fieldPath: spec.containers"},
  };
  for (const auto& c : cases) {
    auto r = env_of({{"name", "app"}, {"env", {{{"name", "X"}, {"valueFrom", c.from}}}}});
    ASSERT_FALSE(r.is_ok()) << c.from.dump();
    EXPECT_EQ(r.status().message(), c.message);
  }
  auto from = env_of({{"name", "app"}, {"envFrom", {{{"secretRef", {{"name", "vault"}}}}}}});
  ASSERT_FALSE(from.is_ok());
  EXPECT_EQ(from.status().message(), "secret \"vault\" not found");
  EXPECT_TRUE(env_of({{"name", "app"}, {"envFrom", {{{"secretRef", {{"name", "vault"}, {"optional", true}}}}}}}).is_ok());
}

TEST_F(ContainerEnvTest, EnvFromTakesEveryKeyWithItsPrefixThenEnvOverrides) {
  json c = {{"name", "app"},
            {"envFrom",
             {{{"configMapRef", {{"name", "settings"}}}, {"prefix", "CFG_"}}, {{"secretRef", {{"name", "creds"}}}}}},
            {"env", {{{"name", "TOKEN"}, {"value", "override-$(CFG_LEVEL)"}}}}};
  auto r = env_of(c);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EnvList expected = {{"CFG_LEVEL", "3"}, {"CFG_MODE", "fast"}, {"PASSWORD", "s3cr3t"}, {"TOKEN", "override-3"}};
  EXPECT_EQ(r->env, expected);
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0],
            "Keys [CFG_bad key] from the EnvFrom configMap default/settings were skipped since they are considered "
            "invalid environment variable names.");
}

TEST_F(ContainerEnvTest, DownwardApiPodFields) {
  auto field = [](const std::string& path) { return json{{"fieldRef", {{"fieldPath", path}}}}; };
  json c = {{"name", "app"},
            {"env",
             {{{"name", "NAME"}, {"valueFrom", field("metadata.name")}},
              {{"name", "NS"}, {"valueFrom", field("metadata.namespace")}},
              {{"name", "UID"}, {"valueFrom", field("metadata.uid")}},
              {{"name", "APP"}, {"valueFrom", field("metadata.labels['app']")}},
              {{"name", "TEAM"}, {"valueFrom", field("metadata.annotations['team']")}},
              {{"name", "NOLABEL"}, {"valueFrom", field("metadata.labels['none']")}},
              {{"name", "NODE"}, {"valueFrom", field("spec.nodeName")}},
              {{"name", "SA"}, {"valueFrom", field("spec.serviceAccountName")}},
              {{"name", "POD_IP"}, {"valueFrom", field("status.podIP")}},
              {{"name", "HOST_IP"}, {"valueFrom", field("status.hostIP")}}}}};
  auto m = map_of(c);
  EXPECT_EQ(m["NAME"], "web");
  EXPECT_EQ(m["NS"], "default");
  EXPECT_EQ(m["UID"], "0b1c2d3e-aaaa-bbbb-cccc-000000000001");
  EXPECT_EQ(m["APP"], "shop");
  EXPECT_EQ(m["TEAM"], "blue");
  EXPECT_EQ(m["NOLABEL"], "");
  EXPECT_EQ(m["NODE"], "node-1");
  EXPECT_EQ(m["SA"], "builder");
  EXPECT_EQ(m["POD_IP"], "10.88.0.7");
  EXPECT_EQ(m["HOST_IP"], "192.0.2.1");
}

TEST_F(ContainerEnvTest, DownwardApiResourcesRoundUpAndDefaultLimitsToTheNode) {
  auto res = [](const std::string& resource, const std::string& divisor = "", const std::string& container = "") {
    json ref = {{"resource", resource}};
    if (!divisor.empty()) ref["divisor"] = divisor;
    if (!container.empty()) ref["containerName"] = container;
    return json{{"resourceFieldRef", ref}};
  };
  pod["spec"]["containers"] = {{{"name", "side"}, {"resources", {{"limits", {{"memory", "64Mi"}}}}}}};
  json c = {{"name", "app"},
            {"resources", {{"limits", {{"cpu", "250m"}, {"memory", "100Mi"}}}, {"requests", {{"cpu", "100m"}}}}},
            {"env",
             {{{"name", "CPU_LIMIT"}, {"valueFrom", res("limits.cpu")}},  // 250m / 1 → 1
              {{"name", "CPU_LIMIT_M"}, {"valueFrom", res("limits.cpu", "1m")}},
              {{"name", "CPU_REQ_M"}, {"valueFrom", res("requests.cpu", "1m")}},
              {{"name", "MEM"}, {"valueFrom", res("limits.memory")}},
              {{"name", "MEM_MI"}, {"valueFrom", res("limits.memory", "1Mi")}},
              {{"name", "MEM_REQ"}, {"valueFrom", res("requests.memory")}},  // none asked
              {{"name", "SIDE_MEM_MI"}, {"valueFrom", res("limits.memory", "1Mi", "side")}},
              {{"name", "SIDE_CPU"}, {"valueFrom", res("limits.cpu", "", "side")}}}}};  // the node's 4
  auto m = map_of(c);
  EXPECT_EQ(m["CPU_LIMIT"], "1");
  EXPECT_EQ(m["CPU_LIMIT_M"], "250");
  EXPECT_EQ(m["CPU_REQ_M"], "100");
  EXPECT_EQ(m["MEM"], "104857600");
  EXPECT_EQ(m["MEM_MI"], "100");
  EXPECT_EQ(m["MEM_REQ"], "0");
  EXPECT_EQ(m["SIDE_MEM_MI"], "64");
  EXPECT_EQ(m["SIDE_CPU"], "4");
  auto bad = env_of({{"name", "app"}, {"env", {{{"name", "X"}, {"valueFrom", res("limits.gpu")}}}}});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("limits.gpu"), std::string::npos) << bad.status().message();
}

TEST(ExpandWords, CommandAndArgsReadTheFinalEnvironment) {
  EnvList env = {{"GREETING", "hello"}, {"WHO", "pod"}};
  std::vector<std::string> args = {"echo", "$(GREETING) $(WHO)", "$$(WHO)", "$(NOPE)"};
  std::vector<std::string> expected = {"echo", "hello pod", "$(WHO)", "$(NOPE)"};
  EXPECT_EQ(agent::expand_words(args, env), expected);
}

TEST(ContainerResources, QuantitiesBecomeRuntimeLimits) {
  json c = {{"resources", {{"limits", {{"cpu", "1500m"}, {"memory", "16Mi"}}}, {"requests", {{"cpu", "0.5"}}}}}};
  auto r = agent::container_resources(c);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->cpu_millis, 500);
  EXPECT_EQ(r->cpu_limit_millis, 1500);
  EXPECT_EQ(r->memory_limit_bytes, 16 * 1024 * 1024);
  auto none = agent::container_resources(json::object());
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none->memory_limit_bytes, 0);
}

plugin::ObjectPtr service_object(const std::string& ns, const std::string& name, json spec) {
  auto o = std::make_shared<plugin::Object>();
  o->ns = ns;
  o->name = name;
  o->json = json{{"metadata", {{"name", name}, {"namespace", ns}}}, {"spec", std::move(spec)}}.dump();
  return o;
}

// Service links as the kubelet's envvars.FromServices writes them: `kubernetes` always, the pod's
// namespace's Services unless enableServiceLinks is false, none without a cluster IP.
TEST(ServiceLinks, AsTheKubeletNamesThem) {
  std::vector<plugin::ObjectPtr> services = {
      service_object("default", "kubernetes",
                     {{"clusterIP", "10.96.0.1"}, {"ports", {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}}}}}),
      service_object("shop", "redis-primary",
                     {{"clusterIP", "10.96.0.20"},
                      {"ports", {{{"port", 6379}}, {{"name", "metrics"}, {"port", 9121}, {"protocol", "UDP"}}}}}),
      service_object("shop", "headless", {{"clusterIP", "None"}, {"ports", {{{"port", 80}}}}}),
      service_object("other", "elsewhere", {{"clusterIP", "10.96.0.30"}, {"ports", {{{"port", 80}}}}})};
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "shop"}}}, {"spec", json::object()}};
  EnvList links = agent::service_links(services, pod);
  std::map<std::string, std::string> m(links.begin(), links.end());
  EXPECT_EQ(links.size(), m.size()) << "no name twice";
  std::map<std::string, std::string> want = {
      {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
      {"KUBERNETES_SERVICE_PORT", "443"},
      {"KUBERNETES_SERVICE_PORT_HTTPS", "443"},
      {"KUBERNETES_PORT", "tcp://10.96.0.1:443"},
      {"KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"},
      {"KUBERNETES_PORT_443_TCP_PROTO", "tcp"},
      {"KUBERNETES_PORT_443_TCP_PORT", "443"},
      {"KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"},
      {"REDIS_PRIMARY_SERVICE_HOST", "10.96.0.20"},
      {"REDIS_PRIMARY_SERVICE_PORT", "6379"},
      {"REDIS_PRIMARY_SERVICE_PORT_METRICS", "9121"},
      {"REDIS_PRIMARY_PORT", "tcp://10.96.0.20:6379"},
      {"REDIS_PRIMARY_PORT_6379_TCP", "tcp://10.96.0.20:6379"},
      {"REDIS_PRIMARY_PORT_6379_TCP_PROTO", "tcp"},
      {"REDIS_PRIMARY_PORT_6379_TCP_PORT", "6379"},
      {"REDIS_PRIMARY_PORT_6379_TCP_ADDR", "10.96.0.20"},
      {"REDIS_PRIMARY_PORT_9121_UDP", "udp://10.96.0.20:9121"},
      {"REDIS_PRIMARY_PORT_9121_UDP_PROTO", "udp"},
      {"REDIS_PRIMARY_PORT_9121_UDP_PORT", "9121"},
      {"REDIS_PRIMARY_PORT_9121_UDP_ADDR", "10.96.0.20"}};
  EXPECT_EQ(m, want);

  pod["spec"]["enableServiceLinks"] = false;
  EnvList master_only = agent::service_links(services, pod);
  ASSERT_EQ(master_only.size(), 8u);
  for (const auto& [k, v] : master_only) EXPECT_EQ(k.rfind("KUBERNETES_", 0), 0u) << k;
}

// The container's own variables win over a link of the same name; $(VAR) reads links.
TEST_F(ContainerEnvTest, ServiceLinksComeAfterTheContainersOwnAndExpand) {
  facts.service_links = {{"WEB_SERVICE_HOST", "10.96.0.5"}, {"WEB_SERVICE_PORT", "80"}};
  json c = {{"env", {{{"name", "URL"}, {"value", "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/"}},
                     {{"name", "WEB_SERVICE_PORT"}, {"value", "8080"}}}}};
  auto r = env_of(c);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EnvList want = {{"URL", "http://10.96.0.5:80/"}, {"WEB_SERVICE_PORT", "8080"}, {"WEB_SERVICE_HOST", "10.96.0.5"}};
  EXPECT_EQ(r->env, want);
}

TEST(DecodeBase64, SecretData) {
  EXPECT_EQ(agent::decode_base64("aGVsbG8gd29ybGQ=").value(), "hello world");
  EXPECT_EQ(agent::decode_base64("").value(), "");
  EXPECT_EQ(agent::decode_base64("AAEC/w==").value(), std::string("\0\1\2\xff", 4));
  EXPECT_FALSE(agent::decode_base64("not base64!").is_ok());
}

}  // namespace
}  // namespace skiff::testing
