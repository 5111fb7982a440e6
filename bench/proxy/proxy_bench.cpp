// Proxy benchmarks (run as root: they create network namespaces and write rules only inside them).
//
//   <mode>: 0 iptables (nf_tables backend), 1 nftables, 2 iptables with the legacy backend
//   BM_FullSync/<mode>/<services>   one sync of N services × 10 endpoints into a node where the
//                                   mode has nothing yet (what a start or a mode switch costs)
//   BM_RestartSync/<mode>/<services>
//                                   the first sync of a new proxy instance on a node where the
//                                   mode's rules for the same N services are already in place
//                                   (a restart: the rules are replaced in one transaction)
//   BM_OneEndpointChange/<mode>/<services>
//                                   the sync after one endpoint of one service changed
//   BM_Throughput/<path>            wrk (1 thread, 32 connections, 3 s, keep-alive HTTP) from the node
//                                   to one backend pod: direct, or through a service in each mode;
//                                   counter requests_per_second (compare through/direct); paths 4 and
//                                   5 are HAProxy (tcp mode) on the same cluster IP, the peer for
//                                   the userspace mode
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <regex>

#include "nftables.hpp"
#include "proxy_modes.hpp"
#include "tests/support/netns_lab.hpp"

namespace {

using skiff::plugin::proxy::Endpoint;
using skiff::plugin::proxy::ProxyState;
using skiff::plugin::proxy::ServicePort;
using skiff::testing::NetnsLab;

// "iptables" is the nf_tables-backed iptables, "iptables-legacy" proxy.iptables.backend = legacy.
const char* kModes[] = {"iptables", "nftables", "iptables-legacy"};

ProxyState services(int n, int generation = 0) {
  ProxyState s;
  s.services.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    ServicePort sp;
    sp.ns = "bench";
    sp.name = "svc-" + std::to_string(i);
    sp.cluster_ip = "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    sp.port = 80;
    sp.node_port = i < 2000 ? 30000 + i : 0;
    for (int e = 0; e < 10; ++e)
      sp.endpoints.push_back(Endpoint{"10.244." + std::to_string(i % 250) + "." + std::to_string(e + 2), 8080, true});
    s.services.push_back(std::move(sp));
  }
  if (generation % 2 == 1 && n > 0) s.services[static_cast<std::size_t>(n / 2)].endpoints[3].ip = "10.245.0.99";
  return s;
}

bool root_or_skip(benchmark::State& state) {
  if (::geteuid() == 0) return true;
  state.SkipWithError("needs root (network namespaces)");
  return false;
}

void BM_FullSync(benchmark::State& state) {
  if (!root_or_skip(state)) return;
  const std::string mode = kModes[state.range(0)];
  const int n = static_cast<int>(state.range(1));
  state.SetLabel(mode + " " + std::to_string(n) + " services x 10 endpoints");
  NetnsLab lab(0, "bf");
  lab.enter_node();
  skiff::testing::TestPluginContext ctx{"proxy", {}, "/tmp"};
  auto desired = services(n);
  for (auto _ : state) {
    state.PauseTiming();
    auto proxy = skiff::testing::make_mode(mode, ctx);
    if (!proxy->start() || !proxy->cleanup()) {
      state.SkipWithError("cannot start the mode");
      break;  // the library allows no timing calls after an error
    }
    state.ResumeTiming();
    auto r = proxy->sync(desired);
    if (!r) {
      state.SkipWithError(r.status().message().substr(0, 300).c_str());
      break;
    }
    state.PauseTiming();
    state.counters["rules"] = static_cast<double>(r ? r->rules : 0);
    (void)proxy->cleanup();
    state.ResumeTiming();
  }
}

void BM_RestartSync(benchmark::State& state) {
  if (!root_or_skip(state)) return;
  const std::string mode = kModes[state.range(0)];
  const int n = static_cast<int>(state.range(1));
  state.SetLabel(mode + " " + std::to_string(n) + " services x 10 endpoints, rules already in place");
  NetnsLab lab(0, "br");
  lab.enter_node();
  skiff::testing::TestPluginContext ctx{"proxy", {}, "/tmp"};
  auto desired = services(n);
  auto first = skiff::testing::make_mode(mode, ctx);
  if (!first->start() || !first->sync(desired)) return state.SkipWithError("cannot write the first rules");
  for (auto _ : state) {
    state.PauseTiming();
    auto proxy = skiff::testing::make_mode(mode, ctx);
    state.ResumeTiming();
    if (auto r = proxy->sync(desired); !r) {
      state.SkipWithError(r.status().message().substr(0, 300).c_str());
      break;
    }
  }
  (void)first->cleanup();
}

void BM_OneEndpointChange(benchmark::State& state) {
  if (!root_or_skip(state)) return;
  const std::string mode = kModes[state.range(0)];
  const int n = static_cast<int>(state.range(1));
  state.SetLabel(mode + " " + std::to_string(n) + " services x 10 endpoints, one endpoint changed");
  NetnsLab lab(0, "bc");
  lab.enter_node();
  skiff::testing::TestPluginContext ctx{"proxy", {}, "/tmp"};
  auto proxy = skiff::testing::make_mode(mode, ctx);
  if (!proxy->start()) return state.SkipWithError("cannot start the mode");
  std::vector<ProxyState> states = {services(n, 0), services(n, 1)};
  if (!proxy->sync(states[0])) return state.SkipWithError("initial sync failed");
  std::size_t generation = 0;
  for (auto _ : state) {
    auto r = proxy->sync(states[++generation % 2]);
    if (!r) {
      state.SkipWithError(r.status().message().substr(0, 300).c_str());
      break;
    }
  }
  (void)proxy->cleanup();
}

// requests/s wrk reports, or -1.
double wrk(const std::string& url) {
  auto r = skiff::testing::run_process({"wrk", "-t1", "-c32", "-d3s", url}, {}, std::chrono::seconds(30));
  std::smatch m;
  if (r.exit_code != 0 || !std::regex_search(r.out, m, std::regex("Requests/sec:\\s+([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

const char* kPaths[] = {"direct", "userspace", "iptables", "nftables", "haproxy", "haproxy-1thread"};

// The peer for the userspace mode: HAProxy relaying TCP (mode tcp, no HTTP parsing) from the same
// cluster IP to the same pod, started in the node namespace. "haproxy" runs its default of one
// thread per CPU; "haproxy-1thread" one thread, as the userspace mode's relay has.
std::unique_ptr<skiff::testing::ChildProcess> start_haproxy(const std::string& path, const std::string& cluster_ip,
                                                            const std::string& backend) {
  if (skiff::testing::run_process({"ip", "addr", "replace", cluster_ip + "/32", "dev", "lo"}).exit_code != 0) return nullptr;
  const std::string config = "/tmp/skiff-bench-haproxy.cfg";
  std::ofstream(config) << "global\n  maxconn 4096\n"
                        << (path == "haproxy-1thread" ? "  nbthread 1\n" : "")
                        << "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n"
                           "listen web\n  bind " << cluster_ip << ":80\n  server pod0 " << backend << "\n";
  return std::make_unique<skiff::testing::ChildProcess>(std::vector<std::string>{"haproxy", "-db", "-f", config},
                                                        std::map<std::string, std::string>{},
                                                        "/tmp/skiff-bench-haproxy.log");
}

void BM_Throughput(benchmark::State& state) {
  if (!root_or_skip(state)) return;
  const std::string path = kPaths[state.range(0)];
  state.SetLabel(path);
  NetnsLab lab(1, "bt");
  lab.start_in_pod(0, {skiff::testing::backend_binary(), "pod0", "8080", "http"});
  lab.enter_node();
  skiff::testing::TestPluginContext ctx{"proxy", {}, "/tmp"};
  std::unique_ptr<skiff::plugin::proxy::Proxy> proxy;
  std::unique_ptr<skiff::testing::ChildProcess> haproxy;
  std::string url = "http://" + NetnsLab::pod_ip(0) + ":8080/";
  if (path.starts_with("haproxy")) {
    haproxy = start_haproxy(path, "10.96.0.10", NetnsLab::pod_ip(0) + ":8080");
    if (!haproxy) return state.SkipWithError("cannot add the cluster IP for haproxy");
    url = "http://10.96.0.10:80/";
  } else if (path != "direct") {
    proxy = skiff::testing::make_mode(path, ctx);
    ServicePort sp;
    sp.ns = "bench";
    sp.name = "web";
    sp.cluster_ip = "10.96.0.10";
    sp.port = 80;
    sp.endpoints.push_back(Endpoint{NetnsLab::pod_ip(0), 8080, true});
    if (!proxy->start() || !proxy->sync(ProxyState{{sp}})) return state.SkipWithError("mode did not start");
    url = "http://10.96.0.10:80/";
  }
  skiff::testing::eventually([&] {
    return skiff::testing::run_process({"wrk", "-t1", "-c1", "-d1s", url}, {}, std::chrono::seconds(10)).exit_code == 0;
  });
  double rps = 0;
  for (auto _ : state) rps = wrk(url);
  if (rps < 0) state.SkipWithError("wrk failed");
  state.counters["requests_per_second"] = rps;
  if (proxy) (void)proxy->cleanup();
}

}  // namespace

// The nftables mode's own CPU for the sync after one changed endpoint (the nft run is not in it; no
// root needed): rendering the whole state and diffing it against what was written, which is what a
// sync that adds or removes a service port does.
void BM_NftablesRenderAndDiff(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<ProxyState> states = {services(n, 0), services(n, 1)};
  namespace nft = skiff::plugins::proxy::nftables;
  nft::NftObjects written = nft::render_objects(states[0], {});
  std::size_t generation = 0, script_bytes = 0;
  for (auto _ : state) {
    nft::NftObjects desired = nft::render_objects(states[++generation % 2], {});
    script_bytes = nft::nft_script(written, desired, false).size();
    written = std::move(desired);
  }
  state.counters["script_bytes"] = static_cast<double>(script_bytes);
}

// The same sync as the mode does it: element edits worked out from the changed service port alone.
void BM_NftablesElementDelta(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<ProxyState> states = {services(n, 0), services(n, 1)};
  namespace nft = skiff::plugins::proxy::nftables;
  nft::NftWritten written = nft::written_for(states[0], {});
  ProxyState synced = states[0];
  std::size_t generation = 0, script_bytes = 0;
  for (auto _ : state) {
    auto script = nft::element_delta(synced, states[++generation % 2], written, {});
    if (!script) return state.SkipWithError("element_delta refused an endpoint move");
    script_bytes = script->size();
  }
  state.counters["script_bytes"] = static_cast<double>(script_bytes);
}

BENCHMARK(BM_NftablesRenderAndDiff)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NftablesElementDelta)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FullSync)->ArgsProduct({{0, 1, 2}, {1000, 10000}})->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RestartSync)->ArgsProduct({{0, 1, 2}, {1000, 10000}})->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OneEndpointChange)->ArgsProduct({{0, 1, 2}, {1000, 10000}})->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Throughput)->DenseRange(0, 5)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

BENCHMARK_MAIN();
