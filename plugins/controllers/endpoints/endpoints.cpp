#include "endpoints.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>

#include "cluster_resources.hpp"
#include "controller_common.hpp"

namespace skiff::plugins::controllers::endpoints {
namespace {

namespace ctl = plugin::controller;
using plugin::Code;
using resources::kEndpoints, resources::kPods, resources::kServices;
const plugin::ResourceId& kSlices = resources::kEndpointSlices;

// The service's spec.selector (a plain map); null when it has none (such services are left alone:
// their Endpoints are someone else's to write).
const Json* selector_of(const Json& service) {
  const Json* spec = service.contains("spec") ? &service["spec"] : nullptr;
  if (spec == nullptr || !spec->contains("selector")) return nullptr;
  const Json& sel = (*spec)["selector"];
  return sel.is_object() && !sel.empty() ? &sel : nullptr;
}

bool selects(const Json& selector, const plugin::Object& pod) {
  for (const auto& [k, v] : selector.items()) {
    const std::string* have = pod.label(k);
    if (have == nullptr || !v.is_string() || *have != v.get<std::string>()) return false;
  }
  return true;
}

// The container port a service port's targetPort names on this pod: a number is taken as is, a name
// is looked up among the pod's containerPorts (nullopt when the pod has no such port).
std::optional<std::int64_t> target_port(const Json& service_port, const Json& pod) {
  const Json& tp = service_port.contains("targetPort") ? service_port["targetPort"] : service_port.value("port", Json());
  if (tp.is_number_integer()) return tp.get<std::int64_t>();
  if (tp.is_string()) {
    const std::string& name = tp.get_ref<const std::string&>();
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return std::stoll(name);
    for (const char* list : {"containers", "initContainers"}) {
      const Json& containers = pod["spec"].value(list, Json::array());
      for (const auto& c : containers)
        for (const auto& p : c.value("ports", Json::array()))
          if (p.value("name", "") == name && p.value("protocol", "TCP") == service_port.value("protocol", "TCP"))
            return p.value("containerPort", std::int64_t{0});
    }
  }
  return std::nullopt;
}

Json target_ref(const plugin::Object& pod) {
  return {{"kind", "Pod"}, {"namespace", pod.ns}, {"name", pod.name}, {"uid", pod.uid}};
}

std::string short_hash(const std::string& text) {
  std::uint32_t h = 2166136261u;  // FNV-1a: a stable name suffix for a port set
  for (unsigned char ch : text) h = (h ^ ch) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

bool by_ip(const Json& a, const Json& b) { return a.value("ip", "") < b.value("ip", ""); }

// One pod's place in the service: its address and the ports it serves.
struct Member {
  const plugin::Object* pod;
  Json json;
  std::string ip;
  bool ready, terminating;
  Json ports;  // EndpointPort list, in the service's port order
};

}  // namespace

std::vector<ctl::WatchSpec> EndpointsController::watches() const noexcept {
  return {{kServices, ctl::KeyMapping::kSelf, {}},
          {kPods, ctl::KeyMapping::kController, {}},
          {kEndpoints, ctl::KeyMapping::kController, {}},
          {kSlices, ctl::KeyMapping::kController, {}}};
}

void EndpointsController::bind(const ctl::Host& host) noexcept { host_.emplace(host); }

std::vector<std::string> EndpointsController::map_event(const ctl::WatchSpec& spec, const plugin::Object& object) noexcept {
  try {
    std::vector<std::string> keys;
    if (spec.resource == kSlices) {
      if (const std::string* svc = object.label(kServiceNameLabel)) keys.push_back(object.ns + "/" + *svc);
      return keys;
    }
    if (spec.resource == kEndpoints) {
      // Only Endpoints of a Service this controller manages (known, with a selector) are put back
      // when someone else changes them. Endpoints without such a Service are someone else's: they may
      // be hand-written, or the Service may not be in the cache yet, and a sync would take them for
      // the leftovers of a deleted Service. A deleted Service comes through its own watch.
      plugin::ObjectPtr service = host_->cache.get(kServices, object.ns, object.name);
      if (service && selector_of(parse(*service)) != nullptr) keys.push_back(object.key());
      return keys;
    }
    auto services = host_->cache.list(kServices, {.ns = object.ns});
    if (!services) return keys;
    for (const auto& s : *services) {
      Json j = parse(*s);
      if (const Json* sel = selector_of(j); sel != nullptr && selects(*sel, object)) keys.push_back(s->key());
    }
    return keys;
  } catch (const std::exception&) {
    return {};
  }
}

plugin::Result<ctl::ReconcileResult> EndpointsController::reconcile(std::string_view key) noexcept {
  try {
    auto slash = key.find('/');
    std::string ns(key.substr(0, slash)), name(key.substr(slash + 1));
    plugin::ObjectPtr service = host_->cache.get(kServices, ns, name);
    if (!service) {
      // The service is gone: so are its Endpoints and slices.
      if (auto s = sync_endpoints(ns, name, nullptr, nullptr); !s) return s;
      if (auto s = sync_slices(ns, name, nullptr, nullptr); !s) return s;
      return ctl::ReconcileResult{};
    }
    Json svc = parse(*service);
    const Json* selector = selector_of(svc);
    if (selector == nullptr) return ctl::ReconcileResult{};
    const Json& spec = svc["spec"];
    const bool publish_not_ready = spec.value("publishNotReadyAddresses", false);
    const Json service_ports = spec.value("ports", Json::array());

    auto label_selector = selector_string(Json{{"matchLabels", *selector}});
    if (!label_selector) return ctl::ReconcileResult{};  // a selector the API let through but no pod can match
    auto selected = host_->cache.list(kPods, {.ns = ns, .label_selector = *label_selector});
    if (!selected) return selected.status();
    std::vector<Member> members;
    for (const auto& p : *selected) {
      Member m{p.get(), parse(*p), "", false, p->deleting, Json::array()};
      m.ip = m.json.value("status", Json::object()).value("podIP", "");
      // No address yet, or a finished pod: nothing to send traffic to.
      if (m.ip.empty() || pod_is_terminal(m.json)) continue;
      if (m.ip.find(':') != std::string::npos) continue;  // IPv4 only (see README)
      m.ready = (pod_is_ready(m.json) || publish_not_ready) && !m.terminating;
      bool all_ports = true;
      for (const auto& sp : service_ports) {
        auto port = target_port(sp, m.json);
        if (!port) {
          all_ports = false;  // Kubernetes leaves a pod out when a named targetPort does not resolve
          break;
        }
        Json ep = {{"port", *port}, {"protocol", sp.value("protocol", "TCP")}};
        if (!sp.value("name", "").empty()) ep["name"] = sp["name"];
        m.ports.push_back(std::move(ep));
      }
      if (all_ports) members.push_back(std::move(m));
    }

    // Endpoints: one subset per distinct port list; terminating pods are left out, as Kubernetes'
    // endpoints controller does (unless the service publishes not-ready addresses).
    std::map<std::string, Json> subsets;
    for (const auto& m : members) {
      if (m.terminating && !publish_not_ready) continue;
      Json addr = {{"ip", m.ip}, {"targetRef", target_ref(*m.pod)}};
      if (const std::string* node = m.pod->field("spec.nodeName"); node != nullptr && !node->empty())
        addr["nodeName"] = *node;
      Json& subset = subsets[m.ports.dump()];
      if (subset.is_null()) subset = {{"ports", m.ports}};
      subset[m.ready || (publish_not_ready && m.terminating) ? "addresses" : "notReadyAddresses"].push_back(std::move(addr));
    }
    Json subset_list = Json::array();
    for (auto& [ports, subset] : subsets) {
      for (const char* k : {"addresses", "notReadyAddresses"})
        if (subset.contains(k)) std::sort(subset[k].begin(), subset[k].end(), by_ip);
      if (subset["ports"].empty()) subset.erase("ports");
      subset_list.push_back(std::move(subset));
    }
    if (auto s = sync_endpoints(ns, name, service.get(), &subset_list); !s) return s;

    // EndpointSlices: one per distinct port list (a placeholder with no endpoints when no pod serves).
    std::map<std::string, Json> slices;
    for (const auto& m : members) {
      Json& slice = slices[m.ports.dump()];
      if (slice.is_null()) slice = {{"ports", m.ports}, {"endpoints", Json::array()}};
      Json ep = {{"addresses", {m.ip}},
                 {"conditions",
                  {{"ready", m.ready},
                   {"serving", pod_is_ready(m.json) || publish_not_ready},
                   {"terminating", m.terminating}}},
                 {"targetRef", target_ref(*m.pod)}};
      if (const std::string* node = m.pod->field("spec.nodeName"); node != nullptr && !node->empty())
        ep["nodeName"] = *node;
      slice["endpoints"].push_back(std::move(ep));
    }
    if (slices.empty()) slices[Json::array().dump()] = {{"ports", Json::array()}, {"endpoints", Json::array()}};
    std::vector<Json> slice_list;
    for (auto& [ports_key, slice] : slices) {
      for (auto& p : slice["ports"])
        if (!p.contains("name")) p["name"] = "";  // the API's default; keeps comparisons stable
      std::sort(slice["endpoints"].begin(), slice["endpoints"].end(),
                [](const Json& a, const Json& b) { return a["addresses"][0] < b["addresses"][0]; });
      slice["name"] = name + "-" + short_hash(ports_key);
      slice_list.push_back(std::move(slice));
    }
    if (auto s = sync_slices(ns, name, service.get(), &slice_list); !s) return s;
    return ctl::ReconcileResult{};
  } catch (const std::exception& e) {
    return plugin::internal("endpoints " + std::string(key) + ": " + e.what());
  }
}

plugin::Status EndpointsController::sync_endpoints(const std::string& ns, const std::string& name,
                                                   const plugin::Object* service, const Json* subsets) {
  plugin::ObjectPtr current = host_->cache.get(kEndpoints, ns, name);
  if (service == nullptr) {
    // Deleted by name even when the cache has no Endpoints yet: the ones created just before the
    // Service went may not have reached the cache, and their event alone would not bring the key
    // back (see map_event). Kubernetes' endpoints controller deletes by name too.
    plugin::DeleteOptions options;
    if (current) options.precondition_uid = current->uid;
    auto r = host_->client.remove(kEndpoints, ns, name, options);
    if (!r && r.status().code() != Code::kNotFound && r.status().code() != Code::kConflict) return r.status();
    return plugin::Status::ok();
  }
  Json svc = parse(*service);
  Json labels = svc["metadata"].value("labels", Json::object());
  if (!current) {
    Json ep = {{"apiVersion", "v1"},
               {"kind", "Endpoints"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"subsets", *subsets}};
    if (!labels.empty()) ep["metadata"]["labels"] = labels;
    auto r = host_->client.create(kEndpoints, ns, ep.dump());
    if (!r && r.status().code() != Code::kAlreadyExists) return r.status().with_context("create endpoints " + ns + "/" + name);
    return plugin::Status::ok();
  }
  Json ep = parse(*current);
  if (ep.value("subsets", Json::array()) == *subsets && ep["metadata"].value("labels", Json::object()) == labels)
    return plugin::Status::ok();
  ep["subsets"] = *subsets;
  if (labels.empty())
    ep["metadata"].erase("labels");
  else
    ep["metadata"]["labels"] = labels;
  auto r = host_->client.update(kEndpoints, ep.dump());
  if (!r) return r.status().with_context("update endpoints " + ns + "/" + name);
  return plugin::Status::ok();
}

plugin::Status EndpointsController::sync_slices(const std::string& ns, const std::string& name,
                                                const plugin::Object* service, const std::vector<Json>* slices) {
  std::string selector = std::string(kServiceNameLabel) + "=" + name + "," + std::string(kManagedByLabel) + "=" +
                         std::string(kManagedBy);
  auto existing = host_->cache.list(kSlices, {.ns = ns, .label_selector = selector});
  if (!existing) return existing.status();
  std::string service_uid = service ? service->uid : std::string();
  for (const auto& s : *existing) {
    bool wanted = false;
    if (slices != nullptr)
      for (const auto& want : *slices) wanted = wanted || want["name"] == s->name;
    // A slice of an earlier incarnation of the service goes too (its owner reference is stale).
    if (wanted && is_controlled_by(parse(*s), service_uid)) continue;
    plugin::DeleteOptions options;
    options.precondition_uid = s->uid;
    auto r = host_->client.remove(kSlices, ns, s->name, options);
    if (!r && r.status().code() != Code::kNotFound && r.status().code() != Code::kConflict) return r.status();
  }
  if (service == nullptr || slices == nullptr) return plugin::Status::ok();
  Json svc = parse(*service);
  for (const auto& want : *slices) {
    const std::string slice_name = want["name"].get<std::string>();
    plugin::ObjectPtr current = host_->cache.get(kSlices, ns, slice_name);
    if (current && !is_controlled_by(parse(*current), service_uid)) continue;  // deleted above; recreated next pass
    Json labels = svc["metadata"].value("labels", Json::object());
    labels[std::string(kServiceNameLabel)] = name;
    labels[std::string(kManagedByLabel)] = kManagedBy;
    if (!current) {
      Json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                    {"kind", "EndpointSlice"},
                    {"metadata",
                     {{"name", slice_name},
                      {"namespace", ns},
                      {"labels", labels},
                      {"ownerReferences", {controller_reference(svc, "v1", "Service")}}}},
                    {"addressType", "IPv4"},
                    {"endpoints", want["endpoints"]},
                    {"ports", want["ports"]}};
      auto r = host_->client.create(kSlices, ns, slice.dump());
      if (!r && r.status().code() != Code::kAlreadyExists)
        return r.status().with_context("create endpointslice " + ns + "/" + slice_name);
      continue;
    }
    Json slice = parse(*current);
    if (slice.value("endpoints", Json::array()) == want["endpoints"] && slice.value("ports", Json::array()) == want["ports"] &&
        slice["metadata"].value("labels", Json::object()) == labels)
      continue;
    slice["endpoints"] = want["endpoints"];
    slice["ports"] = want["ports"];
    slice["metadata"]["labels"] = labels;
    auto r = host_->client.update(kSlices, slice.dump());
    if (!r) return r.status().with_context("update endpointslice " + ns + "/" + slice_name);
  }
  return plugin::Status::ok();
}

}  // namespace skiff::plugins::controllers::endpoints
