#include "agent/probes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace skiff::agent {
namespace {

using Json = nlohmann::json;

std::int64_t seconds_field(const Json& probe, const char* key, std::int64_t fallback, std::int64_t minimum,
                           const std::string& where) {
  if (!probe.contains(key)) return fallback;
  const Json& v = probe[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < minimum)
    throw std::invalid_argument(where + "." + key + ": must be an integer >= " + std::to_string(minimum));
  return v.get<std::int64_t>();
}

// A port is a number or the name of one of the container's ports.
int port_field(const Json& handler, const Json& container, const std::string& where) {
  if (!handler.contains("port")) throw std::invalid_argument(where + ".port: required");
  const Json& p = handler["port"];
  if (p.is_number_integer() && p.get<int>() > 0 && p.get<int>() < 65536) return p.get<int>();
  if (p.is_string() && container.contains("ports") && container["ports"].is_array())
    for (const auto& cp : container["ports"])
      if (cp.is_object() && cp.value("name", "") == p.get<std::string>() && cp.contains("containerPort") &&
          cp["containerPort"].is_number_integer())
        return cp["containerPort"].get<int>();
  throw std::invalid_argument(where + ".port: " + p.dump() + " is not a port number or a named container port");
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using SteadyClock = std::chrono::steady_clock;

int remaining_ms(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Connects to host:port before `deadline`; the socket (non-blocking) or an error in Go's dial wording,
// which is what the kubelet puts in its events.
int dial(const std::string& host, int port, SteadyClock::time_point deadline, std::string& error) {
  const std::string target = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0 || !found) {
    error = "dial tcp " + target + ": lookup " + host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : ::connect(fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (fd < 0) {
    error = "dial tcp " + target + ": socket: " + std::strerror(errno);
    return -1;
  }
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int ready = ::poll(&p, 1, remaining_ms(deadline));
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (ready <= 0) {
      so_error = ETIMEDOUT;
    } else {
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    }
    rc = so_error == 0 ? 0 : -1;
    errno = so_error;
  }
  if (rc != 0) {
    error = "dial tcp " + target + ": connect: " + (errno == ECONNREFUSED ? std::string("connection refused")
                                                    : errno == ETIMEDOUT  ? std::string("i/o timeout")
                                                                          : std::string(std::strerror(errno)));
    ::close(fd);
    return -1;
  }
  return fd;
}

ProbeOutcome tcp_probe(const std::string& host, int port, SteadyClock::time_point deadline) {
  std::string error;
  Fd fd(dial(host, port, deadline, error));
  if (fd.get() < 0) return {false, error};
  return {true, ""};
}

// One GET, reading only the status line: 200–399 is success (redirects are not followed).
ProbeOutcome http_probe(const ProbeSpec& spec, const std::string& host, SteadyClock::time_point deadline) {
  std::string error;
  Fd fd(dial(host, spec.port, deadline, error));
  if (fd.get() < 0) return {false, "Get \"http://" + host + ":" + std::to_string(spec.port) + spec.path + "\": " + error};
  const std::string url = "http://" + host + ":" + std::to_string(spec.port) + spec.path;
  const std::string request = "GET " + spec.path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(spec.port) +
                              "\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
      return {false, "Get \"" + url + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"};
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return {false, "Get \"" + url + "\": write: " + std::strerror(errno)};
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  std::string response;
  while (response.find("\r\n") == std::string::npos && response.size() < 4096) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
      return {false, "Get \"" + url + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"};
    char buf[1024];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0 && errno != EAGAIN) return {false, "Get \"" + url + "\": read: " + std::strerror(errno)};
    if (n > 0) response.append(buf, static_cast<std::size_t>(n));
  }
  // "HTTP/1.1 200 OK"
  int code = 0;
  if (response.rfind("HTTP/", 0) == 0) {
    auto space = response.find(' ');
    if (space != std::string::npos) code = std::atoi(response.c_str() + space + 1);
  }
  if (code == 0) return {false, "Get \"" + url + "\": malformed HTTP response"};
  if (code >= 200 && code < 400) return {true, ""};
  return {false, "HTTP probe failed with statuscode: " + std::to_string(code)};
}

}  // namespace

plugin::Result<ProbeSpec> parse_probe(const Json& probe, const Json& container, const std::string& where) {
  try {
    if (!probe.is_object()) return plugin::invalid(where + ": must be an object");
    ProbeSpec spec;
    int handlers = 0;
    if (probe.contains("exec")) {
      ++handlers;
      spec.kind = ProbeSpec::Kind::kExec;
      const Json& command = probe["exec"].value("command", Json::array());
      if (!command.is_array() || command.empty())
        return plugin::invalid(where + ".exec.command: a non-empty list of strings is required");
      for (const auto& c : command) {
        if (!c.is_string()) return plugin::invalid(where + ".exec.command: every element must be a string");
        spec.command.push_back(c.get<std::string>());
      }
    }
    // httpGet and tcpSocket share host and port.
    for (auto [field, kind] : {std::pair{"httpGet", ProbeSpec::Kind::kHttpGet}, std::pair{"tcpSocket", ProbeSpec::Kind::kTcpSocket}}) {
      if (!probe.contains(field)) continue;
      ++handlers;
      const Json& h = probe[field];
      spec.kind = kind;
      spec.port = port_field(h, container, where + "." + field);
      spec.host = h.value("host", "");
    }
    if (spec.kind == ProbeSpec::Kind::kHttpGet) {
      const Json& h = probe["httpGet"];
      spec.path = h.value("path", "/");
      if (spec.path.empty() || spec.path[0] != '/') spec.path = "/" + spec.path;
      spec.scheme = h.value("scheme", "HTTP");
      if (spec.scheme != "HTTP") return plugin::invalid(where + ".httpGet.scheme: only HTTP is supported, not " + spec.scheme);
    }
    if (probe.contains("grpc")) return plugin::invalid(where + ".grpc: gRPC probes are not supported");
    if (handlers != 1) return plugin::invalid(where + ": exactly one of exec, httpGet, tcpSocket is required");
    spec.initial_delay_ms = seconds_field(probe, "initialDelaySeconds", 0, 0, where) * 1000;
    spec.period_ms = seconds_field(probe, "periodSeconds", 10, 1, where) * 1000;
    spec.timeout_ms = seconds_field(probe, "timeoutSeconds", 1, 1, where) * 1000;
    spec.success_threshold = static_cast<int>(seconds_field(probe, "successThreshold", 1, 1, where));
    spec.failure_threshold = static_cast<int>(seconds_field(probe, "failureThreshold", 3, 1, where));
    return spec;
  } catch (const std::exception& e) {
    return plugin::invalid(e.what());
  }
}

ProbeOutcome run_probe(const ProbeSpec& spec, plugin::runtime::Runtime& runtime, const std::string& container_id,
                       const std::string& pod_ip) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(spec.timeout_ms);
  const std::string host = spec.host.empty() ? pod_ip : spec.host;
  switch (spec.kind) {
    case ProbeSpec::Kind::kExec: {
      auto r = runtime.exec_sync(container_id, spec.command, (spec.timeout_ms + 999) / 1000);
      if (!r) return {false, r.status().message()};
      if (r->exit_code == 0) return {true, ""};
      std::string output = r->stdout_data + r->stderr_data;
      if (output.empty()) output = "command exited with code " + std::to_string(r->exit_code);
      return {false, output};
    }
    case ProbeSpec::Kind::kHttpGet:
      return http_probe(spec, host, deadline);
    case ProbeSpec::Kind::kTcpSocket:
      return tcp_probe(host, spec.port, deadline);
  }
  return {false, "unknown probe kind"};
}

ProbeStep step_probe(const ProbeSpec& spec, ProbeState& state, std::int64_t started_at_ms, std::int64_t now_ms,
                     plugin::runtime::Runtime& runtime, const std::string& container_id, const std::string& pod_ip) {
  ProbeStep step;
  if (state.next_at_ms == 0) state.next_at_ms = started_at_ms + spec.initial_delay_ms;
  if (now_ms < state.next_at_ms) {
    step.wait_ms = state.next_at_ms - now_ms;
    return step;
  }
  step.ran = true;
  step.outcome = run_probe(spec, runtime, container_id, pod_ip);
  if (step.outcome->success) {
    state.failures = 0;
    if (++state.successes >= spec.success_threshold && !state.result) step.changed = state.result = true;
  } else {
    state.successes = 0;
    if (++state.failures >= spec.failure_threshold && state.result) {
      state.result = false;
      step.changed = true;
    }
  }
  state.next_at_ms = now_ms + spec.period_ms;
  step.wait_ms = spec.period_ms;
  return step;
}

}  // namespace skiff::agent
