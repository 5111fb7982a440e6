// Running helper binaries (runc, CNI plugins) from a multi-threaded daemon: fork + exec with only
// system calls between them, output captured through pipes, a deadline after which the child is
// killed, and optionally the child placed in another network namespace first (CNI plugins run in
// the node's namespace, which need not be the daemon's).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::runtime::runc {

struct RunOptions {
  std::string input;                       // written to stdin, then stdin is closed
  std::vector<std::string> env;            // "K=V"; empty: the daemon's environment
  std::string netns;                       // path of a network namespace to enter first; empty: ours
  // Run in a private mount namespace without /sys/fs/cgroup/unified (see hide_cgroup2 below).
  bool hide_cgroup2 = false;
  std::chrono::milliseconds timeout{30'000};
  // When set, output goes here as it arrives (stream 1 or 2) instead of into the result.
  std::function<void(int stream, std::string_view data)> on_output;
  // When set, stdin is fed from here (until it returns false) instead of `input`, by a thread of its
  // own; each call may wait (plugin::runtime::ExecStreams::read_stdin's contract).
  std::function<bool(std::string& chunk)> read_stdin;
  // Run the child on a new pseudo-terminal: its stdin, stdout, stderr and controlling terminal, in a
  // session of its own. All output is stream 1; the end of read_stdin hangs the terminal up (SIGHUP).
  bool terminal = false;
  // With `terminal`: asked about once every 100 ms; true with a new size (columns, rows) to set.
  std::function<bool(unsigned short& columns, unsigned short& rows)> terminal_resized;
};

struct RunResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  bool timed_out = false;
  std::string out, err;
};

// argv[0] must be an absolute path. Fails only when the process could not be started.
plugin::Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options = {});

// crun refuses to run on a hybrid cgroup host whose cgroup2 mount has controllers (it checks
// /sys/fs/cgroup/unified/cgroup.controllers whatever its cgroup manager); runc copes. Without that
// mount in its view crun sees plain cgroup v1 and uses the v1 hierarchies, limits included. Called
// in a child between fork and exec (system calls only); false when it could not be done.
bool hide_cgroup2_in_child() noexcept;

// True on a hybrid host whose cgroup2 mount carries controllers, where crun needs hide_cgroup2.
bool cgroup2_has_controllers();

// The absolute path of `name` (itself if it contains a '/'), searched in PATH; empty when not found.
std::string find_executable(std::string_view name);

}  // namespace skiff::plugins::runtime::runc
