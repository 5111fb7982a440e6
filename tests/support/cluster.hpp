// A real skiffd child process for end-to-end tests: its own data dir and port, HTTPS (or plain
// HTTP), and helpers to run kubectl against it with a private kubeconfig and cache.
#pragma once

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

#ifndef SKIFF_TEST_BIN_DIR
#error "SKIFF_TEST_BIN_DIR must be defined (skiff_add_test does)"
#endif

namespace skiff::testing {

class Cluster {
 public:
  // `data_dir` empty: a fresh one inside the cluster's temp dir.
  // `extra_args` go to skiffd after the defaults (for example {"--store.backend=memory"}).
  explicit Cluster(bool tls, std::string data = {}, std::vector<std::string> extra_args = {}) : dir_("skiff-e2e"), port_(free_port()), data_(std::move(data)) {
    if (data_.empty()) data_ = (dir_.path() / "data").string();
    log_ = (dir_.path() / "skiffd.log").string();
    std::vector<std::string> argv = {std::string(SKIFF_TEST_BIN_DIR) + "/skiffd", "--data-dir", data_dir(), "--listen",
                                     "127.0.0.1:" + std::to_string(port_)};
    if (!tls) argv.push_back("--api.insecure-http=true");
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    daemon_ = std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{}, log_);
    ready_ = eventually([&] { return log_contains("msg=ready") || !daemon_->running(); }, std::chrono::seconds(30)) &&
             daemon_->running();
  }
  bool ready() const { return ready_; }
  std::string data_dir() const { return data_; }
  std::string work_dir() const { return dir_.str(); }
  std::string kubeconfig() const { return data_dir() + "/kubeconfig"; }
  int port() const { return port_; }
  // skiffd's log, and how it ended if it is no longer running.
  std::string log() const {
    std::ifstream in(log_);
    std::string text(std::istreambuf_iterator<char>(in), {});
    if (std::string how = daemon_->exit_description(); !how.empty()) text += "[skiffd " + how + "]\n";
    return text;
  }
  bool log_contains(const std::string& s) const { return log().find(s) != std::string::npos; }

  ProcessResult kubectl(std::vector<std::string> args, const std::string& input = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig(), "--cache-dir",
                                     (dir_.path() / "kube-cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, {{"HOME", dir_.str()}}, timeout, input);
  }
  // kubectl at a terminal of `columns` × `rows` (`exec -it`): `typed` once the output shows `after`.
  ProcessResult kubectl_in_terminal(std::vector<std::string> args, unsigned short columns, unsigned short rows,
                                    const std::string& after, const std::string& typed) const {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig(), "--cache-dir",
                                     (dir_.path() / "kube-cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_in_terminal(argv, {{"HOME", dir_.str()}, {"TERM", "dumb"}}, columns, rows, after, typed);
  }
  // `kubectl <args> -o json`, parsed; a failed command fails the test and yields a discarded value.
  nlohmann::json kubectl_json(std::vector<std::string> args) const {
    args.push_back("-o");
    args.push_back("json");
    auto r = kubectl(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }
  // Runs build/bin/skiff with this cluster's kubeconfig ($KUBECONFIG) and a private HOME; `env`
  // adds to (or overrides) that environment.
  ProcessResult skiff(std::vector<std::string> args, const std::string& input = {},
                      std::map<std::string, std::string> env = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    std::vector<std::string> argv = {std::string(SKIFF_TEST_BIN_DIR) + "/skiff"};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace("KUBECONFIG", kubeconfig());
    env.emplace("HOME", dir_.str());
    return run_process(argv, env, timeout, input);
  }
  // The admin bearer token skiffd wrote next to its kubeconfig.
  std::string token() const {
    std::ifstream in(data_dir() + "/admin-token");
    std::string t;
    in >> t;
    return t;
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = dir_.path() / name;
    std::ofstream(p) << content;
    return p.string();
  }
  ChildProcess& daemon() { return *daemon_; }

 private:
  TempDir dir_;
  int port_;
  std::string data_;
  std::string log_;
  std::unique_ptr<ChildProcess> daemon_;
  bool ready_ = false;
};

// A long-running kubectl (`logs -f`, `get -w`) against `cluster`, its output collected in a file of
// the cluster's work dir.
class KubectlStream {
 public:
  KubectlStream(const Cluster& cluster, const std::vector<std::string>& args, const std::string& name)
      : out_(cluster.work_dir() + "/" + name + ".out") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", cluster.kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{{"HOME", cluster.work_dir()}},
                                              out_);
  }
  std::string contents() const {
    std::ifstream in(out_);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  ChildProcess& process() { return *process_; }

 private:
  std::string out_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace skiff::testing
