// Running the tools proxy modes drive (iptables-restore, nft, ip, ipvsadm-restore): argv with a
// script on stdin, output captured, bounded in time. Never through a shell.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::proxy {

struct CommandResult {
  int exit_code = -1;  // -1: killed (timeout) or did not start
  bool timed_out = false;  // killed when its time was up
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with `input` on stdin. Errors only when it could not be started;
// a non-zero exit is in the result.
plugin::Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& input = {},
                                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// run_command that also turns a non-zero exit into an error naming the command and its stderr.
plugin::Result<CommandResult> run_checked(const std::vector<std::string>& argv, const std::string& input = {},
                                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Whether `program` is an executable found in PATH.
bool have_program(const std::string& program);

}  // namespace skiff::plugins::proxy
