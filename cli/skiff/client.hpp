// skiff's HTTP client for the API server: the kernel's HttpClient (kernel/api/http_client.hpp) set
// up from the kubeconfig, with its errors turned into the CLI's (Failure, Unreachable).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cli/skiff/kubeconfig.hpp"
#include "kernel/api/http_client.hpp"

namespace skiff::cli {

using kernel::api::ChunkedDecoder;
using kernel::api::HttpReply;
using kernel::api::url_encode;

class HttpClient {
 public:
  using Clock = kernel::api::HttpClient::Clock;

  // Throws Failure when the server URL or the TLS material is unusable.
  HttpClient(const ClusterConfig& config, std::chrono::milliseconds request_timeout);

  // See kernel::api::HttpClient; Unreachable instead of HttpClientError when the server cannot be
  // reached, Failure for anything else.
  HttpReply request(std::string_view method, const std::string& target, const std::string& body = {},
                    const std::string& content_type = {}, const std::string& accept = "application/json");
  HttpReply stream(const std::string& target, const std::string& accept,
                   const std::function<bool(std::string_view)>& on_data, std::optional<Clock::time_point> deadline);

  const std::string& server() const { return http_->server(); }

 private:
  std::unique_ptr<kernel::api::HttpClient> http_;
};

}  // namespace skiff::cli
