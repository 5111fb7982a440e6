// Roles skiff.scheduler.filter.v1 and skiff.scheduler.score.v1: the predicates and priorities of the
// kernel's scheduling loop, in kube-scheduler's framework shape.
//
// The kernel parses every Pod and Node once, when its informer delivers it, into the plain value
// types below; plugins never see JSON. For each pod the loop calls pre_filter once (state for that
// pod, for example counts over the whole cluster), then filter for each candidate node until one
// filter says no; then pre_score once and score for each feasible node, then normalize_score over
// all of them. Every call is noexcept: a plugin catches its own failures and returns a Status.
//
// Units: cpu in millicores, memory and storage in bytes, other resources in their integer units.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/object.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::plugin::scheduler {

// A named quantity of a resource outside cpu/memory/ephemeral-storage ("nvidia.com/gpu", "hugepages-2Mi").
using ScalarResources = std::vector<std::pair<std::string, std::int64_t>>;  // sorted by name

struct Resources {
  std::int64_t milli_cpu = 0;
  std::int64_t memory = 0;
  std::int64_t ephemeral_storage = 0;
  std::int64_t pods = 0;  // allocatable pod slots (nodes only)
  ScalarResources scalar;

  std::int64_t scalar_value(std::string_view name) const noexcept {
    for (const auto& [n, v] : scalar)
      if (n == name) return v;
    return 0;
  }
  void add(const Resources& o) {
    milli_cpu += o.milli_cpu;
    memory += o.memory;
    ephemeral_storage += o.ephemeral_storage;
    for (const auto& [n, v] : o.scalar) add_scalar(n, v);
  }
  void subtract(const Resources& o) {
    milli_cpu -= o.milli_cpu;
    memory -= o.memory;
    ephemeral_storage -= o.ephemeral_storage;
    for (const auto& [n, v] : o.scalar) add_scalar(n, -v);
  }
  void add_scalar(const std::string& name, std::int64_t v) {
    auto it = std::lower_bound(scalar.begin(), scalar.end(), name,
                               [](const auto& p, const std::string& k) { return p.first < k; });
    if (it != scalar.end() && it->first == name)
      it->second += v;
    else
      scalar.insert(it, {name, v});
  }
};

// One requirement of a node selector term or a label selector ("zone In (a, b)").
struct Requirement {
  enum class Op : std::uint8_t { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;
};

// Does `labels` satisfy `r`? Gt/Lt compare integers; a missing or non-integer label does not match.
bool requirement_matches(const Requirement& r, const StringPairs& labels) noexcept;

struct NodeSelectorTerm {
  std::vector<Requirement> match_expressions;  // over node labels
  std::vector<Requirement> match_fields;       // over node fields: only metadata.name
};

struct PreferredSchedulingTerm {
  std::int32_t weight = 0;
  NodeSelectorTerm term;
};

struct LabelSelector {
  StringPairs match_labels;
  std::vector<Requirement> match_expressions;
  bool matches_nothing = false;  // a null selector (Kubernetes: matches no object)

  bool matches(const StringPairs& labels) const noexcept;
};

struct PodAffinityTerm {
  LabelSelector selector;
  std::vector<std::string> namespaces;  // empty and no namespace selector: the pod's own namespace
  bool all_namespaces = false;          // an empty namespaceSelector ({}) was given
  std::string topology_key;
};

struct WeightedPodAffinityTerm {
  std::int32_t weight = 0;
  PodAffinityTerm term;
};

struct Toleration {
  std::string key;  // empty with Exists: tolerates every taint
  bool exists = false;  // operator Exists (else Equal)
  std::string value;
  std::string effect;  // empty: every effect
};

struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute
};

struct TopologySpreadConstraint {
  std::int32_t max_skew = 1;
  std::string topology_key;
  bool do_not_schedule = true;  // whenUnsatisfiable: DoNotSchedule (else ScheduleAnyway)
  LabelSelector selector;
  std::int32_t min_domains = 1;
};

struct HostPort {
  std::int32_t port = 0;
  std::string protocol = "TCP";
  std::string host_ip;  // empty or 0.0.0.0: every address
};

struct PodInfo {
  std::string ns;
  std::string name;
  std::string uid;
  StringPairs labels;
  std::string node_name;       // spec.nodeName: bound (or, for a pending pod, asked for)
  std::string scheduler_name;  // spec.schedulerName
  std::string priority_class_name;
  std::int32_t priority = 0;  // resolved spec.priority
  bool preempt_never = false;  // preemptionPolicy: Never
  std::int64_t termination_grace_seconds = 30;
  // Effective requests: max(sum of app containers, each init container) plus overhead.
  Resources requests;
  // Requests with Kubernetes' scoring defaults (100m cpu, 200Mi memory) for containers that set none.
  Resources non_zero_requests;
  std::vector<HostPort> host_ports;
  StringPairs node_selector;
  bool has_required_node_affinity = false;
  std::vector<NodeSelectorTerm> required_node_affinity;  // ORed
  std::vector<PreferredSchedulingTerm> preferred_node_affinity;
  std::vector<Toleration> tolerations;
  std::vector<PodAffinityTerm> required_affinity;
  std::vector<PodAffinityTerm> required_anti_affinity;
  std::vector<WeightedPodAffinityTerm> preferred_affinity;
  std::vector<WeightedPodAffinityTerm> preferred_anti_affinity;
  std::vector<TopologySpreadConstraint> topology_spread;
  std::vector<std::string> images;  // normalized: "nginx" → "docker.io/library/nginx:latest"

  bool has_pod_affinity() const noexcept {
    return !required_affinity.empty() || !required_anti_affinity.empty() || !preferred_affinity.empty() ||
           !preferred_anti_affinity.empty();
  }
  std::string key() const { return ns + "/" + name; }
};

using PodInfoPtr = std::shared_ptr<const PodInfo>;

struct NodeInfo {
  std::string name;
  StringPairs labels;
  Resources allocatable;
  Resources requested;           // sum of the requests of the pods on it (assumed ones included)
  Resources non_zero_requested;  // the same with scoring defaults
  std::vector<Taint> taints;
  bool unschedulable = false;
  std::vector<std::pair<std::string, std::int64_t>> images;  // normalized name → size in bytes, sorted
  std::vector<PodInfoPtr> pods;
  std::int32_t pods_with_affinity = 0;           // pods that have any pod (anti-)affinity term
  std::int32_t pods_with_required_anti_affinity = 0;
  std::vector<HostPort> used_ports;

  const std::string* label(std::string_view key) const noexcept {
    for (const auto& [k, v] : labels)
      if (k == key) return &v;
    return nullptr;
  }
  void add_pod(PodInfoPtr pod);
  // False when the pod is not on this node.
  bool remove_pod(std::string_view pod_ns, std::string_view pod_name);
};

// Every node the loop knows, at the moment of one pod's decision (assumed pods included).
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual std::span<const NodeInfo* const> nodes() const noexcept = 0;
  virtual const NodeInfo* node(std::string_view name) const noexcept = 0;
  // Since ABI 1.1. The nodes holding a pod with any pod (anti-)affinity term, and those holding one
  // with a required anti-affinity term (Kubernetes' HavePodsWithAffinityList and
  // HavePodsWithRequiredAntiAffinityList): a plugin that reads the terms of pods already placed visits
  // these rather than every node. Either may hold more nodes than that (the defaults return them all),
  // so NodeInfo's counters stay the test.
  virtual std::span<const NodeInfo* const> nodes_with_pod_affinity() const noexcept { return nodes(); }
  virtual std::span<const NodeInfo* const> nodes_with_required_anti_affinity() const noexcept { return nodes(); }
};

// What a plugin keeps between pre_filter/pre_score and the per-node calls for one pod.
class PodState {
 public:
  virtual ~PodState() = default;
};

class FilterPlugin {
 public:
  static constexpr std::string_view kRole = "skiff.scheduler.filter.v1";
  virtual ~FilterPlugin() = default;
  virtual std::string_view name() const noexcept = 0;
  // Once per pod. kUnschedulable here rejects every node with that reason. `state` is null when the
  // plugin needs none.
  virtual Status pre_filter(const PodInfo& /*pod*/, const Snapshot& /*snapshot*/,
                            std::unique_ptr<PodState>& /*state*/) noexcept {
    return Status::ok();
  }
  // ok, or kUnschedulable with the reason Kubernetes prints ("Insufficient cpu"); anything else is an
  // error of the plugin.
  virtual Status filter(const PodState* state, const PodInfo& pod, const NodeInfo& node) const noexcept = 0;
  // False when removing pods from a node can never change this filter's answer (taints, node
  // selectors): preemption skips nodes this plugin rejected.
  virtual bool preemption_can_help() const noexcept { return true; }
};

class ScorePlugin {
 public:
  static constexpr std::string_view kRole = "skiff.scheduler.score.v1";
  virtual ~ScorePlugin() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual Status pre_score(const PodInfo& /*pod*/, const Snapshot& /*snapshot*/,
                           std::span<const NodeInfo* const> /*feasible*/, std::unique_ptr<PodState>& /*state*/) noexcept {
    return Status::ok();
  }
  virtual Result<std::int64_t> score(const PodState* state, const PodInfo& pod, const NodeInfo& node) const noexcept = 0;
  // Maps the raw scores of the feasible nodes (same order as given) onto 0..kMaxScore. The default
  // leaves them as they are (for plugins whose score already is 0..100).
  virtual Status normalize(const PodState* /*state*/, const PodInfo& /*pod*/, std::span<std::int64_t> /*scores*/) const noexcept {
    return Status::ok();
  }
};

inline constexpr std::int64_t kMaxScore = 100;

// The factory of a plugin that reads no config: `&make_plugin<FilterPlugin, MyFilter>` fits Factory<FilterPlugin>.
template <class Interface, class Impl>
Result<std::unique_ptr<Interface>> make_plugin(const PluginContext& /*context*/) {
  return std::unique_ptr<Interface>(std::make_unique<Impl>());
}

// ---- inline helpers shared by the kernel and the plugins ----

inline bool requirement_matches(const Requirement& r, const StringPairs& labels) noexcept {
  const std::string* value = nullptr;
  for (const auto& [k, v] : labels)
    if (k == r.key) {
      value = &v;
      break;
    }
  auto in_values = [&] { return value && std::find(r.values.begin(), r.values.end(), *value) != r.values.end(); };
  auto as_int = [](const std::string& s, std::int64_t& out) {
    if (s.empty()) return false;
    std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == s.size()) return false;
    std::int64_t v = 0;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10) return false;
      v = v * 10 + (s[i] - '0');
    }
    out = s[0] == '-' ? -v : v;
    return true;
  };
  switch (r.op) {
    case Requirement::Op::kIn: return in_values();
    case Requirement::Op::kNotIn: return !in_values();
    case Requirement::Op::kExists: return value != nullptr;
    case Requirement::Op::kDoesNotExist: return value == nullptr;
    case Requirement::Op::kGt:
    case Requirement::Op::kLt: {
      std::int64_t have = 0, want = 0;
      if (!value || r.values.size() != 1 || !as_int(*value, have) || !as_int(r.values[0], want)) return false;
      return r.op == Requirement::Op::kGt ? have > want : have < want;
    }
  }
  return false;
}

inline bool LabelSelector::matches(const StringPairs& labels) const noexcept {
  if (matches_nothing) return false;
  for (const auto& [k, v] : match_labels) {
    bool found = false;
    for (const auto& [lk, lv] : labels)
      if (lk == k) {
        found = lv == v;
        break;
      }
    if (!found) return false;
  }
  for (const auto& r : match_expressions)
    if (!requirement_matches(r, labels)) return false;
  return true;
}

inline void NodeInfo::add_pod(PodInfoPtr pod) {
  requested.add(pod->requests);
  non_zero_requested.add(pod->non_zero_requests);
  for (const auto& p : pod->host_ports) used_ports.push_back(p);
  if (pod->has_pod_affinity()) ++pods_with_affinity;
  if (!pod->required_anti_affinity.empty()) ++pods_with_required_anti_affinity;
  pods.push_back(std::move(pod));
}

inline bool NodeInfo::remove_pod(std::string_view pod_ns, std::string_view pod_name) {
  for (auto it = pods.begin(); it != pods.end(); ++it) {
    const PodInfo& p = **it;
    if (p.ns != pod_ns || p.name != pod_name) continue;
    requested.subtract(p.requests);
    non_zero_requested.subtract(p.non_zero_requests);
    for (const auto& hp : p.host_ports)
      for (auto u = used_ports.begin(); u != used_ports.end(); ++u)
        if (u->port == hp.port && u->protocol == hp.protocol && u->host_ip == hp.host_ip) {
          used_ports.erase(u);
          break;
        }
    if (p.has_pod_affinity()) --pods_with_affinity;
    if (!p.required_anti_affinity.empty()) --pods_with_required_anti_affinity;
    pods.erase(it);
    return true;
  }
  return false;
}

// Does `term` (of a pod in `owner_ns`) select `candidate`?
inline bool affinity_term_matches(const PodAffinityTerm& term, std::string_view owner_ns, const PodInfo& candidate) noexcept {
  if (!term.all_namespaces) {
    if (term.namespaces.empty()) {
      if (candidate.ns != owner_ns) return false;
    } else if (std::find(term.namespaces.begin(), term.namespaces.end(), candidate.ns) == term.namespaces.end()) {
      return false;
    }
  }
  return term.selector.matches(candidate.labels);
}

// Does `t` tolerate `taint`? (Exists with an empty key tolerates everything; an empty effect, every effect.)
inline bool tolerates(const Toleration& t, const Taint& taint) noexcept {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (t.key.empty()) return t.exists;
  if (t.key != taint.key) return false;
  return t.exists || t.value == taint.value;
}

inline bool node_term_matches(const NodeSelectorTerm& term, const NodeInfo& node) noexcept {
  if (term.match_expressions.empty() && term.match_fields.empty()) return false;  // an empty term selects nothing
  for (const auto& r : term.match_expressions)
    if (!requirement_matches(r, node.labels)) return false;
  if (!term.match_fields.empty()) {
    const StringPairs fields{{"metadata.name", node.name}};
    for (const auto& r : term.match_fields)
      if (r.key != "metadata.name" || !requirement_matches(r, fields)) return false;
  }
  return true;
}

// spec.nodeSelector and the required node affinity of `pod` (both must hold; the terms are ORed).
inline bool node_matches_pod_selector(const PodInfo& pod, const NodeInfo& node) noexcept {
  for (const auto& [k, v] : pod.node_selector) {
    const std::string* have = node.label(k);
    if (!have || *have != v) return false;
  }
  if (!pod.has_required_node_affinity) return true;
  for (const auto& term : pod.required_node_affinity)
    if (node_term_matches(term, node)) return true;
  return false;
}

}  // namespace skiff::plugin::scheduler
