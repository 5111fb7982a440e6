// Probe parsing (Kubernetes' defaults, errors naming the field) and single probes run against a real
// listener on 127.0.0.1 and the simulated runtime's exec.
#include <gtest/gtest.h>

#include <chrono>

#include "agent/probes.hpp"
#include "sim_runtime.hpp"
#include "tests/agent/probe_listener.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;

TEST(ProbeSpec, KubernetesDefaultsAndNamedPorts) {
  json container = {{"name", "web"}, {"ports", {{{"name", "http"}, {"containerPort", 8080}}}}};
  auto spec = agent::parse_probe({{"httpGet", {{"port", "http"}, {"path", "healthz"}}}}, container, "livenessProbe");
  ASSERT_TRUE(spec.is_ok()) << spec.status().message();
  EXPECT_EQ(spec->kind, agent::ProbeSpec::Kind::kHttpGet);
  EXPECT_EQ(spec->port, 8080);
  EXPECT_EQ(spec->path, "/healthz");
  EXPECT_EQ(spec->initial_delay_ms, 0);
  EXPECT_EQ(spec->period_ms, 10'000);
  EXPECT_EQ(spec->timeout_ms, 1'000);
  EXPECT_EQ(spec->success_threshold, 1);
  EXPECT_EQ(spec->failure_threshold, 3);

  auto tuned = agent::parse_probe({{"exec", {{"command", {"cat", "/tmp/ok"}}}}, {"initialDelaySeconds", 5},
                                   {"periodSeconds", 2}, {"timeoutSeconds", 3}, {"successThreshold", 2},
                                   {"failureThreshold", 4}},
                                  container, "readinessProbe");
  ASSERT_TRUE(tuned.is_ok());
  EXPECT_EQ(tuned->command, (std::vector<std::string>{"cat", "/tmp/ok"}));
  EXPECT_EQ(tuned->initial_delay_ms, 5'000);
  EXPECT_EQ(tuned->period_ms, 2'000);
  EXPECT_EQ(tuned->timeout_ms, 3'000);
  EXPECT_EQ(tuned->success_threshold, 2);
  EXPECT_EQ(tuned->failure_threshold, 4);
}

TEST(ProbeSpec, BadProbesAreRefusedNamingTheField) {
  json c = {{"name", "web"}};
  auto none = agent::parse_probe(json::object(), c, "spec.containers[web].livenessProbe");
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("spec.containers[web].livenessProbe: exactly one of"), std::string::npos);
  auto port = agent::parse_probe({{"tcpSocket", {{"port", "nope"}}}}, c, "readinessProbe");
  ASSERT_FALSE(port.is_ok());
  EXPECT_NE(port.status().message().find("readinessProbe.tcpSocket.port"), std::string::npos) << port.status().message();
  auto period = agent::parse_probe({{"exec", {{"command", {"true"}}}}, {"periodSeconds", 0}}, c, "startupProbe");
  ASSERT_FALSE(period.is_ok());
  EXPECT_NE(period.status().message().find("startupProbe.periodSeconds"), std::string::npos);
}

agent::ProbeSpec network_probe(agent::ProbeSpec::Kind kind, int port) {
  agent::ProbeSpec spec;
  spec.kind = kind;
  spec.host = "127.0.0.1";
  spec.port = port;
  spec.path = "/healthz";
  return spec;
}

TEST(RunProbe, TcpSocketSucceedsWhileSomethingListens) {
  auto runtime = plugins::runtime::sim::make_sim_runtime({});
  ProbeListener listener;
  auto spec = network_probe(agent::ProbeSpec::Kind::kTcpSocket, listener.port());
  EXPECT_TRUE(agent::run_probe(spec, *runtime, "", "").success);
  listener.close();
  auto refused = agent::run_probe(spec, *runtime, "", "");
  EXPECT_FALSE(refused.success);
  EXPECT_EQ(refused.message, "dial tcp 127.0.0.1:" + std::to_string(spec.port) + ": connect: connection refused");
}

TEST(RunProbe, HttpGetCountsTwoHundredToThreeNinetyNineAsSuccess) {
  auto runtime = plugins::runtime::sim::make_sim_runtime({});
  ProbeListener listener;
  auto spec = network_probe(agent::ProbeSpec::Kind::kHttpGet, listener.port());
  for (int ok : {200, 204, 302, 399}) {
    listener.answer(ok);
    EXPECT_TRUE(agent::run_probe(spec, *runtime, "", "").success) << ok;
  }
  listener.answer(500);
  auto failed = agent::run_probe(spec, *runtime, "", "");
  EXPECT_FALSE(failed.success);
  EXPECT_EQ(failed.message, "HTTP probe failed with statuscode: 500");
  // A server that never answers fails by the probe's timeout (1 s), not later.
  listener.answer(0);
  auto start = std::chrono::steady_clock::now();
  auto silent = agent::run_probe(spec, *runtime, "", "");
  EXPECT_FALSE(silent.success);
  EXPECT_NE(silent.message.find("context deadline exceeded"), std::string::npos) << silent.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1400));
}

TEST(RunProbe, ExecAsksTheRuntime) {
  auto runtime = plugins::runtime::sim::make_sim_runtime({});
  agent::ProbeSpec spec;
  spec.command = {"true"};
  // No such container: the runtime's error is the failure message.
  auto missing = agent::run_probe(spec, *runtime, "no-such-container", "");
  EXPECT_FALSE(missing.success);
  EXPECT_NE(missing.message.find("not running"), std::string::npos) << missing.message;
}

TEST(StepProbe, ThresholdsAndPeriodsFollowTheClock) {
  auto runtime = plugins::runtime::sim::make_sim_runtime({});
  ProbeListener listener;
  auto spec = network_probe(agent::ProbeSpec::Kind::kTcpSocket, listener.port());
  spec.initial_delay_ms = 5'000;
  spec.success_threshold = 2;
  spec.failure_threshold = 2;
  agent::ProbeState state;
  // Not due before the initial delay.
  auto early = agent::step_probe(spec, state, 1'000, 3'000, *runtime, "", "");
  EXPECT_FALSE(early.ran);
  EXPECT_EQ(early.wait_ms, 3'000);
  auto first = agent::step_probe(spec, state, 1'000, 6'000, *runtime, "", "");
  EXPECT_TRUE(first.ran);
  EXPECT_FALSE(state.result) << "one success of two";
  EXPECT_EQ(first.wait_ms, 10'000);
  EXPECT_FALSE(agent::step_probe(spec, state, 1'000, 10'000, *runtime, "", "").ran) << "not due within the period";
  auto second = agent::step_probe(spec, state, 1'000, 16'000, *runtime, "", "");
  EXPECT_TRUE(second.changed);
  EXPECT_TRUE(state.result);
  listener.close();
  agent::step_probe(spec, state, 1'000, 26'000, *runtime, "", "");
  EXPECT_TRUE(state.result) << "one failure of two";
  EXPECT_EQ(state.failures, 1);
  auto down = agent::step_probe(spec, state, 1'000, 36'000, *runtime, "", "");
  EXPECT_TRUE(down.changed);
  EXPECT_FALSE(state.result);
}

}  // namespace
}  // namespace skiff::testing
