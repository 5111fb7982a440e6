#include "cli/skiff/api.hpp"

#include "cli/skiff/errors.hpp"

namespace skiff::cli {
namespace {

Json parse_body(const HttpReply& reply, const std::string& target) {
  if (reply.body.empty()) return Json::object();
  Json j = Json::parse(reply.body, nullptr, false);
  if (j.is_discarded()) {
    throw Failure("the API server's answer to " + target + " is not JSON (" +
                  (reply.content_type.empty() ? std::string("no Content-Type") : reply.content_type) + ")");
  }
  return j;
}

}  // namespace

HttpReply Api::checked(std::string_view method, const std::string& target, const std::string& body,
                       const std::string& content_type, const std::string& accept) {
  HttpReply reply = http_.request(method, target, body, content_type, accept);
  if (reply.status >= 400) throw api_error_from(reply.status, reply.body);
  return reply;
}

Json Api::get(const std::string& target, const std::string& accept) {
  return parse_body(checked("GET", target, {}, {}, accept), target);
}

Json Api::send(std::string_view method, const std::string& target, const Json& body, const std::string& content_type) {
  std::string text = body.is_null() ? std::string() : body.dump();
  return parse_body(checked(method, target, text, content_type), target);
}

Api::WatchEnd Api::watch(const std::string& target, const std::string& accept,
                         const std::function<bool(const Json&)>& on_event,
                         std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::string pending;
  bool stopped = false;
  auto on_data = [&](std::string_view data) {
    pending.append(data);
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.empty() || line == "\r") continue;
      Json event = Json::parse(line, nullptr, false);
      if (event.is_discarded() || !event.is_object())
        throw Failure("the API server sent a watch event that is not JSON: " + line.substr(0, 200));
      if (!on_event(event)) {
        stopped = true;
        return false;
      }
    }
    return true;
  };
  HttpReply reply = http_.stream(target, accept, on_data, deadline);
  if (reply.status >= 400) throw api_error_from(reply.status, reply.body);
  if (stopped) return WatchEnd::kStopped;
  return reply.timed_out ? WatchEnd::kTimedOut : WatchEnd::kClosed;
}

}  // namespace skiff::cli
