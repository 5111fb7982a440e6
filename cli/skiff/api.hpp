// JSON requests to the API server on top of HttpClient: error answers become ApiError (the server's
// Status), watch streams become one callback per event.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/skiff/client.hpp"

namespace skiff::cli {

using Json = nlohmann::json;

// The Accept header kubectl sends for human-readable `get`: a meta.k8s.io Table, else plain JSON.
inline constexpr const char* kAcceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

class Api {
 public:
  explicit Api(HttpClient& http) : http_(http) {}
  HttpClient& http() { return http_; }

  // The answer's body, parsed. Throws ApiError for an error answer and Failure for a body that is not
  // JSON.
  Json get(const std::string& target, const std::string& accept = "application/json");
  Json send(std::string_view method, const std::string& target, const Json& body,
            const std::string& content_type = "application/json");
  // The raw answer; throws ApiError for >= 400.
  HttpReply checked(std::string_view method, const std::string& target, const std::string& body = {},
                    const std::string& content_type = {}, const std::string& accept = "application/json");

  // How a watch ended.
  enum class WatchEnd { kClosed, kStopped, kTimedOut };
  // Streams a watch (target must carry watch=true); `on_event` gets each {"type", "object"} event and
  // returns false to stop. Throws ApiError when the server refuses the watch.
  WatchEnd watch(const std::string& target, const std::string& accept, const std::function<bool(const Json&)>& on_event,
                 std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  HttpClient& http_;
};

}  // namespace skiff::cli
