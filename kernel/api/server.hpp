// The API server's transport: NNG's HTTP server, TLS (mbedtls through NNG), bearer-token
// authentication, a worker pool for requests, and chunked streaming for watches.
//
// NNG's own threads only hand work over: a request runs on the worker pool, a watch stream is
// pumped by a small executor that is woken by the watch's notify callback. Neither blocks NNG.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kernel/api/http.hpp"
#include "kernel/metrics/registry.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

struct ServerOptions {
  std::string listen = "127.0.0.1:6443";  // HOST:PORT; port 0 picks a free port
  bool tls = true;
  std::string cert_pem;  // serving certificate and key, with tls
  std::string key_pem;
  std::string token;  // the bearer token every request must carry (except /healthz, /livez, /readyz, /version)
  std::size_t workers = 64;  // threads for writes; reads get half as many of their own
  std::size_t stream_threads = 2;
  std::size_t max_body_bytes = 3 * 1024 * 1024;  // Kubernetes' limit; larger bodies get 413
};

class Server {
 public:
  Server(Handler& handler, MetricsRegistry& metrics, plugin::Logger& logger, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  plugin::Status start();
  void stop();
  // "https://127.0.0.1:6443" with the real port once started.
  std::string url() const;
  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::kernel::api
