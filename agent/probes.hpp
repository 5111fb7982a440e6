// Container probes as the kubelet runs them: liveness, readiness and startup, each an exec
// (runtime exec_sync, exit 0 = success), httpGet (status 200–399) or tcpSocket (connect succeeds),
// with initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold and failureThreshold.
//
// No prober threads: PodSync calls ProbeTracker::step on its reconcile pass for a running container
// and requeues the pod for the next due probe. Every time comes from the agent's Clock, so tests
// with a fake clock decide when a probe is due.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::agent {

struct ProbeSpec {
  enum class Kind : std::uint8_t { kExec, kHttpGet, kTcpSocket };
  Kind kind = Kind::kExec;
  std::vector<std::string> command;  // exec
  std::string host;                  // httpGet / tcpSocket; empty: the pod IP
  int port = 0;
  std::string path = "/";            // httpGet
  std::string scheme = "HTTP";
  // Kubernetes' defaults.
  std::int64_t initial_delay_ms = 0;
  std::int64_t period_ms = 10'000;
  std::int64_t timeout_ms = 1'000;
  int success_threshold = 1;
  int failure_threshold = 3;
};

// Reads a container's `livenessProbe` / `readinessProbe` / `startupProbe` object. Named ports are
// looked up in the container's `ports`. A probe without exactly one handler, or with a bad value, is
// an error naming the field.
plugin::Result<ProbeSpec> parse_probe(const nlohmann::json& probe, const nlohmann::json& container, const std::string& where);

struct ProbeOutcome {
  bool success = false;
  std::string message;  // why it failed, as the kubelet words it
};

// Runs one probe now, waiting at most its timeout.
ProbeOutcome run_probe(const ProbeSpec& spec, plugin::runtime::Runtime& runtime, const std::string& container_id,
                       const std::string& pod_ip);

// One probe's running result for one container instance: the thresholds turn single outcomes into
// a result that changes only after enough consecutive successes or failures.
struct ProbeState {
  std::int64_t next_at_ms = 0;  // when the next probe is due
  int successes = 0;            // consecutive
  int failures = 0;
  bool result = false;
};

// What one step did.
struct ProbeStep {
  bool ran = false;
  bool changed = false;              // the result flipped
  std::optional<ProbeOutcome> outcome;  // when it ran
  std::int64_t wait_ms = 0;          // until the next one is due
};

// Runs the probe if it is due at `now_ms` (the first one `initial_delay_ms` after `started_at_ms`)
// and updates `state` with the thresholds.
ProbeStep step_probe(const ProbeSpec& spec, ProbeState& state, std::int64_t started_at_ms, std::int64_t now_ms,
                     plugin::runtime::Runtime& runtime, const std::string& container_id, const std::string& pod_ip);

}  // namespace skiff::agent
