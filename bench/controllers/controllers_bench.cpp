// bench_controllers: 1,000 Deployments × 10 replicas applied at once to an in-process control plane
// (memory store, the API handler with admission, the in-process client, shared informers, the
// replicaset and deployment controllers on the reconcile loop) while a simulated kubelet thread
// binds every new pod to a node and marks it Running+Ready. Reports the time until every
// ReplicaSet and pod exists and every Deployment is Available, and the process RSS at the end.
//
//   build/bin/bench_controllers [deployments=1000] [replicas=10] [workers=2]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "deployment.hpp"
#include "replicaset.hpp"
#include "skiff/plugin/time.hpp"
#include "tests/support/control_plane.hpp"

namespace {

using namespace skiff;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kReplicaSets{"apps", "v1", "replicasets"};
const plugin::ResourceId kDeployments{"apps", "v1", "deployments"};

std::string vm_rss() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return line.substr(6);
  return "?";
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  const int deployments = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int replicas = argc > 2 ? std::atoi(argv[2]) : 10;
  const int workers = argc > 3 ? std::atoi(argv[3]) : 2;
  const std::size_t want_pods = static_cast<std::size_t>(deployments) * static_cast<std::size_t>(replicas);
  std::printf("bench_controllers: %d deployments x %d replicas, %d workers per controller\n", deployments, replicas, workers);

  skiff::testing::ControlPlane cp;
  kernel::ControllerRunnerOptions options;
  options.workers = workers;
  cp.run("replicaset", std::make_shared<plugins::controllers::ReplicaSetController>(), options);
  cp.run("deployment", std::make_shared<plugins::controllers::DeploymentController>(), options);

  // The kubelet: watches nothing, lists pods and starts the ones it has not started yet.
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> started{0};
  std::thread kubelet([&] {
    const kernel::ResourceType* pods = cp.registry().find(kPods);
    std::set<std::string> done;
    while (!stop) {
      kernel::ListOptions lo;
      auto listed = cp.store().list(*pods, lo);
      bool acted = false;
      if (listed) {
        for (const auto& o : listed->items) {
          if (stop) break;
          if (o->deleting || done.count(o->key())) continue;
          // Scheduler and kubelet in one: bind to a node, then Running and Ready.
          json binding = {{"apiVersion", "v1"},
                          {"kind", "Binding"},
                          {"metadata", {{"name", o->name}}},
                          {"target", {{"kind", "Node"}, {"name", "node-" + std::to_string(std::hash<std::string>{}(o->name) % 100)}}}};
          if (!cp.client().create_subresource(kPods, o->ns, o->name, "binding", binding.dump())) continue;
          json now = cp.get(kPods, o->ns, o->name);
          now["status"]["phase"] = "Running";
          json ready = {{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", plugin::format_rfc3339(cp.clock().now_ms())}};
          now["status"]["conditions"] = json::array({ready});
          if (cp.client().update_status(kPods, now.dump())) {
            done.insert(o->key());
            ++started;
            acted = true;
          }
        }
      }
      if (!acted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  const auto t0 = Clock::now();
  for (int i = 0; i < deployments; ++i) {
    std::string name = "web-" + std::to_string(i);
    json labels = {{"app", name}};
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", name}, {"namespace", "default"}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", labels}}},
                {"template",
                 {{"metadata", {{"labels", labels}}},
                  {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "nginx:1.25"}}})}}}}}}}};
    auto created = cp.client().create(kDeployments, "default", d.dump());
    if (!created) {
      std::fprintf(stderr, "create %s: %s\n", name.c_str(), created.status().message().c_str());
      return 1;
    }
  }
  std::printf("applied %d deployments in %.2f s\n", deployments, seconds_since(t0));

  double rs_at = -1, pods_at = -1, available_at = -1;
  const auto limit = t0 + std::chrono::minutes(10);
  while (Clock::now() < limit) {
    std::size_t rs = cp.list(kReplicaSets, "default").size();
    std::size_t pods = cp.list(kPods, "default").size();
    std::size_t available = 0;
    for (const auto& d : cp.list(kDeployments, "default")) {
      if (!d.contains("status") || !d["status"].contains("conditions")) continue;
      for (const auto& c : d["status"]["conditions"])
        if (c["type"] == "Available" && c["status"] == "True" && d["status"].value("availableReplicas", 0) == replicas)
          ++available;
    }
    if (rs_at < 0 && rs == static_cast<std::size_t>(deployments)) rs_at = seconds_since(t0);
    if (pods_at < 0 && pods == want_pods) pods_at = seconds_since(t0);
    std::printf("t=%6.1fs  replicasets %zu/%d  pods %zu/%zu  started %zu  available deployments %zu/%d  RSS%s\n",
                seconds_since(t0), rs, deployments, pods, want_pods, started.load(), available, deployments, vm_rss().c_str());
    std::fflush(stdout);
    if (available == static_cast<std::size_t>(deployments) && pods == want_pods) {
      available_at = seconds_since(t0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  stop = true;
  kubelet.join();
  std::printf("\nall ReplicaSets exist after      %.2f s\n", rs_at);
  std::printf("all %zu pods exist after     %.2f s\n", want_pods, pods_at);
  std::printf("all Deployments Available after %.2f s\n", available_at);
  std::printf("RSS at the end:%s\n", vm_rss().c_str());
  return available_at < 0 ? 1 : 0;
}
