// The runc runtime plugin against the real runc (and crun) binary, the real CNI plugins and real
// cgroups. The node's data plane is a network namespace this test creates (no route out, only lo
// and the pod bridge), so pod traffic can never reach the machine's real interfaces; HTTP to a pod
// is sent from inside that namespace. Needs root; fails with a clear message without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/image_gc.hpp"
#include "image_store.hpp"
#include "oci_archive.hpp"
#include "runc_runtime.hpp"
#include "tests/support/oci_test_image.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

namespace fs = std::filesystem;
namespace rt = plugin::runtime;
namespace runc = plugins::runtime::runc;
namespace oci = plugins::runtime::oci;

constexpr const char* kImage = "skiff.test/busybox:1";

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What the machine must have for these tests (CI installs it through scripts/install-deps.sh).
std::string missing_prerequisite() {
  if (::geteuid() != 0) return "these tests need root (runc, network namespaces, mounts, cgroups)";
  for (const char* p : {"/usr/sbin/runc", "/usr/bin/crun", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local",
                        "/usr/lib/cni/portmap", "/bin/busybox", "/usr/sbin/ip"})
    if (::access(p, X_OK) != 0) return std::string(p) + " is missing (run scripts/install-deps.sh)";
  return {};
}

class RuncRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = missing_prerequisite();
    ASSERT_TRUE(missing.empty()) << missing;
    static std::atomic<int> counter{0};
    netns_ = "skiff-rt-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    cgroup_parent_ = "/skiff-test-" + netns_;
    auto added = run_process({"ip", "netns", "add", netns_});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    netns_made_ = true;
    ASSERT_EQ(run_process({"ip", "-n", netns_, "link", "set", "lo", "up"}).exit_code, 0);

    TestImage image;
    image.layers.push_back(busybox_layer("hello from a skiff pod\n"));
    image.cmd = {"/bin/httpd", "-f", "-p", "80", "-h", "/www"};
    image.ref_name = kImage;
    write_oci_archive(dir_.path() / "busybox.tar", image);
    oci::ImageStore store(dir_.path() / "images");
    auto imported = oci::import_archive(store, dir_.path() / "busybox.tar");
    ASSERT_TRUE(imported) << imported.status().message();
    image_id_ = (*imported)[0].config_digest;
    runtime_ = make("runc");
    ASSERT_TRUE(runtime_);
  }

  void TearDown() override {
    // Whatever a failed test left running goes, then the namespace and the test's cgroup parent.
    if (runtime_)
      if (auto sandboxes = runtime_->list_sandboxes())
        for (const auto& s : *sandboxes) (void)runtime_->remove_sandbox(s.id);
    if (netns_made_) run_process({"ip", "netns", "del", netns_});
    for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"}) {
      std::error_code ec;
      fs::remove(fs::path("/sys/fs/cgroup") / h / cgroup_parent_.substr(1), ec);
    }
  }

  runc::RuncOptions options(const std::string& binary) {
    runc::RuncOptions o;
    o.binary = binary;
    o.state_dir = (dir_.path() / "state").string();
    o.image_dir = (dir_.path() / "images").string();
    o.shim = SKIFF_TEST_PLUGIN_DIR "/skiff-runc-shim";
    o.node_netns = "/run/netns/" + netns_;
    o.pod_cidr = "10.199.0.0/24";
    o.bridge = "skiffrt0";
    o.sandbox_stop_grace_seconds = 1;
    o.cgroup_parent = cgroup_parent_;
    return o;
  }

  std::unique_ptr<rt::Runtime> make(const std::string& binary) {
    auto r = runc::make_runc_runtime(options(binary));
    EXPECT_TRUE(r) << r.status().message();
    return r ? std::move(*r) : nullptr;
  }

  rt::SandboxConfig sandbox(const std::string& name) {
    rt::SandboxConfig s;
    s.pod = {"default", name, "uid-" + name, 0};
    s.hostname = name;
    s.log_directory = (dir_.path() / "logs" / name).string();
    return s;
  }

  static rt::ContainerConfig container(const std::string& name, std::vector<std::string> command = {}) {
    rt::ContainerConfig c;
    c.name = name;
    c.image = kImage;
    c.command = std::move(command);
    c.log_path = name + "/0.log";
    return c;
  }

  // Runs a container to its start; the container id.
  std::string start(rt::Runtime& r, const std::string& sandbox_id, const rt::SandboxConfig& sb,
                    const rt::ContainerConfig& c) {
    auto id = r.create_container(sandbox_id, c, sb);
    EXPECT_TRUE(id) << id.status().message();
    if (!id) return {};
    auto started = r.start_container(*id);
    EXPECT_TRUE(started) << started.message();
    return *id;
  }

  rt::ContainerStatus wait_exited(rt::Runtime& r, const std::string& id) {
    rt::ContainerStatus last;
    EXPECT_TRUE(eventually(
        [&] {
          auto s = r.container_status(id);
          if (s) last = *s;
          return s && s->state == rt::ContainerState::kExited;
        },
        std::chrono::seconds(20)))
        << "container " << id << " did not exit";
    return last;
  }

  ProcessResult in_node(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", netns_});
    return run_process(argv, {}, std::chrono::seconds(20));
  }

  std::string wget(const std::string& url) {
    // No -T: Debian's busybox-static 1.35 wget segfaults with it; run_process's 20 s limit bounds the call.
    auto r = in_node({"/bin/busybox", "wget", "-q", "-O", "-", url});
    return r.exit_code == 0 ? r.out : "wget failed: " + r.err;
  }

  // No trace of these containers and sandboxes: processes, mounts, cgroups, network namespaces, veths.
  void expect_nothing_left(const std::vector<long>& pids, const std::vector<std::string>& container_ids) {
    for (long pid : pids) EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid))) << "process " << pid << " lives on";
    // No shim (its command line names the state dir) and no container process left.
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string cmdline = read_all(entry.path() / "cmdline");
      EXPECT_EQ(cmdline.find(dir_.str()), std::string::npos) << "process " << entry.path().filename() << " lives on";
    }
    std::string mounts = read_all("/proc/self/mountinfo");
    EXPECT_EQ(mounts.find(dir_.str()), std::string::npos) << "a mount under " << dir_.str() << " is left";
    for (const auto& id : container_ids)
      for (const char* h : {"memory", "cpu", "pids", "devices", "freezer"})
        EXPECT_FALSE(fs::exists(fs::path("/sys/fs/cgroup") / h / cgroup_parent_.substr(1) / id))
            << "cgroup " << h << cgroup_parent_ << "/" << id << " is left";
    EXPECT_TRUE(fs::is_empty(dir_.path() / "state/sandboxes"));
    EXPECT_TRUE(fs::is_empty(dir_.path() / "state/containers"));
    auto veths = run_process({"ip", "-n", netns_, "-o", "link", "show", "type", "veth"});
    EXPECT_EQ(veths.exit_code, 0);
    EXPECT_EQ(veths.out, "") << "veths left in the node namespace";
  }

  long pid_of(const std::string& container_id, const char* file) {
    std::ifstream in(dir_.path() / "state/containers" / container_id / file);
    long pid = 0;
    in >> pid;
    return pid;
  }

  TempDir dir_{"skiff-runc"};
  std::string netns_, cgroup_parent_, image_id_;
  bool netns_made_ = false;
  std::unique_ptr<rt::Runtime> runtime_;
};

// A warm network (made ahead of time) gives a pod without hostPorts its address as soon as its
// sandbox exists; the pool refills behind it; the pod's network works and its DEL frees the address
// its ADD took under the warm network's own id; the plugin tears the waiting ones down as it goes.
TEST_F(RuncRuntimeTest, WarmNetworksGivePodsTheirAddressAtOnce) {
  runc::RuncOptions o = options("runc");
  o.warm_networks = 1;
  runtime_.reset();
  auto made = runc::make_runc_runtime(o);
  ASSERT_TRUE(made) << made.status().message();
  runtime_ = std::move(*made);
  const fs::path warm = dir_.path() / "state/warm";
  auto warm_ready = [&] {  // one network waiting, its ADD done
    if (!fs::exists(warm) || std::distance(fs::directory_iterator(warm), fs::directory_iterator{}) != 1) return false;
    return fs::exists(fs::directory_iterator(warm)->path() / "cni-result.json");
  };
  ASSERT_TRUE(eventually(warm_ready, std::chrono::seconds(20))) << "no warm network was made";
  const std::string warm_id = fs::directory_iterator(warm)->path().filename().string();

  auto sb = sandbox("quick");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  // The address is there at once: the sandbox's record has it before any container exists.
  std::ifstream record(dir_.path() / "state/sandboxes" / *sandbox_id / "sandbox.json");
  auto meta = nlohmann::json::parse(record, nullptr, false);
  ASSERT_TRUE(meta.is_object());
  EXPECT_TRUE(meta.value("ip", "").starts_with("10.199.0.")) << meta.dump();
  EXPECT_EQ(meta.value("cni_id", ""), warm_id);
  EXPECT_FALSE(fs::exists(warm / warm_id)) << "the warm network moved into the sandbox";

  rt::ContainerConfig c = container("httpd");
  c.image = image_id_;
  std::string id = start(*runtime_, *sandbox_id, sb, c);
  ASSERT_FALSE(id.empty());
  auto status = runtime_->sandbox_status(*sandbox_id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, rt::SandboxState::kReady);
  EXPECT_EQ(status->ip, meta.value("ip", ""));
  std::string body;
  EXPECT_TRUE(eventually([&] { return (body = wget("http://" + status->ip + "/")) == "hello from a skiff pod\n"; },
                         std::chrono::seconds(10)))
      << body;
  auto hosts = runtime_->exec_sync(id, {"cat", "/etc/hosts"}, 10);
  ASSERT_TRUE(hosts) << hosts.status().message();
  EXPECT_NE(hosts->stdout_data.find(status->ip + "\tquick\n"), std::string::npos) << hosts->stdout_data;
  // The pool refilled behind the pod, with another address.
  ASSERT_TRUE(eventually(warm_ready, std::chrono::seconds(20))) << "the pool did not refill";
  EXPECT_NE(fs::directory_iterator(warm)->path().filename().string(), warm_id);

  // The pod goes: its address is free again (host-local keeps a file per address it gave out).
  const fs::path ipam = dir_.path() / "state/cni/ipam";
  auto allocated = [&](const std::string& ip) {
    for (const auto& e : fs::recursive_directory_iterator(ipam))
      if (e.path().filename() == ip) return true;
    return false;
  };
  EXPECT_TRUE(allocated(status->ip));
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  EXPECT_FALSE(allocated(status->ip)) << "the pod's DEL did not free the address its warm ADD took";
  // The waiting network holds one veth; the plugin tears it down as it goes.
  auto veths = [&] { return run_process({"ip", "-n", netns_, "-o", "link", "show", "type", "veth"}).out; };
  const std::string listed = veths();
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '\n'), 1) << listed;
  runtime_.reset();
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(fs::is_empty(warm));
  expect_nothing_left({}, {id});
}

TEST_F(RuncRuntimeTest, APodServesHttpToTheNodeAndLeavesNothingBehind) {
  auto sb = sandbox("web");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  // As the agent does: the container is created and started while the pod's network may still be
  // being set up (CNI runs beside `runc create`); start waits for it.
  rt::ContainerConfig c = container("httpd");  // the image's cmd: httpd -f -p 80 -h /www
  c.image = image_id_;                         // the agent passes the id it pulled
  std::string id = start(*runtime_, *sandbox_id, sb, c);
  ASSERT_FALSE(id.empty());
  auto status = runtime_->sandbox_status(*sandbox_id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, rt::SandboxState::kReady);
  EXPECT_TRUE(status->ip.starts_with("10.199.0.")) << status->ip;
  EXPECT_EQ(status->pod.name, "web");
  auto running = runtime_->container_status(id);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->state, rt::ContainerState::kRunning);
  EXPECT_EQ(running->image_id, image_id_);
  EXPECT_EQ(running->image, kImage);
  EXPECT_GT(running->started_at_ms, 0);

  std::string body;
  EXPECT_TRUE(eventually([&] { return (body = wget("http://" + status->ip + "/")) == "hello from a skiff pod\n"; },
                         std::chrono::seconds(10)))
      << body;
  // Inside the pod, localhost works: the sandbox's lo is up (the plugin brings it up itself).
  auto local = runtime_->exec_sync(id, {"/bin/busybox", "wget", "-q", "-O", "-", "http://127.0.0.1/"}, 10);
  ASSERT_TRUE(local) << local.status().message();
  EXPECT_EQ(local->stdout_data, "hello from a skiff pod\n") << local->stderr_data;
  // The pod's hostname and /etc/hosts come from the sandbox.
  auto hostname = runtime_->exec_sync(id, {"hostname"}, 10);
  ASSERT_TRUE(hostname) << hostname.status().message();
  EXPECT_EQ(hostname->stdout_data, "web\n");
  // /etc/hosts has the pod's own line, written once the network was up.
  auto hosts = runtime_->exec_sync(id, {"cat", "/etc/hosts"}, 10);
  ASSERT_TRUE(hosts) << hosts.status().message();
  EXPECT_NE(hosts->stdout_data.find(status->ip + "\tweb\n"), std::string::npos) << hosts->stdout_data;

  long shim = pid_of(id, "shim.pid"), init = pid_of(id, "container.pid");
  EXPECT_GT(shim, 0);
  EXPECT_GT(init, 0);
  // httpd is PID 1 of its namespace and has no SIGTERM handler: the grace passes, SIGKILL ends it.
  auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->stop_container(id, 1));
  EXPECT_GE(std::chrono::steady_clock::now() - began, std::chrono::milliseconds(900));
  auto stopped = runtime_->container_status(id);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->state, rt::ContainerState::kExited);
  EXPECT_EQ(stopped->exit_code, 137);
  EXPECT_EQ(stopped->reason, "Error");

  ASSERT_TRUE(runtime_->stop_sandbox(*sandbox_id));
  EXPECT_EQ(runtime_->sandbox_status(*sandbox_id)->state, rt::SandboxState::kNotReady);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  EXPECT_FALSE(runtime_->sandbox_status(*sandbox_id));
  expect_nothing_left({shim, init}, {id});
}

TEST_F(RuncRuntimeTest, ExitCodesAreReportedAndLogsWrittenInTheCriFormat) {
  auto sb = sandbox("job");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  rt::ContainerConfig c = container("main", {"/bin/sh", "-c", "echo out $GREETING; echo err >&2; exit 3"});
  c.env = {{"GREETING", "hi"}};
  std::string failing = start(*runtime_, *sandbox_id, sb, c);
  auto exited = wait_exited(*runtime_, failing);
  EXPECT_EQ(exited.exit_code, 3);
  EXPECT_EQ(exited.reason, "Error");
  EXPECT_GE(exited.finished_at_ms, exited.started_at_ms);
  EXPECT_EQ(exited.log_path, (dir_.path() / "logs/job/main/0.log").string());
  std::string log = read_all(exited.log_path);
  std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) F (.*))");
  std::istringstream lines(log);
  std::string l;
  std::vector<std::string> seen;
  while (std::getline(lines, l)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line)) << "not a CRI log line: " << l;
    seen.push_back(m[1].str() + ":" + m[2].str());
  }
  std::sort(seen.begin(), seen.end());  // the two streams may interleave either way
  EXPECT_EQ(seen, (std::vector<std::string>{"stderr:err", "stdout:out hi"}));

  rt::ContainerConfig ok = container("done", {"/bin/true"});
  std::string completed = start(*runtime_, *sandbox_id, sb, ok);
  auto done = wait_exited(*runtime_, completed);
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_EQ(done.reason, "Completed");

  auto listed = runtime_->list_containers(*sandbox_id);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);
  // Stopping an exited container is a no-op; exec into it is refused.
  EXPECT_TRUE(runtime_->stop_container(failing, 1));
  EXPECT_FALSE(runtime_->exec_sync(failing, {"true"}, 5));
  ASSERT_TRUE(runtime_->remove_container(failing));
  EXPECT_FALSE(runtime_->container_status(failing));
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {failing, completed});
}

TEST_F(RuncRuntimeTest, ExecSyncReturnsOutputAndExitCodeAndStopHonoursSigterm) {
  auto sb = sandbox("exec");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  // A shell that ends on SIGTERM by itself: stop must not wait for the grace.
  auto c = container("sh", {"/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"});
  std::string id = start(*runtime_, *sandbox_id, sb, c);
  auto r = runtime_->exec_sync(id, {"/bin/sh", "-c", "echo -n to-out; echo -n to-err >&2; exit 4"}, 10);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->stdout_data, "to-out");
  EXPECT_EQ(r->stderr_data, "to-err");
  auto timed_out = runtime_->exec_sync(id, {"/bin/sleep", "30"}, 1);
  EXPECT_FALSE(timed_out);

  std::string streamed;
  rt::ExecStreams streams;
  bool fed = false;
  streams.read_stdin = [&](std::string& chunk) {
    if (fed) return false;
    chunk = "piped\n";
    fed = true;
    return true;
  };
  streams.on_output = [&](int stream, std::string_view data) { streamed += std::to_string(stream) + std::string(data); };
  auto code = runtime_->exec(id, {"/bin/cat"}, streams);
  ASSERT_TRUE(code) << code.status().message();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(streamed, "1piped\n");

  // With a terminal: the process has one (tty), of the size the client reported, reads what is
  // typed, and all its output is stream 1.
  std::string shown;
  rt::ExecStreams terminal;
  terminal.tty = true;
  bool typed = false, resized = false;
  terminal.read_stdin = [&](std::string& chunk) {
    chunk.clear();
    if (!typed) {
      chunk = "tty; stty size; echo to-$((6*7))-err >&2; exit 3\n";
      typed = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // nothing more typed (stdin stays open)
    }
    return true;
  };
  terminal.terminal_resized = [&](rt::TerminalSize& size) {
    if (resized) return false;
    size = {123, 45};
    resized = true;
    return true;
  };
  std::set<int> streams_seen;
  terminal.on_output = [&](int stream, std::string_view data) {
    streams_seen.insert(stream);
    shown += data;
  };
  auto shell = runtime_->exec(id, {"/bin/sh"}, terminal);
  ASSERT_TRUE(shell) << shell.status().message();
  EXPECT_EQ(*shell, 3) << shown;
  EXPECT_NE(shown.find("/dev/pts/"), std::string::npos) << shown;
  EXPECT_NE(shown.find("45 123"), std::string::npos) << shown;
  EXPECT_NE(shown.find("to-42-err"), std::string::npos) << shown;
  EXPECT_EQ(streams_seen, std::set<int>{1}) << "a terminal has one output stream: " << shown;

  // The end of stdin (the client went away) hangs the terminal up: the shell ends.
  rt::ExecStreams hung_up;
  hung_up.tty = true;
  bool said = false;
  hung_up.read_stdin = [&](std::string& chunk) {
    chunk = said ? "" : "echo still here\n";
    if (said) std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the echo is seen first
    return !std::exchange(said, true);
  };
  std::string before_hangup;
  hung_up.on_output = [&](int, std::string_view data) { before_hangup += data; };
  auto ended = runtime_->exec(id, {"/bin/sh"}, hung_up);
  ASSERT_TRUE(ended) << ended.status().message();
  EXPECT_NE(*ended, 0) << before_hangup;
  EXPECT_NE(before_hangup.find("still here"), std::string::npos) << before_hangup;

  auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->stop_container(id, 20));
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(10));
  auto stopped = runtime_->container_status(id);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->exit_code, 0);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {id});
}

TEST_F(RuncRuntimeTest, AContainerThatCannotStartHasExitedWithStartError) {
  auto sb = sandbox("broken");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  auto id = runtime_->create_container(*sandbox_id, container("nope", {"/no/such/binary"}), sb);
  ASSERT_TRUE(id) << id.status().message();
  auto started = runtime_->start_container(*id);
  ASSERT_FALSE(started);
  EXPECT_NE(started.message().find("/no/such/binary"), std::string::npos) << started.message();
  auto s = runtime_->container_status(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, rt::ContainerState::kExited);
  EXPECT_EQ(s->exit_code, 128);
  EXPECT_EQ(s->reason, "StartError");

  // An image that is not on the node, and a command the image does not give: clear errors.
  auto unknown = runtime_->create_container(*sandbox_id, [] {
    auto c = container("x");
    c.image = "skiff.test/absent:1";
    return c;
  }(), sb);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("skiff.test/absent:1"), std::string::npos);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {*id});
}

TEST_F(RuncRuntimeTest, ARestartedRuntimeAdoptsWhatIsRunning) {
  auto sb = sandbox("adopt");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  std::string id = start(*runtime_, *sandbox_id, sb, container("httpd"));
  std::string ip = runtime_->sandbox_status(*sandbox_id)->ip;
  runtime_.reset();  // the agent goes away; the shim and the container do not

  runtime_ = make("runc");
  ASSERT_TRUE(runtime_);
  auto sandboxes = runtime_->list_sandboxes();
  ASSERT_TRUE(sandboxes);
  ASSERT_EQ(sandboxes->size(), 1u);
  EXPECT_EQ((*sandboxes)[0].id, *sandbox_id);
  EXPECT_EQ((*sandboxes)[0].pod.uid, "uid-adopt");
  EXPECT_EQ((*sandboxes)[0].ip, ip);
  EXPECT_EQ((*sandboxes)[0].state, rt::SandboxState::kReady);
  auto containers = runtime_->list_containers("");
  ASSERT_TRUE(containers);
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ((*containers)[0].id, id);
  EXPECT_EQ((*containers)[0].state, rt::ContainerState::kRunning);
  EXPECT_EQ(wget("http://" + ip + "/"), "hello from a skiff pod\n");
  // The exit code of a container started by the earlier instance is still captured.
  ASSERT_TRUE(runtime_->stop_container(id, 0));
  EXPECT_EQ(runtime_->container_status(id)->exit_code, 137);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {id});
}

TEST_F(RuncRuntimeTest, ResourcesBecomeCgroupLimits) {
  auto sb = sandbox("limits");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  auto c = container("limited", {"/bin/sleep", "60"});
  c.resources.memory_limit_bytes = 64 << 20;
  c.resources.cpu_millis = 250;
  c.resources.cpu_limit_millis = 500;
  std::string id = start(*runtime_, *sandbox_id, sb, c);
  fs::path cg = cgroup_parent_.substr(1) + "/" + id;
  EXPECT_EQ(read_all("/sys/fs/cgroup/memory" / cg / "memory.limit_in_bytes"), std::to_string(64 << 20) + "\n");
  // No swapping past the limit: memory + swap is capped at the same value (this kernel accounts swap).
  ASSERT_TRUE(fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"));
  EXPECT_EQ(read_all("/sys/fs/cgroup/memory" / cg / "memory.memsw.limit_in_bytes"), std::to_string(64 << 20) + "\n");
  EXPECT_EQ(read_all("/sys/fs/cgroup/cpu" / cg / "cpu.shares"), "256\n");
  EXPECT_EQ(read_all("/sys/fs/cgroup/cpu" / cg / "cpu.cfs_quota_us"), "50000\n");
  auto stats = runtime_->container_stats(id);
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_GT(stats->memory_working_set_bytes, 0u);
  EXPECT_GT(stats->cpu_usage_nanos, 0u);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {id});
}

TEST_F(RuncRuntimeTest, MountsAreBindMountsAndReadOnlyOnesRefuseWrites) {
  auto sb = sandbox("mounts");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  const fs::path shared = dir_.path() / "shared";
  fs::create_directories(shared);
  std::ofstream(shared / "seen") << "from the node\n";
  std::ofstream(dir_.path() / "single.conf") << "one file\n";
  // Each check prints a word; a write that a read-only mount lets through prints "WRITABLE".
  auto c = container("mounts", {"/bin/sh", "-c",
                                "cat /rw/seen /ro/seen /etc/single.conf; echo from the container > /rw/wrote; "
                                "for t in /ro/denied /etc/single.conf; do "
                                "if echo x > $t; then echo WRITABLE $t; else echo refused $t; fi; done"});
  c.mounts = {{shared.string(), "/rw", false},
              {shared.string(), "/ro", true},
              {(dir_.path() / "single.conf").string(), "/etc/single.conf", true}};
  std::string id = start(*runtime_, *sandbox_id, sb, c);
  auto exited = wait_exited(*runtime_, id);
  EXPECT_EQ(exited.exit_code, 0);
  std::string log = read_all(exited.log_path);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 7) << log;
  EXPECT_NE(log.find(" stdout F from the node\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stdout F one file\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stdout F refused /ro/denied\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stdout F refused /etc/single.conf\n"), std::string::npos) << log;
  EXPECT_NE(log.find("Read-only file system"), std::string::npos) << log;
  EXPECT_EQ(log.find("WRITABLE"), std::string::npos) << log;
  EXPECT_EQ(read_all(shared / "wrote"), "from the container\n");
  EXPECT_FALSE(fs::exists(shared / "denied"));
  EXPECT_EQ(read_all(dir_.path() / "single.conf"), "one file\n");
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {id});
}

TEST_F(RuncRuntimeTest, AContainerOverItsMemoryLimitIsOOMKilled) {
  auto sb = sandbox("oom");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  // busybox has no allocator: the shell holds 64 MiB of output in a variable, under a 16 MiB limit.
  auto hog = container("hog", {"/bin/sh", "-c", "x=$(head -c 64m /dev/zero | tr '\\0' a); echo survived ${#x}"});
  hog.resources.memory_limit_bytes = 16 << 20;
  // The same limit and the same exit code, but no OOM kill in its cgroup: an Error.
  auto killed = container("killed", {"/bin/sh", "-c", "exit 137"});
  killed.resources.memory_limit_bytes = 16 << 20;
  std::string hog_id = start(*runtime_, *sandbox_id, sb, hog);
  std::string killed_id = start(*runtime_, *sandbox_id, sb, killed);
  auto oom = wait_exited(*runtime_, hog_id);
  EXPECT_EQ(oom.exit_code, 137);
  EXPECT_EQ(oom.reason, "OOMKilled");
  EXPECT_EQ(read_all(oom.log_path).find("survived"), std::string::npos);
  auto plain = wait_exited(*runtime_, killed_id);
  EXPECT_EQ(plain.exit_code, 137);
  EXPECT_EQ(plain.reason, "Error");
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {hog_id, killed_id});
}

TEST_F(RuncRuntimeTest, AHostPortIsPublishedThroughPortmap) {
  auto sb = sandbox("published");
  sb.port_mappings.push_back({"TCP", 80, 8080, ""});
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  std::string id = start(*runtime_, *sandbox_id, sb, container("httpd"));
  // The node's own address on the pod network (the bridge's gateway), port 8080 → the pod's 80.
  std::string body;
  EXPECT_TRUE(eventually([&] { return (body = wget("http://10.199.0.1:8080/")) == "hello from a skiff pod\n"; },
                         std::chrono::seconds(10)))
      << body;
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  auto rules = in_node({"iptables-save", "-t", "nat"});
  EXPECT_EQ(rules.out.find("8080"), std::string::npos) << "portmap rules left:\n" << rules.out;
  expect_nothing_left({}, {id});
}

// While start_container runs (runc create, the wait for the pod network, the release), the
// container is Created until its process runs, and never Exited (the monitor's pid file is not
// there yet at first). The agent's relist compares states: a spurious Exited then made
// the real exit look like no change, and the pod stayed Running with its container gone.
TEST_F(RuncRuntimeTest, AContainerIsCreatedUntilItsStartReturns) {
  auto sb = sandbox("starting");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  auto id = runtime_->create_container(*sandbox_id, container("httpd"), sb);
  ASSERT_TRUE(id) << id.status().message();
  std::atomic<bool> starting{true};
  std::set<int> seen;  // the states polled while start_container ran
  std::thread poller([&] {
    while (starting)
      if (auto st = runtime_->container_status(*id)) seen.insert(static_cast<int>(st->state));
  });
  auto started = runtime_->start_container(*id);
  starting = false;
  poller.join();
  ASSERT_TRUE(started) << started.message();
  // Created throughout, and Running once its process runs (the last moments of the call); never Exited.
  EXPECT_TRUE(seen.contains(static_cast<int>(rt::ContainerState::kCreated)));
  EXPECT_FALSE(seen.contains(static_cast<int>(rt::ContainerState::kExited)));
  EXPECT_EQ(runtime_->container_status(*id)->state, rt::ContainerState::kRunning);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {*id});
}

// CNI ADD runs in the background of run_sandbox; when it fails, no container of the pod runs: the
// start reports the network's error, the created container ends as a StartError that never ran
// its command, the sandbox is NotReady (the agent then replaces it), and removing it leaves nothing.
TEST_F(RuncRuntimeTest, WhenThePodNetworkFailsNoContainerRunsAndTheSandboxIsNotReady) {
  auto o = options("runc");
  o.pod_cidr = "10.199.0.0/30";  // one pod address: .1 is the bridge's
  auto made = runc::make_runc_runtime(o);
  ASSERT_TRUE(made) << made.status().message();
  runtime_ = std::move(*made);
  auto first_sb = sandbox("first");
  auto first = runtime_->run_sandbox(first_sb);
  ASSERT_TRUE(first) << first.status().message();
  std::string running = start(*runtime_, *first, first_sb, container("httpd"));
  ASSERT_EQ(runtime_->sandbox_status(*first)->state, rt::SandboxState::kReady);

  auto second_sb = sandbox("second");
  auto second = runtime_->run_sandbox(second_sb);
  ASSERT_TRUE(second) << second.status().message();  // the network is still to come
  auto id = runtime_->create_container(*second, container("never", {"/bin/sh", "-c", "echo it ran"}), second_sb);
  ASSERT_TRUE(id) << id.status().message();
  auto started = runtime_->start_container(*id);
  ASSERT_FALSE(started);
  EXPECT_NE(started.message().find("pod network of default/second"), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("no IP addresses available"), std::string::npos) << started.message();
  auto never = runtime_->container_status(*id);
  ASSERT_TRUE(never);
  EXPECT_EQ(never->state, rt::ContainerState::kExited);
  EXPECT_EQ(never->exit_code, 128);
  EXPECT_EQ(never->reason, "StartError");
  EXPECT_EQ(read_all(dir_.path() / "logs/second/never/0.log"), "");
  auto status = runtime_->sandbox_status(*second);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, rt::SandboxState::kNotReady);
  EXPECT_EQ(status->ip, "");
  // A container cannot be made in it any more.
  EXPECT_FALSE(runtime_->create_container(*second, container("later"), second_sb));

  ASSERT_TRUE(runtime_->remove_sandbox(*second));
  ASSERT_TRUE(runtime_->remove_sandbox(*first));
  expect_nothing_left({}, {running, *id});
}

TEST_F(RuncRuntimeTest, CrunRunsThroughTheSamePlugin) {
  runtime_ = make("crun");
  ASSERT_TRUE(runtime_);
  EXPECT_FALSE(runtime_->version().empty());
  auto sb = sandbox("crun");
  auto sandbox_id = runtime_->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  std::string id = start(*runtime_, *sandbox_id, sb, container("httpd"));
  std::string ip = runtime_->sandbox_status(*sandbox_id)->ip;
  std::string body;
  EXPECT_TRUE(eventually([&] { return (body = wget("http://" + ip + "/")) == "hello from a skiff pod\n"; },
                         std::chrono::seconds(10)))
      << body;
  auto exited = start(*runtime_, *sandbox_id, sb, container("exit", {"/bin/sh", "-c", "exit 7"}));
  EXPECT_EQ(wait_exited(*runtime_, exited).exit_code, 7);
  ASSERT_TRUE(runtime_->remove_sandbox(*sandbox_id));
  expect_nothing_left({}, {id, exited});
}

// Image garbage collection (agent/image_gc.cpp, the kubelet's image manager) over this plugin and its
// real image store: above the high threshold, unused images go, least recently used first (never
// used before used), until the low threshold; an image a container was made from stays, and so does
// one younger than the minimum age. The disk figures come from the test through the collector's
// usage function (filling this machine's disk to a threshold is not an option); the real statvfs
// reading is checked at the end.
TEST_F(RuncRuntimeTest, ImageGarbageCollectionRemovesUnusedImagesLeastRecentlyUsedFirst) {
  auto import = [&](const std::string& ref, const std::string& content) {
    TestImage image;
    image.layers.push_back({{"data.txt", LayerEntry::Type::kFile, content, 0644}});
    image.ref_name = ref;
    write_oci_archive(dir_.path() / "extra.tar", image);
    oci::ImageStore store(dir_.path() / "images");
    auto imported = oci::import_archive(store, dir_.path() / "extra.tar");
    EXPECT_TRUE(imported) << imported.status().message();
    return imported ? (*imported)[0].config_digest : std::string();
  };
  const std::string used_before = import("skiff.test/used-before:1", std::string(300'000, 'u'));
  const std::string never_used = import("skiff.test/never-used:1", std::string(200'000, 'n'));
  auto runtime = make("runc");
  ASSERT_TRUE(runtime);
  auto ids = [&] {
    std::set<std::string> out;
    if (auto images = runtime->list_images())
      for (const auto& i : *images) out.insert(i.id);
    return out;
  };
  std::uint64_t never_used_size = 0;
  auto listed = runtime->list_images();
  ASSERT_TRUE(listed) << listed.status().message();
  for (const auto& i : *listed)
    if (i.id == never_used) never_used_size = i.size_bytes;
  ASSERT_GT(never_used_size, 0u);

  FakeClock clock;
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kWarn};
  agent::ImageGcPolicy policy;
  policy.high_threshold_percent = 50;
  policy.low_threshold_percent = 40;
  policy.minimum_age_ms = 120'000;
  // Capacity 10 X; usage starts at 10% (nothing to do).
  const std::uint64_t x = never_used_size;
  std::uint64_t used = x;
  std::vector<std::string> reported;  // what the agent turns into FreeDiskSpaceFailed events
  agent::ImageGarbageCollector gc(
      *runtime, clock, logger, policy,
      [&]() -> plugin::Result<agent::FilesystemUsage> { return agent::FilesystemUsage{10 * x, 10 * x - used}; },
      [&](const std::string& message) { reported.push_back(message); });

  // A sandbox with a container of busybox (stays) and one of used-before (removed later).
  auto sb = sandbox("gc");
  auto sandbox_id = runtime->run_sandbox(sb);
  ASSERT_TRUE(sandbox_id) << sandbox_id.status().message();
  auto keeper = runtime->create_container(*sandbox_id, container("keeper", {"/bin/sleep", "60"}), sb);
  ASSERT_TRUE(keeper) << keeper.status().message();
  auto c = container("before", {"/data.txt"});
  c.image = "skiff.test/used-before:1";
  auto before = runtime->create_container(*sandbox_id, c, sb);
  ASSERT_TRUE(before) << before.status().message();
  auto quiet = gc.collect();
  ASSERT_TRUE(quiet) << quiet.status().message();
  EXPECT_FALSE(quiet->ran);
  ASSERT_TRUE(runtime->remove_container(*before));
  clock.advance_ms(600'000);

  // 50% full: free X, to 40%. The never-used image is the least recently used and is X.
  used = 5 * x;
  auto first = gc.collect();
  ASSERT_TRUE(first) << first.status().message();
  EXPECT_TRUE(first->ran);
  EXPECT_EQ(first->usage_percent, 50u);
  EXPECT_EQ(first->removed, std::vector<std::string>{never_used});
  EXPECT_EQ(ids(), (std::set<std::string>{image_id_, used_before}));

  // 90% full: everything unused goes and still not enough is freed (the kubelet's
  // FreeDiskSpaceFailed); the image the container was made from stays.
  used = 9 * x;
  auto second = gc.collect();
  ASSERT_FALSE(second);
  EXPECT_NE(second.status().message().find("image filesystem is 90% full"), std::string::npos) << second.status().message();
  EXPECT_EQ(reported, std::vector<std::string>{second.status().message()});  // only this collection fell short
  EXPECT_EQ(ids(), std::set<std::string>{image_id_});

  // An image pulled a minute ago is too young to collect; after the minimum age it goes.
  const std::string young = import("skiff.test/young:1", "young");
  ASSERT_TRUE(gc.collect().status().message().find("0 images unused and old enough") != std::string::npos);
  EXPECT_TRUE(ids().count(young));
  clock.advance_ms(121'000);
  (void)gc.collect();
  EXPECT_FALSE(ids().count(young));
  EXPECT_TRUE(ids().count(image_id_));
  ASSERT_TRUE(runtime->remove_sandbox(*sandbox_id));

  // The production reading: statvfs of a real path, and a clear error for a missing one.
  auto real = agent::filesystem_usage(dir_.str());
  ASSERT_TRUE(real) << real.status().message();
  EXPECT_GT(real->capacity_bytes, 0u);
  EXPECT_LE(real->available_bytes, real->capacity_bytes);
  auto missing = agent::filesystem_usage(dir_.str() + "/no/such/dir");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("/no/such/dir"), std::string::npos);
}

TEST_F(RuncRuntimeTest, BadOptionsAreRefusedNamingTheKey) {
  auto o = options("no-such-runtime-binary");
  auto r = runc::make_runc_runtime(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("runtime.runc.binary"), std::string::npos);
  o = options("runc");
  o.cni_plugin_dir = "/nonexistent";
  r = runc::make_runc_runtime(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("cni-plugin-dir"), std::string::npos);
}

}  // namespace
}  // namespace skiff::testing
