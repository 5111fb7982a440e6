// A test backend for the proxy suites: in a pod's network namespace it answers on one port,
//   TCP: writes "<name>\n" to every connection and closes it (`backend NAME PORT`), or serves HTTP/1.1
//        keep-alive with a fixed 200 (`backend NAME PORT http`, for wrk);
//   UDP: answers every datagram with "<name>\n".
// `backend --ask IP PORT` is the client side instead: one TCP connection, what it reads goes to stdout.
// It runs until killed (the suites' ChildProcess guards stop it).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

int bound(int type, int port) {
  int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("bind");
    std::exit(1);
  }
  if (type == SOCK_STREAM) ::listen(fd, 4096);
  return fd;
}

}  // namespace

int ask(const char* ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 1;
  }
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) [[maybe_unused]] auto w = ::write(1, buf, static_cast<std::size_t>(n));
  return n == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--ask") return ask(argv[2], std::atoi(argv[3]));
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s NAME PORT [http]\n", argv[0]);
    return 2;
  }
  const std::string reply = std::string(argv[1]) + "\n";
  const bool http = argc > 3 && std::string(argv[3]) == "http";
  const std::string http_reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(reply.size()) +
                                 "\r\nContent-Type: text/plain\r\n\r\n" + reply;
  int port = std::atoi(argv[2]);
  int tcp = bound(SOCK_STREAM, port), udp = bound(SOCK_DGRAM, port);
  int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = tcp;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, tcp, &ev);
  ev.data.fd = udp;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, udp, &ev);
  std::fprintf(stderr, "backend %s listening on %d\n", argv[1], port);
  std::unordered_map<int, std::string> pending;  // http: request bytes not answered yet
  epoll_event events[128];
  char buf[65536];
  for (;;) {
    int n = ::epoll_wait(ep, events, 128, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == udp) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        while (::recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len) >= 0) {
          ::sendto(udp, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
          len = sizeof peer;
        }
      } else if (fd == tcp) {
        for (int c; (c = ::accept4(tcp, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          if (!http) {
            [[maybe_unused]] auto w = ::write(c, reply.data(), reply.size());
            ::close(c);
            continue;
          }
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ev.events = EPOLLIN;
          ev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
      } else {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r <= 0) {
          pending.erase(fd);
          ::close(fd);
          continue;
        }
        std::string& req = pending[fd];
        req.append(buf, static_cast<std::size_t>(r));
        std::string out;
        for (std::size_t end; (end = req.find("\r\n\r\n")) != std::string::npos;) {
          req.erase(0, end + 4);
          out += http_reply;
        }
        if (!out.empty()) [[maybe_unused]] auto w = ::write(fd, out.data(), out.size());
      }
    }
  }
}
