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
  std::chrono::milliseconds timeout{30'000};
  // When set, output goes here as it arrives (stream 1 or 2) instead of into the result.
  std::function<void(int stream, std::string_view data)> on_output;
  // When set, stdin is fed from here (until it returns false) instead of `input`.
  std::function<bool(std::string& chunk)> read_stdin;
};

struct RunResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  bool timed_out = false;
  std::string out, err;
};

// argv[0] must be an absolute path. Fails only when the process could not be started.
plugin::Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options = {});

// The absolute path of `name` (itself if it contains a '/'), searched in PATH; empty when not found.
std::string find_executable(std::string_view name);

}  // namespace skiff::plugins::runtime::runc
