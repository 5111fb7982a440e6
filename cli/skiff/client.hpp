// skiff's HTTP client for the API server, on NNG's HTTP client: one keep-alive connection, TLS with
// the kubeconfig's CA, a bearer token, per-request timeouts, and streamed bodies (chunked or not)
// for watches and logs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/skiff/kubeconfig.hpp"

namespace skiff::cli {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  bool timed_out = false;  // stream(): the deadline passed before the server ended the body
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

  // Throws Failure when the server URL or the TLS material is unusable.
  HttpClient(const ClusterConfig& config, std::chrono::milliseconds request_timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request and its whole answer. `target` is the path and query ("/api/v1/pods?limit=1").
  // Throws Failure when the server cannot be reached or does not answer in time; HTTP error codes
  // are returned, not thrown.
  HttpReply request(std::string_view method, const std::string& target, const std::string& body = {},
                    const std::string& content_type = {}, const std::string& accept = "application/json");

  // A GET whose body is handed to `on_data` as it arrives, until the server ends it, `on_data`
  // returns false, or `deadline` passes (then timed_out is set). An error answer (>= 400) is not
  // streamed: its body is returned whole.
  HttpReply stream(const std::string& target, const std::string& accept,
                   const std::function<bool(std::string_view)>& on_data, std::optional<Clock::time_point> deadline);

  const std::string& server() const { return server_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string server_;
};

// Percent-encoding for a query value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

}  // namespace skiff::cli
