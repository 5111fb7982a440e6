// ContainerLogs reading real CRI-format log files (the format the runc shim writes) the way
// `kubectl logs` asks for them. The files are written here in that format; the running check a follow
// ends on is the test's switch (in the agent it reads the pod's status from the informer cache).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "agent/container_logs.hpp"
#include "skiff/plugin/time.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

namespace fs = std::filesystem;
using kernel::api::PodLogRequest;

class ContainerLogsTest : public ::testing::Test {
 protected:
  ContainerLogsTest() : logs_(dir_.str(), [this](const PodLogRequest&) { return running_.load(); }) {}

  fs::path file(int attempt) const {
    fs::path d = dir_.path() / "default_web_u1" / "app";
    fs::create_directories(d);
    return d / (std::to_string(attempt) + ".log");
  }
  void write(int attempt, const std::string& text) {
    std::ofstream out(file(attempt), std::ios::app);
    out << text;
  }
  static PodLogRequest request() { return {.ns = "default", .pod = "web", .uid = "u1", .container = "app"}; }

  // Everything a non-follow read gives.
  std::string read(const PodLogRequest& r) {
    auto source = logs_.pod_log(r);
    EXPECT_TRUE(source) << source.status().message();
    if (!source) return "<error>";
    std::string out = (*source)->poll();
    EXPECT_TRUE((*source)->done());
    return out;
  }

  TempDir dir_{"container-logs"};
  std::atomic<bool> running_{true};
  agent::ContainerLogs logs_;
};

TEST_F(ContainerLogsTest, EntriesComeBackAsTheContainerWroteThem) {
  write(0,
        "2026-11-23T10:00:00.000000001Z stdout F hello\n"
        "2026-11-23T10:00:01.000000000Z stderr P par\n"
        "2026-11-23T10:00:01.500000000Z stderr F tial\n"
        "not a cri line\n"
        "2026-11-23T10:00:02.000000000Z stdout F last\n"
        "2026-11-23T10:00:03.000000000Z stdout F unterminated");  // no newline yet: not read
  EXPECT_EQ(read(request()), "hello\npartial\nnot a cri line\nlast\n");
}

TEST_F(ContainerLogsTest, TailLinesTimestampsAndLimitBytes) {
  write(0,
        "2026-11-23T10:00:00Z stdout F one\n"
        "2026-11-23T10:00:01Z stdout F two\n"
        "2026-11-23T10:00:02Z stdout P thr\n"
        "2026-11-23T10:00:03Z stdout F ee\n");
  auto r = request();
  r.tail_lines = 2;
  EXPECT_EQ(read(r), "two\nthree\n");
  r.tail_lines = 0;
  EXPECT_EQ(read(r), "");
  r.tail_lines = 10;
  EXPECT_EQ(read(r), "one\ntwo\nthree\n");
  r.tail_lines.reset();
  r.timestamps = true;
  EXPECT_EQ(read(r), "2026-11-23T10:00:00Z one\n2026-11-23T10:00:01Z two\n2026-11-23T10:00:02Z three\n");
  r.timestamps = false;
  r.limit_bytes = 6;
  EXPECT_EQ(read(r), "one\ntw");
}

TEST_F(ContainerLogsTest, SinceSecondsSkipsOlderEntries) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  write(0, plugin::format_rfc3339(now - 3'600'000) + " stdout F an hour ago\n" + plugin::format_rfc3339(now) +
               " stdout F just now\n");
  auto r = request();
  r.since_seconds = 60;
  EXPECT_EQ(read(r), "just now\n");
}

TEST_F(ContainerLogsTest, PreviousReadsTheAttemptBeforeAndMissingLogsSayWhy) {
  auto none = logs_.pod_log(request());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.status().code(), plugin::Code::kBadRequest);
  EXPECT_EQ(none.status().message(), "container \"app\" in pod \"web\" is waiting to start: ContainerCreating");

  write(0, "2026-11-23T10:00:00Z stdout F first run\n");
  auto r = request();
  r.previous = true;
  auto no_previous = logs_.pod_log(r);
  ASSERT_FALSE(no_previous);
  EXPECT_EQ(no_previous.status().message(), "previous terminated container \"app\" in pod \"web\" not found");

  write(1, "2026-11-23T10:01:00Z stdout F second run\n");
  EXPECT_EQ(read(request()), "second run\n");
  EXPECT_EQ(read(r), "first run\n");
}

TEST_F(ContainerLogsTest, FollowGivesNewLinesAndEndsOnceTheContainerStopped) {
  write(0, "2026-11-23T10:00:00Z stdout F before\n");
  auto r = request();
  r.follow = true;
  auto source = logs_.pod_log(r);
  ASSERT_TRUE(source) << source.status().message();
  auto& reader = **source;
  EXPECT_EQ(reader.poll(), "before\n");
  EXPECT_EQ(reader.poll(), "");  // nothing new, still running: the follow goes on
  EXPECT_FALSE((*source)->done());
  write(0, "2026-11-23T10:00:01Z stdout P half ");
  EXPECT_EQ(reader.poll(), "");  // an unterminated entry waits for its newline
  write(0, "\n2026-11-23T10:00:02Z stdout F after\n");
  EXPECT_EQ(reader.poll(), "half after\n");
  running_ = false;
  write(0, "2026-11-23T10:00:03Z stdout F its last words\n");
  EXPECT_EQ(reader.poll(), "its last words\n");  // written before it stopped: still read
  EXPECT_FALSE((*source)->done());
  // Bounded: two idle polls after the stop end it.
  for (int i = 0; i < 3 && !(*source)->done(); ++i) EXPECT_EQ(reader.poll(), "");
  EXPECT_TRUE((*source)->done());
}

TEST_F(ContainerLogsTest, FollowEndsWhenTheAgentDetaches) {
  write(0, "2026-11-23T10:00:00Z stdout F hi\n");
  auto r = request();
  r.follow = true;
  auto source = logs_.pod_log(r);
  ASSERT_TRUE(source);
  EXPECT_EQ((*source)->poll(), "hi\n");
  logs_.detach();
  for (int i = 0; i < 3 && !(*source)->done(); ++i) (*source)->poll();
  EXPECT_TRUE((*source)->done());
}

}  // namespace
}  // namespace skiff::testing
