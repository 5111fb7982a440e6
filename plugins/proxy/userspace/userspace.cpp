#include "userspace.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "command.hpp"
#include "proxy_common.hpp"

namespace skiff::plugins::proxy::userspace {
namespace {

using plugin::proxy::Protocol;
using plugin::proxy::ProxyState;
using plugin::proxy::ServicePort;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kPipeChunk = 1 << 16;

sockaddr_in make_addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// What clients address: (protocol, ip, port); ip "0.0.0.0" for a node port.
using ListenKey = std::tuple<Protocol, std::string, int>;

struct Backends {
  std::vector<plugin::proxy::Endpoint> ready;
  bool affinity = false;
  std::chrono::seconds affinity_timeout{10800};
};

// A listening socket and how it picks endpoints. Owned by the proxy; the epoll loop finds it by id.
struct Listener {
  int fd = -1;
  Protocol protocol = Protocol::kTcp;
  std::string id;  // the service port, for logs
  std::shared_ptr<const Backends> backends;
  std::size_t next = 0;  // round robin
  std::unordered_map<std::uint32_t, std::pair<std::string, SteadyClock::time_point>> sticky;  // client → endpoint
  // UDP: client (ip:port packed) → relay socket id
  std::unordered_map<std::uint64_t, std::uint64_t> udp_sessions;
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
};

// One direction of a TCP relay: src → pipe → dst.
struct Direction {
  int pipe_r = -1, pipe_w = -1;
  std::size_t buffered = 0;
  bool src_eof = false;
  bool done = false;  // eof seen and everything passed on
  // Read from src only when the pipe is empty: a full destination stops the source (backpressure).
  bool wants_read() const { return !src_eof && buffered == 0; }
};

struct TcpRelay {
  int client = -1, backend = -1;
  bool connected = false;
  Direction up, down;  // up: client → backend
  std::uint64_t client_id = 0, backend_id = 0;
  std::uint32_t client_events = 0, backend_events = 0;  // what epoll watches now on each side
  ~TcpRelay() {
    for (int fd : {client, backend, up.pipe_r, up.pipe_w, down.pipe_r, down.pipe_w})
      if (fd >= 0) ::close(fd);
  }
};

struct UdpRelay {
  int fd = -1;  // connected to the endpoint
  std::uint64_t listener_id = 0;
  std::uint64_t session_key = 0;
  sockaddr_in client{};
  SteadyClock::time_point last_active;
  ~UdpRelay() {
    if (fd >= 0) ::close(fd);
  }
};

class UserspaceProxy final : public plugin::proxy::Proxy {
 public:
  UserspaceProxy(UserspaceOptions options, plugin::Logger* logger) : options_(std::move(options)), logger_(logger) {}
  ~UserspaceProxy() override { stop_loop(); }

  plugin::Status start() noexcept override {
    if (!have_program(options_.ip_command))
      return plugin::unavailable("proxy mode userspace needs '" + options_.ip_command +
                                 "' (Debian package iproute2); other modes: iptables, nftables, ipvs");
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0) return plugin::internal(std::string("proxy userspace: epoll: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;  // id 0: the wake-up eventfd
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    running_ = true;
    thread_ = std::thread([this] { loop(); });
    return plugin::Status::ok();
  }

  plugin::Result<plugin::proxy::SyncResult> sync(const ProxyState& state) noexcept override {
    try {
      if (!running_) return plugin::internal("proxy userspace: sync before start");
      // Desired listeners and the cluster IPs they bind to.
      std::map<ListenKey, std::pair<std::string, std::shared_ptr<const Backends>>> want;
      std::set<std::string> ips;
      for (const ServicePort& sp : state.services) {
        auto b = std::make_shared<Backends>();
        for (const auto* e : ready_endpoints(sp)) b->ready.push_back(*e);
        b->affinity = sp.client_ip_affinity;
        b->affinity_timeout = std::chrono::seconds(sp.affinity_timeout_seconds);
        want[{sp.protocol, sp.cluster_ip, sp.port}] = {sp.id(), b};
        if (sp.node_port != 0) want[{sp.protocol, "0.0.0.0", sp.node_port}] = {sp.id(), b};
        ips.insert(sp.cluster_ip);
      }
      if (auto st = sync_addresses(ips); !st) return st;
      std::lock_guard lock(mutex_);
      std::vector<std::string> errors;
      for (auto it = listeners_by_key_.begin(); it != listeners_by_key_.end();) {
        if (want.contains(it->first)) {
          ++it;
          continue;
        }
        remove_listener_locked(it->second);
        it = listeners_by_key_.erase(it);
      }
      for (auto& [key, value] : want) {
        auto found = listeners_by_key_.find(key);
        if (found != listeners_by_key_.end()) {
          auto& l = listeners_.at(found->second);
          l->backends = value.second;
          l->id = value.first;
          continue;
        }
        auto id = open_listener_locked(key, value.first, value.second);
        if (!id) {
          errors.push_back(id.status().message());
          continue;
        }
        listeners_by_key_[key] = *id;
      }
      if (!errors.empty()) return plugin::unavailable("proxy userspace: " + errors.front() +
                                                      (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) + " more)" : ""));
      return plugin::proxy::SyncResult{listeners_by_key_.size()};
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy userspace sync: ") + e.what());
    }
  }

  plugin::Status cleanup() noexcept override {
    try {
      stop_loop();
      {
        std::lock_guard lock(mutex_);
        listeners_by_key_.clear();
        listeners_.clear();
        tcp_.clear();
        udp_.clear();
      }
      if (!have_program(options_.ip_command)) return plugin::Status::ok();
      auto st = sync_addresses({});
      return st;
    } catch (const std::exception& e) {
      return plugin::internal(std::string("proxy userspace cleanup: ") + e.what());
    }
  }

 private:
  // Cluster IPs on lo under our label: added when a service appears, removed when the last goes.
  plugin::Status sync_addresses(const std::set<std::string>& want) {
    auto listed = run_checked({options_.ip_command, "-4", "-o", "addr", "show", "dev", "lo", "label",
                               std::string(kAddressLabel)});
    if (!listed) return listed.status().with_context("proxy userspace");
    std::set<std::string> have;
    std::istringstream in(listed->out);
    for (std::string line; std::getline(in, line);) {
      auto at = line.find(" inet ");
      if (at == std::string::npos) continue;
      std::string cidr = line.substr(at + 6, line.find(' ', at + 6) - at - 6);
      have.insert(cidr.substr(0, cidr.find('/')));
    }
    std::string batch;
    for (const auto& ip : want)
      if (!have.contains(ip)) batch += "address add " + ip + "/32 dev lo label " + std::string(kAddressLabel) + "\n";
    for (const auto& ip : have)
      if (!want.contains(ip)) batch += "address del " + ip + "/32 dev lo label " + std::string(kAddressLabel) + "\n";
    if (batch.empty()) return plugin::Status::ok();
    auto r = run_checked({options_.ip_command, "-batch", "-"}, batch);
    return r ? plugin::Status::ok() : r.status().with_context("proxy userspace: cluster IPs on lo");
  }

  plugin::Result<std::uint64_t> open_listener_locked(const ListenKey& key, const std::string& id,
                                                     std::shared_ptr<const Backends> backends) {
    const auto& [protocol, ip, port] = key;
    if (protocol == Protocol::kSctp) return plugin::invalid(id + ": SCTP is not supported by the userspace mode");
    int type = protocol == Protocol::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return plugin::internal(id + ": socket: " + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);  // the address may still be settling on lo
    sockaddr_in addr = make_addr(ip, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        (protocol == Protocol::kTcp && ::listen(fd, 4096) != 0)) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return plugin::unavailable(id + ": cannot listen on " + ip + ":" + std::to_string(port) + ": " + err);
    }
    auto l = std::make_unique<Listener>();
    l->fd = fd;
    l->protocol = protocol;
    l->id = id;
    l->backends = std::move(backends);
    std::uint64_t handle = next_id_++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = handle;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    listeners_[handle] = std::move(l);
    return handle;
  }

  void remove_listener_locked(std::uint64_t handle) {
    auto it = listeners_.find(handle);
    if (it == listeners_.end()) return;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second->fd, nullptr);
    // UDP sessions of this port go with it; TCP connections already relayed carry on.
    for (const auto& [client, relay] : it->second->udp_sessions) close_udp_locked(relay);
    listeners_.erase(it);
  }

  // The endpoint for a new connection from `client_ip`: the sticky one if affinity holds, else the
  // next ready one round-robin. Empty: no endpoint is ready.
  static const plugin::proxy::Endpoint* pick(Listener& l, std::uint32_t client_ip) {
    const auto& b = *l.backends;
    if (b.ready.empty()) return nullptr;
    auto now = SteadyClock::now();
    if (b.affinity) {
      auto it = l.sticky.find(client_ip);
      if (it != l.sticky.end() && now - it->second.second < b.affinity_timeout)
        for (const auto& e : b.ready)
          if (endpoint_address(e) == it->second.first) {
            it->second.second = now;
            return &e;
          }
    }
    const auto& e = b.ready[l.next++ % b.ready.size()];
    if (b.affinity) l.sticky[client_ip] = {endpoint_address(e), now};
    return &e;
  }

  void accept_tcp_locked(Listener& l) {
    for (int i = 0; i < 64; ++i) {  // bounded per wake-up so one busy port cannot starve the others
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      int client = ::accept4(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) return;
      const auto* e = pick(l, ntohl(peer.sin_addr.s_addr));
      if (e == nullptr) {
        // No endpoint: refuse at once (RST), as the kernel modes reject.
        linger lg{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(client);
        continue;
      }
      auto r = std::make_unique<TcpRelay>();
      r->client = client;
      r->backend = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      int p1[2], p2[2];
      if (r->backend < 0 || ::pipe2(p1, O_NONBLOCK | O_CLOEXEC) != 0) continue;
      r->up.pipe_r = p1[0];
      r->up.pipe_w = p1[1];
      if (::pipe2(p2, O_NONBLOCK | O_CLOEXEC) != 0) continue;
      r->down.pipe_r = p2[0];
      r->down.pipe_w = p2[1];
      int one = 1;
      ::setsockopt(r->backend, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in to = make_addr(e->ip, e->port);
      if (::connect(r->backend, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) continue;
      r->client_id = next_id_++;
      r->backend_id = next_id_++;
      // Level-triggered, and only what the relay can act on now: until the backend connects, the
      // client is not read and only the backend's writability (the connect finishing) is watched.
      epoll_event ev{};
      ev.events = 0;
      ev.data.u64 = r->client_id;
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, r->client, &ev);
      ev.events = r->backend_events = EPOLLOUT;
      ev.data.u64 = r->backend_id;
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, r->backend, &ev);
      std::shared_ptr<TcpRelay> shared(std::move(r));
      tcp_[shared->client_id] = shared;
      tcp_[shared->backend_id] = shared;
    }
  }

  // One step of one direction: what the pipe holds goes on to dst, then, if the pipe is empty and
  // src was reported readable, one splice(2) from src (up to kPipeChunk) and straight on to dst.
  // No loop until EAGAIN: epoll is level-triggered and reports again what is left, so a request
  // costs two splices and no empty reads. false: the connection failed.
  static bool move(Direction& d, int src, int dst, bool readable) {
    if (d.buffered > 0) {
      ssize_t n = ::splice(d.pipe_r, nullptr, dst, nullptr, d.buffered, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (n > 0) d.buffered -= static_cast<std::size_t>(n);
      else if (n < 0 && errno != EAGAIN) return false;
    }
    if (readable && d.wants_read()) {
      ssize_t n = ::splice(src, nullptr, d.pipe_w, nullptr, kPipeChunk, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (n > 0) {
        d.buffered = static_cast<std::size_t>(n);
        ssize_t out = ::splice(d.pipe_r, nullptr, dst, nullptr, d.buffered, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (out > 0) d.buffered -= static_cast<std::size_t>(out);
        else if (out < 0 && errno != EAGAIN) return false;
      } else if (n == 0) {
        d.src_eof = true;
      } else if (errno != EAGAIN) {
        return false;
      }
    }
    if (d.src_eof && d.buffered == 0 && !d.done) {
      ::shutdown(dst, SHUT_WR);
      d.done = true;
    }
    return true;
  }

  void watch(int fd, std::uint64_t id, std::uint32_t& current, std::uint32_t wanted) {
    if (current == wanted) return;
    epoll_event ev{};
    ev.events = wanted;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &ev);
    current = wanted;
  }

  // `events` happened on the relay's client side (from_client) or backend side.
  void relay_tcp_locked(const std::shared_ptr<TcpRelay>& r, bool from_client, std::uint32_t events) {
    if (!r->connected) {
      // The client is not read before the connect is done; hang-ups are reported regardless.
      if (from_client) return (events & (EPOLLHUP | EPOLLERR)) != 0 ? close_tcp_locked(r, true) : void();
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(r->backend, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == EINPROGRESS) return;
      if (err != 0) return close_tcp_locked(r, true);
      r->connected = true;
    }
    const bool readable = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
    if (!move(r->up, r->client, r->backend, from_client && readable) ||
        !move(r->down, r->backend, r->client, !from_client && readable))
      return close_tcp_locked(r, true);
    if (r->up.done && r->down.done) return close_tcp_locked(r, false);
    watch(r->client, r->client_id, r->client_events,
          (r->up.wants_read() ? EPOLLIN : 0u) | (r->down.buffered > 0 ? EPOLLOUT : 0u));
    watch(r->backend, r->backend_id, r->backend_events,
          (r->down.wants_read() ? EPOLLIN : 0u) | (r->up.buffered > 0 ? EPOLLOUT : 0u));
  }

  void close_tcp_locked(const std::shared_ptr<TcpRelay>& r, bool reset) {
    if (reset) {
      linger lg{1, 0};
      ::setsockopt(r->client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, r->client, nullptr);
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, r->backend, nullptr);
    tcp_.erase(r->client_id);
    tcp_.erase(r->backend_id);
  }

  void udp_from_client_locked(std::uint64_t listener_id, Listener& l) {
    char buf[65536];
    for (int i = 0; i < 64; ++i) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      ssize_t n = ::recvfrom(l.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n < 0) return;
      std::uint64_t key = (std::uint64_t{ntohl(peer.sin_addr.s_addr)} << 16) | ntohs(peer.sin_port);
      UdpRelay* relay = nullptr;
      if (auto it = l.udp_sessions.find(key); it != l.udp_sessions.end()) {
        auto u = udp_.find(it->second);
        if (u != udp_.end()) relay = u->second.get();
      }
      if (relay == nullptr) {
        const auto* e = pick(l, ntohl(peer.sin_addr.s_addr));
        if (e == nullptr) continue;  // dropped; the kernel modes would answer ICMP unreachable
        auto u = std::make_unique<UdpRelay>();
        u->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in to = make_addr(e->ip, e->port);
        if (u->fd < 0 || ::connect(u->fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) continue;
        u->listener_id = listener_id;
        u->session_key = key;
        u->client = peer;
        std::uint64_t id = next_id_++;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = id;
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, u->fd, &ev);
        relay = u.get();
        udp_[id] = std::move(u);
        l.udp_sessions[key] = id;
      }
      relay->last_active = SteadyClock::now();
      ::send(relay->fd, buf, static_cast<std::size_t>(n), 0);
    }
  }

  void udp_from_backend_locked(UdpRelay& u) {
    auto l = listeners_.find(u.listener_id);
    char buf[65536];
    for (int i = 0; i < 64; ++i) {
      ssize_t n = ::recv(u.fd, buf, sizeof buf, 0);
      if (n < 0) return;
      u.last_active = SteadyClock::now();
      if (l != listeners_.end())
        ::sendto(l->second->fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&u.client),
                 sizeof u.client);
    }
  }

  void close_udp_locked(std::uint64_t id) {
    auto it = udp_.find(id);
    if (it == udp_.end()) return;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second->fd, nullptr);
    udp_.erase(it);
  }

  void expire_udp_locked() {
    auto cutoff = SteadyClock::now() - std::chrono::seconds(options_.udp_idle_timeout_seconds);
    std::vector<std::uint64_t> idle;
    for (const auto& [id, u] : udp_)
      if (u->last_active < cutoff) idle.push_back(id);
    for (auto id : idle) {
      auto& u = *udp_.at(id);
      if (auto l = listeners_.find(u.listener_id); l != listeners_.end()) l->second->udp_sessions.erase(u.session_key);
      close_udp_locked(id);
    }
  }

  void loop() {
    epoll_event events[256];
    auto next_expiry = SteadyClock::now() + std::chrono::seconds(1);
    while (running_) {
      int n = ::epoll_wait(epoll_, events, 256, 500);
      std::lock_guard lock(mutex_);
      for (int i = 0; i < n; ++i) {
        std::uint64_t id = events[i].data.u64;
        if (id == 0) {
          std::uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_, &v, sizeof v);
          continue;
        }
        if (auto l = listeners_.find(id); l != listeners_.end()) {
          if (l->second->protocol == Protocol::kTcp)
            accept_tcp_locked(*l->second);
          else
            udp_from_client_locked(id, *l->second);
        } else if (auto t = tcp_.find(id); t != tcp_.end()) {
          std::shared_ptr<TcpRelay> relay = t->second;  // the relay may close (and leave tcp_) inside
          relay_tcp_locked(relay, id == relay->client_id, events[i].events);
        } else if (auto u = udp_.find(id); u != udp_.end()) {
          udp_from_backend_locked(*u->second);
        }
      }
      if (SteadyClock::now() > next_expiry) {
        expire_udp_locked();
        next_expiry = SteadyClock::now() + std::chrono::seconds(1);
      }
    }
  }

  void stop_loop() {
    if (!running_.exchange(false)) return;
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    tcp_.clear();
    udp_.clear();
    listeners_.clear();
    listeners_by_key_.clear();
    ::close(epoll_);
    ::close(wake_);
    epoll_ = wake_ = -1;
  }

  const UserspaceOptions options_;
  plugin::Logger* logger_;
  std::atomic<bool> running_{false};
  int epoll_ = -1, wake_ = -1;
  std::thread thread_;
  std::mutex mutex_;  // everything below; the loop holds it while handling a batch of events
  std::uint64_t next_id_ = 1;
  std::map<ListenKey, std::uint64_t> listeners_by_key_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Listener>> listeners_;
  std::unordered_map<std::uint64_t, std::shared_ptr<TcpRelay>> tcp_;  // by either side's id
  std::unordered_map<std::uint64_t, std::unique_ptr<UdpRelay>> udp_;
};

}  // namespace

std::unique_ptr<plugin::proxy::Proxy> make_userspace_proxy(UserspaceOptions options, plugin::Logger* logger) {
  return std::make_unique<UserspaceProxy>(std::move(options), logger);
}

const std::array<plugin::OptionSpec, 1> kOptions{{
    {"udp-idle-timeout-seconds", "30", "A UDP client's relay to its endpoint is closed after this much silence."},
}};

plugin::Result<std::unique_ptr<plugin::proxy::Proxy>> make_proxy(const plugin::PluginContext& context) {
  UserspaceOptions options;
  auto timeout = context.config.get_int("udp-idle-timeout-seconds", 1, 86400);
  if (!timeout) return timeout.status();
  options.udp_idle_timeout_seconds = static_cast<int>(*timeout);
  return make_userspace_proxy(std::move(options), &context.logger);
}

}  // namespace skiff::plugins::proxy::userspace
