#include "kernel/api/service_allocator.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

bool is_string(const Json& j, std::string_view key) { return j.is_object() && j.contains(key) && j[std::string(key)].is_string(); }

std::string spec_type(const Json& svc) {
  if (!svc.contains("spec") || !svc["spec"].is_object()) return "ClusterIP";
  const Json& spec = svc["spec"];
  return is_string(spec, "type") ? spec["type"].get<std::string>() : "ClusterIP";
}

// The Service's cluster IPs as written (clusterIPs wins over clusterIP, as Kubernetes reads them).
std::vector<std::string> written_ips(const Json& spec) {
  std::vector<std::string> out;
  if (spec.contains("clusterIPs") && spec["clusterIPs"].is_array()) {
    for (const auto& ip : spec["clusterIPs"])
      if (ip.is_string() && !ip.get_ref<const std::string&>().empty()) out.push_back(ip.get<std::string>());
  }
  if (out.empty() && is_string(spec, "clusterIP") && !spec["clusterIP"].get_ref<const std::string&>().empty())
    out.push_back(spec["clusterIP"].get<std::string>());
  return out;
}

bool wants_node_ports(const Json& svc) {
  std::string type = spec_type(svc);
  if (type == "NodePort") return true;
  if (type != "LoadBalancer") return false;
  const Json& spec = svc["spec"];
  return !(spec.contains("allocateLoadBalancerNodePorts") && spec["allocateLoadBalancerNodePorts"] == false);
}

int node_port_of(const Json& port) {
  if (!port.is_object() || !port.contains("nodePort") || !port["nodePort"].is_number_integer()) return 0;
  return port["nodePort"].get<int>();
}

std::string go_ip_slice(const std::vector<std::string>& ips) {
  std::string out = "[]string{";
  for (std::size_t i = 0; i < ips.size(); ++i) out += (i ? ", \"" : "\"") + ips[i] + "\"";
  return out + "}";
}

FieldError ip_error(const std::vector<std::string>& ips, const std::string& detail) {
  FieldError e;
  e.type = FieldError::Type::kInvalid;
  e.field = "spec.clusterIPs";
  e.value_text = go_ip_slice(ips);
  e.detail = detail;
  return e;
}

FieldError port_error(std::size_t index, int port, const std::string& detail) {
  FieldError e;
  e.type = FieldError::Type::kInvalid;
  e.field = "spec.ports[" + std::to_string(index) + "].nodePort";
  e.value = port;
  e.detail = detail;
  return e;
}

}  // namespace

plugin::Result<std::uint32_t> parse_ipv4(std::string_view text) {
  in_addr addr{};
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), &addr) != 1) return plugin::invalid("'" + s + "' is not an IPv4 address");
  return ntohl(addr.s_addr);
}

std::string format_ipv4(std::uint32_t ip) {
  in_addr addr{htonl(ip)};
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr, buf, sizeof buf);
  return buf;
}

std::string Ipv4Cidr::to_string() const { return format_ipv4(base) + "/" + std::to_string(prefix); }

plugin::Result<Ipv4Cidr> parse_ipv4_cidr(std::string_view text) {
  auto slash = text.find('/');
  std::string what = "'" + std::string(text) + "' is not an IPv4 CIDR (like 10.96.0.0/12)";
  if (slash == std::string_view::npos) return plugin::invalid(what);
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip) return plugin::invalid(what);
  int prefix = -1;
  auto bits = text.substr(slash + 1);
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  if (ec != std::errc() || end != bits.data() + bits.size() || prefix < 0 || prefix > 32) return plugin::invalid(what);
  // A service range needs room for at least a couple of services besides network and broadcast.
  if (prefix > 28) return plugin::invalid("'" + std::string(text) + "' is too small for services (at most /28)");
  if (prefix < 8) return plugin::invalid("'" + std::string(text) + "' is too large for services (at least /8)");
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return Ipv4Cidr{*ip & mask, prefix};
}

plugin::Result<PortRange> parse_port_range(std::string_view text) {
  std::string what = "'" + std::string(text) + "' is not a port range (like 30000-32767)";
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return plugin::invalid(what);
  PortRange r;
  auto lo = text.substr(0, dash), hi = text.substr(dash + 1);
  auto a = std::from_chars(lo.data(), lo.data() + lo.size(), r.min);
  auto b = std::from_chars(hi.data(), hi.data() + hi.size(), r.max);
  if (a.ec != std::errc() || a.ptr != lo.data() + lo.size() || b.ec != std::errc() || b.ptr != hi.data() + hi.size() ||
      r.min < 1 || r.max > 65535 || r.min > r.max)
    return plugin::invalid(what);
  return r;
}

ServiceAllocator::ServiceAllocator(Ipv4Cidr cidr, PortRange node_ports,
                                   std::function<std::vector<nlohmann::json>()> list_services)
    : cidr_(cidr), ports_(node_ports), list_services_(std::move(list_services)) {}

ServiceAllocator::Held ServiceAllocator::held_by(const Json& svc) {
  Held held;
  if (!svc.is_object() || !svc.contains("spec") || !svc["spec"].is_object()) return held;
  const Json& spec = svc["spec"];
  if (spec_type(svc) != "ExternalName")
    for (const auto& ip : written_ips(spec))
      if (auto parsed = parse_ipv4(ip)) held.ips.push_back(*parsed);
  if (spec.contains("ports") && spec["ports"].is_array())
    for (const auto& p : spec["ports"])
      if (int n = node_port_of(p); n != 0) held.node_ports.push_back(n);
  return held;
}

void ServiceAllocator::rebuild() {
  std::lock_guard lock(mutex_);
  rebuild_locked();
}

void ServiceAllocator::rebuild_locked() {
  ips_.clear();
  node_ports_.clear();
  for (const auto& svc : list_services_()) {
    Held held = held_by(svc);
    for (auto ip : held.ips)
      if (cidr_.contains(ip)) ips_.insert(ip);
    for (int p : held.node_ports)
      if (p >= ports_.min && p <= ports_.max) node_ports_.insert(p);
  }
  ips_.insert(pending_ips_.begin(), pending_ips_.end());
  node_ports_.insert(pending_ports_.begin(), pending_ports_.end());
}

bool ServiceAllocator::ip_free_locked(std::uint32_t ip, bool& rebuilt) {
  if (!ips_.contains(ip)) return true;
  if (rebuilt) return false;
  rebuilt = true;
  rebuild_locked();
  return !ips_.contains(ip);
}

bool ServiceAllocator::port_free_locked(int port, bool& rebuilt) {
  if (!node_ports_.contains(port)) return true;
  if (rebuilt) return false;
  rebuilt = true;
  rebuild_locked();
  return !node_ports_.contains(port);
}

// Network and broadcast addresses are never handed out; 0 means the range is full.
std::uint32_t ServiceAllocator::next_free_ip_locked(bool& rebuilt) {
  const std::uint64_t usable = cidr_.size() - 2;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint64_t i = 0; i < usable; ++i) {
      std::uint32_t ip = cidr_.base + 1 + static_cast<std::uint32_t>((ip_cursor_ + i) % usable);
      if (!ips_.contains(ip)) {
        ip_cursor_ = (ip_cursor_ + i + 1) % usable;
        return ip;
      }
    }
    if (rebuilt) break;
    rebuilt = true;
    rebuild_locked();
  }
  return 0;
}

int ServiceAllocator::next_free_port_locked(bool& rebuilt) {
  const int count = ports_.max - ports_.min + 1;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < count; ++i) {
      int port = ports_.min + (port_cursor_ + i) % count;
      if (!node_ports_.contains(port)) {
        port_cursor_ = (port_cursor_ + i + 1) % count;
        return port;
      }
    }
    if (rebuilt) break;
    rebuilt = true;
    rebuild_locked();
  }
  return 0;
}

std::vector<FieldError> ServiceAllocator::allocate(Json& svc, const Json* old, ServiceReservation& reserved) {
  std::vector<FieldError> errors;
  if (!svc.is_object() || !svc.contains("spec") || !svc["spec"].is_object()) return errors;
  Json& spec = svc["spec"];
  const std::string type = spec_type(svc);
  const Held old_held = old ? held_by(*old) : Held{};
  std::lock_guard lock(mutex_);
  bool rebuilt = false;

  // ---- cluster IP
  if (type != "ExternalName") {
    std::vector<std::string> ips = written_ips(spec);
    // An update that leaves the address out keeps the one the Service has.
    if (ips.empty() && old && spec_type(*old) != "ExternalName") ips = written_ips((*old)["spec"]);
    if (ips.empty()) {
      std::uint32_t ip = next_free_ip_locked(rebuilt);
      if (ip == 0) {
        errors.push_back(ip_error({}, "failed to allocate a service IP: range is full (" + cidr_.to_string() + ")"));
      } else {
        ips_.insert(ip);
        pending_ips_.insert(ip);
        reserved.ips.push_back(ip);
        ips.push_back(format_ipv4(ip));
      }
    } else if (ips.front() != "None") {
      auto ip = parse_ipv4(ips.front());
      bool held_already = ip && std::find(old_held.ips.begin(), old_held.ips.end(), *ip) != old_held.ips.end();
      if (!ip) {
        errors.push_back(ip_error(ips, "failed to allocate IP " + ips.front() + ": not an IPv4 address"));
      } else if (held_already) {
        // the Service's own address
      } else if (!cidr_.contains(*ip) || *ip == cidr_.base || *ip == cidr_.base + cidr_.size() - 1) {
        errors.push_back(ip_error(ips, "failed to allocate IP " + ips.front() +
                                           ": provided IP is not in the valid range. The range of valid IPs is " +
                                           cidr_.to_string()));
      } else if (!ip_free_locked(*ip, rebuilt)) {
        errors.push_back(ip_error(ips, "failed to allocate IP " + ips.front() + ": provided IP is already allocated"));
      } else {
        ips_.insert(*ip);
        pending_ips_.insert(*ip);
        reserved.ips.push_back(*ip);
      }
    }
    if (!ips.empty()) {
      spec["clusterIP"] = ips.front();
      spec["clusterIPs"] = ips;
    }
  }

  // ---- node ports
  if (wants_node_ports(svc) && spec.contains("ports") && spec["ports"].is_array()) {
    Json& ports = spec["ports"];
    const Json* old_ports = old && wants_node_ports(*old) && (*old)["spec"].contains("ports") ? &(*old)["spec"]["ports"]
                                                                                              : nullptr;
    std::set<int> taken_here;  // a TCP and a UDP port of one Service may share a node port
    for (std::size_t i = 0; i < ports.size(); ++i) {
      Json& port = ports[i];
      if (!port.is_object()) continue;
      int wanted = node_port_of(port);
      if (wanted == 0 && old_ports != nullptr) {
        // Kept across an update: the old port with the same number and protocol (or the same name).
        for (const auto& op : *old_ports) {
          if (!op.is_object()) continue;
          bool same = op.value("port", 0) == port.value("port", -1) && op.value("protocol", "TCP") == port.value("protocol", "TCP");
          bool same_name = !op.value("name", "").empty() && op.value("name", "") == port.value("name", "");
          if ((same || same_name) && node_port_of(op) != 0) {
            wanted = node_port_of(op);
            break;
          }
        }
      }
      bool held_already = std::find(old_held.node_ports.begin(), old_held.node_ports.end(), wanted) != old_held.node_ports.end();
      if (wanted == 0) {
        int p = next_free_port_locked(rebuilt);
        if (p == 0) {
          errors.push_back(port_error(i, 0, "failed to allocate a node port: range is full (" +
                                                std::to_string(ports_.min) + "-" + std::to_string(ports_.max) + ")"));
          continue;
        }
        node_ports_.insert(p);
        pending_ports_.insert(p);
        reserved.node_ports.push_back(p);
        taken_here.insert(p);
        port["nodePort"] = p;
      } else if (held_already || taken_here.contains(wanted)) {
        port["nodePort"] = wanted;
      } else if (wanted < ports_.min || wanted > ports_.max) {
        errors.push_back(port_error(i, wanted, "provided port is not in the valid range. The range of valid ports is " +
                                                   std::to_string(ports_.min) + "-" + std::to_string(ports_.max)));
      } else if (!port_free_locked(wanted, rebuilt)) {
        errors.push_back(port_error(i, wanted, "provided port is already allocated"));
      } else {
        node_ports_.insert(wanted);
        pending_ports_.insert(wanted);
        reserved.node_ports.push_back(wanted);
        taken_here.insert(wanted);
      }
    }
  }

  if (!errors.empty()) {
    release_locked(reserved);
    reserved = {};
  }
  return errors;
}

void ServiceAllocator::unpend_locked(const ServiceReservation& reserved) {
  for (auto ip : reserved.ips)
    if (auto it = pending_ips_.find(ip); it != pending_ips_.end()) pending_ips_.erase(it);
  for (int p : reserved.node_ports)
    if (auto it = pending_ports_.find(p); it != pending_ports_.end()) pending_ports_.erase(it);
}

void ServiceAllocator::release_locked(const ServiceReservation& reserved) {
  unpend_locked(reserved);
  for (auto ip : reserved.ips) ips_.erase(ip);
  for (int p : reserved.node_ports) node_ports_.erase(p);
}

void ServiceAllocator::commit(const ServiceReservation& reserved) {
  std::lock_guard lock(mutex_);
  unpend_locked(reserved);
}

void ServiceAllocator::release(const ServiceReservation& reserved) {
  std::lock_guard lock(mutex_);
  release_locked(reserved);
}

void ServiceAllocator::release_service(const Json& svc) {
  Held held = held_by(svc);
  std::lock_guard lock(mutex_);
  for (auto ip : held.ips) ips_.erase(ip);
  for (int p : held.node_ports) node_ports_.erase(p);
}

void ServiceAllocator::release_unused(const Json& old, const Json& now) {
  Held before = held_by(old), after = held_by(now);
  std::lock_guard lock(mutex_);
  for (auto ip : before.ips)
    if (std::find(after.ips.begin(), after.ips.end(), ip) == after.ips.end()) ips_.erase(ip);
  for (int p : before.node_ports)
    if (std::find(after.node_ports.begin(), after.node_ports.end(), p) == after.node_ports.end()) node_ports_.erase(p);
}

std::size_t ServiceAllocator::allocated_ips() const {
  std::lock_guard lock(mutex_);
  return ips_.size();
}

std::size_t ServiceAllocator::allocated_node_ports() const {
  std::lock_guard lock(mutex_);
  return node_ports_.size();
}

}  // namespace skiff::kernel::api
