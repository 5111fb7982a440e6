// Pod startup on the runc runtime plugin, beside a raw `runc run` of the same bundle in the same run.
//
// "Pod start" is what the node agent asks of the runtime for a new pod: run_sandbox (network
// namespace + CNI bridge/host-local) + create_container (overlay root, OCI bundle) + start_container
// (skiff-runc-shim → `runc run --detach`), measured until start_container returns with the container
// running. Measured: N single pods one after another, then a burst of B pods started at once from B
// threads (each pod's own create → running time). "Raw runc" is `runc run --detach` alone of a bundle
// the plugin wrote, with its network namespace ready — the floor the plugin adds its work to.
//
// Then the same through a real skiffd (`--agent.runtime=runc`, as a user runs it), without and with
// the runc plugin's warm pod network (warm-networks 0, then 1, the default): from the POST
// that creates a pod to the watch event that shows it Running — API server, scheduler, agent,
// runtime and the status write in between (the plugin-level figures above make no warm network).
// Singles one after another (each deleted before the
// next), then a burst of B pods posted at once.
//
// Usage (root): bench_pod_startup [singles=20] [burst=50] [binary=runc]
// BENCH_SKIFFD_LOG=FILE keeps skiffd's log there.
// The node's bridge lives in a network namespace this driver creates (no route out) and removes.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "image_store.hpp"
#include "kernel/api/http_client.hpp"
#include "oci_archive.hpp"
#include "runc_runtime.hpp"
#include "tests/runtime/runc_cluster.hpp"
#include "tests/support/oci_test_image.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
namespace rt = skiff::plugin::runtime;
namespace runc = skiff::plugins::runtime::runc;
namespace oci = skiff::plugins::runtime::oci;
using Clock = std::chrono::steady_clock;
using skiff::testing::run_process;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void report(const char* what, std::vector<double> v) {
  if (v.empty()) {
    std::printf("%-44s no samples\n", what);
    return;
  }
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) { return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))]; };
  std::printf("%-44s n=%-3zu p50 %7.1f ms   p99 %7.1f ms   max %7.1f ms\n", what, v.size(), pct(0.5), pct(0.99), v.back());
}

// Pod create → Running through skiffd. Prints its lines; false when a pod did not get there.
bool through_skiffd(int singles, int burst, const std::string& binary, const skiff::testing::TestImage& image,
                    int warm_networks) {
  using skiff::kernel::api::HttpClient;
  using Json = nlohmann::json;
  skiff::testing::RuncCluster runc("skfbench", "10.199.0.0/24",
                                   {"--runtime.runc.binary=" + binary,
                                    "--runtime.runc.warm-networks=" + std::to_string(warm_networks)});
  if (std::string problem = runc.problem(); !problem.empty()) {
    std::fprintf(stderr, "skiffd: %s\n", problem.c_str());
    return false;
  }
  if (auto imported = runc.import(image, "skiff.bench/busybox:1"); imported.exit_code != 0) {
    std::fprintf(stderr, "skiff image import: %s%s\n", imported.out.c_str(), imported.err.c_str());
    return false;
  }
  skiff::kernel::api::HttpClientConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(runc.cluster().port());
  config.insecure = true;  // loopback to the skiffd this driver started
  config.token = runc.cluster().token();
  HttpClient api(config, std::chrono::seconds(30));
  // The node must be Ready before pods can be scheduled to it.
  bool node_ready = skiff::testing::eventually(
      [&] {
        auto r = api.request("GET", "/api/v1/nodes/box");
        Json node = Json::parse(r.body, nullptr, false);
        if (r.status != 200 || !node.is_object()) return false;
        for (const auto& c : node["status"].value("conditions", Json::array()))
          if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
        return false;
      },
      std::chrono::seconds(30));
  if (!node_ready) {
    std::fprintf(stderr, "node box never became Ready; skiffd's log:\n%s", runc.cluster().log().c_str());
    return false;
  }

  // One watch sees every pod's phase; `running[name]` is when it first showed Running.
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, Clock::time_point> running;
  std::set<std::string> deleted;
  HttpClient watch_client(config, std::chrono::seconds(30));
  std::string list_rv = Json::parse(api.request("GET", "/api/v1/namespaces/default/pods").body)["metadata"].value(
      "resourceVersion", "");
  std::thread watcher([&] {
    std::string pending;
    watch_client.stream(
        "/api/v1/namespaces/default/pods?watch=true&resourceVersion=" + list_rv, "application/json",
        [&](std::string_view data) {
          pending.append(data);
          for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
            Json event = Json::parse(pending.substr(0, nl), nullptr, false);
            if (!event.is_object() || !event.contains("object")) continue;
            const Json& pod = event["object"];
            std::string name = pod["metadata"].value("name", "");
            std::lock_guard lock(mu);
            if (event.value("type", "") == "DELETED") deleted.insert(name);
            else if (pod.contains("status") && pod["status"].value("phase", "") == "Running")
              running.try_emplace(name, Clock::now());
            changed.notify_all();
          }
          return true;
        },
        Clock::now() + std::chrono::minutes(10));
  });
  auto pod_json = [](const std::string& name) {
    return Json{{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}}},
                {"spec",
                 {{"terminationGracePeriodSeconds", 1},
                  {"containers", Json::array({{{"name", "httpd"}, {"image", "skiff.bench/busybox:1"}}})}}}}
        .dump();
  };
  auto wait_for = [&](auto done, std::chrono::seconds limit) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, limit, done);
  };
  bool ok = true;
  std::vector<double> single, bursts;
  for (int i = 0; i < singles && ok; ++i) {
    std::string name = "single-" + std::to_string(i);
    auto began = Clock::now();
    auto created = api.request("POST", "/api/v1/namespaces/default/pods", pod_json(name), "application/json");
    if (created.status != 201) {
      std::fprintf(stderr, "create %s: %d %s\n", name.c_str(), created.status, created.body.c_str());
      ok = false;
      break;
    }
    if (!wait_for([&] { return running.contains(name); }, std::chrono::seconds(60))) {
      std::fprintf(stderr, "%s never ran\n", name.c_str());
      ok = false;
      break;
    }
    single.push_back(std::chrono::duration<double, std::milli>(running[name] - began).count());
    // A graceful delete: the pod object goes once the agent has stopped it, so the next pod does not
    // start beside the teardown of this one.
    api.request("DELETE", "/api/v1/namespaces/default/pods/" + name);
    if (!wait_for([&] { return deleted.contains(name); }, std::chrono::seconds(60))) {
      std::fprintf(stderr, "%s was never deleted\n", name.c_str());
      ok = false;
    }
  }
  std::map<std::string, Clock::time_point> posted;
  auto burst_began = Clock::now();
  for (int i = 0; i < burst && ok; ++i) {
    std::string name = "burst-" + std::to_string(i);
    posted[name] = Clock::now();
    if (auto r = api.request("POST", "/api/v1/namespaces/default/pods", pod_json(name), "application/json"); r.status != 201) {
      std::fprintf(stderr, "create %s: %d %s\n", name.c_str(), r.status, r.body.c_str());
      ok = false;
    }
  }
  ok = ok && wait_for([&] { return std::ranges::all_of(posted, [&](const auto& p) { return running.contains(p.first); }); },
                      std::chrono::seconds(300));
  double burst_total = 0;
  {
    std::lock_guard lock(mu);
    Clock::time_point last = burst_began;
    for (const auto& [name, at] : posted)
      if (auto it = running.find(name); it != running.end()) {
        bursts.push_back(std::chrono::duration<double, std::milli>(it->second - at).count());
        last = std::max(last, it->second);
      }
    burst_total = std::chrono::duration<double, std::milli>(last - burst_began).count();
  }
  watch_client.cancel();
  watcher.join();
  std::printf("through skiffd (POST → watch shows Running), %s, warm-networks %d%s\n", binary.c_str(), warm_networks,
              warm_networks == 1 ? " (the default)" : "");
  report("single pod: create → Running", single);
  report("burst pods: each pod's create → Running", bursts);
  std::printf("%-44s %.1f ms for %zu of %d pods\n", "burst: all Running after", burst_total, bursts.size(), burst);
  if (const char* keep = std::getenv("BENCH_SKIFFD_LOG")) std::ofstream(keep) << runc.cluster().log();
  // The pods go with skiffd: RuncCluster removes whatever is left once it has stopped.
  return ok && bursts.size() == static_cast<std::size_t>(burst);
}

}  // namespace

int main(int argc, char** argv) {
  const int singles = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  const int burst = argc > 2 ? std::max(1, std::atoi(argv[2])) : 50;
  const std::string binary = argc > 3 ? argv[3] : "runc";
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_pod_startup needs root (runc, network namespaces, mounts)\n");
    return 2;
  }
  skiff::testing::NodeNamespace node("skiff-bench-" + std::to_string(::getpid()));
  if (!node.made) {
    std::fprintf(stderr, "could not create network namespace %s\n", node.name.c_str());
    return 1;
  }
  skiff::testing::TempDir dir("skiff-bench-pods");
  skiff::testing::TestImage image;
  image.layers.push_back(skiff::testing::busybox_layer());
  image.cmd = {"/bin/httpd", "-f", "-p", "80", "-h", "/www"};
  image.ref_name = "skiff.bench/busybox:1";
  skiff::testing::write_oci_archive(dir.path() / "image.tar", image);
  {
    oci::ImageStore store(dir.path() / "images");
    auto imported = oci::import_archive(store, dir.path() / "image.tar");
    if (!imported) {
      std::fprintf(stderr, "import: %s\n", imported.status().message().c_str());
      return 1;
    }
  }
  runc::RuncOptions o;
  o.binary = binary;
  o.state_dir = (dir.path() / "state").string();
  o.image_dir = (dir.path() / "images").string();
  o.shim = SKIFF_BENCH_SHIM;
  o.node_netns = "/run/netns/" + node.name;
  o.pod_cidr = "10.196.0.0/24";
  o.bridge = "skiffbench0";
  o.sandbox_stop_grace_seconds = 0;
  o.cgroup_parent = "/skiff-bench-" + std::to_string(::getpid());
  auto made = runc::make_runc_runtime(o);
  if (!made) {
    std::fprintf(stderr, "runtime: %s\n", made.status().message().c_str());
    return 1;
  }
  rt::Runtime& r = **made;

  // One pod: sandbox + container, until the container runs. Returns the ms, or -1 on failure.
  struct Phases {
    double sandbox = 0, create = 0, start = 0;
  };
  std::mutex phases_mu;
  std::vector<double> phase_sandbox, phase_create, phase_start;
  auto start_pod = [&](const std::string& name, std::string& sandbox_id, std::string& container_id) -> double {
    rt::SandboxConfig sb;
    sb.pod = {"bench", name, "uid-" + name, 0};
    sb.log_directory = (dir.path() / "logs" / name).string();
    rt::ContainerConfig c;
    c.name = "httpd";
    c.image = "skiff.bench/busybox:1";
    c.log_path = "httpd/0.log";
    auto began = Clock::now();
    auto s = r.run_sandbox(sb);
    if (!s) return std::fprintf(stderr, "%s: %s\n", name.c_str(), s.status().message().c_str()), -1.0;
    double sandboxed = ms_since(began);
    sandbox_id = *s;
    auto id = r.create_container(*s, c, sb);
    if (!id) return std::fprintf(stderr, "%s: %s\n", name.c_str(), id.status().message().c_str()), -1.0;
    double created = ms_since(began);
    container_id = *id;
    if (auto st = r.start_container(*id); !st) return std::fprintf(stderr, "%s: %s\n", name.c_str(), st.message().c_str()), -1.0;
    double total = ms_since(began);
    std::lock_guard lock(phases_mu);
    phase_sandbox.push_back(sandboxed);
    phase_create.push_back(created - sandboxed);
    phase_start.push_back(total - created);
    return total;
  };

  std::vector<double> single, raw, bursts;
  std::string raw_bundle_sandbox;
  for (int i = 0; i < singles; ++i) {
    std::string sandbox_id, container_id;
    double t = start_pod("single-" + std::to_string(i), sandbox_id, container_id);
    if (t >= 0) single.push_back(t);
    // Raw runc on the same bundle: the plugin's config.json and overlay root, a fresh container id.
    if (!container_id.empty()) {
      std::string bundle = o.state_dir + "/containers/" + container_id;
      std::string raw_root = (dir.path() / "raw-root").string();
      std::string raw_id = "raw-" + std::to_string(i);
      (void)r.stop_container(container_id, 0);  // the bundle's root is free again
      auto began = Clock::now();
      // The container keeps the stdio it is given: /dev/null, so nothing waits for its pipes to close.
      auto ran = run_process({"/bin/sh", "-c",
                              "exec /usr/sbin/runc --root " + raw_root + " run --detach --bundle " + bundle + " " + raw_id +
                                  " </dev/null >/dev/null 2>" + raw_root + ".err"},
                             {}, std::chrono::seconds(20));
      double t_raw = ms_since(began);
      if (ran.exit_code == 0) raw.push_back(t_raw);
      else std::fprintf(stderr, "raw runc run failed (exit %d), see %s.err\n", ran.exit_code, raw_root.c_str());
      run_process({"/usr/sbin/runc", "--root", raw_root, "delete", "--force", raw_id});
    }
    if (!sandbox_id.empty()) (void)r.remove_sandbox(sandbox_id);
  }

  auto singles_phases = std::array{phase_sandbox, phase_create, phase_start};
  phase_sandbox.clear(), phase_create.clear(), phase_start.clear();
  std::vector<std::thread> threads;
  std::vector<double> burst_times(static_cast<std::size_t>(burst), -1);
  std::vector<std::string> burst_sandboxes(static_cast<std::size_t>(burst));
  auto burst_began = Clock::now();
  for (int i = 0; i < burst; ++i)
    threads.emplace_back([&, i] {
      std::string container_id;
      burst_times[static_cast<std::size_t>(i)] =
          start_pod("burst-" + std::to_string(i), burst_sandboxes[static_cast<std::size_t>(i)], container_id);
    });
  for (auto& t : threads) t.join();
  double burst_total = ms_since(burst_began);
  for (double t : burst_times)
    if (t >= 0) bursts.push_back(t);
  for (const auto& s : burst_sandboxes)
    if (!s.empty()) (void)r.remove_sandbox(s);
  for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"}) {
    std::error_code ec;
    fs::remove(fs::path("/sys/fs/cgroup") / h / o.cgroup_parent.substr(1), ec);
  }

  std::printf("runtime %s %s; %d single pods, a burst of %d\n", binary.c_str(), r.version().c_str(), singles, burst);
  report("raw `runc run --detach` of the same bundle", raw);
  report("single pod: sandbox+create+start", single);
  report("  of which run_sandbox (netns)", singles_phases[0]);
  report("  of which create_container", singles_phases[1]);
  report("  of which start_container (create | CNI)", singles_phases[2]);
  report("burst pods: each pod's sandbox+create+start", bursts);
  report("  of which run_sandbox (netns)", phase_sandbox);
  report("  of which create_container", phase_create);
  report("  of which start_container (create | CNI)", phase_start);
  std::printf("%-44s %.1f ms for %zu of %d pods\n", "burst: all running after", burst_total, bursts.size(), burst);
  std::fflush(stdout);
  bool ok = single.size() == static_cast<std::size_t>(singles) && bursts.size() == static_cast<std::size_t>(burst);
  // The plugin's default keeps one pod network made ahead of time (warm-networks 1); without it,
  // each pod's CNI ADD runs beside its `runc create`.
  ok = through_skiffd(singles, burst, binary, image, 0) && ok;
  ok = through_skiffd(singles, burst, binary, image, 1) && ok;
  return ok ? 0 : 1;
}
