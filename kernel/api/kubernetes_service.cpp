#include "kernel/api/kubernetes_service.hpp"

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "kernel/api/service_allocator.hpp"
#include "kernel/util/json_parse.hpp"

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

// Creates `desired` when missing (`fallback` instead, should `desired` be refused as invalid); when
// the stored object differs at one of `paths` (JSON pointers), writes desired's values there, at the
// stored resourceVersion, so a concurrent writer makes it a conflict rather than lost.
plugin::Status ensure(ApiClient& client, const ObjectStore& store, const plugin::ResourceId& resource, const Json& desired,
                      std::initializer_list<const char*> paths, const Json* fallback = nullptr) {
  const ResourceType* type = store.registry().find(resource);
  if (type == nullptr) return plugin::Status::ok();
  auto current = store.get(*type, kNamespace, kName);
  if (!current) {
    auto created = client.create(resource, kNamespace, desired.dump());
    if (!created && created.status().code() == plugin::Code::kInvalid && fallback != nullptr)
      created = client.create(resource, kNamespace, fallback->dump());
    return created || created.status().code() == plugin::Code::kAlreadyExists ? plugin::Status::ok() : created.status();
  }
  Json stored = parse_json_or_discarded((*current)->json);
  if (!stored.is_object()) return plugin::internal("the stored object is not JSON");
  bool same = true;
  for (const char* path : paths) {
    const Json::json_pointer at(path);
    if (stored.value(at, Json()) != desired.at(at)) {
      stored[at] = desired.at(at);
      same = false;
    }
  }
  if (same) return plugin::Status::ok();
  auto updated = client.update(resource, stored.dump());
  return updated ? plugin::Status::ok() : updated.status();
}

}  // namespace

plugin::Status publish_kubernetes_service(ApiClient& client, const ObjectStore& store, std::string_view service_cidr,
                                          std::string_view host, int port) {
  // The first address of the range; a user's Service may hold it (a cluster older than this
  // Service), and then the allocator picks one, as for any Service. A restart on another port moves
  // the targetPort; the address stays.
  auto cidr = parse_ipv4_cidr(service_cidr);
  const Json any_address = service_json("", port);
  if (auto st = ensure(client, store, kServices, cidr ? service_json(format_ipv4(cidr->base + 1), port) : any_address,
                       {"/spec/ports"}, &any_address);
      !st)
    return st.with_context("the kubernetes Service");

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
  if (auto st = ensure(client, store, kEndpoints, ep, {"/subsets"}); !st) return st.with_context("the kubernetes Endpoints");
  if (auto st = ensure(client, store, kSlices, slice, {"/addressType", "/endpoints", "/ports"}); !st)
    return st.with_context("the kubernetes EndpointSlice");
  return plugin::Status::ok();
}

}  // namespace skiff::kernel::api
