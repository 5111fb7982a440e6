// A real listener on 127.0.0.1 for probe tests: it accepts connections and, when asked, answers
// each with an HTTP status line (or stays silent, for timeouts). Closing it makes connects fail
// with "connection refused". Its accept thread is bounded by stop(), called by the destructor.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace skiff::testing {

class ProbeListener {
 public:
  ProbeListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("probe listener on 127.0.0.1 failed");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ProbeListener() { close(); }
  ProbeListener(const ProbeListener&) = delete;
  ProbeListener& operator=(const ProbeListener&) = delete;

  int port() const { return port_; }
  // The HTTP status each connection gets; 0: read the request and answer nothing.
  void answer(int status) { status_ = status; }
  // Stops listening: later connects are refused.
  void close() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void serve() {
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      char buf[2048];
      pollfd c{client, POLLIN, 0};
      if (::poll(&c, 1, 1000) > 0) (void)::recv(client, buf, sizeof buf, 0);
      if (int status = status_; status != 0) {
        std::string reply = "HTTP/1.1 " + std::to_string(status) + " Probe\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // longer than a 1 s probe timeout
      }
      ::close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace skiff::testing
