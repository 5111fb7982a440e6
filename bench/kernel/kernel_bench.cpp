// Kernel benchmarks (build/bin/bench_kernel):
//  - BM_WatchFanout: 1,000 watchers on pods; p50/p99/max from commit to delivery. Deliveries are
//    served the way the API server serves watch streams: notify callbacks hand ready watchers to a
//    small pool of threads, which poll them.
//  - BM_MemoryPerPod: RSS growth of a kernel holding 100,000 realistic pods on the sqlite store.
//  - BM_ObjectStoreCreates: pod creates/s through the object store with 1, 16 and 100 writers.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "kernel/daemon/daemon.hpp"
#include "kernel/store/object_store.hpp"
#include "memory_store.hpp"
#include "sqlite_store.hpp"
#include "tests/support/test_support.hpp"

namespace {

using namespace skiff;
using kernel::Json;

using kernel::SystemClock;  // the daemon's wall clock

struct Kernel {
  explicit Kernel(const std::string& backend, kernel::ObjectStoreOptions options = {})
      : dir("skiff-bench"),
        ctx("store." + backend,
            {{"path", (dir.path() / "skiff.db").string()}, {"synchronous", "full"}, {"busy-timeout-ms", "5000"},
             {"cache-size-mib", "16"}, {"max-batch", "1024"}},
            dir.str()) {
    auto context = ctx.context();
    auto b = backend == "sqlite" ? plugins::store::sqlite::make_backend(context)
                                 : plugins::store::memory::make_backend(context);
    if (!b) throw std::runtime_error(b.status().message());
    store = std::make_unique<kernel::ObjectStore>(std::shared_ptr<plugin::store::Backend>(std::move(*b)), registry,
                                                  clock, options);
    if (auto st = store->start(); !st) throw std::runtime_error(st.message());
    pods = registry.find("", "v1", "pods");
  }
  testing::TempDir dir;
  testing::TestPluginContext ctx;
  SystemClock clock;
  kernel::ResourceRegistry registry = kernel::ResourceRegistry::builtin();
  std::unique_ptr<kernel::ObjectStore> store;
  const kernel::ResourceType* pods = nullptr;
};

// A pod as a Deployment's ReplicaSet creates it and the node agent reports it: about 2.3 KB of JSON.
Json realistic_pod(int i) {
  std::string n = std::to_string(i);
  return Json::parse(R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "name": "web-7d9f8c6b5-)" + n + R"(", "generateName": "web-7d9f8c6b5-",
    "labels": {"app": "web", "pod-template-hash": "7d9f8c6b5", "tier": "frontend"},
    "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-23T05:00:00Z"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8c6b5",
      "uid": "6f1b7a3e-4c55-4c1d-9d0a-1f2e3d4c5b6a", "controller": true, "blockOwnerDeletion": true}]
  },
  "spec": {
    "containers": [{
      "name": "web", "image": "registry.local/web:1.4.2", "imagePullPolicy": "IfNotPresent",
      "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
      "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
      "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5},
      "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 10},
      "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}, {"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
      "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
    }],
    "volumes": [{"name": "config", "configMap": {"name": "web-config"}}, {"name": "kube-api-access-x7k2p", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
    "serviceAccountName": "default", "nodeName": "node-)" + std::to_string(i % 100) + R"(", "schedulerName": "default-scheduler",
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
    "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority"
  },
  "status": {
    "phase": "Running", "hostIP": "192.0.2.10", "podIP": "10.244.)" + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250) + R"(",
    "startTime": "2026-11-23T05:00:01Z", "qosClass": "Burstable",
    "conditions": [
      {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-23T05:00:01Z"},
      {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-23T05:00:03Z"},
      {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-23T05:00:03Z"},
      {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-23T05:00:00Z"}],
    "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0, "started": true,
      "image": "registry.local/web:1.4.2", "imageID": "sha256:3f4e5d6c7b8a99887766554433221100ffeeddccbbaa99887766554433221100",
      "containerID": "runc://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "state": {"running": {"startedAt": "2026-11-23T05:00:02Z"}}, "lastState": {}}]
  }
})");
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t idx = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return v[idx];
}

void BM_WatchFanout(benchmark::State& state) {
  const std::string backend = state.range(0) == 0 ? "memory" : "sqlite";
  const int watchers_n = static_cast<int>(state.range(1));
  constexpr int kEvents = 200;
  constexpr int kPoolThreads = 2;
  for (auto _ : state) {
    Kernel k(backend);
    std::vector<std::unique_ptr<kernel::Watch>> watchers;
    std::mutex q_mutex;
    std::condition_variable q_cv;
    std::deque<int> ready;
    bool stop = false;
    for (int i = 0; i < watchers_n; ++i) {
      watchers.push_back(k.store->watch(*k.pods, {.resource_version = k.store->current_revision()}).value());
      watchers.back()->set_notify([&, i] {
        {
          std::lock_guard l(q_mutex);
          ready.push_back(i);
        }
        q_cv.notify_one();
      });
    }
    // Notifications only announce *new* events: a consumer polls each watcher once to start.
    for (int i = 0; i < watchers_n; ++i) ready.push_back(i);
    std::vector<std::int64_t> commit_ns(kEvents + 1, 0);
    std::vector<std::vector<double>> lat(kPoolThreads);
    std::atomic<std::int64_t> delivered{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < kPoolThreads; ++t)
      pool.emplace_back([&, t] {
        while (true) {
          int w;
          {
            std::unique_lock l(q_mutex);
            q_cv.wait(l, [&] { return stop || !ready.empty(); });
            if (ready.empty()) return;
            w = ready.front();
            ready.pop_front();
          }
          for (const auto& ev : watchers[w]->poll(0)) {
            auto now = std::chrono::steady_clock::now().time_since_epoch().count();
            int idx = std::stoi(ev.object->name.substr(1));
            lat[t].push_back(static_cast<double>(now - commit_ns[idx]) / 1e6);
            delivered++;
          }
        }
      });
    for (int i = 1; i <= kEvents; ++i) {
      commit_ns[i] = std::chrono::steady_clock::now().time_since_epoch().count();
      Json pod = realistic_pod(i);
      pod["metadata"]["name"] = "p" + std::to_string(i);
      if (!k.store->create(*k.pods, "default", std::move(pod))) state.SkipWithError("create failed");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // 200 events/s
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (delivered.load() < static_cast<std::int64_t>(kEvents) * watchers_n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    {
      std::lock_guard l(q_mutex);
      stop = true;
    }
    q_cv.notify_all();
    for (auto& th : pool) th.join();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    state.counters["deliveries"] = static_cast<double>(all.size());
    state.counters["expected"] = static_cast<double>(kEvents) * watchers_n;
    state.counters["p50_ms"] = percentile(all, 0.50);
    state.counters["p99_ms"] = percentile(all, 0.99);
    state.counters["max_ms"] = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  }
}
BENCHMARK(BM_WatchFanout)->Args({0, 1000})->Args({1, 1000})->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MemoryPerPod(benchmark::State& state) {
  const int pods = static_cast<int>(state.range(0));
  for (auto _ : state) {
    malloc_trim(0);
    long before = rss_bytes();
    Kernel k("sqlite");
    // Durability is not what this measures; batch the load through many writers to keep it short.
    std::vector<std::thread> writers;
    std::atomic<int> next{0};
    std::atomic<int> errors{0};
    std::size_t json_bytes = 0;
    std::mutex jm;
    for (int t = 0; t < 32; ++t)
      writers.emplace_back([&] {
        std::size_t local = 0;
        for (int i = next++; i < pods; i = next++) {
          auto r = k.store->create(*k.pods, "default", realistic_pod(i));
          if (!r) {
            ++errors;
          } else {
            local += (*r)->json.size();
          }
        }
        std::lock_guard l(jm);
        json_bytes += local;
      });
    for (auto& w : writers) w.join();
    malloc_trim(0);
    long after = rss_bytes();
    state.counters["pods"] = pods;
    state.counters["errors"] = errors.load();
    state.counters["rss_MiB"] = static_cast<double>(after) / (1 << 20);
    state.counters["bytes_per_pod"] = static_cast<double>(after - before) / pods;
    state.counters["json_bytes_per_pod"] = static_cast<double>(json_bytes) / pods;
  }
}
BENCHMARK(BM_MemoryPerPod)->Arg(100000)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

void BM_ObjectStoreCreates(benchmark::State& state) {
  const std::string backend = state.range(0) == 0 ? "memory" : "sqlite";
  const int writers_n = static_cast<int>(state.range(1));
  constexpr int kPerWriter = 20000;
  for (auto _ : state) {
    Kernel k(backend);
    const int per = std::max(200, kPerWriter / writers_n);
    std::atomic<int> errors{0};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> writers;
    for (int t = 0; t < writers_n; ++t)
      writers.emplace_back([&, t] {
        for (int i = 0; i < per; ++i) {
          Json p = {{"metadata", {{"name", "p" + std::to_string(t) + "-" + std::to_string(i)}, {"labels", {{"app", "web"}}}}},
                    {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
          if (!k.store->create(*k.pods, "default", std::move(p))) ++errors;
        }
      });
    for (auto& w : writers) w.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(secs);
    state.counters["writes_per_s"] = writers_n * per / secs;
    state.counters["errors"] = errors.load();
  }
}
BENCHMARK(BM_ObjectStoreCreates)
    ->ArgsProduct({{0, 1}, {1, 16, 100}})
    ->ArgNames({"sqlite", "writers"})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
