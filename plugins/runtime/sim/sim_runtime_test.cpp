// The simulated runtime on its own (the agent tests drive it through the agent): sandboxes get IPs
// from the pool, containers count as running only once the start latency has passed (on a clock the
// test moves), images ask for exits and pull failures by name, stop and exec behave as documented.
#include <gtest/gtest.h>

#include "sim_runtime.hpp"

namespace skiff::plugins::runtime::sim {
namespace {

namespace rt = plugin::runtime;

struct SimRuntimeTest : ::testing::Test {
  std::int64_t now = 1'000'000;
  std::unique_ptr<rt::Runtime> runtime = make_sim_runtime(SimOptions{250, "10.77"}, [this] { return now; });
  rt::SandboxConfig sandbox = [] {
    rt::SandboxConfig c;
    c.pod = {"default", "web", "uid-1", 0};
    c.log_directory = "/logs/web";
    return c;
  }();

  // A started container of `image` in a new sandbox; its id.
  std::string started(const std::string& image) {
    auto sb = runtime->run_sandbox(sandbox);
    EXPECT_TRUE(sb);
    auto pulled = runtime->pull_image(image);
    EXPECT_TRUE(pulled) << pulled.status().message();
    rt::ContainerConfig config;
    config.name = "app";
    config.image = pulled->id;
    config.log_path = "app/0.log";
    auto id = runtime->create_container(*sb, config, sandbox);
    EXPECT_TRUE(id) << id.status().message();
    EXPECT_TRUE(runtime->start_container(*id));
    return *id;
  }
  rt::ContainerStatus status(const std::string& id) { return *runtime->container_status(id); }
};

TEST_F(SimRuntimeTest, SandboxesGetConsecutiveIpsFromThePool) {
  auto a = runtime->run_sandbox(sandbox), b = runtime->run_sandbox(sandbox);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(runtime->sandbox_status(*a)->ip, "10.77.0.2");
  EXPECT_EQ(runtime->sandbox_status(*b)->ip, "10.77.0.3");
  EXPECT_EQ(runtime->sandbox_status(*a)->state, rt::SandboxState::kReady);
  EXPECT_EQ(runtime->list_sandboxes()->size(), 2u);
  ASSERT_TRUE(runtime->remove_sandbox(*a));
  EXPECT_FALSE(runtime->sandbox_status(*a));
}

TEST_F(SimRuntimeTest, AContainerRunsOnceTheStartLatencyHasPassedAndStopsWithSigterm) {
  std::string id = started("skiff.test/web:1");
  EXPECT_EQ(status(id).state, rt::ContainerState::kCreated) << "still starting for 250 ms";
  now += 250;
  auto running = status(id);
  EXPECT_EQ(running.state, rt::ContainerState::kRunning);
  EXPECT_EQ(running.started_at_ms, 1'000'250);
  EXPECT_EQ(running.log_path, "/logs/web/app/0.log");
  EXPECT_FALSE(runtime->start_container(id)) << "a container starts once";

  // Probes and exec succeed; `false` fails; `cat` copies stdin to stdout.
  EXPECT_EQ(runtime->exec_sync(id, {"true"}, 1)->exit_code, 0);
  EXPECT_EQ(runtime->exec_sync(id, {"false"}, 1)->exit_code, 1);
  std::vector<std::string> input = {"hello ", "", "world"};
  std::size_t next = 0;
  std::string output;
  rt::ExecStreams streams;
  streams.read_stdin = [&](std::string& chunk) {
    if (next == input.size()) return false;
    chunk = input[next++];
    return true;
  };
  streams.on_output = [&](int stream, std::string_view data) {
    EXPECT_EQ(stream, 1);
    output += data;
  };
  auto code = runtime->exec(id, {"cat"}, streams);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(output, "hello world");

  now += 1000;
  ASSERT_TRUE(runtime->stop_container(id, 30));
  auto stopped = status(id);
  EXPECT_EQ(stopped.state, rt::ContainerState::kExited);
  EXPECT_EQ(stopped.exit_code, 143) << "a simulated process honours SIGTERM at once";
  EXPECT_EQ(stopped.finished_at_ms, 1'001'250);
  EXPECT_FALSE(runtime->exec_sync(id, {"true"}, 1)) << "no exec in a stopped container";
}

TEST_F(SimRuntimeTest, ImagesAskForExitsAndPullFailuresByName) {
  std::string done = started("skiff.test/job-exit-0:1"), failed = started("skiff.test/job-exit-3:1");
  now += 250;
  EXPECT_EQ(status(done).state, rt::ContainerState::kExited);
  EXPECT_EQ(status(done).exit_code, 0);
  EXPECT_EQ(status(done).reason, "Completed");
  EXPECT_EQ(status(failed).exit_code, 3);
  EXPECT_EQ(status(failed).reason, "Error");

  auto missing = runtime->pull_image("skiff.test/app-missing:1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), plugin::Code::kNotFound);
  EXPECT_FALSE(runtime->image_status("skiff.test/app-missing:1")->has_value());
  EXPECT_TRUE(runtime->image_status("skiff.test/job-exit-3:1")->has_value()) << "a pulled image is on the node";
}

TEST_F(SimRuntimeTest, StoppingASandboxKillsItsContainers) {
  std::string id = started("skiff.test/web:1");
  now += 250;
  std::string sb = status(id).sandbox_id;
  ASSERT_TRUE(runtime->stop_sandbox(sb));
  EXPECT_EQ(status(id).state, rt::ContainerState::kExited);
  EXPECT_EQ(status(id).exit_code, 137);
}

}  // namespace
}  // namespace skiff::plugins::runtime::sim
