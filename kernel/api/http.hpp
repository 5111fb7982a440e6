// Transport-independent HTTP request and response, so the API handler can be tested without a socket
// and the NNG server stays a thin shell.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel/store/object_store.hpp"

namespace skiff::kernel::api {

struct HttpRequest {
  std::string method;  // "GET", …
  std::string path;    // decoded path, no query
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // lower-case names
  std::string body;
  std::string user;  // set by authentication

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
  std::optional<std::string> param(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> params(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = query.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

// What a long-lived response streams: a watch (JSON lines) or a followed container log. The server
// pulls from it on its stream executor, never blocking, until done() or the deadline.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // The bytes ready now (possibly none), without blocking.
  virtual std::string poll() = 0;
  // Nothing more will come.
  virtual bool done() = 0;
  // `wake` is called (from any thread, quickly) when poll() has something; sources without it are
  // polled every tick.
  virtual void set_notify(std::function<void()> /*wake*/) {}
  // The client went away or the server stops; called once, on the executor.
  virtual void stop() {}
  // An upgraded (raw) stream: bytes the client sent, in order, from an I/O thread (so: quickly, no
  // blocking). Sources that take no input drop them.
  virtual void input(std::string_view /*bytes*/) {}
};

// A long-lived response: the server writes the head, then what the source has, in chunks, until the
// source is done, the deadline passes, or the client goes away.
struct StreamBody {
  std::unique_ptr<StreamSource> source;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds tick{std::chrono::seconds(1)};  // how often to poll (bookmarks, followed logs)
  bool is_watch = true;  // counted in skiff_apiserver_open_watches
  // The response is an upgrade (101, a WebSocket for exec): the source's bytes go out as they are,
  // not in chunks, and what the client sends meanwhile goes to the source's input() until it goes
  // away.
  bool raw = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<StreamBody> stream;  // set for watch and followed-log responses
  // The stored object the body shows (after a get or a write), for in-process callers that would
  // otherwise parse the body back.
  ObjectPtr object;
  // For metrics: Kubernetes' verb (get, list, watch, create, …) and resource ("pods", "deployments.apps").
  std::string verb;
  std::string resource;
};

// What the server calls for every authenticated request.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual HttpResponse handle(const HttpRequest& request) = 0;
  // Whether handle() answers `request` from memory without ever blocking (a GET of one object). The
  // server then calls handle() on the I/O thread that read the request instead of handing it to a
  // worker thread: under load that hand-off waits for a CPU behind every busy thread.
  virtual bool answers_at_once(const HttpRequest&) const { return false; }
};

// Splits "a=b&c=d%20e" into decoded pairs ('+' is a space in query strings).
std::multimap<std::string, std::string> parse_query(std::string_view query);
std::string url_decode(std::string_view in, bool plus_is_space);

}  // namespace skiff::kernel::api
