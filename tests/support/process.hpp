// Running real binaries from tests: a command with a deadline and captured output, and a daemon
// child that is always stopped when the test ends.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.hpp"

namespace skiff::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the deadline
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with the current environment plus `env`, feeding `input` on stdin.
ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60), const std::string& input = {});

// Runs argv[0] on a new pseudo-terminal of `columns` × `rows` (its stdin, stdout, stderr and
// controlling terminal), as a user at a terminal would: `typed` is written once the output shows
// `after` (at once when empty). `out` is all the terminal showed; `err` stays empty.
ProcessResult run_in_terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                              unsigned short columns, unsigned short rows, const std::string& after,
                              const std::string& typed, std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A long-running child whose stdout and stderr go to `log_path`. The destructor sends SIGTERM, waits
// up to five seconds, then SIGKILLs.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  // Sends `sig` and waits for the exit; returns the exit code (128+signal when killed), or -1 on timeout.
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // How the child ended ("exited with code 1", "killed by signal 11 (Segmentation fault)"), or ""
  // while it runs: for failure messages, so a child that died is told from one that hung.
  std::string exit_description();

 private:
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();


}  // namespace skiff::testing
