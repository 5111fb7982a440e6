// The pod spec, end to end with real containers: skiffd with `--agent.runtime=runc`, manifests
// applied with the real kubectl, and what the container sees read back with `kubectl exec` — env
// from a ConfigMap, a Secret and the downward API; configMap, secret, emptyDir (shared by two
// containers) and hostPath volumes; readOnly mounts refusing writes; a container waiting for a
// missing ConfigMap until it appears; OOMKilled from a real memory cgroup; CrashLoopBackOff with
// growing delays. One skiffd serves every test of this file (started once, as the node would be).
// Needs root (runc, namespaces, mounts, cgroups); fails naming what is missing.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/runtime/runc_cluster.hpp"

namespace skiff::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kImage = "skiff.test/box:1";

class RuncPodSpecE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!runc_e2e_missing().empty()) return;
    // Restart delays of 1 s doubling (Kubernetes: 10 s) keep the CrashLoopBackOff test short.
    runc_ = new RuncCluster("podspec", "10.196.0.0/24", {"--agent.restart-backoff-base-ms=1000"});
    if (!runc_->problem().empty()) return;
    TestImage image;
    image.layers.push_back(busybox_layer());
    image.cmd = {"/bin/sleep", "3600"};
    imported_ = runc_->import(image, kImage);
  }
  static void TearDownTestSuite() {
    delete runc_;
    runc_ = nullptr;
  }
  void SetUp() override {
    std::string missing = runc_e2e_missing();
    ASSERT_TRUE(missing.empty()) << missing;
    ASSERT_EQ(runc_->problem(), "");
    ASSERT_EQ(imported_.exit_code, 0) << imported_.out << imported_.err;
  }

  Cluster& cluster() { return runc_->cluster(); }
  ProcessResult apply(const std::string& manifest) { return cluster().kubectl({"apply", "-f", "-"}, manifest); }
  json pod(const std::string& name) { return cluster().kubectl_json({"get", "pod", name}); }
  bool ready(const std::string& name) {
    auto r = cluster().kubectl({"wait", "--for=condition=Ready", "pod/" + name, "--timeout=60s"}, {}, 90s);
    EXPECT_EQ(r.exit_code, 0) << r.err << json(pod(name)).dump();
    return r.exit_code == 0;
  }
  ProcessResult exec(const std::string& pod_name, const std::string& container, std::vector<std::string> command) {
    std::vector<std::string> args = {"exec", pod_name, "-c", container, "--"};
    args.insert(args.end(), command.begin(), command.end());
    return cluster().kubectl(args);
  }
  void remove(const std::string& name) {
    auto r = cluster().kubectl({"delete", "pod", name, "--wait=true", "--timeout=60s"}, {}, 90s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::vector<std::string> events(const std::string& name, const std::string& reason) {
    std::vector<std::string> out;
    for (const auto& e : cluster().kubectl_json({"get", "events"}).value("items", json::array()))
      if (e["involvedObject"].value("name", "") == name && e.value("reason", "") == reason)
        out.push_back(e.value("message", ""));
    return out;
  }

  static RuncCluster* runc_;
  static ProcessResult imported_;
};
RuncCluster* RuncPodSpecE2E::runc_ = nullptr;
ProcessResult RuncPodSpecE2E::imported_;

constexpr const char* kConfig = R"yaml(apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  MODE: fast
  GREETING: hello from a configmap
  app.conf: |
    port=8080
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
stringData:
  PASSWORD: s3cr3t
  API_KEY: k-123
)yaml";

TEST_F(RuncPodSpecE2E, EnvFromAConfigMapASecretAndTheDownwardApi) {
  ASSERT_EQ(apply(kConfig).exit_code, 0);
  auto applied = apply(R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: env
  labels:
    tier: backend
  annotations:
    owner: team-a
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: skiff.test/box:1
    command: ["/bin/sh", "-c"]
    args: ["echo '$(GREETING) as $(POD_NAME), $$(POD_NAME) stays' > /tmp/args; exec sleep 3600"]
    resources:
      limits:
        memory: 64Mi
        cpu: 500m
    envFrom:
    - secretRef:
        name: app-secret
      prefix: SECRET_
    env:
    - name: MODE
      valueFrom:
        configMapKeyRef: {name: app-config, key: MODE}
    - name: GREETING
      valueFrom:
        configMapKeyRef: {name: app-config, key: GREETING}
    - name: PASSWORD
      valueFrom:
        secretKeyRef: {name: app-secret, key: PASSWORD}
    - name: URL
      value: "db://admin:$(PASSWORD)@db/$(MODE)"
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NAMESPACE
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: POD_UID
      valueFrom: {fieldRef: {fieldPath: metadata.uid}}
    - name: TIER
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
    - name: OWNER
      valueFrom: {fieldRef: {fieldPath: "metadata.annotations['owner']"}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: MEMORY_MI
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    - name: CPU_MILLIS
      valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}
)yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  ASSERT_TRUE(ready("env"));
  json p = pod("env");

  // What the process really has, as the container sees it.
  auto printed = exec("env", "app", {"env"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  std::map<std::string, std::string> env;
  std::istringstream lines(printed.out);
  for (std::string line; std::getline(lines, line);)
    if (auto eq = line.find('='); eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  EXPECT_EQ(env["MODE"], "fast");
  EXPECT_EQ(env["GREETING"], "hello from a configmap");
  EXPECT_EQ(env["PASSWORD"], "s3cr3t");
  EXPECT_EQ(env["SECRET_PASSWORD"], "s3cr3t");
  EXPECT_EQ(env["SECRET_API_KEY"], "k-123");
  EXPECT_EQ(env["URL"], "db://admin:s3cr3t@db/fast");
  EXPECT_EQ(env["POD_NAME"], "env");
  EXPECT_EQ(env["POD_NAMESPACE"], "default");
  EXPECT_EQ(env["POD_UID"], p["metadata"]["uid"]);
  EXPECT_EQ(env["TIER"], "backend");
  EXPECT_EQ(env["OWNER"], "team-a");
  EXPECT_EQ(env["NODE"], "box");
  EXPECT_EQ(env["POD_IP"], p["status"]["podIP"]);
  EXPECT_EQ(env["MEMORY_MI"], "64");
  EXPECT_EQ(env["CPU_MILLIS"], "500");
  // $(VAR) in args was expanded by the agent; $$ kept one '$' and no expansion.
  auto args = exec("env", "app", {"cat", "/tmp/args"});
  EXPECT_EQ(args.out, "hello from a configmap as env, $(POD_NAME) stays\n") << args.err;
  remove("env");
}

TEST_F(RuncPodSpecE2E, AContainerWaitsForAMissingConfigMapAndStartsWhenItAppears) {
  auto applied = apply(R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: waiting
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: skiff.test/box:1
    env:
    - name: LATE
      valueFrom:
        configMapKeyRef: {name: late-config, key: VALUE}
)yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  json p;
  ASSERT_TRUE(eventually(
      [&] {
        p = pod("waiting");
        json cs = p.value("status", json::object()).value("containerStatuses", json::array());
        return !cs.empty() && cs[0]["state"].contains("waiting") &&
               cs[0]["state"]["waiting"].value("reason", "") == "CreateContainerConfigError";
      },
      30s))
      << p.dump();
  EXPECT_EQ(p["status"]["containerStatuses"][0]["state"]["waiting"]["message"], "configmap \"late-config\" not found");
  EXPECT_EQ(p["status"]["phase"], "Pending");
  std::vector<std::string> failed;
  EXPECT_TRUE(eventually([&] { return !(failed = events("waiting", "Failed")).empty(); }, 10s));
  if (!failed.empty()) {
    EXPECT_EQ(failed[0], "Error: configmap \"late-config\" not found");
  }

  auto created = cluster().kubectl({"create", "configmap", "late-config", "--from-literal=VALUE=arrived"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_TRUE(ready("waiting"));
  auto value = exec("waiting", "app", {"/bin/sh", "-c", "echo $LATE"});
  EXPECT_EQ(value.out, "arrived\n") << value.err;
  remove("waiting");
}

TEST_F(RuncPodSpecE2E, VolumesAreSharedMountedAndReadOnlyWhereAsked) {
  ASSERT_EQ(apply(kConfig).exit_code, 0);
  const fs::path host = runc_->dir() / "host-data";
  fs::create_directories(host);
  std::ofstream(host / "from-host.txt") << "written on the node\n";
  const fs::path created_dir = runc_->dir() / "made-by-agent" / "deep";
  std::string manifest = R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: vols
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: config
    configMap:
      name: app-config
      items:
      - {key: app.conf, path: conf/app.conf}
  - name: secret
    secret:
      secretName: app-secret
  - name: shared
    emptyDir: {}
  - name: memory
    emptyDir: {medium: Memory, sizeLimit: 8Mi}
  - name: host
    hostPath: {path: HOST, type: Directory}
  - name: created
    hostPath: {path: CREATED, type: DirectoryOrCreate}
  containers:
  - name: writer
    image: skiff.test/box:1
    command: ["/bin/sh", "-c", "echo from the writer > /shared/note; exec sleep 3600"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: host, mountPath: /host}
  - name: reader
    image: skiff.test/box:1
    volumeMounts:
    - {name: shared, mountPath: /shared, readOnly: true}
    - {name: config, mountPath: /etc/app}
    - {name: config, mountPath: /app.conf, subPath: conf/app.conf}
    - {name: secret, mountPath: /etc/secret}
    - {name: memory, mountPath: /mem}
    - {name: host, mountPath: /host-ro, readOnly: true}
    - {name: created, mountPath: /created}
)yaml";
  manifest.replace(manifest.find("HOST"), 4, host.string());
  manifest.replace(manifest.find("CREATED"), 7, created_dir.string());
  auto applied = apply(manifest);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  ASSERT_TRUE(ready("vols"));
  const std::string uid = pod("vols")["metadata"]["uid"];

  // emptyDir: what one container writes, the other reads.
  std::string note;
  EXPECT_TRUE(eventually([&] { return (note = exec("vols", "reader", {"cat", "/shared/note"}).out) == "from the writer\n"; }, 10s))
      << note;
  // configMap files (items, and one file through subPath) and secret files with Kubernetes' mode.
  EXPECT_EQ(exec("vols", "reader", {"cat", "/etc/app/conf/app.conf"}).out, "port=8080\n");
  EXPECT_EQ(exec("vols", "reader", {"cat", "/app.conf"}).out, "port=8080\n");
  EXPECT_EQ(exec("vols", "reader", {"cat", "/etc/secret/PASSWORD"}).out, "s3cr3t");
  EXPECT_EQ(exec("vols", "reader", {"stat", "-c", "%a", "/etc/secret/PASSWORD"}).out, "644\n");
  // medium: Memory is a tmpfs of the size asked for.
  auto mem = exec("vols", "reader", {"df", "-k", "/mem"});
  EXPECT_NE(mem.out.find("tmpfs"), std::string::npos) << mem.out;
  EXPECT_NE(mem.out.find(" 8192 "), std::string::npos) << mem.out;
  // hostPath: the node's file is there, and what the pod writes lands on the node.
  EXPECT_EQ(exec("vols", "reader", {"cat", "/host-ro/from-host.txt"}).out, "written on the node\n");
  auto wrote = exec("vols", "writer", {"/bin/sh", "-c", "echo from the pod > /host/from-pod.txt"});
  EXPECT_EQ(wrote.exit_code, 0) << wrote.err;
  EXPECT_EQ(read_all(host / "from-pod.txt"), "from the pod\n");
  EXPECT_TRUE(fs::is_directory(created_dir)) << "DirectoryOrCreate made it on the node";
  EXPECT_EQ(exec("vols", "reader", {"/bin/sh", "-c", "echo ok > /created/file"}).exit_code, 0);

  // Read-only mounts refuse writes in the container: readOnly: true, and configMap/secret always.
  for (const char* target : {"/shared/x", "/host-ro/x", "/etc/app/x", "/etc/secret/x"}) {
    auto refused = exec("vols", "reader", {"/bin/sh", "-c", std::string("echo no > ") + target});
    EXPECT_NE(refused.exit_code, 0) << target;
    EXPECT_NE(refused.err.find("Read-only file system"), std::string::npos) << target << ": " << refused.err;
  }
  EXPECT_FALSE(fs::exists(host / "x"));

  // The pod goes: its volumes' directory and tmpfs mounts go; the hostPath stays.
  const fs::path pod_dir = fs::path(runc_->data()) / "pods" / uid;
  EXPECT_TRUE(fs::exists(pod_dir));
  remove("vols");
  EXPECT_TRUE(eventually([&] { return !fs::exists(pod_dir); }, 20s)) << pod_dir;
  EXPECT_EQ(read_all("/proc/self/mountinfo").find(pod_dir.string()), std::string::npos) << "a pod volume stays mounted";
  EXPECT_TRUE(fs::exists(host / "from-pod.txt"));
}

TEST_F(RuncPodSpecE2E, AMountOfAnUnknownVolumeIsRefusedByTheApi) {
  auto refused = apply(R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: bad-mount
spec:
  containers:
  - name: app
    image: skiff.test/box:1
    volumeMounts:
    - {name: nowhere, mountPath: /data}
)yaml");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("The Pod \"bad-mount\" is invalid: spec.containers[0].volumeMounts[0].name: Not found: \"nowhere\""),
            std::string::npos)
      << refused.err;
}

// What the node knows of a pod's first container, for a failure message: the runtime's files and,
// from its memory cgroup, the limit, the OOM counters and the state of each process still in it.
std::string container_report(const std::string& data_dir, const json& pod) {
  auto read = [](const fs::path& f) {
    std::string text = read_all(f);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
  };
  json cs = pod.value("status", json::object()).value("containerStatuses", json::array());
  if (cs.empty()) return "no container status";
  std::string id = cs[0].value("containerID", "");
  if (id.rfind("runc://", 0) == 0) id = id.substr(7);
  fs::path dir = fs::path(data_dir) / "runtime/runc/containers" / id;
  std::ostringstream out;
  out << "container " << id << ": exit.json=" << read(dir / "exit.json") << " shim.pid=" << read(dir / "shim.pid");
  json meta = json::parse(read(dir / "container.json"), nullptr, false);
  if (!meta.is_object()) return out.str() + " (no container.json)";
  fs::path cg = fs::path("/sys/fs/cgroup/memory") / meta.value("cgroups_path", "/").substr(1);
  for (const char* f : {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.usage_in_bytes",
                        "memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control"})
    out << "\n" << f << ": " << read(cg / f);
  std::istringstream pids(read(cg / "cgroup.procs"));
  for (std::string pid; pids >> pid;)
    out << "\npid " << pid << " stat: " << read(fs::path("/proc") / pid / "stat")
        << " wchan: " << read(fs::path("/proc") / pid / "wchan");
  return out.str();
}

TEST_F(RuncPodSpecE2E, AContainerOverItsMemoryLimitIsOOMKilled) {
  // One process reads 64 MiB of zeros into one buffer under a 16 MiB limit: the kernel's OOM killer
  // ends it. (No shell pipeline: one process, no pipe buffers charged to the cgroup, nothing else
  // for the OOM killer to choose.)
  auto applied = apply(R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: hog
    image: skiff.test/box:1
    command: ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]
    resources:
      limits:
        memory: 16Mi
)yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  // restartPolicy Always: the OOM-killed instance becomes lastState once the container restarts.
  json p, last;
  ASSERT_TRUE(eventually(
      [&] {
        p = pod("hog");
        json cs = p.value("status", json::object()).value("containerStatuses", json::array());
        if (cs.empty() || cs[0].value("restartCount", 0) < 1) return false;
        last = cs[0]["lastState"];
        return last.contains("terminated");
      },
      60s))
      << p.dump() << "\n" << container_report(runc_->data(), p);
  EXPECT_EQ(last["terminated"]["reason"], "OOMKilled") << p.dump();
  EXPECT_EQ(last["terminated"]["exitCode"], 137);
  remove("hog");
}

TEST_F(RuncPodSpecE2E, ACrashingContainerBacksOffWithGrowingDelays) {
  auto applied = apply(R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: crash
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: crash
    image: skiff.test/box:1
    command: ["/bin/sh", "-c", "echo crashing; exit 1"]
)yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  // Restarts 1, 2, 3, 4 come after 0, 1, 2 and 4 s (base 1 s doubling). Seen in the status, while
  // waiting: CrashLoopBackOff.
  json p;
  bool saw_backoff = false;
  ASSERT_TRUE(eventually(
      [&] {
        p = pod("crash");
        json cs = p.value("status", json::object()).value("containerStatuses", json::array());
        if (cs.empty()) return false;
        if (cs[0]["state"].contains("waiting") && cs[0]["state"]["waiting"].value("reason", "") == "CrashLoopBackOff")
          saw_backoff = true;
        return cs[0].value("restartCount", 0) >= 4;
      },
      60s))
      << p.dump();
  EXPECT_TRUE(saw_backoff) << p.dump();
  EXPECT_EQ(p["status"]["phase"], "Running");
  EXPECT_EQ(p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  auto backoffs = events("crash", "BackOff");
  ASSERT_FALSE(backoffs.empty());
  EXPECT_EQ(backoffs[0], "Back-off restarting failed container crash in pod crash_default");

  // When each attempt started, to the nanosecond: the first line of its CRI log carries it.
  const std::string uid = p["metadata"]["uid"];
  const fs::path logs = fs::path(runc_->data()) / "pod-logs" / ("default_crash_" + uid) / "crash";
  std::vector<double> started;
  for (int attempt = 0; attempt <= 4; ++attempt) {
    std::string line = read_all(logs / (std::to_string(attempt) + ".log"));
    ASSERT_NE(line.find(" stdout F crashing"), std::string::npos) << attempt << ": " << line;
    std::tm tm{};
    double fraction = 0;
    ASSERT_NE(strptime(line.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << line;
    std::sscanf(line.c_str() + 19, "%lf", &fraction);
    started.push_back(static_cast<double>(timegm(&tm)) + fraction);
  }
  const double d2 = started[2] - started[1], d3 = started[3] - started[2], d4 = started[4] - started[3];
  EXPECT_GE(d2, 0.9) << "the second restart waits the base delay";
  EXPECT_GT(d3, d2 + 0.5) << d2 << " then " << d3;
  EXPECT_GT(d4, d3 + 1.0) << d3 << " then " << d4;
  remove("crash");
}

}  // namespace
}  // namespace skiff::testing
