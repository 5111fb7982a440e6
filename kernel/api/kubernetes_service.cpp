#include "kernel/api/kubernetes_service.hpp"

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "kernel/api/service_allocator.hpp"

namespace skiff::kernel::api {

namespace {

using Json = nlohmann::json;
const plugin::ResourceId kServices{"", "v1", "services"};
const plugin::ResourceId kEndpoints{"", "v1", "endpoints"};
const plugin::ResourceId kSlices{"discovery.k8s.io", "v1", "endpointslices"};
constexpr const char* kName = "kubernetes";
constexpr const char* kNamespace = "default";

Json service_json(const std::string& cluster_ip, int port) {
  Json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata",
               {{"name", kName}, {"namespace", kNamespace}, {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
              {"spec",
               {{"type", "ClusterIP"},
                {"sessionAffinity", "None"},
                {"ports", {{{"name", "https"}, {"protocol", "TCP"}, {"port", 443}, {"targetPort", port}}}}}}};
  if (!cluster_ip.empty()) svc["spec"]["clusterIP"] = cluster_ip;
  return svc;
}

// Creates `desired` when missing; when the stored object's `members` differ, writes them (at the
// stored resourceVersion, so a concurrent writer makes it a conflict rather than lost).
plugin::Status ensure(ApiClient& client, const ObjectStore& store, const plugin::ResourceId& resource, const Json& desired,
                      std::initializer_list<const char*> members) {
  const ResourceType* type = store.registry().find(resource);
  if (type == nullptr) return plugin::Status::ok();
  auto current = store.get(*type, kNamespace, kName);
  if (!current) {
    auto created = client.create(resource, kNamespace, desired.dump());
    return created || created.status().code() == plugin::Code::kAlreadyExists ? plugin::Status::ok() : created.status();
  }
  Json stored = Json::parse((*current)->json, nullptr, false);
  if (!stored.is_object()) return plugin::internal("the stored object is not JSON");
  bool same = true;
  for (const char* m : members)
    if (stored.value(m, Json()) != desired[m]) {
      stored[m] = desired[m];
      same = false;
    }
  if (same) return plugin::Status::ok();
  auto updated = client.update(resource, stored.dump());
  return updated ? plugin::Status::ok() : updated.status();
}

}  // namespace

plugin::Status publish_kubernetes_service(ApiClient& client, const ObjectStore& store, std::string_view service_cidr,
                                          std::string_view host, int port) {
  const ResourceType* services = store.registry().find(kServices);
  if (services == nullptr) return plugin::Status::ok();

  if (auto current = store.get(*services, kNamespace, kName); !current) {
    auto cidr = parse_ipv4_cidr(service_cidr);
    std::string first = cidr ? format_ipv4(cidr->base + 1) : std::string();
    auto created = client.create(kServices, kNamespace, service_json(first, port).dump());
    // A Service of a user's may hold the first address (a cluster older than this Service): then
    // the allocator picks one, as it would for any Service.
    if (!created && created.status().code() == plugin::Code::kInvalid)
      created = client.create(kServices, kNamespace, service_json("", port).dump());
    if (!created && created.status().code() != plugin::Code::kAlreadyExists)
      return created.status().with_context("the kubernetes Service");
  } else if (Json svc = Json::parse((*current)->json, nullptr, false); svc.is_object()) {
    // A restart on another port: the Service's targetPort follows (its address stays).
    Json ports = service_json("", port)["spec"]["ports"];
    Json* stored = svc.contains("spec") && svc["spec"].is_object() ? &svc["spec"] : nullptr;
    if (stored != nullptr && stored->value("ports", Json()) != ports) {
      (*stored)["ports"] = std::move(ports);
      auto updated = client.update(kServices, svc.dump());
      if (!updated) return updated.status().with_context("the kubernetes Service");
    }
  }

  auto address = parse_ipv4(host);
  if (!address || *address == 0) return plugin::Status::ok();
  const std::string ip(host);
  Json ep = {{"apiVersion", "v1"},
             {"kind", "Endpoints"},
             {"metadata", {{"name", kName}, {"namespace", kNamespace}}},
             {"subsets", {{{"addresses", {{{"ip", ip}}}}, {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}}}}};
  // kubectl describe and other readers of EndpointSlices look there, as kube-apiserver writes both.
  Json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                {"kind", "EndpointSlice"},
                {"metadata", {{"name", kName}, {"namespace", kNamespace}, {"labels", {{"kubernetes.io/service-name", kName}}}}},
                {"addressType", "IPv4"},
                {"endpoints", {{{"addresses", {ip}}, {"conditions", {{"ready", true}}}}}},
                {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}};
  if (auto st = ensure(client, store, kEndpoints, ep, {"subsets"}); !st) return st.with_context("the kubernetes Endpoints");
  if (auto st = ensure(client, store, kSlices, slice, {"addressType", "endpoints", "ports"}); !st)
    return st.with_context("the kubernetes EndpointSlice");
  return plugin::Status::ok();
}

}  // namespace skiff::kernel::api
