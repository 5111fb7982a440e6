// The `kubernetes` Service, its Endpoints and EndpointSlice, published as kube-apiserver's bootstrap
// controller keeps them: through the API's own admission, on the real object store (memory backend).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kernel/api/kubernetes_service.hpp"
#include "tests/support/control_plane.hpp"

namespace skiff::testing {
namespace {

using json = nlohmann::json;
using kernel::api::publish_kubernetes_service;
const plugin::ResourceId kServices{"", "v1", "services"};
const plugin::ResourceId kEndpoints{"", "v1", "endpoints"};
const plugin::ResourceId kSlices{"discovery.k8s.io", "v1", "endpointslices"};

TEST(KubernetesService, PublishedAtTheFirstServiceAddressToTheApiServersPort) {
  ControlPlane cp;
  ASSERT_TRUE(publish_kubernetes_service(cp.api_client(), cp.store(), "10.96.0.0/12", "127.0.0.1", 6443));

  json svc = cp.get(kServices, "default", "kubernetes");
  ASSERT_FALSE(svc.is_null());
  EXPECT_EQ(svc["spec"]["clusterIP"], "10.96.0.1");
  EXPECT_EQ(svc["spec"]["type"], "ClusterIP");
  EXPECT_FALSE(svc["spec"].contains("selector")) << "the endpoints controller must leave it alone";
  EXPECT_EQ(svc["metadata"]["labels"], json({{"component", "apiserver"}, {"provider", "kubernetes"}}));
  ASSERT_EQ(svc["spec"]["ports"].size(), 1u);
  EXPECT_EQ(svc["spec"]["ports"][0]["name"], "https");
  EXPECT_EQ(svc["spec"]["ports"][0]["port"], 443);
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"], 6443);

  json ep = cp.get(kEndpoints, "default", "kubernetes");
  ASSERT_FALSE(ep.is_null());
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["ip"], "127.0.0.1");
  EXPECT_EQ(ep["subsets"][0]["ports"][0]["port"], 6443);
  json slice = cp.get(kSlices, "default", "kubernetes");
  ASSERT_FALSE(slice.is_null());
  EXPECT_EQ(slice["metadata"]["labels"]["kubernetes.io/service-name"], "kubernetes");
  EXPECT_EQ(slice["endpoints"][0]["addresses"][0], "127.0.0.1");
  EXPECT_EQ(slice["ports"][0]["port"], 6443);

  // A user's Service takes another address.
  auto web = cp.create(kServices, {{"apiVersion", "v1"},
                                   {"kind", "Service"},
                                   {"metadata", {{"name", "web"}, {"namespace", "default"}}},
                                   {"spec", {{"ports", {{{"port", 80}}}}}}});
  ASSERT_TRUE(web);
  EXPECT_NE(json::parse(web->json)["spec"]["clusterIP"], "10.96.0.1");
}

TEST(KubernetesService, ARestartWritesNothingUnlessThePortMoved) {
  ControlPlane cp;
  ASSERT_TRUE(publish_kubernetes_service(cp.api_client(), cp.store(), "10.96.0.0/12", "127.0.0.1", 6443));
  std::int64_t revision = cp.store().current_revision();
  ASSERT_TRUE(publish_kubernetes_service(cp.api_client(), cp.store(), "10.96.0.0/12", "127.0.0.1", 6443));
  EXPECT_EQ(cp.store().current_revision(), revision) << "the same port: nothing to write";

  ASSERT_TRUE(publish_kubernetes_service(cp.api_client(), cp.store(), "10.96.0.0/12", "127.0.0.1", 7443));
  json svc = cp.get(kServices, "default", "kubernetes");
  EXPECT_EQ(svc["spec"]["clusterIP"], "10.96.0.1") << "the address stays";
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"], 7443);
  EXPECT_EQ(cp.get(kEndpoints, "default", "kubernetes")["subsets"][0]["ports"][0]["port"], 7443);
  EXPECT_EQ(cp.get(kSlices, "default", "kubernetes")["ports"][0]["port"], 7443);
}

TEST(KubernetesService, FirstAddressHeldByAnotherServiceAndNoSingleListenAddress) {
  ControlPlane cp;
  cp.create(kServices, {{"apiVersion", "v1"},
                        {"kind", "Service"},
                        {"metadata", {{"name", "early"}, {"namespace", "default"}}},
                        {"spec", {{"clusterIP", "10.96.0.1"}, {"ports", {{{"port", 80}}}}}}});
  // Listening on every address names none for the Endpoints: the Service alone is published.
  ASSERT_TRUE(publish_kubernetes_service(cp.api_client(), cp.store(), "10.96.0.0/12", "0.0.0.0", 6443));
  json svc = cp.get(kServices, "default", "kubernetes");
  ASSERT_FALSE(svc.is_null());
  EXPECT_NE(svc["spec"]["clusterIP"], "10.96.0.1");
  EXPECT_TRUE(svc["spec"]["clusterIP"].is_string());
  EXPECT_TRUE(cp.get(kEndpoints, "default", "kubernetes").is_null());
  EXPECT_TRUE(cp.get(kSlices, "default", "kubernetes").is_null());
}

}  // namespace
}  // namespace skiff::testing
