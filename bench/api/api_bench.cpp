// API benchmarks (build/bin/bench_api). The server is the real kernel::api::Server + ApiHandler over a
// durable sqlite store (synchronous=full) in this process, with the Server's default worker threads;
// clients use keep-alive connections on loopback.
//  - BM_PodCreates: 64 connections POST pods as fast as they can while one more client (NNG, in this
//    process) GETs a pod in a loop; creates/s, and GET p50/p99 under that load. The creating clients
//    are NNG HTTP clients on 64 threads of this process (wrk:0), or wrk in a process of its own
//    (wrk:1, one epoll thread); sqlite:0 puts the memory store under the same server.
//  - BM_PodCreatesFloor: the same, against the same Server with a handler that answers at once: the
//    most the create path could reach here with those clients.
//  - BM_List: LIST of 10,000 pods as JSON and as a Table: latency and the server's RSS growth.
//  - BM_HttpClientGet: one GET through kernel::api::HttpClient (what `skiff`, remote agents and the
//    API server's proxy to agents use) over HTTPS to the same server with TLS: one kept-alive
//    connection, and (Arg 0) a new client, so a new TCP connection and TLS handshake, per GET.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "kernel/api/handler.hpp"
#include "kernel/api/http_client.hpp"
#include "kernel/api/pki.hpp"
#include "kernel/api/server.hpp"
#include "kernel/daemon/daemon.hpp"
#include "kernel/store/object_store.hpp"
#include "memory_store.hpp"
#include "sqlite_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace {

using namespace skiff;
using kernel::Json;

using kernel::SystemClock;  // the daemon's wall clock

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// skiffd's default, full (an fsync per group commit), unless BENCH_SQLITE_SYNCHRONOUS says otherwise
// (normal: fsync at checkpoints), to tell the fsync's share from the rest of the store.
std::string sqlite_synchronous() {
  const char* env = std::getenv("BENCH_SQLITE_SYNCHRONOUS");
  return env != nullptr && *env != '\0' ? env : "full";
}

struct ApiServer {
  // `durable`: the sqlite store with synchronous=full (skiffd's default); otherwise the memory store,
  // to tell the store's share of a write from the rest.
  explicit ApiServer(bool tls = false, bool durable = true)
      : dir("skiff-bench-api"),
        ctx("store.sqlite",
            {{"path", (dir.path() / "skiff.db").string()},
             {"synchronous", sqlite_synchronous()},
             {"busy-timeout-ms", "5000"},
             {"cache-size-mib", "32"},
             {"max-batch", "1000"}},
            dir.str()) {
    auto context = ctx.context();
    auto b = durable ? plugins::store::sqlite::make_backend(context) : plugins::store::memory::make_backend(context);
    if (!b) throw std::runtime_error(b.status().message());
    store = std::make_unique<kernel::ObjectStore>(std::shared_ptr<plugin::store::Backend>(std::move(*b)), registry, clock);
    if (auto st = store->start(); !st) throw std::runtime_error(st.message());
    handler = std::make_unique<kernel::api::ApiHandler>(*store, metrics, logger, clock);
    if (auto st = handler->bootstrap(); !st) throw std::runtime_error(st.message());
    kernel::api::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls = tls;
    if (tls) {
      auto cert = kernel::api::self_signed_certificate("skiff-bench", {"127.0.0.1"});
      if (!cert) throw std::runtime_error(cert.status().message());
      o.cert_pem = cert->cert_pem;
      o.key_pem = cert->key_pem;
      cert_pem = cert->cert_pem;
    }
    server = std::make_unique<kernel::api::Server>(*handler, metrics, logger, o);
    if (auto st = server->start(); !st) throw std::runtime_error(st.message());
    pods = registry.find("", "v1", "pods");
  }
  ~ApiServer() {
    server->stop();
    store->stop();
  }
  testing::TempDir dir;
  testing::TestPluginContext ctx;
  SystemClock clock;
  kernel::MetricsRegistry metrics;
  kernel::StructuredLogger logger{"bench", 2, plugin::LogLevel::kError};
  kernel::ResourceRegistry registry = kernel::ResourceRegistry::builtin();
  std::unique_ptr<kernel::ObjectStore> store;
  std::unique_ptr<kernel::api::ApiHandler> handler;
  std::unique_ptr<kernel::api::Server> server;
  const kernel::ResourceType* pods = nullptr;
  std::string cert_pem;  // with tls: the self-signed serving certificate (clients trust it as their CA)
};

// One keep-alive HTTP/1.1 connection.
class Client {
 public:
  explicit Client(const std::string& base) : base_(base) {
    nng_url_parse(&url_, base.c_str());
    nng_http_client_alloc(&client_, url_);
    nng_aio_alloc(&aio_, nullptr, nullptr);
    nng_http_client_connect(client_, aio_);
    nng_aio_wait(aio_);
    if (nng_aio_result(aio_) != 0) throw std::runtime_error("connect failed");
    conn_ = static_cast<nng_http_conn*>(nng_aio_get_output(aio_, 0));
  }
  ~Client() {
    nng_http_conn_close(conn_);
    nng_aio_free(aio_);
    nng_http_client_free(client_);
    nng_url_free(url_);
  }
  // Returns the HTTP status (0 on a transport error); the body lands in `body`.
  int request(const char* method, const std::string& path, const std::string& data, std::string* body = nullptr,
              const char* accept = nullptr) {
    nng_http_req* req = nullptr;
    nng_http_res* res = nullptr;
    nng_http_req_alloc(&req, url_);
    nng_http_res_alloc(&res);
    nng_http_req_set_method(req, method);
    nng_http_req_set_uri(req, path.c_str());
    if (accept) nng_http_req_set_header(req, "Accept", accept);
    if (!data.empty()) {
      nng_http_req_set_header(req, "Content-Type", "application/json");
      nng_http_req_copy_data(req, data.data(), data.size());
    }
    nng_http_conn_transact(conn_, req, res, aio_);
    nng_aio_wait(aio_);
    int status = nng_aio_result(aio_) == 0 ? nng_http_res_get_status(res) : 0;
    if (body) {
      void* p = nullptr;
      std::size_t n = 0;
      nng_http_res_get_data(res, &p, &n);
      body->assign(static_cast<char*>(p), n);
    }
    nng_http_req_free(req);
    nng_http_res_free(res);
    return status;
  }

 private:
  std::string base_;
  nng_url* url_ = nullptr;
  nng_http_client* client_ = nullptr;
  nng_aio* aio_ = nullptr;
  nng_http_conn* conn_ = nullptr;
};

std::string pod_json(const std::string& name) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", {{{"name", "web"}, {"image", "registry.local/web:1.0"},
                                         {"ports", {{{"containerPort", 8080}}}}}}}}}}
      .dump();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

// wrk's scripts. The creating one POSTs a pod with a name of its own per request (the run's seed, a
// counter) and ends with the counts (wrk's own "Requests/sec" also counts failures); the probing one
// GETs one pod over one connection, 2 ms after each answer (so a faster GET does not take more of the
// CPU from the creates), and ends with the latency percentiles and the failures.
constexpr const char* kWrkCreateScript = R"(
math.randomseed(os.time())
local run = tostring(math.random(1000000000))
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"w' .. run .. '-' .. counter ..
    '","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"registry.local/web:1.0",' ..
    '"ports":[{"containerPort":8080}]}]}}'
  return wrk.format("POST", "/api/v1/namespaces/default/pods", {["Content-Type"]="application/json"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("skiff-bench requests=%d failed=%d us=%d\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration))
end
)";
constexpr const char* kWrkGetScript = R"(
delay = function() return 2 end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("skiff-bench requests=%d failed=%d p50us=%d p99us=%d\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
)";

// The clients: NNG HTTP clients on threads of this process (64 creating, one GETting), or wrk in
// processes of their own (one with 64 connections creating, one with one connection GETting; one
// epoll thread each). wrk costs the machine far less per request, so it leaves more of the two cores
// to the server, and its GET latency does not include this process's client threads and NNG's.
enum class Driver { kInProcess, kWrk };

// The "skiff-bench …" line a wrk script printed, or "" after reporting why there is none.
std::string wrk_summary(benchmark::State& state, const testing::ProcessResult& r) {
  auto at = r.out.find("skiff-bench ");
  if (r.exit_code == 0 && at != std::string::npos) return r.out.substr(at);
  state.SkipWithError(("wrk failed: " + r.out + r.err).c_str());
  return {};
}

// `clients` connections POST pods for 10 s against `base` while one more GETs the probe pod; fills the
// counters.
void drive_creates(benchmark::State& state, const std::string& base, int clients, Driver driver) {
  {
    Client c(base);
    if (c.request("POST", "/api/v1/namespaces/default/pods", pod_json("probe")) != 201) {
      state.SkipWithError("the probe pod was not created");
      return;
    }
  }
  double secs = 0, created = 0, errors = 0, gets = 0, p50 = 0, p99 = 0;
  if (driver == Driver::kWrk) {
    testing::TempDir dir("skiff-bench-wrk");
    const std::string create_script = (dir.path() / "create.lua").string();
    const std::string get_script = (dir.path() / "get.lua").string();
    std::ofstream(create_script) << kWrkCreateScript;
    std::ofstream(get_script) << kWrkGetScript;
    testing::ProcessResult get_run;
    std::thread getter([&] {
      get_run = testing::run_process(
          {"wrk", "-t1", "-c1", "-d10s", "-s", get_script, base + "/api/v1/namespaces/default/pods/probe"}, {},
          std::chrono::seconds(60));
    });
    auto create_run = testing::run_process(
        {"wrk", "-t1", "-c" + std::to_string(clients), "-d10s", "-s", create_script, base}, {},
        std::chrono::seconds(60));
    getter.join();
    std::string c = wrk_summary(state, create_run), g = wrk_summary(state, get_run);
    long long requests = 0, failed = 0, us = 0, get_requests = 0, get_failed = 0, p50us = 0, p99us = 0;
    if (c.empty() || g.empty() ||
        std::sscanf(c.c_str(), "skiff-bench requests=%lld failed=%lld us=%lld", &requests, &failed, &us) != 3 ||
        std::sscanf(g.c_str(), "skiff-bench requests=%lld failed=%lld p50us=%lld p99us=%lld", &get_requests,
                    &get_failed, &p50us, &p99us) != 4 ||
        us <= 0) {
      if (!c.empty() && !g.empty()) state.SkipWithError(("unexpected wrk output: " + c + g).c_str());
      return;
    }
    secs = static_cast<double>(us) / 1e6;
    created = static_cast<double>(requests - failed);
    errors = static_cast<double>(failed + get_failed);
    gets = static_cast<double>(get_requests);
    p50 = static_cast<double>(p50us) / 1000;
    p99 = static_cast<double>(p99us) / 1000;
  } else {
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> ok{0}, failed{0};
    std::vector<double> get_ms;
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
      threads.emplace_back([&, t] {
        Client c(base);
        for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          int s = c.request("POST", "/api/v1/namespaces/default/pods",
                            pod_json("p-" + std::to_string(t) + "-" + std::to_string(i)));
          (s == 201 ? ok : failed)++;
        }
      });
    std::thread getter([&] {
      Client c(base);
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = std::chrono::steady_clock::now();
        int s = c.request("GET", "/api/v1/namespaces/default/pods/probe", "");
        get_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (s != 200) failed++;
      }
    });
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(10));
    stop = true;
    for (auto& th : threads) th.join();
    getter.join();
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    created = static_cast<double>(ok.load());
    errors = static_cast<double>(failed.load());
    gets = static_cast<double>(get_ms.size());
    p50 = percentile(get_ms, 0.50);
    p99 = percentile(get_ms, 0.99);
  }
  state.SetIterationTime(secs);
  state.counters["creates_per_s"] = created / secs;
  state.counters["errors"] = errors;
  state.counters["get_p50_ms"] = p50;
  state.counters["get_p99_ms"] = p99;
  state.counters["gets"] = gets;
}

void BM_PodCreates(benchmark::State& state) {
  for (auto _ : state) {
    ApiServer api(/*tls=*/false, /*durable=*/state.range(1) == 1);
    drive_creates(state, api.server->url(), 64, static_cast<Driver>(state.range(0)));
  }
}

// The floor under BM_PodCreates: the same Server and clients, but a handler that answers every request
// at once with a stored pod (no decode, admission or store). What is left is HTTP, threads and the
// clients' own work; the create path can get no faster than this here.
class CannedHandler : public kernel::api::Handler {
 public:
  kernel::api::HttpResponse handle(const kernel::api::HttpRequest& request) override {
    kernel::api::HttpResponse r;
    r.status = request.method == "POST" ? 201 : 200;
    r.content_type = "application/json";
    r.body = body_;
    r.verb = request.method == "POST" ? "create" : "get";
    r.resource = "pods";
    return r;
  }

 private:
  std::string body_ = pod_json("canned");
};

void BM_PodCreatesFloor(benchmark::State& state) {
  for (auto _ : state) {
    CannedHandler handler;
    kernel::MetricsRegistry metrics;
    kernel::StructuredLogger logger{"bench", 2, plugin::LogLevel::kError};
    kernel::api::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls = false;
    kernel::api::Server server(handler, metrics, logger, o);
    if (auto st = server.start(); !st) throw std::runtime_error(st.message());
    drive_creates(state, server.url(), 64, static_cast<Driver>(state.range(0)));
    server.stop();
  }
}
BENCHMARK(BM_PodCreatesFloor)->Arg(0)->Arg(1)->ArgName("wrk")->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// The handler alone (admission + store, no HTTP) on the memory store: CPU per create.
void BM_HandlerCreate(benchmark::State& state) {
  testing::TempDir dir("skiff-bench-handler");
  testing::TestPluginContext ctx("store.memory", {}, dir.str());
  auto context = ctx.context();
  auto b = plugins::store::memory::make_backend(context);
  SystemClock clock;
  kernel::MetricsRegistry metrics;
  kernel::StructuredLogger logger{"bench", 2, plugin::LogLevel::kError};
  auto registry = kernel::ResourceRegistry::builtin();
  kernel::ObjectStore store(std::shared_ptr<plugin::store::Backend>(std::move(*b)), registry, clock);
  (void)store.start();
  kernel::api::ApiHandler handler(store, metrics, logger, clock);
  (void)handler.bootstrap();
  int i = 0;
  for (auto _ : state) {
    kernel::api::HttpRequest req;
    req.method = "POST";
    req.path = "/api/v1/namespaces/default/pods";
    req.headers["content-type"] = "application/json";
    req.query.emplace("fieldManager", "bench");
    req.body = pod_json("h" + std::to_string(i++));
    auto r = handler.handle(req);
    if (r.status != 201) state.SkipWithError("create failed");
  }
}
BENCHMARK(BM_HandlerCreate)->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_PodCreates)
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 0})
    ->ArgNames({"wrk", "sqlite"})
    ->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

void BM_List(benchmark::State& state) {
  const bool table = state.range(0) == 1;
  constexpr int kPods = 10000;
  ApiServer api;
  {
    std::vector<std::thread> writers;
    std::atomic<int> next{0};
    for (int t = 0; t < 32; ++t)
      writers.emplace_back([&] {
        for (int i = next++; i < kPods; i = next++)
          (void)api.store->create(*api.pods, "default", Json::parse(pod_json("p" + std::to_string(i))));
      });
    for (auto& w : writers) w.join();
  }
  Client c(api.server->url());
  const char* accept = table ? "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" : "application/json";
  malloc_trim(0);
  long before = rss_bytes();
  long peak = before;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body;
    int s = c.request("GET", "/api/v1/namespaces/default/pods", "", &body, accept);
    if (s != 200) state.SkipWithError("list failed");
    bytes = body.size();
    peak = std::max(peak, rss_bytes());
  }
  state.counters["pods"] = kPods;
  state.counters["response_MiB"] = static_cast<double>(bytes) / (1 << 20);
  state.counters["rss_growth_MiB"] = static_cast<double>(peak - before) / (1 << 20);
}
BENCHMARK(BM_List)->Arg(0)->Arg(1)->ArgName("table")->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

void BM_HttpClientGet(benchmark::State& state) {
  ApiServer api(/*tls=*/true);
  kernel::api::HttpClientConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(api.server->port());
  config.ca_pem = api.cert_pem;
  const bool keep_alive = state.range(0) == 1;
  auto client = std::make_unique<kernel::api::HttpClient>(config, std::chrono::seconds(10));
  for (auto _ : state) {
    if (!keep_alive) client = std::make_unique<kernel::api::HttpClient>(config, std::chrono::seconds(10));
    auto reply = client->request("GET", "/api/v1/namespaces/default");
    if (reply.status != 200) state.SkipWithError(("GET answered " + std::to_string(reply.status)).c_str());
  }
}
BENCHMARK(BM_HttpClientGet)->Arg(1)->Arg(0)->ArgName("keepalive")->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
