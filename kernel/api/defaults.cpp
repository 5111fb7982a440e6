#include "kernel/api/defaults.hpp"

#include <map>
#include <optional>
#include <string>

#include "kernel/api/quantity.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

bool absent(const Json& parent, std::string_view key) {
  auto it = parent.find(key);
  return it == parent.end() || it->is_null();
}

// Sets parent[key] when it is absent (or null). No-op when parent is not an object.
void set_default(Json& parent, std::string_view key, Json value) {
  if (parent.is_object() && absent(parent, key)) parent[std::string(key)] = std::move(value);
}

// Sets parent[key] when it is absent, null or "" (Kubernetes' zero value for string enums). A
// value of another type is left for validation to report.
void default_string(Json& parent, std::string_view key, std::string_view value) {
  if (!parent.is_object()) return;
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty()))
    parent[std::string(key)] = std::string(value);
}

// parent[key] as an object, created when absent; null when parent is not an object or the member
// has another type (validation reports that).
Json* object_member(Json& parent, std::string_view key) {
  if (!parent.is_object()) return nullptr;
  Json& v = parent[std::string(key)];
  if (v.is_null()) v = Json::object();
  return v.is_object() ? &v : nullptr;
}

// parent[key] if it is an object, without creating it.
Json* existing_object(Json& parent, std::string_view key) {
  if (!parent.is_object()) return nullptr;
  auto it = parent.find(key);
  return it != parent.end() && it->is_object() ? &*it : nullptr;
}

Json* existing_array(Json& parent, std::string_view key) {
  if (!parent.is_object()) return nullptr;
  auto it = parent.find(key);
  return it != parent.end() && it->is_array() ? &*it : nullptr;
}

// An integer member that is absent, null or 0 (Kubernetes treats 0 as unset for these).
bool zero_or_absent(const Json& parent, std::string_view key) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return true;
  return it->is_number_integer() && it->get<std::int64_t>() == 0;
}

std::string string_member(const Json& parent, std::string_view key) {
  if (!parent.is_object()) return {};
  auto it = parent.find(key);
  return it != parent.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// IfNotPresent unless the image names the "latest" tag, explicitly or by having neither tag nor
// digest (parsers.ParseImageName). An image that does not parse counts as tagless-but-unknown.
std::string_view pull_policy_for(std::string_view image) {
  if (image.empty()) return "IfNotPresent";
  for (char c : image)
    if (c == ' ' || c == '\t' || c == '\n') return "IfNotPresent";
  std::size_t at = image.find('@');
  bool digest = at != std::string_view::npos;
  std::string_view name = image.substr(0, at);
  std::size_t last_slash = name.rfind('/');
  std::size_t colon = name.find(':', last_slash == std::string_view::npos ? 0 : last_slash + 1);
  std::string_view repo = name.substr(0, colon);
  std::string_view tag = colon == std::string_view::npos ? std::string_view() : name.substr(colon + 1);
  // The repository path (after a registry host) must be lower case, or the reference does not parse.
  std::string_view path = repo;
  if (std::size_t first = repo.find('/'); first != std::string_view::npos) {
    std::string_view host = repo.substr(0, first);
    if (host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos || host == "localhost")
      path = repo.substr(first + 1);
  }
  for (char c : path)
    if (is_upper(c)) return "IfNotPresent";
  if (tag.empty() && !digest) tag = "latest";
  return tag == "latest" ? "Always" : "IfNotPresent";
}

void default_http_get(Json& handler) {
  Json* http = existing_object(handler, "httpGet");
  if (!http) return;
  default_string(*http, "path", "/");
  default_string(*http, "scheme", "HTTP");
}

void default_probe(Json& container, std::string_view key) {
  Json* probe = existing_object(container, key);
  if (!probe) return;
  if (zero_or_absent(*probe, "timeoutSeconds")) (*probe)["timeoutSeconds"] = 1;
  if (zero_or_absent(*probe, "periodSeconds")) (*probe)["periodSeconds"] = 10;
  if (zero_or_absent(*probe, "successThreshold")) (*probe)["successThreshold"] = 1;
  if (zero_or_absent(*probe, "failureThreshold")) (*probe)["failureThreshold"] = 3;
  default_http_get(*probe);
}

void default_container(Json& c) {
  if (!c.is_object()) return;
  default_string(c, "imagePullPolicy", std::string(pull_policy_for(string_member(c, "image"))));
  default_string(c, "terminationMessagePath", "/dev/termination-log");
  default_string(c, "terminationMessagePolicy", "File");
  set_default(c, "resources", Json::object());
  if (Json* ports = existing_array(c, "ports"))
    for (auto& p : *ports)
      if (p.is_object()) set_default(p, "protocol", "TCP");
  default_probe(c, "livenessProbe");
  default_probe(c, "readinessProbe");
  default_probe(c, "startupProbe");
  if (Json* lifecycle = existing_object(c, "lifecycle")) {
    for (const char* hook : {"postStart", "preStop"})
      if (Json* h = existing_object(*lifecycle, hook)) default_http_get(*h);
  }
  if (Json* env = existing_array(c, "env"))
    for (auto& e : *env)
      if (Json* from = existing_object(e, "valueFrom"))
        if (Json* ref = existing_object(*from, "fieldRef")) set_default(*ref, "apiVersion", "v1");
}

void default_volume(Json& v) {
  if (!v.is_object()) return;
  bool any = false;
  for (auto source : volume_source_fields())
    if (!absent(v, source)) any = true;
  if (!any) v["emptyDir"] = Json::object();
  for (const char* source : {"secret", "configMap", "downwardAPI", "projected"})
    if (Json* s = existing_object(v, source)) set_default(*s, "defaultMode", 420);
  if (Json* hp = existing_object(v, "hostPath")) set_default(*hp, "type", "");
  if (Json* iscsi = existing_object(v, "iscsi")) set_default(*iscsi, "iscsiInterface", "default");
  if (Json* rbd = existing_object(v, "rbd")) {
    set_default(*rbd, "pool", "rbd");
    set_default(*rbd, "user", "admin");
    set_default(*rbd, "keyring", "/etc/ceph/keyring");
  }
  if (Json* dapi = existing_object(v, "downwardAPI"))
    if (Json* items = existing_array(*dapi, "items"))
      for (auto& item : *items)
        if (Json* ref = existing_object(item, "fieldRef")) set_default(*ref, "apiVersion", "v1");
}

// SetDefaults_PodSpec and what the generated defaulters do for the nested types.
void default_pod_spec(Json& spec) {
  if (!spec.is_object()) return;
  default_string(spec, "dnsPolicy", "ClusterFirst");
  default_string(spec, "restartPolicy", "Always");
  set_default(spec, "securityContext", Json::object());
  set_default(spec, "terminationGracePeriodSeconds", 30);
  default_string(spec, "schedulerName", "default-scheduler");
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"})
    if (Json* cs = existing_array(spec, list))
      for (auto& c : *cs) default_container(c);
  if (Json* vols = existing_array(spec, "volumes"))
    for (auto& v : *vols) default_volume(v);
}

void default_template(Json& object, std::initializer_list<const char*> path_to_template) {
  Json* cur = &object;
  for (const char* step : path_to_template) {
    cur = existing_object(*cur, step);
    if (!cur) return;
  }
  if (Json* spec = existing_object(*cur, "spec")) default_pod_spec(*spec);
}

// SetDefaults_Pod: only for Pods, not for pod templates.
void default_pod_only(Json& spec) {
  for (const char* list : {"containers", "initContainers"}) {
    Json* cs = existing_array(spec, list);
    if (!cs) continue;
    for (auto& c : *cs) {
      Json* res = existing_object(c, "resources");
      if (!res) continue;
      Json* limits = existing_object(*res, "limits");
      if (!limits) continue;
      Json* requests = object_member(*res, "requests");
      if (!requests) continue;
      for (const auto& [k, v] : limits->items())
        if (absent(*requests, k)) (*requests)[k] = v;
    }
  }
  set_default(spec, "enableServiceLinks", true);
  bool host_network =
      spec.contains("hostNetwork") && spec["hostNetwork"].is_boolean() && spec["hostNetwork"].get<bool>();
  if (host_network) {
    for (const char* list : {"containers", "initContainers"}) {
      Json* cs = existing_array(spec, list);
      if (!cs) continue;
      for (auto& c : *cs)
        if (Json* ports = existing_array(c, "ports"))
          for (auto& p : *ports)
            if (p.is_object() && zero_or_absent(p, "hostPort") && p.contains("containerPort"))
              p["hostPort"] = p["containerPort"];
    }
  }
}

bool tolerates(const Json& tolerations, std::string_view key) {
  if (!tolerations.is_array()) return false;
  for (const auto& t : tolerations) {
    std::string k = string_member(t, "key");
    std::string effect = string_member(t, "effect");
    if ((k == key || k.empty()) && (effect == "NoExecute" || effect.empty())) return true;
  }
  return false;
}

// What the ServiceAccount, Priority and DefaultTolerationSeconds admission plugins and the pod
// strategy add to a new pod.
void admit_new_pod(Json& pod, Json& spec) {
  std::string legacy = string_member(spec, "serviceAccount");  // the deprecated name still counts
  default_string(spec, "serviceAccountName", legacy.empty() ? "default" : legacy);
  set_default(spec, "serviceAccount", spec["serviceAccountName"]);

  std::string priority_class = string_member(spec, "priorityClassName");
  if (priority_class.empty())
    set_default(spec, "priority", 0);
  else if (priority_class == "system-node-critical")
    set_default(spec, "priority", 2000001000);
  else if (priority_class == "system-cluster-critical")
    set_default(spec, "priority", 2000000000);
  set_default(spec, "preemptionPolicy", "PreemptLowerPriority");

  if (absent(spec, "tolerations")) spec["tolerations"] = Json::array();
  if (spec["tolerations"].is_array()) {
    Json& tolerations = spec["tolerations"];
    for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})
      if (!tolerates(tolerations, key))
        tolerations.push_back(
            {{"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}});
  }

  Json status = {{"phase", "Pending"}, {"qosClass", std::string(pod_qos_class(pod))}};
  if (Json* gates = existing_array(spec, "schedulingGates"); gates && !gates->empty())
    status["conditions"] = Json::array({{{"type", "PodScheduled"},
                                         {"status", "False"},
                                         {"lastProbeTime", nullptr},
                                         {"lastTransitionTime", nullptr},
                                         {"reason", "SchedulingGated"},
                                         {"message", "Scheduling is blocked due to non-empty scheduling gates"}}});
  pod["status"] = std::move(status);
}

void default_pod(Json& pod, Operation op) {
  Json* spec = object_member(pod, "spec");
  if (!spec) return;
  default_pod_spec(*spec);
  default_pod_only(*spec);
  if (op == Operation::kCreate) admit_new_pod(pod, *spec);
}

// Deployment and DaemonSet strategies: type RollingUpdate unless set, and the rolling update bounds.
void default_rolling_update(Json& spec, std::string_view field, Json max_unavailable, Json max_surge) {
  Json* strategy = object_member(spec, field);
  if (!strategy) return;
  default_string(*strategy, "type", "RollingUpdate");
  if (string_member(*strategy, "type") != "RollingUpdate") return;
  if (Json* ru = object_member(*strategy, "rollingUpdate")) {
    set_default(*ru, "maxUnavailable", std::move(max_unavailable));
    set_default(*ru, "maxSurge", std::move(max_surge));
  }
}

void default_deployment(Json& d, Operation op) {
  Json* spec = object_member(d, "spec");
  if (!spec) return;
  set_default(*spec, "replicas", 1);
  default_rolling_update(*spec, "strategy", "25%", "25%");
  set_default(*spec, "revisionHistoryLimit", 10);
  set_default(*spec, "progressDeadlineSeconds", 600);
  default_template(d, {"spec", "template"});
  if (op == Operation::kCreate) d["status"] = Json::object();
}

void default_replica_set(Json& rs, Operation op) {
  Json* spec = object_member(rs, "spec");
  if (!spec) return;
  set_default(*spec, "replicas", 1);
  default_template(rs, {"spec", "template"});
  if (op == Operation::kCreate) rs["status"] = {{"replicas", 0}};
}

void default_daemon_set(Json& ds, Operation op) {
  Json* spec = object_member(ds, "spec");
  if (!spec) return;
  default_rolling_update(*spec, "updateStrategy", 1, 0);
  set_default(*spec, "revisionHistoryLimit", 10);
  default_template(ds, {"spec", "template"});
  if (op == Operation::kCreate)
    ds["status"] = {
        {"currentNumberScheduled", 0}, {"numberMisscheduled", 0}, {"desiredNumberScheduled", 0}, {"numberReady", 0}};
}

void default_stateful_set(Json& ss, Operation op) {
  Json* spec = object_member(ss, "spec");
  if (!spec) return;
  default_string(*spec, "podManagementPolicy", "OrderedReady");
  if (Json* strategy = object_member(*spec, "updateStrategy")) {
    if (string_member(*strategy, "type").empty() && (absent(*strategy, "type") || (*strategy)["type"].is_string()))
      set_default(*strategy, "rollingUpdate", Json::object());  // only when the type is defaulted too
    default_string(*strategy, "type", "RollingUpdate");
    if (string_member(*strategy, "type") == "RollingUpdate")
      if (Json* ru = existing_object(*strategy, "rollingUpdate")) set_default(*ru, "partition", 0);
  }
  if (Json* policy = object_member(*spec, "persistentVolumeClaimRetentionPolicy")) {
    set_default(*policy, "whenDeleted", "Retain");
    set_default(*policy, "whenScaled", "Retain");
  }
  set_default(*spec, "replicas", 1);
  set_default(*spec, "revisionHistoryLimit", 10);
  default_template(ss, {"spec", "template"});
  if (op == Operation::kCreate) ss["status"] = {{"replicas", 0}, {"availableReplicas", 0}};
}

void default_job(Json& job, Operation op) {
  Json* spec = object_member(job, "spec");
  if (!spec) return;
  if (absent(*spec, "completions") && absent(*spec, "parallelism")) {
    (*spec)["completions"] = 1;
    (*spec)["parallelism"] = 1;
  }
  set_default(*spec, "parallelism", 1);
  set_default(*spec, "backoffLimit", absent(*spec, "backoffLimitPerIndex") ? 6 : 2147483647);
  // Job labels default to the template's labels (batch/v1 only).
  if (Json* tmpl = existing_object(*spec, "template"))
    if (Json* tmeta = existing_object(*tmpl, "metadata"))
      if (Json* tlabels = existing_object(*tmeta, "labels"))
        if (Json* meta = object_member(job, "metadata")) {
          auto it = meta->find("labels");
          if (it == meta->end() || it->is_null() || (it->is_object() && it->empty())) (*meta)["labels"] = *tlabels;
        }
  set_default(*spec, "completionMode", "NonIndexed");
  set_default(*spec, "suspend", false);
  set_default(*spec, "podReplacementPolicy", absent(*spec, "podFailurePolicy") ? "TerminatingOrFailed" : "Failed");
  default_template(job, {"spec", "template"});
  if (op == Operation::kCreate) {
    job["status"] = Json::object();
    if (Json* meta = existing_object(job, "metadata")) {
      std::string uid = string_member(*meta, "uid");
      if (!uid.empty()) generate_job_selector(job, uid);
    }
  }
}

void default_cron_job(Json& cj, Operation op) {
  Json* spec = object_member(cj, "spec");
  if (!spec) return;
  default_string(*spec, "concurrencyPolicy", "Allow");
  set_default(*spec, "suspend", false);
  set_default(*spec, "successfulJobsHistoryLimit", 3);
  set_default(*spec, "failedJobsHistoryLimit", 1);
  default_template(cj, {"spec", "jobTemplate", "spec", "template"});
  if (op == Operation::kCreate) cj["status"] = Json::object();
}

bool externally_accessible(const Json& spec) {
  std::string type = string_member(spec, "type");
  if (type == "LoadBalancer" || type == "NodePort") return true;
  auto it = spec.find("externalIPs");
  return type == "ClusterIP" && it != spec.end() && it->is_array() && !it->empty();
}

void default_service(Json& svc, Operation op) {
  Json* spec = object_member(svc, "spec");
  if (!spec) return;
  default_string(*spec, "sessionAffinity", "None");
  std::string affinity = string_member(*spec, "sessionAffinity");
  if (affinity == "None") spec->erase("sessionAffinityConfig");
  if (affinity == "ClientIP") {
    const Json* cfg = spec->contains("sessionAffinityConfig") ? &(*spec)["sessionAffinityConfig"] : nullptr;
    bool has_timeout = cfg && cfg->is_object() && cfg->contains("clientIP") && (*cfg)["clientIP"].is_object() &&
                       (*cfg)["clientIP"].contains("timeoutSeconds") && !(*cfg)["clientIP"]["timeoutSeconds"].is_null();
    if (!has_timeout) (*spec)["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 10800}}}};
  }
  default_string(*spec, "type", "ClusterIP");
  if (Json* ports = existing_array(*spec, "ports"))
    for (auto& p : *ports) {
      if (!p.is_object()) continue;
      set_default(p, "protocol", "TCP");
      auto tp = p.find("targetPort");
      bool unset = tp == p.end() || tp->is_null() || (tp->is_number_integer() && tp->get<std::int64_t>() == 0) ||
                   (tp->is_string() && tp->get_ref<const std::string&>().empty());
      if (unset && p.contains("port")) p["targetPort"] = p["port"];
    }
  std::string type = string_member(*spec, "type");
  if (externally_accessible(*spec)) set_default(*spec, "externalTrafficPolicy", "Cluster");
  if (type == "NodePort" || type == "LoadBalancer" || type == "ClusterIP")
    set_default(*spec, "internalTrafficPolicy", "Cluster");
  if (type == "LoadBalancer") set_default(*spec, "allocateLoadBalancerNodePorts", true);
  if (op == Operation::kCreate) {
    if (type != "ExternalName") {
      set_default(*spec, "ipFamilyPolicy", "SingleStack");
      set_default(*spec, "ipFamilies", Json::array({"IPv4"}));
    }
    svc["status"] = {{"loadBalancer", Json::object()}};
  }
}

void default_namespace(Json& ns, Operation op) {
  Json* meta = object_member(ns, "metadata");
  if (meta) {
    std::string name = string_member(*meta, "name");
    if (!name.empty())
      if (Json* labels = object_member(*meta, "labels")) (*labels)["kubernetes.io/metadata.name"] = name;
  }
  if (op != Operation::kCreate) return;
  if (Json* spec = object_member(ns, "spec")) {
    if (absent(*spec, "finalizers")) (*spec)["finalizers"] = Json::array();
    if ((*spec)["finalizers"].is_array()) {
      bool has = false;
      for (const auto& f : (*spec)["finalizers"])
        if (f == "kubernetes") has = true;
      if (!has) (*spec)["finalizers"].push_back("kubernetes");
    }
  }
  ns["status"] = {{"phase", "Active"}};
}

// Base64 of bytes, as Go's encoding/json writes []byte.
std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void default_secret(Json& secret) {
  if (!secret.is_object()) return;
  default_string(secret, "type", "Opaque");
  // stringData is write-only: it is merged into data (winning over data) and never stored.
  auto sd = secret.find("stringData");
  if (sd != secret.end() && sd->is_object()) {
    bool all_strings = true;
    for (const auto& [k, v] : sd->items())
      if (!v.is_string()) all_strings = false;
    if (all_strings) {
      Json* data = object_member(secret, "data");
      if (data) {
        for (const auto& [k, v] : sd->items()) (*data)[k] = base64(v.get_ref<const std::string&>());
        secret.erase("stringData");
      }
    }
  } else if (sd != secret.end() && sd->is_null()) {
    secret.erase("stringData");
  }
}

void default_node(Json& node) {
  Json* status = existing_object(node, "status");
  if (!status) return;
  if (absent(*status, "allocatable") && status->contains("capacity") && (*status)["capacity"].is_object())
    (*status)["allocatable"] = (*status)["capacity"];
}

void default_endpoints(Json& ep) {
  if (Json* subsets = existing_array(ep, "subsets"))
    for (auto& s : *subsets)
      if (Json* ports = existing_array(s, "ports"))
        for (auto& p : *ports)
          if (p.is_object()) set_default(p, "protocol", "TCP");
}

void default_endpoint_slice(Json& slice) {
  if (Json* ports = existing_array(slice, "ports"))
    for (auto& p : *ports)
      if (p.is_object()) {
        set_default(p, "name", "");
        set_default(p, "protocol", "TCP");
      }
}

}  // namespace

std::span<const std::string_view> volume_source_fields() {
  static constexpr std::string_view kFields[] = {"hostPath",
                                                 "emptyDir",
                                                 "gitRepo",
                                                 "gcePersistentDisk",
                                                 "awsElasticBlockStore",
                                                 "secret",
                                                 "nfs",
                                                 "iscsi",
                                                 "glusterfs",
                                                 "flocker",
                                                 "persistentVolumeClaim",
                                                 "rbd",
                                                 "quobyte",
                                                 "cinder",
                                                 "cephfs",
                                                 "downwardAPI",
                                                 "fc",
                                                 "azureFile",
                                                 "vsphereVolume",
                                                 "photonPersistentDisk",
                                                 "portworxVolume",
                                                 "azureDisk",
                                                 "storageos",
                                                 "projected",
                                                 "scaleIO",
                                                 "configMap",
                                                 "csi",
                                                 "ephemeral",
                                                 "image"};
  return kFields;
}

std::string_view pod_qos_class(const nlohmann::json& pod) {
  const Json* spec = nullptr;
  if (pod.is_object())
    if (auto it = pod.find("spec"); it != pod.end() && it->is_object()) spec = &*it;
  if (!spec) return "BestEffort";
  std::map<std::string, Quantity> requests, limits;
  bool guaranteed = true;
  auto positive = [](const Json& v) -> std::optional<Quantity> {
    auto q = Quantity::from_json(v);
    if (!q || q->is_zero() || q->is_negative()) return std::nullopt;
    return q;
  };
  for (const char* list : {"containers", "initContainers"}) {
    auto cs = spec->find(list);
    if (cs == spec->end() || !cs->is_array()) continue;
    for (const auto& c : *cs) {
      const Json empty = Json::object();
      const Json* res = &empty;
      if (c.is_object())
        if (auto it = c.find("resources"); it != c.end() && it->is_object()) res = &*it;
      const Json* req = &empty;
      const Json* lim = &empty;
      if (auto it = res->find("requests"); it != res->end() && it->is_object()) req = &*it;
      if (auto it = res->find("limits"); it != res->end() && it->is_object()) lim = &*it;
      // Requests default to limits for pods, so a limit without a request counts as both.
      Json effective = *req;
      for (const auto& [k, v] : lim->items())
        if (!effective.contains(k)) effective[k] = v;
      for (const auto& [name, v] : effective.items()) {
        if (name != "cpu" && name != "memory") continue;
        if (auto q = positive(v)) {
          auto [it, inserted] = requests.emplace(name, *q);
          if (!inserted) it->second += *q;
        }
      }
      bool has_cpu = false, has_memory = false;
      for (const auto& [name, v] : lim->items()) {
        if (name != "cpu" && name != "memory") continue;
        if (auto q = positive(v)) {
          (name == "cpu" ? has_cpu : has_memory) = true;
          auto [it, inserted] = limits.emplace(name, *q);
          if (!inserted) it->second += *q;
        }
      }
      if (!has_cpu || !has_memory) guaranteed = false;
    }
  }
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed)
    for (const auto& [name, req] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second.compare(req) != 0) {
        guaranteed = false;
        break;
      }
    }
  if (guaranteed && requests.size() == limits.size()) return "Guaranteed";
  return "Burstable";
}

void generate_job_selector(nlohmann::json& job, std::string_view uid) {
  Json* spec = object_member(job, "spec");
  if (!spec) return;
  auto manual = spec->find("manualSelector");
  if (manual != spec->end() && manual->is_boolean() && manual->get<bool>()) return;
  Json* tmpl = object_member(*spec, "template");
  if (!tmpl) return;
  Json* tmeta = object_member(*tmpl, "metadata");
  if (!tmeta) return;
  Json* labels = object_member(*tmeta, "labels");
  if (!labels) return;
  std::string name;
  if (const Json* meta = existing_object(job, "metadata")) name = string_member(*meta, "name");
  for (const char* key : {"job-name", "batch.kubernetes.io/job-name"}) set_default(*labels, key, name);
  for (const char* key : {"controller-uid", "batch.kubernetes.io/controller-uid"})
    set_default(*labels, key, std::string(uid));
  Json* selector = object_member(*spec, "selector");
  if (!selector) return;
  Json* match = object_member(*selector, "matchLabels");
  if (!match) return;
  set_default(*match, "batch.kubernetes.io/controller-uid", std::string(uid));
}

void apply_defaults(std::string_view group, std::string_view kind, nlohmann::json& object, Operation operation) {
  if (!object.is_object()) return;
  if (group.empty()) {
    if (kind == "Pod")
      default_pod(object, operation);
    else if (kind == "Service")
      default_service(object, operation);
    else if (kind == "Namespace")
      default_namespace(object, operation);
    else if (kind == "Secret")
      default_secret(object);
    else if (kind == "Node")
      default_node(object);
    else if (kind == "Endpoints")
      default_endpoints(object);
  } else if (group == "apps") {
    if (kind == "Deployment")
      default_deployment(object, operation);
    else if (kind == "ReplicaSet")
      default_replica_set(object, operation);
    else if (kind == "DaemonSet")
      default_daemon_set(object, operation);
    else if (kind == "StatefulSet")
      default_stateful_set(object, operation);
  } else if (group == "batch") {
    if (kind == "Job")
      default_job(object, operation);
    else if (kind == "CronJob")
      default_cron_job(object, operation);
  } else if (group == "scheduling.k8s.io" && kind == "PriorityClass") {
    set_default(object, "preemptionPolicy", "PreemptLowerPriority");
  } else if (group == "discovery.k8s.io" && kind == "EndpointSlice") {
    default_endpoint_slice(object);
  }
}

}  // namespace skiff::kernel::api
