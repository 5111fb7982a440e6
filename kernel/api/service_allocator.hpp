// ClusterIP and NodePort allocation for Services, where kube-apiserver does it: in the API's write
// path, after defaulting and validation, before the object is stored.
//
// The allocator keeps the set of addresses and ports in use in memory. It is rebuilt from the stored
// Services when the API starts (so allocations survive restarts) and again whenever a request cannot
// be satisfied from memory (a requested IP or port looks taken, or a range looks full): a Service
// removed behind the API's back (a finalizer released later, a namespace emptied) then no longer
// blocks its address. That rebuild is the role Kubernetes' repair controllers play.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/api/validation.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

// An IPv4 prefix ("10.96.0.0/12").
struct Ipv4Cidr {
  std::uint32_t base = 0;  // host order, host bits zero
  int prefix = 0;
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix); }
  bool contains(std::uint32_t ip) const { return size() == (std::uint64_t{1} << 32) || (ip - base) < size(); }
  std::string to_string() const;
};
plugin::Result<Ipv4Cidr> parse_ipv4_cidr(std::string_view text);
// "10.0.0.1" → host-order address; nullopt-like failure as a Status.
plugin::Result<std::uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(std::uint32_t ip);

struct PortRange {
  int min = 30000;
  int max = 32767;
};
// "30000-32767".
plugin::Result<PortRange> parse_port_range(std::string_view text);

// What one admission reserved, so that a failed store write can give it back.
struct ServiceReservation {
  std::vector<std::uint32_t> ips;
  std::vector<int> node_ports;  // one number serves every protocol, as in Kubernetes
};

class ServiceAllocator {
 public:
  // `list_services` returns every stored Service (used for the rebuilds described above).
  ServiceAllocator(Ipv4Cidr cidr, PortRange node_ports, std::function<std::vector<nlohmann::json>()> list_services);

  // Fills spec.clusterIP/clusterIPs and the ports' nodePort of `svc` (a Service about to be created,
  // or updated from `old`), reserving what it takes. Errors come back as field errors for a 422.
  // On update, what `old` held and `svc` no longer needs is not released here: call release_unused
  // once the update is stored.
  std::vector<FieldError> allocate(nlohmann::json& svc, const nlohmann::json* old, ServiceReservation& reserved);
  // The write that held `reserved` is stored (a rebuild now finds it there) ...
  void commit(const ServiceReservation& reserved);
  // ... or failed: give the reservation back.
  void release(const ServiceReservation& reserved);
  // Gives back everything `svc` holds (it was deleted).
  void release_service(const nlohmann::json& svc);
  // After an update: gives back what `old` held and `now` does not.
  void release_unused(const nlohmann::json& old, const nlohmann::json& now);
  // Forgets everything and takes the allocations of the stored Services.
  void rebuild();

  const Ipv4Cidr& cidr() const { return cidr_; }
  const PortRange& node_port_range() const { return ports_; }
  std::size_t allocated_ips() const;
  std::size_t allocated_node_ports() const;

 private:
  struct Held {
    std::vector<std::uint32_t> ips;
    std::vector<int> node_ports;
  };
  static Held held_by(const nlohmann::json& svc);
  void rebuild_locked();
  void unpend_locked(const ServiceReservation& reserved);
  void release_locked(const ServiceReservation& reserved);
  bool ip_free_locked(std::uint32_t ip, bool& rebuilt);
  bool port_free_locked(int port, bool& rebuilt);
  std::uint32_t next_free_ip_locked(bool& rebuilt);
  int next_free_port_locked(bool& rebuilt);

  const Ipv4Cidr cidr_;
  const PortRange ports_;
  std::function<std::vector<nlohmann::json>()> list_services_;
  mutable std::mutex mutex_;
  std::set<std::uint32_t> ips_;
  std::set<int> node_ports_;
  // Reserved by admissions whose write is not stored yet: a rebuild must not hand them out again.
  std::multiset<std::uint32_t> pending_ips_;
  std::multiset<int> pending_ports_;
  std::uint64_t ip_cursor_ = 0;  // where the next search for a free IP starts (offset in the range)
  int port_cursor_ = 0;
};

}  // namespace skiff::kernel::api
