// A real skiffd whose agent runs pods with the runc runtime, for the end-to-end tests: the node's
// data plane (bridge, veths) lives in a network namespace the test creates, with no route out, and
// whatever a failed test leaves running is removed by the plugin itself once skiffd is gone.
// Needs root, runc, the CNI plugins, busybox-static and ip; a missing one fails the test by name.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/pod_volumes.hpp"
#include "runc_runtime.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/oci_test_image.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What the machine lacks for these tests (CI installs it through scripts/install-deps.sh); "" if nothing.
inline std::string runc_e2e_missing() {
  if (::geteuid() != 0) return "this test needs root (runc, network namespaces, mounts, cgroups)";
  for (const char* p : {"/usr/sbin/runc", "/usr/lib/cni/bridge", "/bin/busybox", "/usr/sbin/ip"})
    if (::access(p, X_OK) != 0) return std::string(p) + " is missing (run scripts/install-deps.sh)";
  return {};
}

// The node's network namespace, deleted even when the test fails.
struct NodeNamespace {
  explicit NodeNamespace(std::string n) : name(std::move(n)) {}
  ~NodeNamespace() { run_process({"ip", "netns", "del", name}); }
  std::string name;
  bool made = run_process({"ip", "netns", "add", name}).exit_code == 0 &&
              run_process({"ip", "-n", name, "link", "set", "lo", "up"}).exit_code == 0;
};

// Whatever skiffd left (a failed test stops skiffd with pods running): the runtime plugin itself,
// on the same state directory, removes every sandbox and container once skiffd is gone, and the
// agent's volume code unmounts and removes the pods' volumes.
struct LeftoverCleanup {
  plugins::runtime::runc::RuncOptions options;
  std::string pods_dir;
  ~LeftoverCleanup() {
    namespace fs = std::filesystem;
    auto r = plugins::runtime::runc::make_runc_runtime(options);
    if (r)
      if (auto sandboxes = (*r)->list_sandboxes())
        for (const auto& s : *sandboxes) (void)(*r)->remove_sandbox(s.id);
    (void)agent::PodVolumes(pods_dir).remove_all_but({});
    for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"}) {
      std::error_code ec;
      fs::remove(fs::path("/sys/fs/cgroup") / h / options.cgroup_parent.substr(1), ec);
    }
  }
};

// skiffd with --agent.runtime=runc on node "box", its node namespace and pod network named after
// `tag` (each test binary its own, so they can run side by side), and the cleanup above. Members
// are destroyed in reverse: skiffd stops first, then leftovers go, then the namespace and the dir.
class RuncCluster {
 public:
  RuncCluster(const std::string& tag, const std::string& pod_cidr, std::vector<std::string> extra_args = {})
      : dir_("skiff-" + tag), node_(tag + "-" + std::to_string(::getpid())) {
    data_ = (dir_.path() / "data").string();
    cleanup_.options.state_dir = data_ + "/runtime/runc";
    cleanup_.options.image_dir = data_ + "/images";
    cleanup_.options.shim = SKIFF_TEST_PLUGIN_DIR "/skiff-runc-shim";
    cleanup_.options.node_netns = "/run/netns/" + node_.name;
    cleanup_.options.pod_cidr = pod_cidr;
    cleanup_.options.bridge = tag.substr(0, 10) + "0";
    cleanup_.options.sandbox_stop_grace_seconds = 1;
    cleanup_.pods_dir = data_ + "/pods";
    if (!node_.made) return;
    std::vector<std::string> args = {"--agent.runtime=runc", "--agent.node-name=box", "--agent.heartbeat-interval-ms=500",
                                     "--runtime.runc.node-netns=" + cleanup_.options.node_netns,
                                     "--runtime.runc.pod-cidr=" + pod_cidr,
                                     "--runtime.runc.bridge=" + cleanup_.options.bridge,
                                     "--runtime.runc.sandbox-stop-grace-seconds=1"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    cluster_ = std::make_unique<Cluster>(true, data_, args);
  }
  // Ready to take pods: skiffd up. A reason when not.
  std::string problem() const {
    if (!node_.made) return "could not create network namespace " + node_.name;
    if (!cluster_ || !cluster_->ready()) return "skiffd did not start: " + (cluster_ ? cluster_->log() : "");
    return {};
  }
  // Builds an OCI archive of `image` and imports it as `name` through `skiff image import`.
  ProcessResult import(const TestImage& image, const std::string& name) {
    auto archive = dir_.path() / (std::to_string(++images_) + ".tar");
    write_oci_archive(archive, image);
    return cluster_->skiff({"image", "import", archive.string(), "--name", name, "--data-dir", data_});
  }
  // Nothing of this skiffd's pods is left: no veth in the node but those of the warm networks the
  // runtime keeps for the next pods, no sandbox, no container monitor.
  bool nothing_left() const {
    namespace fs = std::filesystem;
    auto veths = run_process({"ip", "-n", node_.name, "-o", "link", "show", "type", "veth"});
    std::error_code ec;
    const fs::path warm = data_ + "/runtime/runc/warm";
    auto waiting = fs::exists(warm, ec) ? std::distance(fs::directory_iterator(warm, ec), fs::directory_iterator{}) : 0;
    if (veths.exit_code != 0 || std::count(veths.out.begin(), veths.out.end(), '\n') != waiting) return false;
    const fs::path sandboxes = data_ + "/runtime/runc/sandboxes";
    if (fs::exists(sandboxes) && !fs::is_empty(sandboxes)) return false;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string cmdline = read_all(entry.path() / "cmdline");
      if (cmdline.find("skiff-runc-shim") != std::string::npos && cmdline.find(data_) != std::string::npos) return false;
    }
    return true;
  }
  Cluster& cluster() { return *cluster_; }
  const std::string& data() const { return data_; }
  NodeNamespace& node() { return node_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  NodeNamespace node_;
  LeftoverCleanup cleanup_;
  std::string data_;
  int images_ = 0;
  std::unique_ptr<Cluster> cluster_;
};

}  // namespace skiff::testing
