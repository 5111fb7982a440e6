// What the userspace mode promises beyond the conformance suite: a sync swaps the endpoint lists
// under the listeners, so a connection already relayed keeps its backend while new connections go
// to the new endpoints. Real sockets: keep-alive HTTP backends in pod namespaces, the proxy in the
// node namespace of a NetnsLab (no route out). Needs root.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "proxy_modes.hpp"
#include "tests/support/netns_lab.hpp"
#include "userspace.hpp"

namespace skiff::testing {
namespace {

using plugin::proxy::Endpoint;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;

ProxyState web_on(int pod) {
  ServicePort sp;
  sp.ns = "default";
  sp.name = "web";
  sp.cluster_ip = "10.96.0.10";
  sp.port = 80;
  sp.endpoints = {Endpoint{NetnsLab::pod_ip(pod), 8080, true}};
  return ProxyState{{sp}};
}

// A kept-alive client connection to the service.
struct Client {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ~Client() { ::close(fd); }
  bool connect_to(const char* ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  // One request on this connection; the body of the answer (the backend's name), "" on failure.
  std::string ask() {
    const std::string request = "GET / HTTP/1.1\r\nHost: web\r\n\r\n";
    if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return {};
    std::string got;
    char buf[512];
    for (int waited = 0; waited < 50; ++waited) {  // at most 5 s
      if (auto head = got.find("\r\n\r\n"); head != std::string::npos && got.back() == '\n')
        return got.substr(head + 4, got.size() - head - 5);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return {};
      got.append(buf, static_cast<std::size_t>(n));
    }
    return {};
  }
};

TEST(UserspaceProxy, AnEndpointChangeLeavesEstablishedConnectionsOnTheirBackend) {
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (network namespaces)";
  NetnsLab lab(2, "us");
  for (int i = 0; i < 2; ++i) lab.start_in_pod(i, {backend_binary(), "pod" + std::to_string(i), "8080", "http"});
  lab.enter_node();
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(eventually([&] {
      Client probe;
      return probe.connect_to(NetnsLab::pod_ip(i).c_str(), 8080) && probe.ask() == "pod" + std::to_string(i);
    })) << "backend " << i << " did not come up";
  auto proxy = plugins::proxy::userspace::make_userspace_proxy({}, nullptr);
  ASSERT_TRUE(proxy->start());
  ASSERT_TRUE(proxy->sync(web_on(0)));

  Client kept;
  ASSERT_TRUE(kept.connect_to("10.96.0.10", 80)) << std::strerror(errno);
  EXPECT_EQ(kept.ask(), "pod0");

  ASSERT_TRUE(proxy->sync(web_on(1)));
  EXPECT_EQ(kept.ask(), "pod0") << "the established connection lost its backend when the endpoints changed";
  Client fresh;
  ASSERT_TRUE(fresh.connect_to("10.96.0.10", 80));
  EXPECT_EQ(fresh.ask(), "pod1") << "a new connection must go to the new endpoint";
  EXPECT_EQ(kept.ask(), "pod0");

  EXPECT_TRUE(proxy->cleanup());
}

}  // namespace
}  // namespace skiff::testing
