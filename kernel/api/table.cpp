#include "kernel/api/table.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "kernel/store/selector.hpp"
#include "kernel/util/json_parse.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

// ------------------------------------------------------------------------------------------------
// Non-throwing reads of the object JSON

const Json& null_json() {
  static const Json kNull;
  return kNull;
}

const Json& at(const Json& j, std::string_view k) {
  if (!j.is_object()) return null_json();
  auto it = j.find(k);
  return it == j.end() ? null_json() : *it;
}

const Json& at(const Json& j, std::initializer_list<std::string_view> path) {
  const Json* cur = &j;
  for (auto k : path) cur = &at(*cur, k);
  return *cur;
}

std::string str(const Json& j, std::string_view k) {
  const Json& v = at(j, k);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::int64_t num(const Json& j, std::string_view k, std::int64_t fallback = 0) {
  const Json& v = at(j, k);
  return v.is_number_integer() ? v.get<std::int64_t>() : fallback;
}

bool flag(const Json& j, std::string_view k) {
  const Json& v = at(j, k);
  return v.is_boolean() && v.get<bool>();
}

std::size_t count(const Json& v) { return v.is_array() || v.is_object() ? v.size() : 0; }

const Json& items(const Json& v) {
  static const Json kEmpty = Json::array();
  return v.is_array() ? v : kEmpty;
}

std::optional<std::int64_t> time_ms(const Json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) return std::nullopt;
  return parse_rfc3339(v.get_ref<const std::string&>());
}

// translateTimestampSince
std::string since(const Json& timestamp, std::int64_t now_ms) {
  auto t = time_ms(timestamp);
  return t ? human_duration(now_ms - *t) : "<unknown>";
}

std::string age(const Json& obj, std::int64_t now_ms) {
  return since(at(obj, {"metadata", "creationTimestamp"}), now_ms);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// labels.FormatLabels: "a=b,c=d" in key order, "<none>" when empty.
std::string format_labels(const Json& m) {
  std::vector<std::string> parts;
  if (m.is_object())
    for (const auto& [k, v] : m.items())
      parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : std::string()));
  return parts.empty() ? "<none>" : join(parts, ",");
}

// LabelSelectorAsSelector(selector).String(); `error_text` when it does not parse.
std::string selector_string(const Json& selector, std::string_view error_text) {
  auto s = LabelSelector::from_json(selector.is_object() ? selector : Json());
  if (!s) return std::string(error_text);
  return s->to_string();
}

// metav1.FormatLabelSelector
std::string format_selector(const Json& selector) {
  std::string s = selector_string(selector, "<error>");
  return s.empty() ? "<none>" : s;
}

// layoutContainerCells
std::pair<std::string, std::string> container_cells(const Json& containers) {
  std::vector<std::string> names, images;
  for (const auto& c : items(containers)) {
    names.push_back(str(c, "name"));
    images.push_back(str(c, "image"));
  }
  return {join(names, ","), join(images, ",")};
}

bool condition_true(const Json& conditions, std::string_view type) {
  for (const auto& c : items(conditions))
    if (str(c, "type") == type) return str(c, "status") == "True";
  return false;
}

// ------------------------------------------------------------------------------------------------
// Column definitions

struct Column {
  const char* name;
  const char* type;
  int priority;
  const char* description;
};

constexpr const char* kNameDesc =
    "The object's name, unique among objects of its kind in its namespace (or in the cluster for cluster-scoped "
    "kinds).";
constexpr const char* kAgeDesc = "How long ago the object was created (from metadata.creationTimestamp).";
constexpr const char* kContainersDesc = "The names of the containers in the pod template.";
constexpr const char* kImagesDesc = "The images of the containers in the pod template.";
constexpr const char* kSelectorDesc = "The label query that selects the pods this object manages.";

Json column_json(const Column& c, bool name_format) {
  return {{"name", c.name},
          {"type", c.type},
          {"format", name_format ? "name" : ""},
          {"description", c.description},
          {"priority", c.priority}};
}

Json columns_with_name(std::initializer_list<Column> rest) {
  Json out = Json::array();
  out.push_back(column_json({"Name", "string", 0, kNameDesc}, true));
  for (const auto& c : rest) out.push_back(column_json(c, false));
  return out;
}

Json columns_for(std::string_view group, std::string_view kind) {
  const Column age{"Age", "string", 0, kAgeDesc};
  const Column containers{"Containers", "string", 1, kContainersDesc};
  const Column images{"Images", "string", 1, kImagesDesc};
  const Column selector{"Selector", "string", 1, kSelectorDesc};
  if (group.empty()) {
    if (kind == "Pod")
      return columns_with_name(
          {{"Ready", "string", 0, "How many of the pod's containers are ready, out of all of them."},
           {"Status", "string", 0, "A summary of the state of the pod and its containers."},
           {"Restarts", "string", 0,
            "How often the pod's containers have restarted, and how long ago the latest restart was."},
           age,
           {"IP", "string", 1, "The pod's IP address (the first of status.podIPs)."},
           {"Node", "string", 1, "The node the pod is bound to."},
           {"Nominated Node", "string", 1, "The node the scheduler nominated for the pod after preempting others."},
           {"Readiness Gates", "string", 1, "How many of the pod's readiness gates are satisfied."}});
    if (kind == "Service")
      return columns_with_name(
          {{"Type", "string", 0, "How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName."},
           {"Cluster-IP", "string", 0, "The service's virtual IP inside the cluster."},
           {"External-IP", "string", 0, "The addresses the service is reachable at from outside the cluster."},
           {"Port(s)", "string", 0, "The ports the service exposes (port[:nodePort]/protocol)."},
           age,
           {"Selector", "string", 1, "The labels of the pods the service routes to."}});
    if (kind == "Endpoints")
      return columns_with_name(
          {{"Endpoints", "string", 0, "The addresses and ports of the endpoints (the first three)."}, age});
    if (kind == "Node")
      return columns_with_name(
          {{"Status", "string", 0, "Whether the node is ready and schedulable."},
           {"Roles", "string", 0, "The node's roles, from its node-role.kubernetes.io/ labels."},
           age,
           {"Version", "string", 0, "The version of the node's kubelet."},
           {"Internal-IP", "string", 1, "The node's internal address."},
           {"External-IP", "string", 1, "The node's external address."},
           {"OS-Image", "string", 1, "The operating system image the node reports."},
           {"Kernel-Version", "string", 1, "The kernel version the node reports."},
           {"Container-Runtime", "string", 1, "The container runtime and version the node reports."}});
    if (kind == "Event") {
      Json out = Json::array();
      for (const Column& c :
           {Column{"Last Seen", "string", 0, "How long ago the event was last seen."},
            Column{"Type", "string", 0, "The event's type: Normal or Warning."},
            Column{"Reason", "string", 0, "A short, machine-readable reason for the event."},
            Column{"Object", "string", 0, "The object the event is about (kind/name)."},
            Column{"Subobject", "string", 1, "The part of the object the event is about (a field path)."},
            Column{"Source", "string", 1, "The component (and host) that reported the event."},
            Column{"Message", "string", 0, "The event's human-readable message."},
            Column{"First Seen", "string", 1, "How long ago the event was first seen."},
            Column{"Count", "string", 1, "How many times the event has occurred."}})
        out.push_back(column_json(c, false));
      out.push_back(column_json({"Name", "string", 1, kNameDesc}, true));
      return out;
    }
    if (kind == "Namespace")
      return columns_with_name({{"Status", "string", 0, "The namespace's phase: Active or Terminating."}, age});
    if (kind == "Secret")
      return columns_with_name(
          {{"Type", "string", 0, "The secret's type."}, {"Data", "string", 0, "How many keys the secret holds."}, age});
    if (kind == "ServiceAccount")
      return columns_with_name({{"Secrets", "string", 0, "How many secrets the service account lists."}, age});
    if (kind == "ConfigMap")
      return columns_with_name({{"Data", "string", 0, "How many keys the config map holds."}, age});
  } else if (group == "apps") {
    if (kind == "Deployment")
      return columns_with_name(
          {{"Ready", "string", 0, "How many of the desired pods are ready."},
           {"Up-to-date", "string", 0, "How many pods run the current template."},
           {"Available", "string", 0, "How many pods have been ready for at least minReadySeconds."},
           age,
           containers,
           images,
           selector});
    if (kind == "ReplicaSet")
      return columns_with_name({{"Desired", "integer", 0, "How many pods are wanted (spec.replicas)."},
                                {"Current", "integer", 0, "How many pods exist (status.replicas)."},
                                {"Ready", "integer", 0, "How many pods are ready (status.readyReplicas)."},
                                age,
                                containers,
                                images,
                                selector});
    if (kind == "DaemonSet")
      return columns_with_name({{"Desired", "integer", 0, "How many nodes should run the daemon pod."},
                                {"Current", "integer", 0, "How many nodes run at least one daemon pod."},
                                {"Ready", "integer", 0, "How many nodes have a ready daemon pod."},
                                {"Up-to-date", "integer", 0, "How many nodes run the current template."},
                                {"Available", "integer", 0, "How many nodes have an available daemon pod."},
                                {"Node Selector", "string", 0, "The labels a node needs to run the daemon pod."},
                                age,
                                containers,
                                images,
                                selector});
    if (kind == "StatefulSet")
      return columns_with_name(
          {{"Ready", "string", 0, "How many of the desired pods are ready."}, age, containers, images});
    if (kind == "ControllerRevision")
      return columns_with_name({{"Controller", "string", 0, "The object that owns the revision."},
                                {"Revision", "string", 0, "The revision number."},
                                age});
  } else if (group == "batch") {
    if (kind == "Job")
      return columns_with_name({{"Status", "string", 0, "The job's state: Running, Complete, Failed, Suspended, …"},
                                {"Completions", "string", 0, "How many pods succeeded, out of how many are wanted."},
                                {"Duration", "string", 0, "How long the job ran (or has been running)."},
                                age,
                                containers,
                                images,
                                selector});
    if (kind == "CronJob")
      return columns_with_name({{"Schedule", "string", 0, "The cron schedule."},
                                {"Timezone", "string", 0, "The time zone the schedule is read in."},
                                {"Suspend", "boolean", 0, "Whether new runs are suspended."},
                                {"Active", "integer", 0, "How many jobs are running."},
                                {"Last Schedule", "string", 0, "How long ago a job was last scheduled."},
                                age,
                                containers,
                                images,
                                selector});
  } else if (group == "coordination.k8s.io" && kind == "Lease") {
    return columns_with_name({{"Holder", "string", 0, "The identity of the lease's current holder."}, age});
  } else if (group == "scheduling.k8s.io" && kind == "PriorityClass") {
    return columns_with_name({{"Value", "integer", 0, "The priority pods of this class get."},
                              {"Global-Default", "boolean", 0, "Whether pods without a class get this one."},
                              age,
                              {"PreemptionPolicy", "string", 0, "Whether pods of this class may preempt others."}});
  } else if (group == "discovery.k8s.io" && kind == "EndpointSlice") {
    return columns_with_name({{"AddressType", "string", 0, "The type of the addresses: IPv4, IPv6 or FQDN."},
                              {"Ports", "string", 0, "The ports of the endpoints (the first three)."},
                              {"Endpoints", "string", 0, "The addresses of the endpoints (the first three)."},
                              age});
  }
  return columns_with_name({age});
}

// ------------------------------------------------------------------------------------------------
// Cells

struct Row {
  Json cells = Json::array();
  Json conditions;  // null unless set
};

Row pod_row(const Json& pod, std::int64_t now) {
  const Json& spec = at(pod, "spec");
  const Json& status = at(pod, "status");
  Row row;

  std::int64_t restarts = 0, restartable_restarts = 0;
  std::size_t total = count(at(spec, "containers"));
  std::size_t ready = 0;
  std::optional<std::int64_t> last_restart, last_restartable_restart;
  std::string phase = str(status, "phase");
  std::string reason = phase;
  if (!str(status, "reason").empty()) reason = str(status, "reason");
  for (const auto& c : items(at(status, "conditions")))
    if (str(c, "type") == "PodScheduled" && str(c, "reason") == "SchedulingGated") reason = "SchedulingGated";

  if (phase == "Succeeded")
    row.conditions = Json::array({{{"type", "Completed"},
                                   {"status", "True"},
                                   {"reason", "Succeeded"},
                                   {"message", "The pod has completed successfully."}}});
  else if (phase == "Failed")
    row.conditions = Json::array(
        {{{"type", "Completed"}, {"status", "True"}, {"reason", "Failed"}, {"message", "The pod failed."}}});

  std::set<std::string> restartable;  // init containers with restartPolicy Always (sidecars)
  for (const auto& c : items(at(spec, "initContainers")))
    if (str(c, "restartPolicy") == "Always") {
      restartable.insert(str(c, "name"));
      ++total;
    }
  const std::size_t init_count = count(at(spec, "initContainers"));

  auto later = [](std::optional<std::int64_t>& latest, const Json& finished) {
    if (auto t = time_ms(finished); t && (!latest || *latest < *t)) latest = t;
  };

  bool initializing = false;
  const Json& init_statuses = items(at(status, "initContainerStatuses"));
  for (std::size_t i = 0; i < init_statuses.size(); ++i) {
    const Json& cs = init_statuses[i];
    restarts += num(cs, "restartCount");
    const Json& last_terminated = at(cs, {"lastState", "terminated"});
    if (last_terminated.is_object()) later(last_restart, at(last_terminated, "finishedAt"));
    bool sidecar = restartable.count(str(cs, "name")) > 0;
    if (sidecar) {
      restartable_restarts += num(cs, "restartCount");
      if (last_terminated.is_object()) later(last_restartable_restart, at(last_terminated, "finishedAt"));
    }
    const Json& terminated = at(cs, {"state", "terminated"});
    const Json& waiting = at(cs, {"state", "waiting"});
    if (terminated.is_object() && num(terminated, "exitCode") == 0) continue;
    if (sidecar && flag(cs, "started")) {
      if (flag(cs, "ready")) ++ready;
      continue;
    }
    if (terminated.is_object()) {
      if (str(terminated, "reason").empty()) {
        if (num(terminated, "signal") != 0)
          reason = "Init:Signal:" + std::to_string(num(terminated, "signal"));
        else
          reason = "Init:ExitCode:" + std::to_string(num(terminated, "exitCode"));
      } else {
        reason = "Init:" + str(terminated, "reason");
      }
    } else if (waiting.is_object() && !str(waiting, "reason").empty() && str(waiting, "reason") != "PodInitializing") {
      reason = "Init:" + str(waiting, "reason");
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(init_count);
    }
    initializing = true;
    break;
  }

  if (!initializing || condition_true(at(status, "conditions"), "Initialized")) {
    restarts = restartable_restarts;
    last_restart = last_restartable_restart;
    bool has_running = false;
    const Json& statuses = items(at(status, "containerStatuses"));
    for (std::size_t k = statuses.size(); k-- > 0;) {
      const Json& cs = statuses[k];
      restarts += num(cs, "restartCount");
      const Json& last_terminated = at(cs, {"lastState", "terminated"});
      if (last_terminated.is_object()) later(last_restart, at(last_terminated, "finishedAt"));
      const Json& waiting = at(cs, {"state", "waiting"});
      const Json& terminated = at(cs, {"state", "terminated"});
      const Json& running = at(cs, {"state", "running"});
      if (waiting.is_object() && !str(waiting, "reason").empty()) {
        reason = str(waiting, "reason");
      } else if (terminated.is_object() && !str(terminated, "reason").empty()) {
        reason = str(terminated, "reason");
      } else if (terminated.is_object()) {
        if (num(terminated, "signal") != 0)
          reason = "Signal:" + std::to_string(num(terminated, "signal"));
        else
          reason = "ExitCode:" + std::to_string(num(terminated, "exitCode"));
      } else if (flag(cs, "ready") && running.is_object()) {
        has_running = true;
        ++ready;
      }
    }
    if (reason == "Completed" && has_running)
      reason = condition_true(at(status, "conditions"), "Ready") ? "Running" : "NotReady";
  }

  const bool deleting = !at(pod, {"metadata", "deletionTimestamp"}).is_null();
  if (deleting && str(status, "reason") == "NodeLost")
    reason = "Unknown";
  else if (deleting && phase != "Failed" && phase != "Succeeded")
    reason = "Terminating";

  std::string restarts_text = std::to_string(restarts);
  if (restarts != 0 && last_restart) restarts_text += " (" + human_duration(now - *last_restart) + " ago)";

  row.cells.push_back(str(at(pod, "metadata"), "name"));
  row.cells.push_back(std::to_string(ready) + "/" + std::to_string(total));
  row.cells.push_back(reason);
  row.cells.push_back(restarts_text);
  row.cells.push_back(age(pod, now));

  std::string ip;
  if (const Json& ips = at(status, "podIPs"); ips.is_array() && !ips.empty())
    ip = str(ips[0], "ip");
  else
    ip = str(status, "podIP");
  std::string node = str(spec, "nodeName");
  std::string nominated = str(status, "nominatedNodeName");
  std::string gates = "<none>";
  if (const Json& rg = at(spec, "readinessGates"); rg.is_array() && !rg.empty()) {
    std::size_t satisfied = 0;
    for (const auto& g : rg)
      for (const auto& c : items(at(status, "conditions")))
        if (str(c, "type") == str(g, "conditionType")) {
          if (str(c, "status") == "True") ++satisfied;
          break;
        }
    gates = std::to_string(satisfied) + "/" + std::to_string(rg.size());
  }
  row.cells.push_back(ip.empty() ? "<none>" : ip);
  row.cells.push_back(node.empty() ? "<none>" : node);
  row.cells.push_back(nominated.empty() ? "<none>" : nominated);
  row.cells.push_back(gates);
  return row;
}

std::string external_ip(const Json& svc) {
  const Json& spec = at(svc, "spec");
  std::string type = str(spec, "type");
  std::vector<std::string> external;
  for (const auto& ip : items(at(spec, "externalIPs")))
    if (ip.is_string()) external.push_back(ip.get<std::string>());
  if (type == "ClusterIP" || type == "NodePort") return external.empty() ? "<none>" : join(external, ",");
  if (type == "LoadBalancer") {
    std::set<std::string> lb;
    for (const auto& ing : items(at(svc, {"status", "loadBalancer", "ingress"}))) {
      if (!str(ing, "ip").empty())
        lb.insert(str(ing, "ip"));
      else if (!str(ing, "hostname").empty())
        lb.insert(str(ing, "hostname"));
    }
    std::vector<std::string> all(lb.begin(), lb.end());
    if (!external.empty()) {
      all.insert(all.end(), external.begin(), external.end());
      return join(all, ",");
    }
    return all.empty() ? "<pending>" : join(all, ",");
  }
  if (type == "ExternalName") return str(spec, "externalName");
  return "<unknown>";
}

Row service_row(const Json& svc, std::int64_t now) {
  const Json& spec = at(svc, "spec");
  Row row;
  std::string cluster_ip = "<none>";
  if (const Json& ips = at(spec, "clusterIPs"); ips.is_array() && !ips.empty() && ips[0].is_string())
    cluster_ip = ips[0].get<std::string>();
  else if (!str(spec, "clusterIP").empty())
    cluster_ip = str(spec, "clusterIP");
  std::vector<std::string> ports;
  for (const auto& p : items(at(spec, "ports"))) {
    std::string piece = std::to_string(num(p, "port"));
    if (num(p, "nodePort") > 0) piece += ":" + std::to_string(num(p, "nodePort"));
    ports.push_back(piece + "/" + str(p, "protocol"));
  }
  row.cells = {str(at(svc, "metadata"), "name"),
               str(spec, "type"),
               cluster_ip,
               external_ip(svc),
               ports.empty() ? "<none>" : join(ports, ","),
               age(svc, now),
               format_labels(at(spec, "selector"))};
  return row;
}

std::string list_with_more(const std::vector<std::string>& list, bool more, std::size_t total, std::size_t max) {
  std::string out = join(list, ",");
  if (more) return out + " + " + std::to_string(total - max) + " more...";
  return out.empty() ? "<unset>" : out;
}

std::string host_port(const std::string& ip, std::int64_t port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

// formatEndpoints with all ports.
std::string format_endpoints(const Json& ep) {
  const Json& subsets = items(at(ep, "subsets"));
  if (subsets.empty()) return "<none>";
  std::vector<std::string> list;
  const std::size_t max = 3;
  bool more = false;
  std::size_t total = 0;
  for (const auto& ss : subsets) {
    const Json& addresses = items(at(ss, "addresses"));
    const Json& ports = items(at(ss, "ports"));
    if (ports.empty()) {
      total += addresses.size();
      for (const auto& a : addresses) {
        if (list.size() == max) {
          more = true;
          break;
        }
        list.push_back(str(a, "ip"));
      }
      continue;
    }
    for (const auto& p : ports) {
      total += addresses.size();
      for (const auto& a : addresses) {
        if (list.size() == max) {
          more = true;
          break;
        }
        list.push_back(host_port(str(a, "ip"), num(p, "port")));
      }
    }
  }
  std::string out = join(list, ",");
  if (more) return out + " + " + std::to_string(total - max) + " more...";
  return out;
}

Row node_row(const Json& node, std::int64_t now) {
  const Json& status = at(node, "status");
  Row row;
  std::vector<std::string> state;
  for (const auto& c : items(at(status, "conditions")))
    if (str(c, "type") == "Ready") {
      state.assign(1, str(c, "status") == "True" ? "Ready" : "NotReady");
    }
  if (state.empty()) state.push_back("Unknown");
  if (flag(at(node, "spec"), "unschedulable")) state.push_back("SchedulingDisabled");
  std::set<std::string> roles;
  const Json& labels = at(node, {"metadata", "labels"});
  if (labels.is_object())
    for (const auto& [k, v] : labels.items()) {
      if (k.starts_with("node-role.kubernetes.io/")) {
        std::string role = k.substr(std::string_view("node-role.kubernetes.io/").size());
        if (!role.empty()) roles.insert(role);
      } else if (k == "kubernetes.io/role" && v.is_string() && !v.get_ref<const std::string&>().empty()) {
        roles.insert(v.get<std::string>());
      }
    }
  auto address = [&](std::string_view type) {
    for (const auto& a : items(at(status, "addresses")))
      if (str(a, "type") == type) return str(a, "address");
    return std::string("<none>");
  };
  const Json& info = at(status, "nodeInfo");
  auto known = [](std::string s) { return s.empty() ? std::string("<unknown>") : s; };
  row.cells = {str(at(node, "metadata"), "name"),
               join(state, ","),
               roles.empty() ? "<none>" : join(std::vector<std::string>(roles.begin(), roles.end()), ","),
               age(node, now),
               str(info, "kubeletVersion"),
               address("InternalIP"),
               address("ExternalIP"),
               known(str(info, "osImage")),
               known(str(info, "kernelVersion")),
               known(str(info, "containerRuntimeVersion"))};
  return row;
}

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\n\r\f\v");
  return s.substr(first, last - first + 1);
}

Row event_row(const Json& ev, std::int64_t now) {
  Row row;
  std::string first = since(at(ev, "firstTimestamp"), now);
  if (!time_ms(at(ev, "firstTimestamp"))) first = since(at(ev, "eventTime"), now);
  std::string last = since(at(ev, "lastTimestamp"), now);
  if (!time_ms(at(ev, "lastTimestamp"))) last = first;
  std::int64_t n = num(ev, "count");
  if (const Json& series = at(ev, "series"); series.is_object()) {
    last = since(at(series, "lastObservedTime"), now);
    n = num(series, "count");
  } else if (n == 0) {
    n = 1;
  }
  const Json& involved = at(ev, "involvedObject");
  std::string kind = str(involved, "kind");
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  std::string target = str(involved, "name").empty() ? kind : kind + "/" + str(involved, "name");
  const Json& source = at(ev, "source");
  std::string component = str(source, "component").empty() ? str(ev, "reportingComponent") : str(source, "component");
  std::string host = str(source, "host").empty() ? str(ev, "reportingInstance") : str(source, "host");
  row.cells = {last,
               str(ev, "type"),
               str(ev, "reason"),
               target,
               str(involved, "fieldPath"),
               host.empty() ? component : component + ", " + host,
               trim(str(ev, "message")),
               first,
               n,
               str(at(ev, "metadata"), "name")};
  return row;
}

Row job_row(const Json& job, std::int64_t now) {
  const Json& spec = at(job, "spec");
  const Json& status = at(job, "status");
  Row row;
  std::int64_t succeeded = num(status, "succeeded");
  std::string completions;
  if (at(spec, "completions").is_number_integer()) {
    completions = std::to_string(succeeded) + "/" + std::to_string(num(spec, "completions"));
  } else {
    std::int64_t parallelism = num(spec, "parallelism");
    completions = std::to_string(succeeded) + "/1" + (parallelism > 1 ? " of " + std::to_string(parallelism) : "");
  }
  std::string duration;
  auto start = time_ms(at(status, "startTime"));
  auto done = time_ms(at(status, "completionTime"));
  if (start) duration = human_duration((done ? *done : now) - *start);
  const Json& conditions = at(status, "conditions");
  std::string state = "Running";
  if (condition_true(conditions, "Complete"))
    state = "Complete";
  else if (condition_true(conditions, "Failed"))
    state = "Failed";
  else if (!at(job, {"metadata", "deletionTimestamp"}).is_null())
    state = "Terminating";
  else if (condition_true(conditions, "Suspended"))
    state = "Suspended";
  else if (condition_true(conditions, "FailureTarget"))
    state = "FailureTarget";
  auto [names, images] = container_cells(at(spec, {"template", "spec", "containers"}));
  row.cells = {str(at(job, "metadata"), "name"),     state, completions, duration, age(job, now), names, images,
               format_selector(at(spec, "selector"))};
  return row;
}

Row cron_job_row(const Json& cj, std::int64_t now) {
  const Json& spec = at(cj, "spec");
  const Json& status = at(cj, "status");
  Row row;
  std::string last = "<none>";
  if (!at(status, "lastScheduleTime").is_null()) last = since(at(status, "lastScheduleTime"), now);
  const Json& tz = at(spec, "timeZone");
  const Json& suspend = at(spec, "suspend");
  auto [names, images] = container_cells(at(spec, {"jobTemplate", "spec", "template", "spec", "containers"}));
  row.cells = {str(at(cj, "metadata"), "name"),
               str(spec, "schedule"),
               tz.is_string() ? tz.get<std::string>() : std::string("<none>"),
               suspend.is_boolean() ? (suspend.get<bool>() ? "True" : "False") : "<unset>",
               static_cast<std::int64_t>(count(at(status, "active"))),
               last,
               age(cj, now),
               names,
               images,
               format_selector(at(spec, {"jobTemplate", "spec", "selector"}))};
  return row;
}

Row workload_row(std::string_view kind, const Json& obj, std::int64_t now) {
  const Json& spec = at(obj, "spec");
  const Json& status = at(obj, "status");
  const std::string name = str(at(obj, "metadata"), "name");
  auto [names, images] = container_cells(at(spec, {"template", "spec", "containers"}));
  Row row;
  if (kind == "Deployment") {
    row.cells = {name,
                 std::to_string(num(status, "readyReplicas")) + "/" + std::to_string(num(spec, "replicas", 1)),
                 num(status, "updatedReplicas"),
                 num(status, "availableReplicas"),
                 age(obj, now),
                 names,
                 images,
                 selector_string(at(spec, "selector"), "<invalid>")};
  } else if (kind == "ReplicaSet") {
    row.cells = {name,
                 num(spec, "replicas", 1),
                 num(status, "replicas"),
                 num(status, "readyReplicas"),
                 age(obj, now),
                 names,
                 images,
                 format_selector(at(spec, "selector"))};
  } else if (kind == "DaemonSet") {
    row.cells = {name,
                 num(status, "desiredNumberScheduled"),
                 num(status, "currentNumberScheduled"),
                 num(status, "numberReady"),
                 num(status, "updatedNumberScheduled"),
                 num(status, "numberAvailable"),
                 format_labels(at(spec, {"template", "spec", "nodeSelector"})),
                 age(obj, now),
                 names,
                 images,
                 format_selector(at(spec, "selector"))};
  } else {  // StatefulSet
    row.cells = {name, std::to_string(num(status, "readyReplicas")) + "/" + std::to_string(num(spec, "replicas", 1)),
                 age(obj, now), names, images};
  }
  return row;
}

Row controller_revision_row(const Json& cr, std::int64_t now) {
  std::string controller = "<none>";
  for (const auto& ref : items(at(cr, {"metadata", "ownerReferences"})))
    if (flag(ref, "controller")) {
      std::string api = str(ref, "apiVersion");
      std::size_t slash = api.find('/');
      std::string group = slash == std::string::npos ? "" : api.substr(0, slash);
      std::string kind = str(ref, "kind");
      if (kind.empty() && group.empty()) {
        controller = str(ref, "name");
      } else {
        std::string gk = group.empty() ? kind : kind + "." + group;
        std::transform(gk.begin(), gk.end(), gk.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
        controller = gk + "/" + str(ref, "name");
      }
      break;
    }
  Row row;
  row.cells = {str(at(cr, "metadata"), "name"), controller, num(cr, "revision"), age(cr, now)};
  return row;
}

Row endpoint_slice_row(const Json& slice, std::int64_t now) {
  const std::size_t max = 3;
  std::vector<std::string> ports;
  bool more = false;
  std::size_t total = 0;
  for (const auto& p : items(at(slice, "ports"))) {
    if (ports.size() < max) {
      std::string n = "*";
      if (at(p, "port").is_number_integer())
        n = std::to_string(num(p, "port"));
      else if (at(p, "name").is_string())
        n = str(p, "name");
      ports.push_back(n);
    } else if (ports.size() == max) {
      more = true;
    }
    ++total;
  }
  std::string port_text = list_with_more(ports, more, total, max);
  std::vector<std::string> addresses;
  more = false;
  total = 0;
  for (const auto& e : items(at(slice, "endpoints")))
    for (const auto& a : items(at(e, "addresses"))) {
      if (addresses.size() < max)
        addresses.push_back(a.is_string() ? a.get<std::string>() : std::string());
      else if (addresses.size() == max)
        more = true;
      ++total;
    }
  Row row;
  row.cells = {str(at(slice, "metadata"), "name"), str(slice, "addressType"), port_text,
               list_with_more(addresses, more, total, max), age(slice, now)};
  return row;
}

Row row_for(std::string_view group, std::string_view kind, const Json& obj, std::int64_t now) {
  const std::string name = str(at(obj, "metadata"), "name");
  Row row;
  if (group.empty()) {
    if (kind == "Pod") return pod_row(obj, now);
    if (kind == "Service") return service_row(obj, now);
    if (kind == "Node") return node_row(obj, now);
    if (kind == "Event") return event_row(obj, now);
    if (kind == "Endpoints") {
      row.cells = {name, format_endpoints(obj), age(obj, now)};
      return row;
    }
    if (kind == "Namespace") {
      row.cells = {name, str(at(obj, "status"), "phase"), age(obj, now)};
      return row;
    }
    if (kind == "Secret") {
      row.cells = {name, str(obj, "type"), static_cast<std::int64_t>(count(at(obj, "data"))), age(obj, now)};
      return row;
    }
    if (kind == "ServiceAccount") {
      row.cells = {name, static_cast<std::int64_t>(count(at(obj, "secrets"))), age(obj, now)};
      return row;
    }
    if (kind == "ConfigMap") {
      row.cells = {name, static_cast<std::int64_t>(count(at(obj, "data")) + count(at(obj, "binaryData"))),
                   age(obj, now)};
      return row;
    }
  } else if (group == "apps") {
    if (kind == "Deployment" || kind == "ReplicaSet" || kind == "DaemonSet" || kind == "StatefulSet")
      return workload_row(kind, obj, now);
    if (kind == "ControllerRevision") return controller_revision_row(obj, now);
  } else if (group == "batch") {
    if (kind == "Job") return job_row(obj, now);
    if (kind == "CronJob") return cron_job_row(obj, now);
  } else if (group == "coordination.k8s.io" && kind == "Lease") {
    row.cells = {name, str(at(obj, "spec"), "holderIdentity"), age(obj, now)};
    return row;
  } else if (group == "scheduling.k8s.io" && kind == "PriorityClass") {
    row.cells = {name, num(obj, "value"), flag(obj, "globalDefault"), age(obj, now), str(obj, "preemptionPolicy")};
    return row;
  } else if (group == "discovery.k8s.io" && kind == "EndpointSlice") {
    return endpoint_slice_row(obj, now);
  }
  row.cells = {name, age(obj, now)};
  return row;
}

}  // namespace

std::string human_duration(std::int64_t ms) {
  // int(d.Seconds()) truncates toward zero; up to two seconds in the future counts as now.
  const std::int64_t seconds = ms / 1000;
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  const std::int64_t minutes = ms / 60000;
  if (minutes < 10) {
    std::int64_t s = seconds % 60;
    return s == 0 ? std::to_string(minutes) + "m" : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const std::int64_t hours = ms / 3600000;
  if (hours < 8) {
    std::int64_t m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h" : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    std::int64_t h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d" : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    std::int64_t dy = (hours / 24) % 365;
    return dy == 0 ? std::to_string(hours / 24 / 365) + "y"
                   : std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

nlohmann::json table_columns(const ResourceType& type) { return columns_for(type.id.group, type.kind); }

nlohmann::json table_row(const ResourceType& type, const nlohmann::json& object, std::int64_t now_ms,
                         std::string_view include_object) {
  Row row = row_for(type.id.group, type.kind, object, now_ms);
  Json out = {{"cells", std::move(row.cells)}};
  if (!row.conditions.is_null()) out["conditions"] = std::move(row.conditions);
  if (include_object == "Object") {
    out["object"] = object;
  } else if (include_object != "None") {
    const Json& meta = at(object, "metadata");
    out["object"] = {{"kind", "PartialObjectMetadata"},
                     {"apiVersion", "meta.k8s.io/v1"},
                     {"metadata", meta.is_object() ? meta : Json::object()}};
  }
  return out;
}

namespace {

// The object a row is made from; unreadable JSON still gets a row, from what the store knows.
Json row_source(const plugin::ObjectPtr& ptr) {
  Json obj = parse_json_or_discarded(ptr->json);
  if (!obj.is_object()) {
    obj = {{"metadata", {{"name", ptr->name}}}};
    if (!ptr->ns.empty()) obj["metadata"]["namespace"] = ptr->ns;
  }
  return obj;
}

Json table_metadata(std::string_view resource_version, std::string_view continue_token) {
  Json metadata = Json::object();
  if (!resource_version.empty()) metadata["resourceVersion"] = resource_version;
  if (!continue_token.empty()) metadata["continue"] = continue_token;
  return metadata;
}

}  // namespace

nlohmann::json to_table(const ResourceType& type, const std::vector<plugin::ObjectPtr>& objects, std::int64_t now_ms,
                        std::string_view include_object, std::string_view resource_version) {
  Json rows = Json::array();
  for (const auto& ptr : objects)
    if (ptr) rows.push_back(table_row(type, row_source(ptr), now_ms, include_object));
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", table_metadata(resource_version, {})},
          {"columnDefinitions", table_columns(type)},
          {"rows", std::move(rows)}};
}

std::string to_table_text(const ResourceType& type, const std::vector<plugin::ObjectPtr>& objects, std::int64_t now_ms,
                          std::string_view include_object, std::string_view resource_version,
                          std::string_view continue_token) {
  // Each row is serialized as soon as it is made: a large list never holds every row's DOM at once.
  std::string out = R"({"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":)" +
                    table_metadata(resource_version, continue_token).dump() +
                    R"(,"columnDefinitions":)" + table_columns(type).dump() + R"(,"rows":[)";
  bool first = true;
  for (const auto& ptr : objects) {
    if (!ptr) continue;
    if (!first) out += ',';
    first = false;
    out += table_row(type, row_source(ptr), now_ms, include_object).dump();
  }
  out += "]}";
  return out;
}

}  // namespace skiff::kernel::api
