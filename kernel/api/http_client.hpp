// An HTTP client for skiff's HTTPS endpoints (the API server, a node agent's endpoint), on NNG's
// HTTP client: a connection per request (http_client.cpp says why none is kept alive), TLS with a
// given CA, a bearer token, per-request timeouts, and streamed bodies (chunked or not) for watches,
// followed logs and exec output. The `skiff` CLI, the remote node agent (RemoteClient) and the API
// server's proxy to agents all use it.
//
// One HttpClient runs one request at a time: use it from one thread at a time (cancel() excepted).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace skiff::kernel::api {

// Where to connect and how to authenticate.
struct HttpClientConfig {
  std::string server;  // https://127.0.0.1:6443 (a path prefix is kept: https://host/k8s)
  std::string ca_pem;  // the CA the server's certificate must chain to; empty: the system's CAs
  std::string tls_server_name;  // the name the certificate must carry (IP literals are not compared)
  bool insecure = false;        // no certificate check at all
  std::string token;            // bearer token (never sent over plain http)
  std::string client_cert_pem, client_key_pem;
  std::string ca_source;     // where ca_pem came from, for messages ("kubeconfig ~/.kube/config")
  std::string timeout_hint;  // how the caller can change the timeout, for messages ("--request-timeout")
  std::string user_agent = "skiff";
  std::string peer = "API server";  // what the server is, for messages ("cannot reach the API server at …")
};

// What went wrong talking to the server. `unreachable`: no answer at all (connect, TLS, timeout);
// otherwise the configuration is unusable or the server broke the protocol.
class HttpClientError : public std::runtime_error {
 public:
  HttpClientError(const std::string& message, bool unreachable) : std::runtime_error(message), unreachable_(unreachable) {}
  bool unreachable() const { return unreachable_; }

 private:
  bool unreachable_;
};

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  bool timed_out = false;  // stream(): the deadline passed before the server ended the body
  bool cancelled = false;  // stream(): cancel() ended it
};

// Decodes an HTTP/1.1 chunked body incrementally (RFC 9112 §7.1; extensions and trailers ignored).
class ChunkedDecoder {
 public:
  // Feeds raw bytes; decoded data goes to `out`. Returns false on malformed input.
  bool feed(std::string_view in, const std::function<void(std::string_view)>& out);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kSizeLineEnd, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::size_t remaining_ = 0;
  std::string line_;
  bool size_digits_ = false;
};

class HttpClient {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws HttpClientError when the server URL or the TLS material is unusable.
  HttpClient(const HttpClientConfig& config, std::chrono::milliseconds request_timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request and its whole answer. `target` is the path and query ("/api/v1/pods?limit=1").
  // Throws HttpClientError when the server cannot be reached or does not answer in time; HTTP error
  // codes are returned, not thrown.
  HttpReply request(std::string_view method, const std::string& target, const std::string& body = {},
                    const std::string& content_type = {}, const std::string& accept = "application/json");

  // A GET whose body is handed to `on_data` as it arrives, until the server ends it, `on_data`
  // returns false, `deadline` passes (then timed_out is set) or cancel() is called (cancelled). An
  // error answer (>= 400) is not streamed: its body is returned whole. `on_head`, when given, hears
  // the status code as soon as the response head is read.
  HttpReply stream(const std::string& target, const std::string& accept,
                   const std::function<bool(std::string_view)>& on_data, std::optional<Clock::time_point> deadline,
                   const std::function<void(int status)>& on_head = {});

  // From any thread: ends the stream() or request() in progress (and every later one) at once.
  void cancel();

  const std::string& server() const { return server_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string server_;
};

// Percent-encoding for a query value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

}  // namespace skiff::kernel::api
