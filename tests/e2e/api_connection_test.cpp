// The API server's TCP connections: Nagle's algorithm is off on every accepted connection (plain and
// TLS). With it on, NNG's two-part responses cost each keep-alive request a delayed-ACK wait (~40 ms).
// The check reads the option on skiffd's own end of the connection: the test finds that socket by its
// inode in /proc and borrows the descriptor with pidfd_getfd (root, Linux ≥ 5.6).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "tests/support/cluster.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

// The inode of the IPv4 TCP socket whose local port is `local` and remote port is `remote`.
std::optional<std::string> socket_inode(int local, int remote) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local_addr, remote_addr, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local_addr >> remote_addr >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
    auto port_of = [](const std::string& addr) { return std::stoi(addr.substr(addr.find(':') + 1), nullptr, 16); };
    if (port_of(local_addr) == local && port_of(remote_addr) == remote) return inode;
  }
  return std::nullopt;
}

// skiffd's descriptor for the socket with this inode, duplicated into this process.
int borrow_fd(int pid, const std::string& inode) {
  std::string target = "socket:[" + inode + "]";
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec).string() != target) continue;
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return -1;
    int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, std::stoi(entry.path().filename().string()), 0));
    close(pidfd);
    return fd;
  }
  return -1;
}

void expect_nodelay_on_accepted_connection(bool tls) {
  Cluster cluster(tls);
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(cluster.port()));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&server), sizeof server), 0);
  sockaddr_in mine{};
  socklen_t mine_length = sizeof mine;
  ASSERT_EQ(getsockname(client, reinterpret_cast<sockaddr*>(&mine), &mine_length), 0);

  int server_fd = -1;
  // NNG accepts asynchronously: wait (bounded) until skiffd holds its end of the connection.
  ASSERT_TRUE(eventually([&] {
    auto inode = socket_inode(cluster.port(), ntohs(mine.sin_port));
    if (inode) server_fd = borrow_fd(cluster.daemon().pid(), *inode);
    return server_fd >= 0;
  })) << "skiffd's end of the connection was not found";
  int nodelay = 0;
  socklen_t length = sizeof nodelay;
  ASSERT_EQ(getsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &length), 0);
  EXPECT_NE(nodelay, 0) << "Nagle's algorithm is on for an accepted API connection";
  close(server_fd);
  close(client);
}

TEST(ApiConnection, NagleIsOffOnAcceptedTlsConnections) { expect_nodelay_on_accepted_connection(true); }
TEST(ApiConnection, NagleIsOffOnAcceptedPlainConnections) { expect_nodelay_on_accepted_connection(false); }

}  // namespace
}  // namespace skiff::testing
