// What the runc end-to-end tests share: the node's network namespace and the cleanup of whatever a
// failed test left running. Needs root.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "runc_runtime.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The node's network namespace, deleted even when the test fails.
struct NodeNamespace {
  std::string name = "skiff-e2e-" + std::to_string(::getpid());
  bool made = run_process({"ip", "netns", "add", name}).exit_code == 0 &&
              run_process({"ip", "-n", name, "link", "set", "lo", "up"}).exit_code == 0;
  ~NodeNamespace() { run_process({"ip", "netns", "del", name}); }
};

// Whatever skiffd's runtime left (a failed test stops skiffd with pods running): the plugin itself,
// on the same state directory, removes every sandbox and container once skiffd is gone.
struct LeftoverCleanup {
  plugins::runtime::runc::RuncOptions options;
  ~LeftoverCleanup() {
    auto r = plugins::runtime::runc::make_runc_runtime(options);
    if (!r) return;
    if (auto sandboxes = (*r)->list_sandboxes())
      for (const auto& s : *sandboxes) (void)(*r)->remove_sandbox(s.id);
    for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"}) {
      std::error_code ec;
      std::filesystem::remove(std::filesystem::path("/sys/fs/cgroup") / h / options.cgroup_parent.substr(1), ec);
    }
  }
};

}  // namespace skiff::testing
