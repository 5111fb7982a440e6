// A container runtime with no containers (kwok's idea): sandboxes get an IP from a private pool,
// containers "start" after a configurable latency and then run until stopped, or exit on their own
// when their image asks for it. One process can host thousands of simulated nodes with it, which is
// what the scheduler and controller benchmarks and tests without a real runtime use.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/runtime.hpp"

namespace skiff::plugins::runtime::sim {

inline constexpr std::string_view kName = "sim";

struct SimOptions {
  // Time between start_container and the container counting as running, in ms.
  std::int64_t start_latency_ms = 0;
  // First pod IP handed out is <pool>.0.2; the pool is a /16 ("10.88" → 10.88.0.2 …).
  std::string ip_pool = "10.88";
};

// Images decide how a simulated container behaves, so tests and benchmarks can ask for failures
// without special APIs: a reference whose name (before the tag) ends in
//   "-exit-<N>"  exits with code N as soon as it starts (N = 0 completes),
//   "-missing"   cannot be pulled (ErrImagePull),
// and anything else runs until stopped.
std::unique_ptr<plugin::runtime::Runtime> make_sim_runtime(SimOptions options,
                                                           std::function<std::int64_t()> now_ms = nullptr);

plugin::Result<std::unique_ptr<plugin::runtime::Runtime>> make_runtime(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 2> kOptions;

}  // namespace skiff::plugins::runtime::sim
