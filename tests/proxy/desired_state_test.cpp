// Services + Endpoints → the proxy modes' desired state.
#include <gtest/gtest.h>

#include "proxy/desired_state.hpp"

namespace skiff::proxy {
namespace {

using nlohmann::json;
using plugin::proxy::Protocol;

json service(json spec) {
  return {{"metadata", {{"name", "web"}, {"namespace", "shop"}}}, {"spec", spec}};
}

TEST(DesiredState, MatchesEndpointPortsByNameAndProtocol) {
  json svc = service({{"clusterIP", "10.96.0.9"},
                      {"type", "NodePort"},
                      {"sessionAffinity", "ClientIP"},
                      {"sessionAffinityConfig", {{"clientIP", {{"timeoutSeconds", 60}}}}},
                      {"ports", json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"nodePort", 30001},
                                              {"targetPort", "web"}},
                                             {{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}}})}});
  json eps = {{"subsets", json::array({{{"addresses", json::array({{{"ip", "10.0.0.2"}}, {{"ip", "10.0.0.1"}}})},
                                        {"notReadyAddresses", json::array({{{"ip", "10.0.0.3"}}})},
                                        {"ports", json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}},
                                                               {{"name", "dns"}, {"port", 5353}, {"protocol", "UDP"}}})}}})}};
  auto state = desired_state({svc}, {{"shop/web", eps}});
  ASSERT_EQ(state.services.size(), 2u);
  const auto& dns = state.services[0];  // ordered by id: shop/web:dns before shop/web:http
  EXPECT_EQ(dns.id(), "shop/web:dns");
  EXPECT_EQ(dns.protocol, Protocol::kUdp);
  EXPECT_EQ(dns.node_port, 0);
  const auto& http = state.services[1];
  EXPECT_EQ(http.cluster_ip, "10.96.0.9");
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.node_port, 30001);
  EXPECT_TRUE(http.client_ip_affinity);
  EXPECT_EQ(http.affinity_timeout_seconds, 60);
  ASSERT_EQ(http.endpoints.size(), 3u);
  EXPECT_EQ(http.endpoints[0].ip, "10.0.0.1");  // sorted
  EXPECT_EQ(http.endpoints[0].port, 8080);
  EXPECT_TRUE(http.endpoints[0].ready);
  EXPECT_EQ(http.endpoints[2].ip, "10.0.0.3");
  EXPECT_FALSE(http.endpoints[2].ready);
  EXPECT_EQ(dns.endpoints.size(), 3u);
  EXPECT_EQ(dns.endpoints[0].port, 5353);
}

TEST(DesiredState, LeavesOutServicesWithoutAClusterIp) {
  auto state = desired_state({service({{"clusterIP", "None"}, {"ports", json::array({{{"port", 80}}})}}),
                              service({{"type", "ExternalName"}, {"externalName", "x.org"}}),
                              service({{"ports", json::array({{{"port", 80}}})}})},
                             {});
  EXPECT_TRUE(state.services.empty());
}

TEST(DesiredState, ServiceWithoutEndpointsIsKeptWithNone) {
  auto state = desired_state({service({{"clusterIP", "10.96.0.1"}, {"ports", json::array({{{"port", 80}}})}})}, {});
  ASSERT_EQ(state.services.size(), 1u);
  EXPECT_TRUE(state.services[0].endpoints.empty());
  EXPECT_EQ(state.services[0].id(), "shop/web:80");
}

}  // namespace
}  // namespace skiff::proxy
