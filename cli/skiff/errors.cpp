#include "cli/skiff/errors.hpp"

namespace skiff::cli {
namespace {

// Kubernetes' reason for an HTTP code, for answers that carry no Status (proxies, plain-text errors).
std::string reason_for(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

}  // namespace

ApiError api_error_from(int http_status, const std::string& body) {
  auto status = nlohmann::json::parse(body, nullptr, false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    std::string reason = status.value("reason", "");
    std::string message = status.value("message", "");
    if (reason.empty()) reason = reason_for(http_status);
    if (message.empty()) message = "the server answered " + std::to_string(http_status);
    return ApiError(status.value("code", http_status), reason, message);
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (http_status == 404 && text.empty()) text = "the server could not find the requested resource";
  if (text.empty()) text = "the server answered " + std::to_string(http_status);
  if (text.size() > 500) text = text.substr(0, 500) + "…";
  return ApiError(http_status, reason_for(http_status), text);
}

}  // namespace skiff::cli
