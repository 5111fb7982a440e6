#include "cli/skiff/client.hpp"

#include "cli/skiff/errors.hpp"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "dev"
#endif

namespace skiff::cli {
namespace {

template <typename Call>
auto translated(Call call) -> decltype(call()) {
  try {
    return call();
  } catch (const kernel::api::HttpClientError& e) {
    if (e.unreachable()) throw Unreachable(e.what());
    throw Failure(e.what());
  }
}

}  // namespace

HttpClient::HttpClient(const ClusterConfig& config, std::chrono::milliseconds request_timeout) {
  kernel::api::HttpClientConfig c;
  c.server = config.server;
  c.ca_pem = config.ca_pem;
  c.tls_server_name = config.tls_server_name;
  c.insecure = config.insecure;
  c.token = config.token;
  c.client_cert_pem = config.client_cert_pem;
  c.client_key_pem = config.client_key_pem;
  c.ca_source = config.source;
  c.timeout_hint = "--request-timeout";
  c.user_agent = "skiff/" SKIFF_VERSION;
  http_ = translated([&] { return std::make_unique<kernel::api::HttpClient>(c, request_timeout); });
}

HttpReply HttpClient::request(std::string_view method, const std::string& target, const std::string& body,
                              const std::string& content_type, const std::string& accept) {
  return translated([&] { return http_->request(method, target, body, content_type, accept); });
}

HttpReply HttpClient::stream(const std::string& target, const std::string& accept,
                             const std::function<bool(std::string_view)>& on_data,
                             std::optional<Clock::time_point> deadline) {
  return translated([&] { return http_->stream(target, accept, on_data, deadline); });
}

}  // namespace skiff::cli
