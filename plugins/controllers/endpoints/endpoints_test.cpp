// The endpoints controller against a real kernel; the test plays the kubelet by writing pod status.
// Endpoints: ready and not-ready addresses, nodeName and targetRef, named targetPorts resolved per
// pod; EndpointSlices: labels, owner, conditions; services without a selector are left alone.
#include <gtest/gtest.h>

#include "endpoints.hpp"
#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using plugins::controllers::endpoints::EndpointsController;
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kServices{"", "v1", "services"};
const plugin::ResourceId kEndpoints{"", "v1", "endpoints"};
const plugin::ResourceId kSlices{"discovery.k8s.io", "v1", "endpointslices"};

// A pod labelled app=web whose container serves port `port` under the name "http"; the kubelet's
// part (node, IP, Ready) is written through the status subresource when `ip` is given.
void make_pod(ControlPlane& cp, const std::string& name, const std::string& ip, bool ready, int port = 8080,
              const std::string& app = "web") {
  json pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"default","labels":{}},
      "spec":{"nodeName":"node-1","containers":[{"name":"c","image":"nginx","ports":[{"name":"http","containerPort":0}]}]}})");
  pod["metadata"]["name"] = name;
  pod["metadata"]["labels"]["app"] = app;
  pod["spec"]["containers"][0]["ports"][0]["containerPort"] = port;
  auto created = cp.create(kPods, pod);
  ASSERT_TRUE(created);
  if (ip.empty()) return;
  json stored = json::parse(created->json);
  stored["status"]["phase"] = "Running";
  stored["status"]["podIP"] = ip;
  stored["status"]["conditions"] = {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}};
  auto updated = cp.client().update_status(kPods, stored.dump());
  ASSERT_TRUE(updated.is_ok()) << updated.status().message();
}

void make_service(ControlPlane& cp, const std::string& name, json selector) {
  json svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"namespace":"default","labels":{"team":"a"}},
      "spec":{"ports":[{"name":"web","port":80,"targetPort":"http"},{"name":"admin","port":9000,"targetPort":9001}]}})");
  svc["metadata"]["name"] = name;
  if (!selector.is_null()) svc["spec"]["selector"] = std::move(selector);
  ASSERT_TRUE(cp.create(kServices, svc));
}

std::vector<std::string> ips(const json& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back(a["ip"]);
  return out;
}

// The ready addresses of an Endpoints object's first subset; none while it has no subset (or does not exist).
std::vector<std::string> ready_ips(const json& endpoints) {
  if (!endpoints.is_object() || !endpoints.contains("subsets") || !endpoints["subsets"].is_array() ||
      endpoints["subsets"].empty())
    return {};
  return ips(endpoints["subsets"][0].value("addresses", json::array()));
}

TEST(EndpointsController, EndpointsListReadyAndNotReadyPodsWithResolvedPorts) {
  ControlPlane cp;
  cp.run("endpoints", std::make_shared<EndpointsController>());
  make_pod(cp, "a", "10.0.0.2", true);
  make_pod(cp, "b", "10.0.0.1", true);
  make_pod(cp, "c", "10.0.0.3", false);
  make_pod(cp, "pending", "", false);          // no IP yet: not an endpoint
  make_pod(cp, "other", "10.0.0.9", true, 8080, "db");  // not selected
  make_service(cp, "web", {{"app", "web"}});

  ASSERT_TRUE(eventually([&] {
    json ep = cp.get(kEndpoints, "default", "web");
    return ep.is_object() && ep.contains("subsets") && ep["subsets"].size() == 1 &&
           ep["subsets"][0].value("addresses", json::array()).size() == 2 &&
           ep["subsets"][0].value("notReadyAddresses", json::array()).size() == 1;
  })) << cp.get(kEndpoints, "default", "web").dump();
  json ep = cp.get(kEndpoints, "default", "web");
  const json& subset = ep["subsets"][0];
  EXPECT_EQ(ips(subset["addresses"]), (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(ips(subset["notReadyAddresses"]), (std::vector<std::string>{"10.0.0.3"}));
  EXPECT_EQ(subset["addresses"][0]["nodeName"], "node-1");
  EXPECT_EQ(subset["addresses"][0]["targetRef"]["kind"], "Pod");
  EXPECT_EQ(subset["addresses"][0]["targetRef"]["name"], "b");
  EXPECT_EQ(subset["addresses"][0]["targetRef"]["uid"], cp.get(kPods, "default", "b")["metadata"]["uid"]);
  EXPECT_EQ(ep["metadata"]["labels"]["team"], "a") << "the service's labels are copied";
  json want_ports = json::parse(R"([{"name":"web","port":8080,"protocol":"TCP"},{"name":"admin","port":9001,"protocol":"TCP"}])");
  EXPECT_EQ(subset["ports"], want_ports) << "named targetPort resolved against the pod, numeric taken as is";

  // A pod turning Ready moves to addresses; a deleted (Terminating) pod leaves.
  json c = cp.get(kPods, "default", "c");
  c["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
  ASSERT_TRUE(cp.client().update_status(kPods, c.dump()).is_ok());
  ASSERT_TRUE(cp.client().remove(kPods, "default", "a", {}).is_ok());
  EXPECT_TRUE(eventually([&] {
    json e = cp.get(kEndpoints, "default", "web");
    return ips(e["subsets"][0].value("addresses", json::array())) == std::vector<std::string>{"10.0.0.1", "10.0.0.3"} &&
           !e["subsets"][0].contains("notReadyAddresses");
  })) << cp.get(kEndpoints, "default", "web").dump();
}

TEST(EndpointsController, ATerminatingPodLeavesTheAddressesAndItsSliceEntrySaysTerminating) {
  ControlPlane cp;
  cp.run("endpoints", std::make_shared<EndpointsController>());
  make_pod(cp, "going", "10.0.2.1", true);
  make_pod(cp, "staying", "10.0.2.2", true);
  make_service(cp, "web", {{"app", "web"}});
  ASSERT_TRUE(eventually([&] {
    json e = cp.get(kEndpoints, "default", "web");
    return ready_ips(e).size() == 2;
  }));
  // A plain DELETE of a pod bound to a node: Terminating until its node agent ends it (none here).
  ASSERT_TRUE(cp.client().remove(kPods, "default", "going", {}).is_ok());
  ASSERT_TRUE(cp.get(kPods, "default", "going")["metadata"].contains("deletionTimestamp"));
  auto entry_of = [&](const std::string& ip) {
    for (const auto& slice : cp.list(kSlices, "default"))
      for (const auto& ep : slice.value("endpoints", json::array()))
        if (ep["addresses"][0] == ip) return ep;
    return json();
  };
  EXPECT_TRUE(eventually([&] {
    json e = cp.get(kEndpoints, "default", "web");
    return ready_ips(e) == std::vector<std::string>{"10.0.2.2"} &&
           !e["subsets"][0].contains("notReadyAddresses") && entry_of("10.0.2.1").is_object() &&
           entry_of("10.0.2.1")["conditions"]["terminating"] == true;
  })) << cp.get(kEndpoints, "default", "web").dump();
  // Still serving (its Ready condition holds) but not ready: no new traffic, as Kubernetes reports it.
  EXPECT_EQ(entry_of("10.0.2.1")["conditions"], json::parse(R"({"ready":false,"serving":true,"terminating":true})"));
  EXPECT_EQ(entry_of("10.0.2.2")["conditions"], json::parse(R"({"ready":true,"serving":true,"terminating":false})"));
  // The agent's final DELETE: the slice entry goes too.
  ASSERT_TRUE(cp.api_client().remove_with_grace(kPods, "default", "going", {}, 0).is_ok());
  EXPECT_TRUE(eventually([&] { return entry_of("10.0.2.1").is_null(); }));
}

TEST(EndpointsController, PodsWithDifferentPortsGoToDifferentSubsets) {
  ControlPlane cp;
  cp.run("endpoints", std::make_shared<EndpointsController>());
  make_pod(cp, "old", "10.0.1.1", true, 8080);
  make_pod(cp, "new", "10.0.1.2", true, 8443);
  make_service(cp, "web", {{"app", "web"}});
  ASSERT_TRUE(eventually([&] {
    json ep = cp.get(kEndpoints, "default", "web");
    return ep.is_object() && ep.value("subsets", json::array()).size() == 2;
  })) << cp.get(kEndpoints, "default", "web").dump();
  std::set<std::int64_t> ports;
  json ep = cp.get(kEndpoints, "default", "web");
  for (const auto& s : ep["subsets"]) {
    ASSERT_EQ(s["addresses"].size(), 1u);
    ports.insert(s["ports"][0]["port"].get<std::int64_t>());
  }
  EXPECT_EQ(ports, (std::set<std::int64_t>{8080, 8443}));
  EXPECT_TRUE(eventually([&] { return cp.list(kSlices, "default").size() == 2; }));
}

TEST(EndpointsController, EndpointSlicesCarryConditionsLabelsAndOwner) {
  ControlPlane cp;
  cp.run("endpoints", std::make_shared<EndpointsController>());
  make_pod(cp, "a", "10.0.0.1", true);
  make_pod(cp, "b", "10.0.0.2", false);
  make_service(cp, "web", {{"app", "web"}});
  ASSERT_TRUE(eventually([&] {
    auto slices = cp.list(kSlices, "default");
    return slices.size() == 1 && slices[0].value("endpoints", json::array()).size() == 2;
  }));
  json slice = cp.list(kSlices, "default")[0];
  EXPECT_EQ(slice["addressType"], "IPv4");
  EXPECT_EQ(slice["metadata"]["labels"]["kubernetes.io/service-name"], "web");
  EXPECT_EQ(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
  json svc = cp.get(kServices, "default", "web");
  EXPECT_EQ(slice["metadata"]["ownerReferences"][0]["uid"], svc["metadata"]["uid"]);
  EXPECT_EQ(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
  const json& a = slice["endpoints"][0];
  EXPECT_EQ(a["addresses"], json::array({"10.0.0.1"}));
  EXPECT_EQ(a["conditions"], json::parse(R"({"ready":true,"serving":true,"terminating":false})"));
  EXPECT_EQ(a["nodeName"], "node-1");
  EXPECT_EQ(a["targetRef"]["name"], "a");
  EXPECT_EQ(slice["endpoints"][1]["conditions"], json::parse(R"({"ready":false,"serving":false,"terminating":false})"));
  EXPECT_EQ(slice["ports"][0]["port"], 8080);

  // Deleting the service takes its Endpoints and slices with it.
  ASSERT_TRUE(eventually([&] { return cp.get(kEndpoints, "default", "web").is_object(); }));
  ASSERT_TRUE(cp.client().remove(kServices, "default", "web", {}).is_ok());
  EXPECT_TRUE(eventually([&] { return cp.get(kEndpoints, "default", "web").is_null() && cp.list(kSlices, "default").empty(); }));
}

TEST(EndpointsController, ServicesWithoutASelectorAreLeftAlone) {
  ControlPlane cp;
  cp.run("endpoints", std::make_shared<EndpointsController>());
  make_pod(cp, "a", "10.0.0.1", true);
  make_service(cp, "manual", nullptr);
  // Hand-written Endpoints for it stay as written.
  json manual = json::parse(R"({"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"manual","namespace":"default"},
      "subsets":[{"addresses":[{"ip":"192.168.1.1"}],"ports":[{"port":5432}]}]})");
  ASSERT_TRUE(cp.create(kEndpoints, manual));
  make_service(cp, "web", {{"app", "web"}});  // a selector service as a witness the controller ran
  ASSERT_TRUE(eventually([&] { return cp.get(kEndpoints, "default", "web").is_object(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  json ep = cp.get(kEndpoints, "default", "manual");
  EXPECT_EQ(ips(ep["subsets"][0]["addresses"]), std::vector<std::string>{"192.168.1.1"});
  for (const auto& s : cp.list(kSlices, "default")) EXPECT_NE(s["metadata"]["labels"]["kubernetes.io/service-name"], "manual");
}

}  // namespace
}  // namespace skiff::testing
