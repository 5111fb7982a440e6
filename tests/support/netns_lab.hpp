// A throw-away network for data-plane tests: a "node" network namespace with no route out, plus one
// namespace per pod, each joined to the node by a veth pair on its own subnet (pod i is 10.244.<i>.2,
// the node's side 10.244.<i>.1). Pods reach each other only through the node, which routes (so its
// connection tracking sees both directions of translated traffic, as on a real node without a
// bridge). Nothing in it can reach the machine's own network, so a misrouted packet has nowhere to
// go. Everything is removed in the destructor, also when a test fails.
//
// enter_node() moves the calling thread into the node namespace (and the destructor moves it
// back): sockets it opens and processes it starts from then on live in the node, which is how a test
// installs a proxy mode's rules there and acts as a client on the node.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace skiff::testing {

class NetnsLab {
 public:
  static constexpr const char* kNodeIp = "10.244.0.1";  // the node's address towards pod 0
  static constexpr const char* kServiceCidr = "10.96.0.0/12";  // routed into a dummy link on the node

  explicit NetnsLab(int pods, std::string tag = "px") {
    prefix_ = "sk" + tag + std::to_string(::getpid() % 100000) + "-" + std::to_string(counter()++);
    home_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_fd_ < 0) throw std::runtime_error("cannot open this thread's network namespace");
    try {
      must({"ip", "netns", "add", node()});
      in_node({"ip", "link", "set", "lo", "up"});
      // Pods reach services through the node: it forwards between them (its own namespace only).
      in_node({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
      // The node's own connections to a service address need a route before the nat OUTPUT hook
      // can translate them (a real node has its default route for that). A dummy link is that
      // route here: a veth whose peer stays down (this kernel has no dummy links), so whatever is
      // not translated is dropped on it and goes nowhere.
      in_node({"ip", "link", "add", "svc0", "type", "veth", "peer", "name", "svc0-void"});
      in_node({"ip", "link", "set", "svc0", "up"});
      in_node({"ip", "route", "add", kServiceCidr, "dev", "svc0"});
      for (int i = 0; i < pods; ++i) add_pod(i);
    } catch (...) {
      teardown();
      throw;
    }
  }
  ~NetnsLab() { teardown(); }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  std::string node() const { return prefix_ + "-node"; }
  std::string pod(int i) const { return prefix_ + "-p" + std::to_string(i); }
  static std::string pod_ip(int i) { return "10.244." + std::to_string(i) + ".2"; }
  int pods() const { return static_cast<int>(pods_.size()); }

  // Runs argv inside namespace `ns` (`ip netns exec`); throws when it fails.
  void must_in(const std::string& ns, std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
    must(std::move(argv));
  }
  void in_node(std::vector<std::string> argv) { must_in(node(), std::move(argv)); }
  ProcessResult run_in_node(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", node()});
    return run_process(argv, {}, std::chrono::seconds(60));
  }

  // Starts `argv` as a long-running process in pod i; stopped by the destructor.
  void start_in_pod(int i, std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", pod(i)});
    children_.push_back(std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{},
                                                       "/tmp/" + pod(i) + "-" + std::to_string(children_.size()) + ".log"));
  }

  void enter_node() {
    int fd = ::open(("/run/netns/" + node()).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("cannot enter network namespace " + node());
    }
    ::close(fd);
    entered_ = true;
  }
  void leave_node() {
    if (entered_ && home_fd_ >= 0) ::setns(home_fd_, CLONE_NEWNET);
    entered_ = false;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  static void must(const std::vector<std::string>& argv) {
    auto r = run_process(argv, {}, std::chrono::seconds(30));
    if (r.exit_code != 0) {
      std::string cmd;
      for (const auto& a : argv) cmd += a + " ";
      throw std::runtime_error("netns lab: `" + cmd + "` failed: " + r.err + r.out);
    }
  }

  void add_pod(int i) {
    std::string ns = pod(i), host_if = prefix_ + "h" + std::to_string(i);
    if (host_if.size() > 15) host_if = host_if.substr(host_if.size() - 15);
    must({"ip", "netns", "add", ns});
    pods_.push_back(ns);
    const std::string subnet = "10.244." + std::to_string(i) + ".";
    must_in(node(), {"ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns});
    in_node({"ip", "addr", "add", subnet + "1/24", "dev", host_if});
    in_node({"ip", "link", "set", host_if, "up"});
    must_in(ns, {"ip", "link", "set", "lo", "up"});
    must_in(ns, {"ip", "addr", "add", pod_ip(i) + "/24", "dev", "eth0"});
    must_in(ns, {"ip", "link", "set", "eth0", "up"});
    must_in(ns, {"ip", "route", "add", "default", "via", subnet + "1"});
  }

  void teardown() {
    leave_node();
    children_.clear();  // stops the backends (SIGTERM, then SIGKILL)
    for (const auto& ns : pods_) run_process({"ip", "netns", "del", ns}, {}, std::chrono::seconds(30));
    pods_.clear();
    run_process({"ip", "netns", "del", node()}, {}, std::chrono::seconds(30));
    if (home_fd_ >= 0) ::close(home_fd_);
    home_fd_ = -1;
  }

  std::string prefix_;
  int home_fd_ = -1;
  bool entered_ = false;
  std::vector<std::string> pods_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

}  // namespace skiff::testing
