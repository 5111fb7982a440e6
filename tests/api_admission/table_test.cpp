#include "kernel/api/table.hpp"

#include <gtest/gtest.h>

#include "kernel/util/meta.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;

const std::int64_t kNow = *parse_rfc3339("2026-11-23T10:00:00Z");

std::string ago(std::int64_t ms) { return format_rfc3339(kNow - ms); }

const ResourceType& type_of(std::string_view group, std::string_view kind) {
  static const ResourceRegistry registry = ResourceRegistry::builtin();
  const ResourceType* t = registry.find_kind(group, kind);
  EXPECT_NE(t, nullptr) << kind;
  return *t;
}

Json cells(std::string_view group, std::string_view kind, const Json& obj) {
  return table_row(type_of(group, kind), obj, kNow, "None")["cells"];
}

std::vector<std::string> column_names(const Json& columns) {
  std::vector<std::string> out;
  for (const auto& c : columns) out.push_back(c["name"].get<std::string>() + (c["priority"] == 1 ? "*" : ""));
  return out;
}

// ------------------------------------------------------------------------------------------------

TEST(HumanDuration, MatchesKubernetes) {
  EXPECT_EQ(human_duration(0), "0s");
  EXPECT_EQ(human_duration(999), "0s");
  EXPECT_EQ(human_duration(-1999), "0s");  // clock skew under two seconds counts as now
  EXPECT_EQ(human_duration(-2000), "<invalid>");
  EXPECT_EQ(human_duration(5 * kSecond), "5s");
  EXPECT_EQ(human_duration(119 * kSecond), "119s");
  EXPECT_EQ(human_duration(120 * kSecond), "2m");
  EXPECT_EQ(human_duration(200 * kSecond), "3m20s");
  EXPECT_EQ(human_duration(599 * kSecond), "9m59s");
  EXPECT_EQ(human_duration(10 * kMinute + 30 * kSecond), "10m");
  EXPECT_EQ(human_duration(179 * kMinute + 59 * kSecond), "179m");
  EXPECT_EQ(human_duration(3 * kHour), "3h");
  EXPECT_EQ(human_duration(7 * kHour + 59 * kMinute), "7h59m");
  EXPECT_EQ(human_duration(8 * kHour + 30 * kMinute), "8h");
  EXPECT_EQ(human_duration(47 * kHour + 59 * kMinute), "47h");
  EXPECT_EQ(human_duration(48 * kHour), "2d");
  EXPECT_EQ(human_duration(51 * kHour + 10 * kMinute), "2d3h");
  EXPECT_EQ(human_duration(7 * kDay + 23 * kHour), "7d23h");
  EXPECT_EQ(human_duration(8 * kDay + 5 * kHour), "8d");
  EXPECT_EQ(human_duration(45 * kDay), "45d");
  EXPECT_EQ(human_duration(729 * kDay), "729d");
  EXPECT_EQ(human_duration(730 * kDay), "2y");
  EXPECT_EQ(human_duration(740 * kDay), "2y10d");
  EXPECT_EQ(human_duration(8 * 365 * kDay + 100 * kDay), "8y");
}

// ------------------------------------------------------------------------------------------------
// Pods

Json running_pod() {
  return {
      {"metadata",
       {{"name", "web-1"}, {"namespace", "default"}, {"creationTimestamp", ago(2 * kDay + 3 * kHour)}, {"uid", "u1"}}},
      {"spec",
       {{"nodeName", "n1"},
        {"containers", Json::array({{{"name", "a"}, {"image", "nginx"}}, {{"name", "b"}, {"image", "busybox"}}})}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", "10.1.0.5"},
        {"podIPs", Json::array({{{"ip", "10.1.0.5"}}})},
        {"conditions", Json::array({{{"type", "Ready"}, {"status", "False"}}})},
        {"containerStatuses",
         Json::array(
             {{{"name", "a"},
               {"ready", true},
               {"restartCount", 0},
               {"state", {{"running", {{"startedAt", ago(kDay)}}}}}},
              {{"name", "b"},
               {"ready", false},
               {"restartCount", 3},
               {"state", {{"running", {{"startedAt", ago(4 * kMinute)}}}}},
               {"lastState",
                {{"terminated", {{"exitCode", 1}, {"reason", "Error"}, {"finishedAt", ago(5 * kMinute)}}}}}}})}}}};
}

TEST(PodTable, ColumnsMatchKubectl) {
  Json cols = table_columns(type_of("", "Pod"));
  EXPECT_EQ(column_names(cols), (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP*", "Node*",
                                                          "Nominated Node*", "Readiness Gates*"}));
  EXPECT_EQ(cols[0]["format"], "name");
  EXPECT_EQ(cols[0]["type"], "string");
  EXPECT_EQ(cols[3]["type"], "string");
  EXPECT_EQ(cols[1]["format"], "");
  for (const auto& c : cols) {
    EXPECT_TRUE(c["description"].is_string());
    EXPECT_FALSE(c["description"].get<std::string>().empty());
  }
}

TEST(PodTable, RunningPodWithARestartingContainer) {
  EXPECT_EQ(cells("", "Pod", running_pod()),
            Json::array({"web-1", "1/2", "Running", "3 (5m ago)", "2d3h", "10.1.0.5", "n1", "<none>", "<none>"}));
}

TEST(PodTable, CrashLoopBackOff) {
  Json p = running_pod();
  p["spec"]["containers"] = Json::array({{{"name", "a"}, {"image", "x"}}});
  p["status"]["containerStatuses"] = Json::array(
      {{{"name", "a"},
        {"ready", false},
        {"restartCount", 7},
        {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}, {"message", "back-off 5m0s"}}}}},
        {"lastState", {{"terminated", {{"exitCode", 2}, {"reason", "Error"}, {"finishedAt", ago(40 * kSecond)}}}}}}});
  Json c = cells("", "Pod", p);
  EXPECT_EQ(c[1], "0/1");
  EXPECT_EQ(c[2], "CrashLoopBackOff");
  EXPECT_EQ(c[3], "7 (40s ago)");
}

TEST(PodTable, TerminatingPendingAndCompleted) {
  Json terminating = running_pod();
  terminating["metadata"]["deletionTimestamp"] = ago(0);
  EXPECT_EQ(cells("", "Pod", terminating)[2], "Terminating");

  Json lost = terminating;
  lost["status"]["reason"] = "NodeLost";
  EXPECT_EQ(cells("", "Pod", lost)[2], "Unknown");

  Json pending = {{"metadata", {{"name", "p"}, {"creationTimestamp", ago(5 * kSecond)}}},
                  {"spec", {{"containers", Json::array({{{"name", "a"}}})}}},
                  {"status", {{"phase", "Pending"}}}};
  EXPECT_EQ(cells("", "Pod", pending),
            Json::array({"p", "0/1", "Pending", "0", "5s", "<none>", "<none>", "<none>", "<none>"}));

  Json creating = pending;
  creating["spec"]["nodeName"] = "n2";
  creating["status"]["containerStatuses"] =
      Json::array({{{"name", "a"},
                    {"ready", false},
                    {"restartCount", 0},
                    {"state", {{"waiting", {{"reason", "ContainerCreating"}}}}}}});
  EXPECT_EQ(cells("", "Pod", creating)[2], "ContainerCreating");

  Json done = pending;
  done["status"] = {
      {"phase", "Succeeded"},
      {"containerStatuses", Json::array({{{"name", "a"},
                                          {"ready", false},
                                          {"restartCount", 0},
                                          {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}}})}};
  Json row = table_row(type_of("", "Pod"), done, kNow, "None");
  EXPECT_EQ(row["cells"][2], "Completed");
  EXPECT_EQ(row["conditions"], Json::array({{{"type", "Completed"},
                                             {"status", "True"},
                                             {"reason", "Succeeded"},
                                             {"message", "The pod has completed successfully."}}}));

  Json signal = pending;
  signal["status"]["containerStatuses"] = Json::array(
      {{{"name", "a"}, {"restartCount", 0}, {"state", {{"terminated", {{"exitCode", 137}, {"signal", 9}}}}}}});
  EXPECT_EQ(cells("", "Pod", signal)[2], "Signal:9");

  Json gated = pending;
  gated["status"]["conditions"] =
      Json::array({{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "SchedulingGated"}}});
  EXPECT_EQ(cells("", "Pod", gated)[2], "SchedulingGated");
}

TEST(PodTable, InitContainers) {
  Json p = {
      {"metadata", {{"name", "p"}, {"creationTimestamp", ago(kMinute)}}},
      {"spec",
       {{"initContainers", Json::array({{{"name", "i1"}}, {{"name", "i2"}}})},
        {"containers", Json::array({{{"name", "a"}}})},
        {"readinessGates", Json::array({{{"conditionType", "example.com/ready"}}})}}},
      {"status",
       {{"phase", "Pending"},
        {"conditions", Json::array({{{"type", "example.com/ready"}, {"status", "True"}}})},
        {"initContainerStatuses",
         Json::array(
             {{{"name", "i1"}, {"restartCount", 0}, {"state", {{"running", Json::object()}}}},
              {{"name", "i2"}, {"restartCount", 0}, {"state", {{"waiting", {{"reason", "PodInitializing"}}}}}}})}}}};
  Json c = cells("", "Pod", p);
  EXPECT_EQ(c[2], "Init:0/2");
  EXPECT_EQ(c[8], "1/1");

  p["status"]["initContainerStatuses"][0]["state"] = {{"terminated", {{"exitCode", 0}}}};
  p["status"]["initContainerStatuses"][1]["state"] = {{"waiting", {{"reason", "ErrImagePull"}}}};
  p["status"]["initContainerStatuses"][1]["restartCount"] = 2;
  c = cells("", "Pod", p);
  EXPECT_EQ(c[2], "Init:ErrImagePull");
  EXPECT_EQ(c[3], "2");

  p["status"]["initContainerStatuses"][1]["state"] = {{"terminated", {{"exitCode", 3}}}};
  EXPECT_EQ(cells("", "Pod", p)[2], "Init:ExitCode:3");

  // A running sidecar (restartPolicy Always) counts towards READY and does not block.
  Json sidecar = {
      {"metadata", {{"name", "s"}, {"creationTimestamp", ago(kMinute)}}},
      {"spec",
       {{"initContainers", Json::array({{{"name", "proxy"}, {"restartPolicy", "Always"}}})},
        {"containers", Json::array({{{"name", "a"}}})}}},
      {"status",
       {{"phase", "Running"},
        {"initContainerStatuses", Json::array({{{"name", "proxy"},
                                                {"restartCount", 1},
                                                {"started", true},
                                                {"ready", true},
                                                {"state", {{"running", Json::object()}}}}})},
        {"containerStatuses",
         Json::array(
             {{{"name", "a"}, {"ready", true}, {"restartCount", 0}, {"state", {{"running", Json::object()}}}}})}}}};
  c = cells("", "Pod", sidecar);
  EXPECT_EQ(c[1], "2/2");
  EXPECT_EQ(c[2], "Running");
  EXPECT_EQ(c[3], "1");
}

// ------------------------------------------------------------------------------------------------
// Other kinds

TEST(ServiceTable, NodePortLoadBalancerExternalName) {
  EXPECT_EQ(column_names(table_columns(type_of("", "Service"))),
            (std::vector<std::string>{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"}));
  Json np = {{"metadata", {{"name", "web"}, {"creationTimestamp", ago(5 * kMinute)}}},
             {"spec",
              {{"type", "NodePort"},
               {"clusterIP", "10.96.0.20"},
               {"clusterIPs", {"10.96.0.20"}},
               {"selector", {{"app", "web"}, {"tier", "fe"}}},
               {"ports", Json::array({{{"port", 80}, {"nodePort", 30080}, {"protocol", "TCP"}},
                                      {{"port", 53}, {"protocol", "UDP"}}})}}}};
  EXPECT_EQ(cells("", "Service", np),
            Json::array({"web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP,53/UDP", "5m", "app=web,tier=fe"}));

  Json lb = np;
  lb["spec"]["type"] = "LoadBalancer";
  EXPECT_EQ(cells("", "Service", lb)[3], "<pending>");
  lb["status"] = {
      {"loadBalancer", {{"ingress", Json::array({{{"ip", "203.0.113.9"}}, {{"hostname", "lb.example.com"}}})}}}};
  EXPECT_EQ(cells("", "Service", lb)[3], "203.0.113.9,lb.example.com");

  Json en = {{"metadata", {{"name", "db"}, {"creationTimestamp", ago(kHour)}}},
             {"spec", {{"type", "ExternalName"}, {"externalName", "db.example.com"}}}};
  EXPECT_EQ(cells("", "Service", en),
            Json::array({"db", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"}));

  Json headless = np;
  headless["spec"] = {{"type", "ClusterIP"},
                      {"clusterIP", "None"},
                      {"clusterIPs", {"None"}},
                      {"ports", Json::array({{{"port", 5432}, {"protocol", "TCP"}}})}};
  EXPECT_EQ(cells("", "Service", headless)[2], "None");
}

TEST(NodeTable, CordonedControlPlane) {
  EXPECT_EQ(column_names(table_columns(type_of("", "Node"))),
            (std::vector<std::string>{"Name", "Status", "Roles", "Age", "Version", "Internal-IP*", "External-IP*",
                                      "OS-Image*", "Kernel-Version*", "Container-Runtime*"}));
  Json node = {{"metadata",
                {{"name", "n1"},
                 {"creationTimestamp", ago(45 * kDay)},
                 {"labels", {{"node-role.kubernetes.io/control-plane", ""}}}}},
               {"spec", {{"unschedulable", true}}},
               {"status",
                {{"conditions", Json::array({{{"type", "MemoryPressure"}, {"status", "False"}},
                                             {{"type", "Ready"}, {"status", "True"}}})},
                 {"addresses", Json::array({{{"type", "InternalIP"}, {"address", "192.168.1.10"}},
                                            {{"type", "Hostname"}, {"address", "n1"}}})},
                 {"nodeInfo",
                  {{"kubeletVersion", "v1.32.0"},
                   {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                   {"kernelVersion", "6.1.0-28-amd64"},
                   {"containerRuntimeVersion", "skiff://0.1.0"}}}}}};
  EXPECT_EQ(cells("", "Node", node),
            Json::array({"n1", "Ready,SchedulingDisabled", "control-plane", "45d", "v1.32.0", "192.168.1.10", "<none>",
                         "Debian GNU/Linux 12 (bookworm)", "6.1.0-28-amd64", "skiff://0.1.0"}));
  Json not_ready = node;
  not_ready["spec"].erase("unschedulable");
  not_ready["status"]["conditions"][1]["status"] = "Unknown";
  not_ready["metadata"]["labels"] = {{"kubernetes.io/role", "worker"}};
  not_ready["status"].erase("nodeInfo");
  Json c = cells("", "Node", not_ready);
  EXPECT_EQ(c[1], "NotReady");
  EXPECT_EQ(c[2], "worker");
  EXPECT_EQ(c[7], "<unknown>");
  Json bare = {{"metadata", {{"name", "n2"}}}};
  EXPECT_EQ(cells("", "Node", bare), Json::array({"n2", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>",
                                                  "<unknown>", "<unknown>", "<unknown>"}));
}

TEST(WorkloadTables, DeploymentReplicaSetDaemonSetStatefulSet) {
  EXPECT_EQ(column_names(table_columns(type_of("apps", "Deployment"))),
            (std::vector<std::string>{"Name", "Ready", "Up-to-date", "Available", "Age", "Containers*", "Images*",
                                      "Selector*"}));
  Json d = {{"metadata", {{"name", "web"}, {"creationTimestamp", ago(3 * kMinute + 20 * kSecond)}}},
            {"spec",
             {{"replicas", 3},
              {"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template",
               {{"spec",
                 {{"containers", Json::array({{{"name", "nginx"}, {"image", "nginx:1.27"}},
                                              {{"name", "log"}, {"image", "busybox"}}})}}}}}}},
            {"status", {{"replicas", 3}, {"readyReplicas", 2}, {"updatedReplicas", 3}, {"availableReplicas", 2}}}};
  EXPECT_EQ(cells("apps", "Deployment", d),
            Json::array({"web", "2/3", 3, 2, "3m20s", "nginx,log", "nginx:1.27,busybox", "app=web"}));

  Json rs = d;
  rs["metadata"]["name"] = "web-5d4f";
  EXPECT_EQ(cells("apps", "ReplicaSet", rs),
            Json::array({"web-5d4f", 3, 3, 2, "3m20s", "nginx,log", "nginx:1.27,busybox", "app=web"}));

  Json ds = d;
  ds["spec"]["template"]["spec"]["nodeSelector"] = {{"kubernetes.io/os", "linux"}};
  ds["spec"]["selector"] = {
      {"matchExpressions", Json::array({{{"key", "app"}, {"operator", "In"}, {"values", {"agent", "web"}}}})}};
  ds["status"] = {{"desiredNumberScheduled", 4},
                  {"currentNumberScheduled", 4},
                  {"numberReady", 3},
                  {"updatedNumberScheduled", 4},
                  {"numberAvailable", 3}};
  EXPECT_EQ(cells("apps", "DaemonSet", ds), Json::array({"web", 4, 4, 3, 4, 3, "kubernetes.io/os=linux", "3m20s",
                                                         "nginx,log", "nginx:1.27,busybox", "app in (agent,web)"}));

  Json ss = d;
  EXPECT_EQ(cells("apps", "StatefulSet", ss), Json::array({"web", "2/3", "3m20s", "nginx,log", "nginx:1.27,busybox"}));
}

TEST(BatchTables, JobAndCronJob) {
  EXPECT_EQ(column_names(table_columns(type_of("batch", "Job"))),
            (std::vector<std::string>{"Name", "Status", "Completions", "Duration", "Age", "Containers*", "Images*",
                                      "Selector*"}));
  Json job = {{"metadata", {{"name", "pi"}, {"creationTimestamp", ago(2 * kMinute)}}},
              {"spec",
               {{"completions", 1},
                {"parallelism", 1},
                {"selector", {{"matchLabels", {{"batch.kubernetes.io/controller-uid", "u1"}}}}},
                {"template", {{"spec", {{"containers", Json::array({{{"name", "pi"}, {"image", "perl"}}})}}}}}}},
              {"status",
               {{"succeeded", 1},
                {"startTime", ago(2 * kMinute)},
                {"completionTime", ago(90 * kSecond)},
                {"conditions", Json::array({{{"type", "Complete"}, {"status", "True"}}})}}}};
  EXPECT_EQ(cells("batch", "Job", job),
            Json::array({"pi", "Complete", "1/1", "30s", "2m", "pi", "perl", "batch.kubernetes.io/controller-uid=u1"}));
  Json running = job;
  running["status"] = {{"startTime", ago(20 * kSecond)}};
  running["spec"].erase("completions");
  running["spec"]["parallelism"] = 3;
  Json c = cells("batch", "Job", running);
  EXPECT_EQ(c[1], "Running");
  EXPECT_EQ(c[2], "0/1 of 3");
  EXPECT_EQ(c[3], "20s");
  Json fresh = running;
  fresh["status"] = Json::object();
  EXPECT_EQ(cells("batch", "Job", fresh)[3], "");

  EXPECT_EQ(column_names(table_columns(type_of("batch", "CronJob"))),
            (std::vector<std::string>{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
                                      "Containers*", "Images*", "Selector*"}));
  Json cj = {
      {"metadata", {{"name", "nightly"}, {"creationTimestamp", ago(10 * kDay)}}},
      {"spec",
       {{"schedule", "0 3 * * *"},
        {"suspend", false},
        {"jobTemplate",
         {{"spec",
           {{"template", {{"spec", {{"containers", Json::array({{{"name", "b"}, {"image", "busybox"}}})}}}}}}}}}}},
      {"status", Json::object()}};
  EXPECT_EQ(cells("batch", "CronJob", cj),
            Json::array({"nightly", "0 3 * * *", "<none>", "False", 0, "<none>", "10d", "b", "busybox", "<none>"}));
  cj["spec"]["timeZone"] = "Europe/Berlin";
  cj["status"] = {{"active", Json::array({{{"name", "nightly-1"}}})}, {"lastScheduleTime", ago(7 * kHour)}};
  c = cells("batch", "CronJob", cj);
  EXPECT_EQ(c[2], "Europe/Berlin");
  EXPECT_EQ(c[4], 1);
  EXPECT_EQ(c[5], "7h");
}

TEST(EventTable, LastSeenObjectAndSource) {
  EXPECT_EQ(column_names(table_columns(type_of("", "Event"))),
            (std::vector<std::string>{"Last Seen", "Type", "Reason", "Object", "Subobject*", "Source*", "Message",
                                      "First Seen*", "Count*", "Name*"}));
  EXPECT_EQ(table_columns(type_of("", "Event"))[9]["format"], "name");
  Json ev = {{"metadata", {{"name", "web-1.17a"}, {"creationTimestamp", ago(10 * kMinute)}}},
             {"involvedObject", {{"kind", "Pod"}, {"name", "web-1"}, {"fieldPath", "spec.containers{web}"}}},
             {"type", "Warning"},
             {"reason", "BackOff"},
             {"message", "  Back-off restarting failed container\n"},
             {"source", {{"component", "kubelet"}, {"host", "n1"}}},
             {"firstTimestamp", ago(10 * kMinute)},
             {"lastTimestamp", ago(30 * kSecond)},
             {"count", 5}};
  EXPECT_EQ(cells("", "Event", ev),
            Json::array({"30s", "Warning", "BackOff", "pod/web-1", "spec.containers{web}", "kubelet, n1",
                         "Back-off restarting failed container", "10m", 5, "web-1.17a"}));
  Json modern = {{"metadata", {{"name", "e2"}}},
                 {"involvedObject", {{"kind", "Node"}, {"name", "n1"}}},
                 {"type", "Normal"},
                 {"reason", "Starting"},
                 {"eventTime", "2026-11-23T09:59:00.123456Z"},
                 {"reportingComponent", "skiff-kubelet"}};
  Json c = cells("", "Event", modern);
  EXPECT_EQ(c[0], "59s");
  EXPECT_EQ(c[5], "skiff-kubelet");
  EXPECT_EQ(c[7], "59s");
  EXPECT_EQ(c[8], 1);
}

TEST(SmallTables, NamespaceSecretConfigMapAndMore) {
  EXPECT_EQ(
      cells("", "Namespace",
            {{"metadata", {{"name", "default"}, {"creationTimestamp", ago(kDay)}}}, {"status", {{"phase", "Active"}}}}),
      Json::array({"default", "Active", "24h"}));
  EXPECT_EQ(cells("", "Secret",
                  {{"metadata", {{"name", "s"}, {"creationTimestamp", ago(kDay)}}},
                   {"type", "Opaque"},
                   {"data", {{"a", "YQ=="}, {"b", "Yg=="}}}}),
            Json::array({"s", "Opaque", 2, "24h"}));
  EXPECT_EQ(cells("", "ConfigMap",
                  {{"metadata", {{"name", "c"}, {"creationTimestamp", ago(kDay)}}},
                   {"data", {{"a", "1"}}},
                   {"binaryData", {{"b", "AA=="}}}}),
            Json::array({"c", 2, "24h"}));
  EXPECT_EQ(cells("", "ServiceAccount", {{"metadata", {{"name", "default"}, {"creationTimestamp", ago(kDay)}}}}),
            Json::array({"default", 0, "24h"}));
  Json ep = {
      {"metadata", {{"name", "web"}, {"creationTimestamp", ago(kDay)}}},
      {"subsets",
       Json::array(
           {{{"addresses",
              Json::array({{{"ip", "10.1.0.5"}}, {{"ip", "10.1.0.6"}}, {{"ip", "10.1.0.7"}}, {{"ip", "10.1.0.8"}}})},
             {"ports", Json::array({{{"port", 80}}})}}})}};
  EXPECT_EQ(cells("", "Endpoints", ep), Json::array({"web", "10.1.0.5:80,10.1.0.6:80,10.1.0.7:80 + 1 more...", "24h"}));
  EXPECT_EQ(cells("", "Endpoints", {{"metadata", {{"name", "none"}}}}), Json::array({"none", "<none>", "<unknown>"}));
  EXPECT_EQ(
      cells("coordination.k8s.io", "Lease",
            {{"metadata", {{"name", "n1"}, {"creationTimestamp", ago(kHour)}}}, {"spec", {{"holderIdentity", "n1"}}}}),
      Json::array({"n1", "n1", "60m"}));
  EXPECT_EQ(column_names(table_columns(type_of("scheduling.k8s.io", "PriorityClass"))),
            (std::vector<std::string>{"Name", "Value", "Global-Default", "Age", "PreemptionPolicy"}));
  EXPECT_EQ(cells("scheduling.k8s.io", "PriorityClass",
                  {{"metadata", {{"name", "high"}, {"creationTimestamp", ago(kDay)}}},
                   {"value", 1000},
                   {"preemptionPolicy", "PreemptLowerPriority"}}),
            Json::array({"high", 1000, false, "24h", "PreemptLowerPriority"}));
  EXPECT_EQ(cells("discovery.k8s.io", "EndpointSlice",
                  {{"metadata", {{"name", "web-abc"}, {"creationTimestamp", ago(kDay)}}},
                   {"addressType", "IPv4"},
                   {"ports", Json::array({{{"port", 80}}, {{"name", "https"}}})},
                   {"endpoints", Json::array({{{"addresses", {"10.1.0.5"}}}})}}),
            Json::array({"web-abc", "IPv4", "80,https", "10.1.0.5", "24h"}));
  EXPECT_EQ(
      cells("apps", "ControllerRevision",
            {{"metadata",
              {{"name", "ds-1"},
               {"creationTimestamp", ago(kDay)},
               {"ownerReferences",
                Json::array(
                    {{{"apiVersion", "apps/v1"}, {"kind", "DaemonSet"}, {"name", "ds"}, {"controller", true}}})}}},
             {"revision", 2}}),
      Json::array({"ds-1", "daemonset.apps/ds", 2, "24h"}));
}

TEST(Table, WholeTableAndIncludeObject) {
  auto obj = std::make_shared<plugin::Object>();
  Json pod = running_pod();
  obj->json = pod.dump();
  obj->name = "web-1";
  obj->ns = "default";
  std::vector<plugin::ObjectPtr> objects = {obj};

  Json table = to_table(type_of("", "Pod"), objects, kNow, "Metadata", "106");
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(table["metadata"], Json({{"resourceVersion", "106"}}));
  EXPECT_EQ(table["columnDefinitions"].size(), 9u);
  ASSERT_EQ(table["rows"].size(), 1u);
  EXPECT_EQ(table["rows"][0]["object"],
            Json({{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", pod["metadata"]}}));
  EXPECT_FALSE(table["rows"][0].contains("conditions"));

  EXPECT_EQ(to_table(type_of("", "Pod"), objects, kNow, "Object", "")["rows"][0]["object"], pod);
  EXPECT_EQ(to_table(type_of("", "Pod"), objects, kNow, "", "")["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  Json none = to_table(type_of("", "Pod"), objects, kNow, "None", "");
  EXPECT_FALSE(none["rows"][0].contains("object"));
  EXPECT_EQ(none["metadata"], Json::object());

  auto broken = std::make_shared<plugin::Object>();
  broken->json = "{not json";
  broken->name = "weird";
  Json t = to_table(type_of("", "Pod"), {broken}, kNow, "Metadata", "1");
  EXPECT_EQ(t["rows"][0]["cells"][0], "weird");
}

TEST(Table, UnknownKindsGetNameAndAge) {
  ResourceType widget;
  widget.id = {"example.com", "v1", "widgets"};
  widget.kind = "Widget";
  EXPECT_EQ(column_names(table_columns(widget)), (std::vector<std::string>{"Name", "Age"}));
  EXPECT_EQ(table_row(widget, {{"metadata", {{"name", "w"}, {"creationTimestamp", ago(90 * kSecond)}}}}, kNow,
                      "None")["cells"],
            Json::array({"w", "90s"}));
}

TEST(Table, GarbageNeverThrows) {
  const Json weird[] = {nullptr,
                        1,
                        "x",
                        Json::array({1}),
                        Json::object(),
                        Json({{"spec", 1}, {"status", "x"}, {"metadata", Json::array()}})};
  const ResourceRegistry registry = ResourceRegistry::builtin();
  for (const auto* t : registry.all())
    for (const auto& w : weird) {
      EXPECT_NO_THROW(table_row(*t, w, kNow, "Metadata")) << t->kind;
      Json p = running_pod();
      p["status"]["containerStatuses"] = Json::array({w, {{"state", w}, {"lastState", {{"terminated", w}}}}});
      p["spec"]["containers"] = w;
      EXPECT_NO_THROW(table_row(*t, p, kNow, "Object")) << t->kind;
    }
}

}  // namespace
}  // namespace skiff::kernel::api
