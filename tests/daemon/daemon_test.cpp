// The real build/bin/skiffd (and skiff) as child processes: exit codes, error messages, --print-config,
// a clean start/stop on SIGTERM, and a restart on the same data dir. Every wait has a deadline.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kBinDir = SKIFF_TEST_BIN_DIR;
const std::string kPluginDir = SKIFF_TEST_PLUGIN_DIR;
const std::string kAbiPluginDir = SKIFF_ABI_PLUGIN_DIR;
constexpr auto kStartTimeout = 30s;
constexpr auto kExitTimeout = 30s;

struct Finished {
  int code = -1;
  std::string out, err;
};

Finished run(const std::string& tool, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv{kBinDir + "/" + tool};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::run_process(argv, env, kExitTimeout);
  EXPECT_FALSE(r.timed_out) << tool << " did not exit within the deadline";
  return {r.exit_code, r.out, r.err};
}

std::string read_log(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// skiffd running in the background, its output in a log file.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, std::string log_path,
         const std::map<std::string, std::string>& env = {})
      : log_(std::move(log_path)) {
    std::vector<std::string> argv{kBinDir + "/skiffd"};
    argv.insert(argv.end(), args.begin(), args.end());
    child_ = std::make_unique<testing::ChildProcess>(argv, env, log_);
  }
  int pid() const { return child_->pid(); }
  // True once "msg=ready" is logged; false if skiffd exits or the deadline passes first.
  bool wait_ready() {
    return testing::eventually([&] { return log().find("msg=ready") != std::string::npos || !child_->running(); },
                               kStartTimeout) &&
           log().find("msg=ready") != std::string::npos;
  }
  int stop(int sig) { return child_->stop(sig, kExitTimeout); }
  std::string log() const { return read_log(log_); }

 private:
  std::string log_;
  std::unique_ptr<testing::ChildProcess> child_;
};

std::optional<long long> ready_revision(const std::string& log) {
  std::smatch m;
  static const std::regex ready("msg=ready revision=([0-9]+)");
  if (!std::regex_search(log, m, ready)) return std::nullopt;
  return std::stoll(m[1].str());
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"skiffd", "skiff"})
      ASSERT_TRUE(std::filesystem::exists(kBinDir + "/" + tool)) << "build " << tool << " first";
  }
  // A free port, so that the API server (once wired in) never collides with another test.
  std::vector<std::string> base_args() const {
    return {"--data-dir", data_dir(), "--plugin-dir", kPluginDir, "--listen",
            "127.0.0.1:" + std::to_string(testing::free_port())};
  }
  std::string log_path(const std::string& name) const { return (dir_.path() / name).string(); }
  std::string data_dir() const { return (dir_.path() / "data").string(); }
  std::string write_file(const std::string& name, const std::string& text) const {
    std::string path = (dir_.path() / name).string();
    std::ofstream(path) << text;
    return path;
  }
  // The build always makes these (CMakeLists adds the dependencies), so a missing one is a failure.
  static void require_plugin(const std::string& name) {
    ASSERT_TRUE(std::filesystem::exists(kPluginDir + "/libskiff-store-" + name + ".so"))
        << "store plugin '" << name << "' is not built (target skiff-store-" << name << ")";
  }

  testing::TempDir dir_{"skiff-daemon-test"};
};

TEST_F(DaemonTest, UnknownKeyInFileExitsTwoNamingKeyFileAndLine) {
  std::string file = write_file("skiffd.ini", "# test config\n[store]\nbakend = sqlite\n");
  auto r = run("skiffd", {"--config", file, "--data-dir", data_dir()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, AllOf(HasSubstr("store.bakend"), HasSubstr(file), HasSubstr("line 3")));
  EXPECT_FALSE(std::filesystem::exists(data_dir())) << "nothing may be created before the config is valid";
}

TEST_F(DaemonTest, BadValueExitsTwoNamingTheKey) {
  auto flag = run("skiffd", {"--watch.window=lots", "--data-dir", data_dir()});
  EXPECT_EQ(flag.code, 2);
  EXPECT_THAT(flag.err, AllOf(HasSubstr("watch.window"), HasSubstr("'lots'")));
  auto compaction = run("skiffd", {"--store.compaction-interval-seconds=-5", "--data-dir", data_dir()});
  EXPECT_EQ(compaction.code, 2);
  EXPECT_THAT(compaction.err,
              AllOf(HasSubstr("store.compaction-interval-seconds"), HasSubstr("'-5'"), HasSubstr("[0, 604800]")));

  std::string file = write_file("bad-listen.ini", "data-dir = " + data_dir() + "\nlisten = nowhere\n");
  auto in_file = run("skiffd", {"--config", file});
  EXPECT_EQ(in_file.code, 2);
  EXPECT_THAT(in_file.err, AllOf(HasSubstr("listen"), HasSubstr("'nowhere'"), HasSubstr(file + " line 2")));

  auto env = run("skiffd", {"--data-dir", data_dir()}, {{"SKIFF_LOG_LEVEL", "chatty"}});
  EXPECT_EQ(env.code, 2);
  EXPECT_THAT(env.err, AllOf(HasSubstr("log-level"), HasSubstr("SKIFF_LOG_LEVEL")));
}

TEST_F(DaemonTest, BadPluginOptionValueExitsTwoNamingTheKey) {
  require_plugin("sqlite");
  auto args = base_args();
  args.insert(args.end(), {"--store.backend=sqlite", "--store.sqlite.busy-timeout-ms=soon"});
  auto r = run("skiffd", args);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, AllOf(HasSubstr("store.sqlite.busy-timeout-ms"), HasSubstr("soon"), HasSubstr("store.backend")));
  EXPECT_THAT(r.err, Not(HasSubstr("msg=ready")));
}

TEST_F(DaemonTest, UnknownEnvironmentVariableExitsTwoNamingIt) {
  auto r = run("skiffd", {"--data-dir", data_dir()}, {{"SKIFF_DATA_DIRECTORY", "/tmp/x"}});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("SKIFF_DATA_DIRECTORY"));
}

TEST_F(DaemonTest, UnknownFlagExitsTwoNamingIt) {
  auto r = run("skiffd", {"--data-dri", data_dir()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--data-dri"));
}

TEST_F(DaemonTest, UnknownStoreBackendFailsNamingStoreBackendAndTheAvailableOnes) {
  require_plugin("memory");
  auto args = base_args();
  args.push_back("--store.backend=nope");
  auto r = run("skiffd", args);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("store.backend 'nope'"), HasSubstr("available store backends:"),
                           HasSubstr("memory")));
  EXPECT_THAT(r.err, Not(HasSubstr("msg=ready")));
}

TEST_F(DaemonTest, PrintConfigShowsEffectiveValuesAndOrigins) {
  require_plugin("memory");
  std::string file = write_file("skiffd.ini", "[watch]\nwindow = 1024\n");
  auto args = base_args();
  args.insert(args.end(), {"--config", file, "--print-config"});
  auto r = run("skiffd", args, {{"SKIFF_STORE__BACKEND", "memory"}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("data-dir = " + data_dir() + "  # flag --data-dir"));
  EXPECT_THAT(r.out, HasSubstr("[store]\nbackend = memory  # env SKIFF_STORE__BACKEND"));
  EXPECT_THAT(r.out, HasSubstr("[watch]\nwindow = 1024  # file " + file + ":2"));
  EXPECT_THAT(r.out, HasSubstr("log-level = info  # default"));
  EXPECT_THAT(r.out, HasSubstr("[store.memory]"));
  EXPECT_FALSE(std::filesystem::exists(data_dir()));
}

TEST_F(DaemonTest, HelpListsPluginOptions) {
  require_plugin("sqlite");
  auto r = run("skiffd", {"--help", "--plugin-dir", kPluginDir});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, AllOf(HasSubstr("--data-dir"), HasSubstr("--store.backend"), HasSubstr("[store.sqlite]"),
                           HasSubstr("--store.sqlite.")));
}

TEST_F(DaemonTest, StartsLogsReadyAndStopsCleanlyOnSigterm) {
  require_plugin("memory");
  auto args = base_args();
  args.push_back("--store.backend=memory");
  Daemon d(args, log_path("skiffd.log"));
  ASSERT_TRUE(d.wait_ready()) << d.log();
  EXPECT_TRUE(ready_revision(d.log()).has_value()) << d.log();
  struct stat st{};
  ASSERT_EQ(stat(data_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
  EXPECT_THAT(d.log(), HasSubstr("msg=stopped"));
}

// kB of the process's memory in transparent huge pages (AnonHugePages), or -1 if unreadable.
long anon_huge_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("AnonHugePages:")) return std::stol(line.substr(line.find_first_of("0123456789")));
  return -1;
}

// Whether one of the process's threads is named `name`.
bool has_thread(int pid, const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
    if (read_log((task.path() / "comm").string()) == name + "\n") return true;
  return false;
}

// skiffd's heap grows in transparent huge pages, faulted in ahead by its skiff-heap thread
// (kernel/allocator/), unless SKIFF_HEAP_HUGE_PAGES=0, which skiffd also accepts as no unknown
// config variable.
TEST_F(DaemonTest, HeapGrowsInTransparentHugePagesUnlessTurnedOff) {
  require_plugin("memory");
  std::string thp = read_log("/sys/kernel/mm/transparent_hugepage/enabled");
  if (thp.empty() || thp.find("[never]") != std::string::npos)
    GTEST_SKIP() << "transparent huge pages are off on this machine ('" << thp << "'), so there is nothing to see";
  auto args = base_args();
  args.push_back("--store.backend=memory");
  {
    Daemon d(args, log_path("huge.log"));
    ASSERT_TRUE(d.wait_ready()) << d.log();
    EXPECT_GT(anon_huge_kb(d.pid()), 0) << "no huge pages in skiffd's memory";
    EXPECT_TRUE(has_thread(d.pid(), "skiff-heap"));
    EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
  }
  // Off: with THP only where advised ("madvise", Debian's default), nothing is advised and none are used.
  if (thp.find("[madvise]") == std::string::npos) return;
  Daemon d(args, log_path("small.log"), {{"SKIFF_HEAP_HUGE_PAGES", "0"}});
  ASSERT_TRUE(d.wait_ready()) << d.log();
  EXPECT_EQ(anon_huge_kb(d.pid()), 0);
  EXPECT_FALSE(has_thread(d.pid(), "skiff-heap"));
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
}

TEST_F(DaemonTest, StopsCleanlyOnSigint) {
  require_plugin("memory");
  auto args = base_args();
  args.push_back("--store.backend=memory");
  Daemon d(args, log_path("skiffd.log"));
  ASSERT_TRUE(d.wait_ready()) << d.log();
  EXPECT_EQ(d.stop(SIGINT), 0) << d.log();
}

TEST_F(DaemonTest, RestartOnTheSameDataDirKeepsTheRevision) {
  require_plugin("sqlite");
  auto args = base_args();
  args.push_back("--store.backend=sqlite");
  std::optional<long long> first;
  {
    Daemon d(args, log_path("first.log"));
    ASSERT_TRUE(d.wait_ready()) << d.log();
    first = ready_revision(d.log());
    ASSERT_TRUE(first.has_value());

    // A second skiffd on the same data dir is refused while the first runs.
    auto second = run("skiffd", args);
    EXPECT_EQ(second.code, 1);
    EXPECT_THAT(second.err, HasSubstr("is in use by another skiffd"));

    ASSERT_EQ(d.stop(SIGTERM), 0) << d.log();
  }
  Daemon again(args, log_path("second.log"));
  ASSERT_TRUE(again.wait_ready()) << again.log();
  EXPECT_EQ(ready_revision(again.log()), first);
  EXPECT_EQ(again.stop(SIGTERM), 0) << again.log();
}

TEST_F(DaemonTest, CompactsTheStoresHistoryEveryInterval) {
  require_plugin("sqlite");
  auto args = base_args();
  args.insert(args.end(), {"--store.backend=sqlite", "--store.compaction-interval-seconds=1", "--log-level=debug"});
  Daemon d(args, log_path("skiffd.log"));
  ASSERT_TRUE(d.wait_ready()) << d.log();
  // The first tick notes the revision the start-up writes reached; the second compacts to it.
  auto compacted = [&] { return d.log().find("msg=\"store compacted\"") != std::string::npos; };
  EXPECT_TRUE(skiff::testing::eventually(compacted)) << d.log();
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
}

TEST_F(DaemonTest, BrokenPluginsAreRefusedAndTheDaemonStillStarts) {
  require_plugin("memory");
  ASSERT_TRUE(std::filesystem::exists(kAbiPluginDir + "/libskiff-abi-good.so")) << "tests/abi modules not built";
  // A plugin dir with the memory store and a few broken modules.
  auto plugins = dir_.path() / "plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::create_symlink(kPluginDir + "/libskiff-store-memory.so", plugins / "libskiff-store-memory.so");
  const std::vector<std::string> broken = {"bad-magic", "wrong-tag", "abi-major-99", "not-elf", "no-entry"};
  for (const auto& b : broken) {
    std::string name = "libskiff-abi-" + b + ".so";
    std::filesystem::create_symlink(kAbiPluginDir + "/" + name, plugins / name);
  }
  Daemon d({"--data-dir", data_dir(), "--plugin-dir", plugins.string(), "--store.backend=memory", "--listen",
            "127.0.0.1:" + std::to_string(testing::free_port())},
           log_path("skiffd.log"));
  ASSERT_TRUE(d.wait_ready()) << d.log();
  for (const auto& b : broken)
    EXPECT_THAT(d.log(), AllOf(HasSubstr("msg=\"plugin refused\""), HasSubstr("libskiff-abi-" + b + ".so")));
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
}

TEST_F(DaemonTest, SkiffPluginsListsPluginsAndRefusals) {
  require_plugin("memory");
  require_plugin("sqlite");
  auto table = run("skiff", {"plugins", "--plugin-dir", kPluginDir});
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, AllOf(HasSubstr("ROLE"), HasSubstr("skiff.store.v1"), HasSubstr("memory"), HasSubstr("sqlite"),
                               HasSubstr("store.sqlite")));

  if (std::filesystem::exists(kAbiPluginDir + "/libskiff-abi-good.so")) {
    auto json = run("skiff", {"plugins", "--plugin-dir", kAbiPluginDir, "-o", "json"});
    EXPECT_EQ(json.code, 0) << json.err;
    EXPECT_THAT(json.out, AllOf(HasSubstr("\"refused\""), HasSubstr("libskiff-abi-wrong-tag.so"), HasSubstr("abi-tag"),
                                HasSubstr("\"skiff.controller.v1\"")));
  }
  auto bad_output = run("skiff", {"plugins", "-o", "xml"});
  EXPECT_EQ(bad_output.code, 2);
  auto version = run("skiff", {"version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, HasSubstr("plugin ABI 1."));
  auto unknown = run("skiff", {"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
}

}  // namespace
}  // namespace skiff
