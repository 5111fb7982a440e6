#include "kernel/api/remote_node_services.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "kernel/api/client.hpp"
#include "kernel/api/exec_stream.hpp"
#include "kernel/util/json_parse.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

std::string common_query(std::string_view uid, std::string_view container) {
  return "uid=" + url_encode(uid) + "&container=" + url_encode(container);
}

// "/pods/NS/POD/<verb>" → NS, POD; false for any other path.
bool pod_path(const std::string& path, std::string_view verb, std::string& ns, std::string& pod) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  if (path.empty() || path[0] != '/') return false;
  for (std::size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(path.substr(start, slash - start));
  parts.push_back(path.substr(start));
  if (parts.size() != 4 || parts[0] != "pods" || parts[3] != verb || parts[1].empty() || parts[2].empty()) return false;
  ns = parts[1];
  pod = parts[2];
  return true;
}

plugin::Status common_fields(const HttpRequest& req, std::string_view verb, std::string& ns, std::string& pod,
                             std::string& uid, std::string& container) {
  if (!pod_path(req.path, verb, ns, pod)) return plugin::not_found("no such path: " + req.path);
  uid = req.param("uid").value_or("");
  container = req.param("container").value_or("");
  if (container.empty()) return plugin::Status(plugin::Code::kBadRequest, "container: Required value");
  return plugin::Status::ok();
}

// Everything a non-followed log answered, handed out once.
class TextSource final : public StreamSource {
 public:
  explicit TextSource(std::string text) : text_(std::move(text)) {}
  std::string poll() override {
    done_ = true;
    return std::exchange(text_, {});
  }
  bool done() override { return done_; }

 private:
  std::string text_;
  bool done_ = false;
};

// A body a thread of its own produces (the agent's answer, relayed) into a shared buffer; the
// server's stream executor polls it.
class ThreadSource : public StreamSource {
 public:
  struct Shared {
    std::mutex mutex;
    std::string out;
    bool finished = false;
    std::function<void()> wake;
  };
  explicit ThreadSource(std::shared_ptr<Shared> shared, std::function<void()> on_stop = {})
      : shared_(std::move(shared)), on_stop_(std::move(on_stop)) {}
  std::string poll() override {
    std::lock_guard lock(shared_->mutex);
    return std::exchange(shared_->out, {});
  }
  bool done() override {
    std::lock_guard lock(shared_->mutex);
    return shared_->finished && shared_->out.empty();
  }
  void set_notify(std::function<void()> wake) override {
    std::lock_guard lock(shared_->mutex);
    shared_->wake = std::move(wake);
  }
  void stop() override {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->wake = nullptr;  // the body may outlive the connection; it no longer wakes anyone
    }
    if (on_stop_) on_stop_();
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::function<void()> on_stop_;
};

// A followed log: as ThreadSource, and the agent's stream ends with the client's connection.
class RemoteLogSource final : public ThreadSource {
 public:
  struct Shared : ThreadSource::Shared {
    std::condition_variable cv;
    int head = 0;  // the agent's status code once known
    std::string error_body;
  };

  RemoteLogSource(std::shared_ptr<Shared> shared, std::shared_ptr<HttpClient> http)
      : ThreadSource(shared), http_(std::move(http)) {}
  ~RemoteLogSource() override { http_->cancel(); }
  void stop() override {
    ThreadSource::stop();
    http_->cancel();  // the client went away: so does the agent's stream
  }

 private:
  std::shared_ptr<HttpClient> http_;
};

plugin::Status agent_error(const HttpClientConfig& config, int status, const std::string& body) {
  plugin::Status st = status_from_response(status, body);
  // The agent's own refusals (400: the container is waiting, …) pass through unchanged.
  if (status == 400 || status == 404) return st;
  return plugin::Status(st.code(), "the node agent at " + config.server + " answered " + std::to_string(status) + ": " +
                                       st.message());
}

}  // namespace

std::unique_ptr<StreamSource> thread_source(std::function<void(const Emit& emit)> body, std::function<void()> on_stop) {
  auto shared = std::make_shared<ThreadSource::Shared>();
  std::thread([shared, body = std::move(body)] {
    auto add = [&](std::string bytes, bool finished) {
      std::function<void()> wake;
      {
        std::lock_guard lock(shared->mutex);
        shared->out += bytes;
        shared->finished = finished;
        wake = shared->wake;
      }
      if (wake) wake();
    };
    body([&](std::string bytes) { add(std::move(bytes), false); });
    add({}, true);
  }).detach();
  return std::make_unique<ThreadSource>(std::move(shared), std::move(on_stop));
}

std::string pod_log_target(const PodLogRequest& r) {
  std::string t = "/pods/" + url_encode(r.ns) + "/" + url_encode(r.pod) + "/log?" + common_query(r.uid, r.container);
  if (r.follow) t += "&follow=true";
  if (r.previous) t += "&previous=true";
  if (r.timestamps) t += "&timestamps=true";
  if (r.tail_lines) t += "&tailLines=" + std::to_string(*r.tail_lines);
  if (r.limit_bytes) t += "&limitBytes=" + std::to_string(*r.limit_bytes);
  if (r.since_seconds) t += "&sinceSeconds=" + std::to_string(*r.since_seconds);
  return t;
}

std::string pod_exec_target(const PodExecRequest& r, std::string_view session) {
  std::string t = "/pods/" + url_encode(r.ns) + "/" + url_encode(r.pod) + "/exec?" + common_query(r.uid, r.container);
  for (const auto& arg : r.command) t += "&command=" + url_encode(arg);
  if (r.stdin) t += "&stdin=true";
  if (r.tty) t += "&tty=true";
  if (!session.empty()) t += "&session=" + url_encode(session);
  return t;
}

std::string pod_exec_input_target(const PodExecRequest& r, std::string_view session) {
  return "/pods/" + url_encode(r.ns) + "/" + url_encode(r.pod) + "/exec/input?session=" + url_encode(session);
}

plugin::Result<PodLogRequest> pod_log_request_of(const HttpRequest& req) {
  PodLogRequest r;
  if (auto st = common_fields(req, "log", r.ns, r.pod, r.uid, r.container); !st) return st;
  auto flag = [&](const char* key) { return req.param(key).value_or("") == "true"; };
  r.follow = flag("follow");
  r.previous = flag("previous");
  r.timestamps = flag("timestamps");
  for (auto [key, field] : {std::pair{"tailLines", &r.tail_lines}, std::pair{"limitBytes", &r.limit_bytes},
                            std::pair{"sinceSeconds", &r.since_seconds}}) {
    auto v = req.param(key);
    if (!v) continue;
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n < 0)
      return plugin::Status(plugin::Code::kBadRequest, std::string(key) + ": Invalid value: \"" + *v + "\"");
    *field = n;
  }
  return r;
}

plugin::Result<PodExecRequest> pod_exec_request_of(const HttpRequest& req) {
  PodExecRequest r;
  if (auto st = common_fields(req, "exec", r.ns, r.pod, r.uid, r.container); !st) return st;
  r.command = req.params("command");
  if (r.command.empty())
    return plugin::Status(plugin::Code::kBadRequest, "you must specify at least one command for the container");
  r.stdin = req.param("stdin").value_or("") == "true";
  r.tty = req.param("tty").value_or("") == "true";
  return r;
}

void apply_exec_input(std::string_view frames, ExecInput& input) {
  ExecFrameDecoder decoder;
  decoder.feed(frames, [&](int channel, std::string_view payload) {
    if (channel == kExecChannelStdin) {
      input.push_stdin(payload);
    } else if (channel == kExecChannelResize) {
      if (auto size = parse_terminal_size(payload)) input.resize(*size);
    } else if (channel == kExecChannelStdinEnd) {
      input.close_stdin();
    }
  });
}

std::string exec_frame(int channel, std::string_view payload) {
  std::string f;
  f.reserve(payload.size() + 5);
  f += static_cast<char>(channel);
  auto n = static_cast<std::uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xFF);
  f += payload;
  return f;
}

void ExecFrameDecoder::feed(std::string_view data, const std::function<void(int, std::string_view)>& out) {
  buffer_.append(data);
  std::size_t at = 0;
  while (buffer_.size() - at >= 5) {
    std::uint32_t n = 0;
    for (int i = 1; i <= 4; ++i) n = (n << 8) | static_cast<unsigned char>(buffer_[at + i]);
    if (buffer_.size() - at - 5 < n) break;
    out(static_cast<unsigned char>(buffer_[at]), std::string_view(buffer_).substr(at + 5, n));
    at += 5 + n;
  }
  buffer_.erase(0, at);
}

plugin::Result<std::unique_ptr<StreamSource>> RemoteNodeServices::pod_log(const PodLogRequest& request) {
  const std::string target = pod_log_target(request);
  try {
    if (!request.follow) {
      HttpClient http(config_, timeout_);
      HttpReply r = http.request("GET", target, {}, {}, "text/plain");
      if (r.status >= 400) return agent_error(config_, r.status, r.body);
      return std::unique_ptr<StreamSource>(std::make_unique<TextSource>(std::move(r.body)));
    }
    auto shared = std::make_shared<RemoteLogSource::Shared>();
    auto http = std::make_shared<HttpClient>(config_, timeout_);
    std::thread([shared, http, target, config = config_] {
      auto add = [&](std::string_view data, bool finished) {
        std::function<void()> wake;
        {
          std::lock_guard lock(shared->mutex);
          shared->out.append(data);
          shared->finished = shared->finished || finished;
          wake = shared->wake;
        }
        shared->cv.notify_all();
        if (wake) wake();
      };
      try {
        HttpReply r = http->stream(
            target, "text/plain",
            [&](std::string_view data) {
              add(data, false);
              return true;
            },
            std::nullopt,
            [&](int status) {
              std::lock_guard lock(shared->mutex);
              shared->head = status;
              shared->cv.notify_all();
            });
        if (r.status >= 400) {
          std::lock_guard lock(shared->mutex);
          shared->error_body = r.body;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(shared->mutex);
        if (shared->head == 0) shared->error_body = e.what();
      }
      add({}, true);
    }).detach();
    // Wait for the agent's answer head: an error (the container is waiting, …) is the request's answer.
    std::unique_lock lock(shared->mutex);
    shared->cv.wait_for(lock, timeout_ + std::chrono::seconds(1), [&] { return shared->head != 0 || shared->finished; });
    if (shared->head >= 400 || (shared->head == 0 && shared->finished)) {
      shared->cv.wait_for(lock, timeout_, [&] { return shared->finished; });
      if (shared->head == 0)
        return plugin::unavailable("the node agent at " + config_.server + " cannot be reached: " + shared->error_body);
      return agent_error(config_, shared->head, shared->error_body);
    }
    if (shared->head == 0) {
      lock.unlock();
      http->cancel();
      return plugin::unavailable("the node agent at " + config_.server + " did not answer within " +
                                 std::to_string(timeout_.count()) + "ms");
    }
    return std::unique_ptr<StreamSource>(std::make_unique<RemoteLogSource>(shared, http));
  } catch (const std::exception& e) {
    return plugin::unavailable(e.what());
  }
}

plugin::Result<std::int32_t> RemoteNodeServices::pod_exec(const PodExecRequest& request, const ExecOutput& output,
                                                          ExecInput* input) {
  // The client's side goes to the agent as posts to the exec's session, from a thread of its own,
  // while this one reads the output stream.
  std::string session;
  std::atomic<bool> finished{false};
  std::thread forwarder;
  auto join = [&] {
    finished = true;
    if (forwarder.joinable()) forwarder.join();
  };
  if (input != nullptr) {
    std::random_device random;
    char id[33];
    std::snprintf(id, sizeof id, "%08x%08x%08x%08x", random(), random(), random(), random());
    session = id;
    const std::string target = pod_exec_input_target(request, session);
    forwarder = std::thread([this, input, target, &finished, with_stdin = request.stdin]() mutable {
      try {
        HttpClient http(config_, timeout_);
        bool more = with_stdin;
        while (!finished) {
          std::string chunk, frames;
          if (more) {
            more = input->read_stdin(chunk);
          } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));  // only terminal sizes are left
          }
          if (plugin::runtime::TerminalSize size; input->take_resize(size))
            frames += exec_frame(kExecChannelResize, Json{{"Width", size.width}, {"Height", size.height}}.dump());
          if (!chunk.empty()) frames += exec_frame(kExecChannelStdin, chunk);
          if (with_stdin && !more && chunk.empty()) {
            frames += exec_frame(kExecChannelStdinEnd, "");
            with_stdin = false;
          }
          if (!frames.empty() && http.request("POST", target, frames, "application/x-skiff-exec").status >= 400) return;
        }
      } catch (const std::exception&) {
        // The agent went away: the output stream ends with it and reports why.
      }
    });
  }
  try {
    HttpClient http(config_, timeout_);
    ExecFrameDecoder decoder;
    std::optional<std::int32_t> exit_code;
    std::optional<plugin::Status> error;
    // An exec ends with its command; the API server's own stream limit is the outer bound.
    HttpReply r = http.stream(
        pod_exec_target(request, session), "application/x-skiff-exec",
        [&](std::string_view data) {
          decoder.feed(data, [&](int channel, std::string_view payload) {
            if (channel == kExecChannelStdout || channel == kExecChannelStderr) {
              output(channel, payload);
            } else if (channel == kExecChannelExit) {
              exit_code = static_cast<std::int32_t>(std::strtol(std::string(payload).c_str(), nullptr, 10));
            } else if (channel == kExecChannelError) {
              Json j = parse_json_or_discarded(payload);
              int code = j.is_object() ? j.value("code", 500) : 500;
              error = status_from_response(code, std::string(payload));
            }
          });
          return true;
        },
        HttpClient::Clock::now() + std::chrono::hours(1));
    join();
    if (r.status >= 400) return agent_error(config_, r.status, r.body);
    if (error) return *error;
    if (!exit_code)
      return plugin::unavailable("the node agent at " + config_.server + " ended the exec stream without an exit code");
    return *exit_code;
  } catch (const std::exception& e) {
    join();
    return plugin::unavailable(e.what());
  }
}

plugin::Result<std::shared_ptr<NodeServices>> remote_node_services(const Json& node, const std::string& token) {
  std::string name = node.contains("metadata") ? node["metadata"].value("name", "") : "";
  const Json status = node.value("status", Json::object());
  std::string ip;
  for (const Json& a : status.value("addresses", Json::array()))
    if (a.is_object() && a.value("type", "") == "InternalIP") ip = a.value("address", "");
  int port = 0;
  if (status.contains("daemonEndpoints") && status["daemonEndpoints"].contains("kubeletEndpoint"))
    port = status["daemonEndpoints"]["kubeletEndpoint"].value("Port", 0);
  std::string cert;
  const Json annotations = node.contains("metadata") ? node["metadata"].value("annotations", Json::object()) : Json::object();
  if (annotations.is_object()) cert = annotations.value(std::string(kAgentServingCertAnnotation), "");
  if (ip.empty() || port <= 0 || cert.empty())
    return plugin::unavailable("no node agent serves node \"" + name +
                               "\": it advertises no agent endpoint (status.addresses InternalIP, "
                               "status.daemonEndpoints.kubeletEndpoint.Port and the " +
                               std::string(kAgentServingCertAnnotation) + " annotation)");
  HttpClientConfig config;
  config.server = "https://" + (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  config.ca_pem = cert;
  config.ca_source = "node " + name + "'s " + std::string(kAgentServingCertAnnotation) + " annotation";
  config.token = token;
  config.user_agent = "skiff-apiserver";
  config.peer = "node agent of " + name;
  return std::shared_ptr<NodeServices>(std::make_shared<RemoteNodeServices>(std::move(config)));
}

}  // namespace skiff::kernel::api
