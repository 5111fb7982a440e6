// How a skiff command fails. Commands throw; main() prints and picks the exit code:
//   UsageError → "error: …" plus a pointer to --help, exit 2 (the command line itself is wrong);
//   Failure    → "error: …", exit 1 (a file is missing, the server is unreachable, a wait timed out);
//   ApiError   → "Error from server (Reason): message", exit 1 (the server answered with a Status).
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace skiff::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

class UsageError : public std::runtime_error {
 public:
  UsageError(std::string command, const std::string& message)
      : std::runtime_error(message), command_(std::move(command)) {}
  const std::string& command() const { return command_; }

 private:
  std::string command_;
};

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server cannot be reached (or does not answer in time): nothing else will work either.
class Unreachable : public Failure {
 public:
  using Failure::Failure;
};

class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, const std::string& message)
      : std::runtime_error(message), code_(code), reason_(std::move(reason)) {}
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  // "Error from server (NotFound): pods "x" not found", as kubectl prints it.
  std::string display() const { return "Error from server (" + reason_ + "): " + what(); }

 private:
  int code_;
  std::string reason_;
};

// The ApiError for an HTTP error answer: the Status in the body when there is one, else a message
// built from the code and whatever text the body holds.
ApiError api_error_from(int http_status, const std::string& body);

}  // namespace skiff::cli
