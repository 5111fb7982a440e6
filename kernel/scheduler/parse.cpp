#include "kernel/scheduler/parse.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "kernel/api/quantity.hpp"
#include "kernel/util/json_parse.hpp"

namespace skiff::kernel::scheduler {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kDefaultMilliCpu = 100;                 // Kubernetes' scoring default per container
constexpr std::int64_t kDefaultMemory = 200LL * 1024 * 1024;  // 200Mi

const Json* member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string str(const Json& j, const char* key, std::string fallback = {}) {
  const Json* m = member(j, key);
  return m && m->is_string() ? m->get<std::string>() : fallback;
}

// Resource lists ("requests", "limits", "allocatable") into Resources; the field path names errors.
plugin::Status add_resource_list(const Json& list, sp::Resources& out, const std::string& path, bool node) {
  if (!list.is_object()) return plugin::Status::ok();
  for (auto it = list.begin(); it != list.end(); ++it) {
    std::string error;
    auto q = api::Quantity::from_json(it.value(), &error);
    if (!q) return plugin::invalid(path + "." + it.key() + ": " + error);
    const std::string& name = it.key();
    if (name == "cpu")
      out.milli_cpu += q->milli_value();
    else if (name == "memory")
      out.memory += q->value();
    else if (name == "ephemeral-storage")
      out.ephemeral_storage += q->value();
    else if (name == "pods" && node)
      out.pods += q->value();
    else
      out.add_scalar(name, q->value());
  }
  return plugin::Status::ok();
}

// A container's requests, falling back to its limits for resources it requests nothing of (what the
// API's defaulting does in Kubernetes); `non_zero` applies the scoring defaults.
plugin::Status container_requests(const Json& c, const std::string& path, sp::Resources& out, sp::Resources& non_zero) {
  const Json* res = member(c, "resources");
  Json requests = Json::object();
  if (res) {
    if (const Json* r = member(*res, "requests"); r && r->is_object()) requests = *r;
    if (const Json* l = member(*res, "limits"); l && l->is_object())
      for (auto it = l->begin(); it != l->end(); ++it)
        if (!requests.contains(it.key())) requests[it.key()] = it.value();
  }
  if (auto s = add_resource_list(requests, out, path + ".resources.requests", false); !s) return s;
  non_zero = out;
  if (!requests.contains("cpu")) non_zero.milli_cpu = kDefaultMilliCpu;
  if (!requests.contains("memory")) non_zero.memory = kDefaultMemory;
  return plugin::Status::ok();
}

void max_into(sp::Resources& into, const sp::Resources& r) {
  into.milli_cpu = std::max(into.milli_cpu, r.milli_cpu);
  into.memory = std::max(into.memory, r.memory);
  into.ephemeral_storage = std::max(into.ephemeral_storage, r.ephemeral_storage);
  for (const auto& [n, v] : r.scalar) {
    std::int64_t have = into.scalar_value(n);
    if (v > have) into.add_scalar(n, v - have);
  }
}

// Kubernetes' effective pod request: app containers (plus sidecars, init containers with
// restartPolicy Always, which keep running) summed; each ordinary init container runs alone beside the
// sidecars started before it, so the pod needs the max of those; then the pod overhead on top.
plugin::Status pod_requests(const Json& spec, sp::Resources& out, sp::Resources& non_zero) {
  sp::Resources app, app_nz, init_max, init_max_nz, sidecars, sidecars_nz;
  if (const Json* cs = member(spec, "containers"); cs && cs->is_array())
    for (std::size_t i = 0; i < cs->size(); ++i) {
      sp::Resources r, nz;
      if (auto s = container_requests((*cs)[i], "spec.containers[" + std::to_string(i) + "]", r, nz); !s) return s;
      app.add(r);
      app_nz.add(nz);
    }
  if (const Json* cs = member(spec, "initContainers"); cs && cs->is_array())
    for (std::size_t i = 0; i < cs->size(); ++i) {
      sp::Resources r, nz;
      if (auto s = container_requests((*cs)[i], "spec.initContainers[" + std::to_string(i) + "]", r, nz); !s) return s;
      if (str((*cs)[i], "restartPolicy") == "Always") {
        sidecars.add(r);
        sidecars_nz.add(nz);
        max_into(init_max, sidecars);
        max_into(init_max_nz, sidecars_nz);
      } else {
        r.add(sidecars);
        nz.add(sidecars_nz);
        max_into(init_max, r);
        max_into(init_max_nz, nz);
      }
    }
  app.add(sidecars);
  app_nz.add(sidecars_nz);
  max_into(app, init_max);
  max_into(app_nz, init_max_nz);
  if (const Json* overhead = member(spec, "overhead")) {
    sp::Resources o;
    if (auto s = add_resource_list(*overhead, o, "spec.overhead", false); !s) return s;
    app.add(o);
    app_nz.add(o);
  }
  out = std::move(app);
  non_zero = std::move(app_nz);
  return plugin::Status::ok();
}

plugin::Result<sp::Requirement> parse_requirement(const Json& j, const std::string& path) {
  sp::Requirement r;
  r.key = str(j, "key");
  std::string op = str(j, "operator");
  if (op == "In") r.op = sp::Requirement::Op::kIn;
  else if (op == "NotIn") r.op = sp::Requirement::Op::kNotIn;
  else if (op == "Exists") r.op = sp::Requirement::Op::kExists;
  else if (op == "DoesNotExist") r.op = sp::Requirement::Op::kDoesNotExist;
  else if (op == "Gt") r.op = sp::Requirement::Op::kGt;
  else if (op == "Lt") r.op = sp::Requirement::Op::kLt;
  else return plugin::invalid(path + ".operator: unsupported value \"" + op + "\"");
  if (const Json* v = member(j, "values"); v && v->is_array())
    for (const Json& x : *v)
      if (x.is_string()) r.values.push_back(x.get<std::string>());
  return r;
}

plugin::Status parse_requirements(const Json* list, std::vector<sp::Requirement>& out, const std::string& path) {
  if (!list || !list->is_array()) return plugin::Status::ok();
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto r = parse_requirement((*list)[i], path + "[" + std::to_string(i) + "]");
    if (!r) return r.status();
    out.push_back(std::move(r).value());
  }
  return plugin::Status::ok();
}

plugin::Result<sp::NodeSelectorTerm> parse_node_term(const Json& j, const std::string& path) {
  sp::NodeSelectorTerm t;
  if (auto s = parse_requirements(member(j, "matchExpressions"), t.match_expressions, path + ".matchExpressions"); !s) return s;
  if (auto s = parse_requirements(member(j, "matchFields"), t.match_fields, path + ".matchFields"); !s) return s;
  return t;
}

StringPairs string_map(const Json* j) {
  StringPairs out;
  if (j && j->is_object())
    for (auto it = j->begin(); it != j->end(); ++it)
      if (it.value().is_string()) out.emplace_back(it.key(), it.value().get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

plugin::Result<sp::LabelSelector> parse_label_selector(const Json* j, const std::string& path) {
  sp::LabelSelector s;
  if (!j) {
    s.matches_nothing = true;
    return s;
  }
  s.match_labels = string_map(member(*j, "matchLabels"));
  if (auto st = parse_requirements(member(*j, "matchExpressions"), s.match_expressions, path + ".matchExpressions"); !st)
    return st;
  return s;
}

plugin::Result<sp::PodAffinityTerm> parse_pod_term(const Json& j, const std::string& path) {
  sp::PodAffinityTerm t;
  auto sel = parse_label_selector(member(j, "labelSelector"), path + ".labelSelector");
  if (!sel) return sel.status();
  t.selector = std::move(sel).value();
  if (const Json* ns = member(j, "namespaces"); ns && ns->is_array())
    for (const Json& n : *ns)
      if (n.is_string()) t.namespaces.push_back(n.get<std::string>());
  // Only the empty namespaceSelector ({} = every namespace) is understood; a selector with terms
  // would need namespace labels, which the scheduler does not watch.
  if (const Json* nss = member(j, "namespaceSelector"); nss && nss->is_object() && nss->empty()) t.all_namespaces = true;
  t.topology_key = str(j, "topologyKey");
  if (t.topology_key.empty()) return plugin::invalid(path + ".topologyKey: Required value");
  return t;
}

plugin::Status parse_pod_terms(const Json* list, bool weighted, std::vector<sp::PodAffinityTerm>* plain,
                               std::vector<sp::WeightedPodAffinityTerm>* pref, const std::string& path) {
  if (!list || !list->is_array()) return plugin::Status::ok();
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    const Json& item = (*list)[i];
    if (weighted) {
      const Json* term = member(item, "podAffinityTerm");
      if (!term) return plugin::invalid(p + ".podAffinityTerm: Required value");
      auto t = parse_pod_term(*term, p + ".podAffinityTerm");
      if (!t) return t.status();
      pref->push_back({static_cast<std::int32_t>(item.value("weight", 0)), std::move(t).value()});
    } else {
      auto t = parse_pod_term(item, p);
      if (!t) return t.status();
      plain->push_back(std::move(t).value());
    }
  }
  return plugin::Status::ok();
}

plugin::Status parse_affinity(const Json& affinity, sp::PodInfo& pod) {
  if (const Json* na = member(affinity, "nodeAffinity")) {
    if (const Json* req = member(*na, "requiredDuringSchedulingIgnoredDuringExecution")) {
      pod.has_required_node_affinity = true;
      if (const Json* terms = member(*req, "nodeSelectorTerms"); terms && terms->is_array())
        for (std::size_t i = 0; i < terms->size(); ++i) {
          auto t = parse_node_term((*terms)[i], "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                                                ".nodeSelectorTerms[" + std::to_string(i) + "]");
          if (!t) return t.status();
          pod.required_node_affinity.push_back(std::move(t).value());
        }
    }
    if (const Json* pref = member(*na, "preferredDuringSchedulingIgnoredDuringExecution"); pref && pref->is_array())
      for (std::size_t i = 0; i < pref->size(); ++i) {
        const Json& item = (*pref)[i];
        auto t = parse_node_term(item.value("preference", Json::object()),
                                 "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[" +
                                     std::to_string(i) + "].preference");
        if (!t) return t.status();
        pod.preferred_node_affinity.push_back({static_cast<std::int32_t>(item.value("weight", 0)), std::move(t).value()});
      }
  }
  const char* kReq = "requiredDuringSchedulingIgnoredDuringExecution";
  const char* kPref = "preferredDuringSchedulingIgnoredDuringExecution";
  if (const Json* pa = member(affinity, "podAffinity")) {
    if (auto s = parse_pod_terms(member(*pa, kReq), false, &pod.required_affinity, nullptr, "spec.affinity.podAffinity." + std::string(kReq)); !s) return s;
    if (auto s = parse_pod_terms(member(*pa, kPref), true, nullptr, &pod.preferred_affinity, "spec.affinity.podAffinity." + std::string(kPref)); !s) return s;
  }
  if (const Json* pa = member(affinity, "podAntiAffinity")) {
    if (auto s = parse_pod_terms(member(*pa, kReq), false, &pod.required_anti_affinity, nullptr, "spec.affinity.podAntiAffinity." + std::string(kReq)); !s) return s;
    if (auto s = parse_pod_terms(member(*pa, kPref), true, nullptr, &pod.preferred_anti_affinity, "spec.affinity.podAntiAffinity." + std::string(kPref)); !s) return s;
  }
  return plugin::Status::ok();
}

}  // namespace

std::string normalize_image(std::string_view image) {
  std::string s(image);
  // A tag is a ':' after the last '/'; a digest ('@') counts as one.
  std::size_t slash = s.rfind('/');
  std::size_t colon = s.rfind(':');
  bool tagged = s.find('@') != std::string::npos || (colon != std::string::npos && (slash == std::string::npos || colon > slash));
  if (!tagged) s += ":latest";
  std::size_t first_slash = s.find('/');
  std::string first = first_slash == std::string::npos ? std::string() : s.substr(0, first_slash);
  bool has_registry = !first.empty() && (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost");
  if (!has_registry) s = (first_slash == std::string::npos ? "docker.io/library/" : "docker.io/") + s;
  return s;
}

std::string pod_fingerprint(const Json& spec, const StringPairs& labels) {
  // Hashed in place: serializing the spec cost as much as parsing the pod.
  std::size_t h = std::hash<Json>{}(spec);
  for (const auto& [k, v] : labels) h = (h * 31 + std::hash<std::string>{}(k)) * 31 + std::hash<std::string>{}(v);
  return std::to_string(h);
}

plugin::Result<sp::PodInfo> parse_pod(const plugin::Object& object, const PriorityResolver* priorities,
                                      std::string* fingerprint) {
  // Only the spec is read (metadata comes from the Object, status is not needed), so the rest of the
  // text is scanned but never built: managedFields and status are half of a pod's JSON.
  const Json spec_member = parse_json_member(object.json, "spec");
  if (spec_member.is_discarded()) return plugin::invalid("pod " + object.key() + ": not a JSON object");
  sp::PodInfo pod;
  pod.ns = object.ns;
  pod.name = object.name;
  pod.uid = object.uid;
  pod.labels = object.labels;
  std::sort(pod.labels.begin(), pod.labels.end());
  static const Json kNoSpec = Json::object();
  const Json& spec = spec_member.is_object() ? spec_member : kNoSpec;
  if (fingerprint) *fingerprint = pod_fingerprint(spec, pod.labels);
  auto ctx = [&](const plugin::Status& s) { return s.with_context("pod " + object.key()); };
  pod.node_name = str(spec, "nodeName");
  pod.scheduler_name = str(spec, "schedulerName", "default-scheduler");
  pod.priority_class_name = str(spec, "priorityClassName");
  pod.preempt_never = str(spec, "preemptionPolicy") == "Never";
  if (const Json* g = member(spec, "terminationGracePeriodSeconds"); g && g->is_number_integer())
    pod.termination_grace_seconds = g->get<std::int64_t>();
  // The API does not resolve priorityClassName at admission, so the scheduler does (spec.priority,
  // when set, wins as it would after Kubernetes' admission).
  if (const Json* p = member(spec, "priority"); p && p->is_number_integer()) {
    pod.priority = p->get<std::int32_t>();
  } else if (priorities) {
    std::optional<std::int32_t> v;
    if (!pod.priority_class_name.empty() && priorities->lookup) v = priorities->lookup(pod.priority_class_name);
    else if (priorities->global_default) v = priorities->global_default();
    pod.priority = v.value_or(0);
  }
  if (auto s = pod_requests(spec, pod.requests, pod.non_zero_requests); !s) return ctx(s);
  if (const Json* cs = member(spec, "containers"); cs && cs->is_array())
    for (const Json& c : *cs) {
      if (std::string image = str(c, "image"); !image.empty()) pod.images.push_back(normalize_image(image));
      if (const Json* ports = member(c, "ports"); ports && ports->is_array())
        for (const Json& p : *ports) {
          std::int64_t hp = p.value("hostPort", 0);
          if (hp <= 0) continue;
          pod.host_ports.push_back({static_cast<std::int32_t>(hp), str(p, "protocol", "TCP"), str(p, "hostIP")});
        }
    }
  pod.node_selector = string_map(member(spec, "nodeSelector"));
  if (const Json* tols = member(spec, "tolerations"); tols && tols->is_array())
    for (const Json& t : *tols)
      pod.tolerations.push_back({str(t, "key"), str(t, "operator") == "Exists", str(t, "value"), str(t, "effect")});
  if (const Json* affinity = member(spec, "affinity"))
    if (auto s = parse_affinity(*affinity, pod); !s) return ctx(s);
  if (const Json* tsc = member(spec, "topologySpreadConstraints"); tsc && tsc->is_array())
    for (std::size_t i = 0; i < tsc->size(); ++i) {
      const Json& c = (*tsc)[i];
      std::string path = "spec.topologySpreadConstraints[" + std::to_string(i) + "]";
      sp::TopologySpreadConstraint t;
      t.max_skew = c.value("maxSkew", 1);
      t.topology_key = str(c, "topologyKey");
      t.do_not_schedule = str(c, "whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule";
      t.min_domains = c.value("minDomains", 1);
      auto sel = parse_label_selector(member(c, "labelSelector"), path + ".labelSelector");
      if (!sel) return ctx(sel.status());
      t.selector = std::move(sel).value();
      // matchLabelKeys: the pod's own values of these labels join the selector, so that (say) each
      // ReplicaSet revision of a Deployment spreads on its own; keys the pod lacks are ignored.
      if (const Json* keys = member(c, "matchLabelKeys"); keys && keys->is_array() && !t.selector.matches_nothing)
        for (const Json& k : *keys) {
          if (!k.is_string()) continue;
          const std::string key = k.get<std::string>();
          if (const std::string* value = object.label(key))
            t.selector.match_expressions.push_back({key, sp::Requirement::Op::kIn, {*value}});
        }
      if (t.topology_key.empty()) return ctx(plugin::invalid(path + ".topologyKey: Required value"));
      pod.topology_spread.push_back(std::move(t));
    }
  return pod;
}

plugin::Result<sp::NodeInfo> parse_node(const plugin::Object& object) {
  Json j = parse_json_or_discarded(object.json);
  if (j.is_discarded() || !j.is_object()) return plugin::invalid("node " + object.name + ": not a JSON object");
  sp::NodeInfo node;
  node.name = object.name;
  node.labels = object.labels;
  std::sort(node.labels.begin(), node.labels.end());
  Json spec = j.value("spec", Json::object());
  Json status = j.value("status", Json::object());
  const Json* alloc = member(status, "allocatable");
  if (!alloc) alloc = member(status, "capacity");
  if (alloc)
    if (auto s = add_resource_list(*alloc, node.allocatable, "status.allocatable", true); !s)
      return s.with_context("node " + object.name);
  if (const Json* u = member(spec, "unschedulable"); u && u->is_boolean()) node.unschedulable = u->get<bool>();
  if (const Json* taints = member(spec, "taints"); taints && taints->is_array())
    for (const Json& t : *taints) node.taints.push_back({str(t, "key"), str(t, "value"), str(t, "effect")});
  if (const Json* images = member(status, "images"); images && images->is_array())
    for (const Json& im : *images) {
      std::int64_t size = im.value("sizeBytes", std::int64_t{0});
      if (const Json* names = member(im, "names"); names && names->is_array())
        for (const Json& n : *names)
          if (n.is_string()) node.images.emplace_back(normalize_image(n.get<std::string>()), size);
    }
  std::sort(node.images.begin(), node.images.end());
  return node;
}

}  // namespace skiff::kernel::scheduler
