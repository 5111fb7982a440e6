// The API server's streams (kernel/api/server.cpp) over a real socket. First, a stream whose source
// is finished before the server has set it up. That is what `kubectl exec -- true` is on the node agent:
// the command ends at once, and the executor could end the stream while the worker that started it
// was still arming the stream's read and timer. This crashed the remote agent inside
// nng_sleep_aio, on an aio the ending had already freed. Second, a stream to a client that stopped
// reading, when the server stops. Third, a GET the handler answers at once, served while every read
// worker is busy. Plain HTTP on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/api/server.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"

namespace skiff::kernel::api {
namespace {

// Done before the server polls it, and waking the server from set_notify itself: the earliest a
// stream can be pumped (and so ended).
class FinishedSource final : public StreamSource {
 public:
  std::string poll() override { return std::exchange(text_, {}); }
  bool done() override { return text_.empty(); }
  void set_notify(std::function<void()> wake) override { wake(); }

 private:
  std::string text_ = "done\n";
};

// A followed stream of `source`, polled every millisecond.
HttpResponse stream_of(std::unique_ptr<StreamSource> source) {
  HttpResponse r;
  r.content_type = "text/plain";
  r.stream = std::make_shared<StreamBody>();
  r.stream->source = std::move(source);
  r.stream->deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  r.stream->tick = std::chrono::milliseconds(1);
  r.stream->is_watch = false;
  return r;
}

class InstantStreams final : public Handler {
 public:
  HttpResponse handle(const HttpRequest&) override { return stream_of(std::make_unique<FinishedSource>()); }
};

// A plain-HTTP Server for `handler` on a free port of 127.0.0.1.
struct PlainServer {
  MetricsRegistry metrics;
  StructuredLogger logger{"server-test", 2, plugin::LogLevel::kWarn};
  std::unique_ptr<Server> server;
  explicit PlainServer(Handler& handler) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.tls = false;
    options.workers = 4;
    server = std::make_unique<Server>(handler, metrics, logger, options);
  }
};

// A connection to `port` that has sent one GET of `path`; -1 if it could not. `receive_buffer` > 0
// shrinks the socket's receive buffer first. `close` asks the server to close the connection after
// its response.
int send_get(int port, int receive_buffer = 0, const std::string& path = "/stream", bool close = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One GET on a fresh connection; the whole response, read until the server closes it (or 10 s pass).
std::string get(int port, const std::string& path = "/stream", bool close = false) {
  int fd = send_get(port, 0, path, close);
  std::string out;
  char buf[4096];
  for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  if (fd >= 0) ::close(fd);
  return out;
}

TEST(ServerStreams, AStreamFinishedBeforeItIsSetUpIsServedWholeAndTheServerStays) {
  InstantStreams handler;
  PlainServer plain(handler);
  Server& server = *plain.server;
  ASSERT_TRUE(server.start());
  // Clients on four threads, so the workers that start streams and the executors that end them
  // run side by side; a run that loses the race dies here rather than failing an expectation.
  std::atomic<int> whole{0}, total{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      for (int i = 0; i < 400; ++i) {
        std::string response = get(server.port());
        ++total;
        if (response.starts_with("HTTP/1.1 200") && response.ends_with("5\r\ndone\n\r\n0\r\n\r\n")) ++whole;
      }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(whole.load(), total.load());
  server.stop();
}

// Never done: a megabyte per poll, so a client that does not read soon leaves a write pending.
class EndlessSource final : public StreamSource {
 public:
  explicit EndlessSource(std::shared_ptr<std::atomic<int>> polls, std::shared_ptr<std::atomic<bool>> stopped)
      : polls_(std::move(polls)), stopped_(std::move(stopped)) {}
  std::string poll() override {
    ++*polls_;
    return std::string(1 << 20, 'z');
  }
  bool done() override { return false; }
  void stop() override { *stopped_ = true; }

 private:
  std::shared_ptr<std::atomic<int>> polls_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

class EndlessStreams final : public Handler {
 public:
  std::shared_ptr<std::atomic<int>> polls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<bool>> stopped = std::make_shared<std::atomic<bool>>(false);
  HttpResponse handle(const HttpRequest&) override { return stream_of(std::make_unique<EndlessSource>(polls, stopped)); }
};

// A write that can never finish must not keep a stream open past stop(): the server would go on
// with the stream's aios still pending, and their callbacks would later run against a freed server.
TEST(ServerStreams, StopEndsAStreamWhoseClientStoppedReading) {
  EndlessStreams handler;
  PlainServer plain(handler);
  auto& server = plain.server;
  ASSERT_TRUE(server->start());
  int fd = send_get(server->port(), 4096);  // a small receive buffer: it fills after a few kilobytes
  ASSERT_GE(fd, 0);
  // The socket buffers take a few megabytes; then a write is pending that cannot finish, and the
  // source is polled no more. Wait for that: no new poll for 300 ms.
  int seen = -1, still = 0;
  for (int i = 0; i < 1000 && still < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    int now = handler.polls->load();
    still = now == seen && now > 0 ? still + 1 : 0;
    seen = now;
  }
  ASSERT_EQ(still, 30) << "the server kept writing to a client that reads nothing (" << seen << " polls)";

  server->stop();
  EXPECT_TRUE(handler.stopped->load()) << "stop() returned with the stream still open";
  server.reset();
  ::close(fd);  // after the server is gone: nothing of the stream may still be waiting on it
}

// Every GET of /slow waits until released; /quick is one the handler says it answers at once.
class SlowAndQuick final : public Handler {
 public:
  HttpResponse handle(const HttpRequest& request) override {
    if (request.path == "/slow") {
      std::unique_lock lock(mutex_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/plain";
    r.body = "answered " + request.path;
    return r;
  }
  bool answers_at_once(const HttpRequest& request) const override { return request.path == "/quick"; }

  bool wait_for_waiting(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ == n; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

// A GET of one object is answered on the thread that read it, so it does not queue for a worker
// thread behind slow requests (or, under load, behind every busy thread for a CPU).
TEST(ServerRequests, AGetTheHandlerAnswersAtOnceIsServedWhileEveryReadWorkerIsBusy) {
  SlowAndQuick handler;
  PlainServer plain(handler);  // 4 workers: 2 threads for reads
  Server& server = *plain.server;
  ASSERT_TRUE(server.start());
  std::vector<std::thread> slow;
  std::vector<std::string> slow_answers(2);
  for (int i = 0; i < 2; ++i)
    slow.emplace_back([&, i] { slow_answers[i] = get(server.port(), "/slow", /*close=*/true); });
  ASSERT_TRUE(handler.wait_for_waiting(2)) << "the slow GETs did not reach the handler";

  std::string quick = get(server.port(), "/quick", /*close=*/true);  // gives up after 10 s
  EXPECT_TRUE(quick.starts_with("HTTP/1.1 200")) << quick;
  EXPECT_TRUE(quick.ends_with("answered /quick")) << quick;

  handler.release();
  for (auto& t : slow) t.join();
  for (const auto& a : slow_answers) EXPECT_TRUE(a.ends_with("answered /slow")) << a;
  server.stop();
}

}  // namespace
}  // namespace skiff::kernel::api
