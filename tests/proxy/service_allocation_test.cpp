// ClusterIP and NodePort allocation through the real API handler over the memory store: what
// kube-apiserver does on create, update and delete, with its 422 messages, and after a restart.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "kernel/api/handler.hpp"
#include "kernel/api/service_allocator.hpp"
#include "tests/support/control_plane.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using kernel::api::HttpRequest;
using kernel::api::HttpResponse;

json svc(const std::string& name, json spec) {
  if (!spec.contains("ports")) spec["ports"] = json::array({{{"port", 80}}});
  return {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", name}, {"namespace", "default"}}}, {"spec", spec}};
}

HttpResponse send(kernel::api::ApiHandler& api, std::string method, std::string path, const json& body = nullptr) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!body.is_null()) r.body = body.dump();
  r.headers["content-type"] = "application/json";
  r.user = "admin";
  return api.handle(r);
}

HttpResponse create(kernel::api::ApiHandler& api, const json& s) {
  return send(api, "POST", "/api/v1/namespaces/default/services", s);
}

std::string message(const HttpResponse& r) { return json::parse(r.body).value("message", ""); }

class ServiceAllocation : public ::testing::Test {
 protected:
  ControlPlane cp_;
  kernel::api::ApiHandler& api() { return cp_.api(); }
};

TEST_F(ServiceAllocation, EveryServiceGetsADistinctClusterIpInTheRange) {
  std::set<std::string> ips;
  for (int i = 0; i < 50; ++i) {
    auto r = create(api(), svc("s" + std::to_string(i), json::object()));
    ASSERT_EQ(r.status, 201) << r.body;
    json spec = json::parse(r.body)["spec"];
    ASSERT_TRUE(spec.contains("clusterIP")) << r.body;
    std::string ip = spec["clusterIP"];
    EXPECT_EQ(spec["clusterIPs"], json::array({ip}));
    auto parsed = kernel::api::parse_ipv4(ip);
    ASSERT_TRUE(parsed) << ip;
    EXPECT_EQ(*parsed & 0xFFF00000u, 0x0A600000u) << ip << " is outside 10.96.0.0/12";
    EXPECT_TRUE(ips.insert(ip).second) << ip << " handed out twice";
  }
}

TEST_F(ServiceAllocation, RequestedIpIsHonouredAndATakenOneIsRefused) {
  auto first = create(api(), svc("a", {{"clusterIP", "10.96.0.100"}}));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(json::parse(first.body)["spec"]["clusterIP"], "10.96.0.100");
  auto second = create(api(), svc("b", {{"clusterIP", "10.96.0.100"}}));
  EXPECT_EQ(second.status, 422);
  EXPECT_EQ(message(second), "Service \"b\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.100\"}: "
                             "failed to allocate IP 10.96.0.100: provided IP is already allocated");
  auto outside = create(api(), svc("c", {{"clusterIP", "192.168.7.7"}}));
  EXPECT_EQ(outside.status, 422);
  EXPECT_NE(message(outside).find("provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
            std::string::npos)
      << message(outside);
  // A failed create holds nothing.
  EXPECT_EQ(create(api(), svc("c", {{"clusterIP", "10.96.0.101"}})).status, 201);
}

TEST_F(ServiceAllocation, DeletingAServiceReleasesItsAddressAndNodePort) {
  ASSERT_EQ(create(api(), svc("a", {{"type", "NodePort"}, {"clusterIP", "10.96.0.7"},
                                     {"ports", json::array({{{"port", 80}, {"nodePort", 30007}}})}}))
                .status,
            201);
  auto taken = create(api(), svc("b", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}, {"nodePort", 30007}}})}}));
  EXPECT_EQ(taken.status, 422);
  EXPECT_EQ(message(taken), "Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30007: provided port is "
                            "already allocated");
  ASSERT_EQ(send(api(), "DELETE", "/api/v1/namespaces/default/services/a").status, 200);
  EXPECT_EQ(create(api(), svc("b", {{"type", "NodePort"}, {"clusterIP", "10.96.0.7"},
                                     {"ports", json::array({{{"port", 80}, {"nodePort", 30007}}})}}))
                .status,
            201);
}

TEST_F(ServiceAllocation, NodePortsAreAllocatedPerPortAndCheckedAgainstTheRange) {
  auto r = create(api(), svc("np", {{"type", "NodePort"},
                                    {"ports", json::array({{{"name", "a"}, {"port", 80}}, {{"name", "b"}, {"port", 81}}})}}));
  ASSERT_EQ(r.status, 201) << r.body;
  json ports = json::parse(r.body)["spec"]["ports"];
  int a = ports[0]["nodePort"], b = ports[1]["nodePort"];
  EXPECT_NE(a, b);
  for (int p : {a, b}) {
    EXPECT_GE(p, 30000);
    EXPECT_LE(p, 32767);
  }
  auto low = create(api(), svc("low", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}, {"nodePort", 8080}}})}}));
  EXPECT_EQ(low.status, 422);
  EXPECT_EQ(message(low), "Service \"low\" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not "
                          "in the valid range. The range of valid ports is 30000-32767");
  // A ClusterIP service gets none.
  auto plain = create(api(), svc("plain", json::object()));
  EXPECT_FALSE(json::parse(plain.body)["spec"]["ports"][0].contains("nodePort"));
}

TEST_F(ServiceAllocation, HeadlessAndExternalNameServicesGetNoAddress) {
  auto headless = create(api(), svc("h", {{"clusterIP", "None"}}));
  ASSERT_EQ(headless.status, 201) << headless.body;
  EXPECT_EQ(json::parse(headless.body)["spec"]["clusterIP"], "None");
  auto external = create(api(), svc("e", {{"type", "ExternalName"}, {"externalName", "example.org"}, {"ports", json::array()}}));
  ASSERT_EQ(external.status, 201) << external.body;
  EXPECT_FALSE(json::parse(external.body)["spec"].contains("clusterIP"));
}

TEST_F(ServiceAllocation, UpdateKeepsTheAddressAndNodePorts) {
  auto r = create(api(), svc("u", {{"type", "NodePort"}}));
  ASSERT_EQ(r.status, 201) << r.body;
  json stored = json::parse(r.body);
  std::string ip = stored["spec"]["clusterIP"];
  int node_port = stored["spec"]["ports"][0]["nodePort"];
  // A PUT that leaves both out (as a client that never read them would) keeps them.
  json next = stored;
  next["spec"].erase("clusterIP");
  next["spec"].erase("clusterIPs");
  next["spec"]["ports"][0].erase("nodePort");
  next["metadata"]["labels"] = {{"x", "y"}};
  auto updated = send(api(), "PUT", "/api/v1/namespaces/default/services/u", next);
  ASSERT_EQ(updated.status, 200) << updated.body;
  json after = json::parse(updated.body);
  EXPECT_EQ(after["spec"]["clusterIP"], ip);
  EXPECT_EQ(after["spec"]["ports"][0]["nodePort"], node_port);
  // Turning it into a ClusterIP service frees the node port for someone else.
  json to_cluster_ip = after;
  to_cluster_ip["spec"]["type"] = "ClusterIP";
  to_cluster_ip["spec"]["ports"][0].erase("nodePort");
  to_cluster_ip["spec"].erase("externalTrafficPolicy");
  ASSERT_EQ(send(api(), "PUT", "/api/v1/namespaces/default/services/u", to_cluster_ip).status, 200);
  EXPECT_EQ(create(api(), svc("v", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}, {"nodePort", node_port}}})}}))
                .status,
            201);
}

TEST_F(ServiceAllocation, AllocationsSurviveARestartOfTheApi) {
  auto r = create(api(), svc("kept", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}, {"nodePort", 31000}}})}}));
  ASSERT_EQ(r.status, 201);
  std::string ip = json::parse(r.body)["spec"]["clusterIP"];
  // A new API over the same store is what a restarted skiffd has.
  kernel::MetricsRegistry metrics;
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kWarn};
  kernel::api::ApiHandler restarted(cp_.store(), metrics, logger, cp_.clock());
  ASSERT_TRUE(restarted.bootstrap());
  EXPECT_EQ(create(restarted, svc("again", {{"clusterIP", ip}})).status, 422);
  EXPECT_EQ(create(restarted, svc("again", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}, {"nodePort", 31000}}})}}))
                .status,
            422);
  // Fresh allocations avoid what is stored.
  auto fresh = create(restarted, svc("fresh", json::object()));
  ASSERT_EQ(fresh.status, 201);
  EXPECT_NE(json::parse(fresh.body)["spec"]["clusterIP"], ip);
}

TEST_F(ServiceAllocation, ConfiguredRangesAreUsed) {
  kernel::MetricsRegistry metrics;
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kWarn};
  kernel::api::HandlerOptions options;
  options.service_cluster_ip_range = "10.200.0.0/28";  // 14 usable addresses
  options.service_node_port_range = "40000-40001";
  kernel::api::ApiHandler api(cp_.store(), metrics, logger, cp_.clock(), options);
  ASSERT_TRUE(api.bootstrap());
  for (int i = 0; i < 14; ++i) {
    auto r = create(api, svc("s" + std::to_string(i), json::object()));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_TRUE(json::parse(r.body)["spec"]["clusterIP"].get<std::string>().starts_with("10.200.0."));
  }
  auto full = create(api, svc("full", json::object()));
  EXPECT_EQ(full.status, 422);
  EXPECT_NE(message(full).find("range is full (10.200.0.0/28)"), std::string::npos) << message(full);
  ASSERT_EQ(send(api, "DELETE", "/api/v1/namespaces/default/services/s3").status, 200);
  EXPECT_EQ(create(api, svc("full", json::object())).status, 201);
  auto np = create(api, svc("np", {{"type", "NodePort"}, {"clusterIP", "None"}}));
  EXPECT_EQ(np.status, 422);  // NodePort cannot be headless: refused by validation, nothing allocated
}

TEST(ServiceRanges, BadRangesAreRefusedWithTheValue) {
  EXPECT_FALSE(kernel::api::parse_ipv4_cidr("10.96.0.0"));
  EXPECT_FALSE(kernel::api::parse_ipv4_cidr("10.96.0.0/33"));
  EXPECT_FALSE(kernel::api::parse_ipv4_cidr("10.96.0.0/30"));
  EXPECT_EQ(kernel::api::parse_ipv4_cidr("10.96.3.4/12")->to_string(), "10.96.0.0/12");
  EXPECT_FALSE(kernel::api::parse_port_range("30000"));
  EXPECT_FALSE(kernel::api::parse_port_range("32767-30000"));
  auto bad = kernel::api::parse_port_range("a-b");
  EXPECT_NE(bad.status().message().find("'a-b'"), std::string::npos);
}

}  // namespace
}  // namespace skiff::testing
