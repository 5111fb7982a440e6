// Pod startup on the runc runtime plugin, beside a raw `runc run` of the same bundle in the same run.
//
// "Pod start" is what the node agent asks of the runtime for a new pod: run_sandbox (network
// namespace + CNI bridge/host-local) + create_container (overlay root, OCI bundle) + start_container
// (skiff-runc-shim → `runc run --detach`), measured until start_container returns with the container
// running. Measured: N single pods one after another, then a burst of B pods started at once from B
// threads (each pod's own create → running time). "Raw runc" is `runc run --detach` alone of a bundle
// the plugin wrote, with its network namespace ready — the floor the plugin adds its work to.
// The API server, scheduler and agent loop are not in these figures (see bench/README.md).
//
// Usage (root): bench_pod_startup [singles=20] [burst=50] [binary=runc]
// The node's bridge lives in a network namespace this driver creates (no route out) and removes.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "image_store.hpp"
#include "oci_archive.hpp"
#include "runc_runtime.hpp"
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

struct NodeNamespace {
  std::string name = "skiff-bench-" + std::to_string(::getpid());
  bool made = run_process({"ip", "netns", "add", name}).exit_code == 0 &&
              run_process({"ip", "-n", name, "link", "set", "lo", "up"}).exit_code == 0;
  ~NodeNamespace() { run_process({"ip", "netns", "del", name}); }
};

}  // namespace

int main(int argc, char** argv) {
  const int singles = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  const int burst = argc > 2 ? std::max(1, std::atoi(argv[2])) : 50;
  const std::string binary = argc > 3 ? argv[3] : "runc";
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_pod_startup needs root (runc, network namespaces, mounts)\n");
    return 2;
  }
  NodeNamespace node;
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
    sandbox_id = *s;
    auto id = r.create_container(*s, c, sb);
    if (!id) return std::fprintf(stderr, "%s: %s\n", name.c_str(), id.status().message().c_str()), -1.0;
    container_id = *id;
    if (auto st = r.start_container(*id); !st) return std::fprintf(stderr, "%s: %s\n", name.c_str(), st.message().c_str()), -1.0;
    return ms_since(began);
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
  report("burst pods: each pod's sandbox+create+start", bursts);
  std::printf("%-44s %.1f ms for %zu of %d pods\n", "burst: all running after", burst_total, bursts.size(), burst);
  return single.size() == static_cast<std::size_t>(singles) && bursts.size() == static_cast<std::size_t>(burst) ? 0 : 1;
}
