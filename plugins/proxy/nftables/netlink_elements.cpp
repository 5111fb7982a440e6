#include "netlink_elements.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace skiff::plugins::proxy::nftables {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// "a . b . c" → {"a", "b", "c"}
std::vector<std::string_view> concat_parts(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    auto dot = s.find(" . ");
    parts.push_back(trim(s.substr(0, dot)));
    if (dot == std::string_view::npos) return parts;
    s.remove_prefix(dot + 3);
  }
}

std::optional<FieldType> field_type(std::string_view name) {
  if (name == "ipv4_addr") return FieldType::kIpv4Addr;
  if (name == "inet_proto") return FieldType::kInetProto;
  if (name == "inet_service") return FieldType::kInetService;
  return std::nullopt;
}

std::optional<std::vector<FieldType>> field_types(std::string_view s) {
  std::vector<FieldType> types;
  for (auto part : concat_parts(s)) {
    auto t = field_type(part);
    if (!t) return std::nullopt;
    types.push_back(*t);
  }
  return types;
}

std::size_t natural_size(FieldType t) {
  switch (t) {
    case FieldType::kIpv4Addr: return 4;
    case FieldType::kInetProto: return 1;
    case FieldType::kInetService: return 2;
  }
  return 0;
}

plugin::Status bad(std::string_view line, std::string_view what) {
  return plugin::invalid("nftables element \"" + std::string(line) + "\": " + std::string(what));
}

std::optional<unsigned long> number(std::string_view s) {
  unsigned long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Appends the fields of `text` ("a . b") to `out` in the kernel's layout.
plugin::Status encode_fields(const std::vector<FieldType>& types, std::string_view text, std::string_view line,
                             std::string& out) {
  auto parts = concat_parts(text);
  if (parts.size() != types.size())
    return bad(line, "has " + std::to_string(parts.size()) + " fields where the set's type has " +
                         std::to_string(types.size()));
  const bool concatenated = types.size() > 1;
  for (std::size_t i = 0; i < types.size(); ++i) {
    unsigned char field[4] = {0, 0, 0, 0};
    const std::string_view value = parts[i];
    switch (types[i]) {
      case FieldType::kIpv4Addr:
        if (inet_pton(AF_INET, std::string(value).c_str(), field) != 1) return bad(line, "\"" + std::string(value) + "\" is not an IPv4 address");
        break;
      case FieldType::kInetProto: {
        auto n = value == "tcp" ? 6ul : value == "udp" ? 17ul : value == "sctp" ? 132ul : number(value).value_or(256);
        if (n > 255) return bad(line, "\"" + std::string(value) + "\" is not a protocol");
        field[0] = static_cast<unsigned char>(n);
        break;
      }
      case FieldType::kInetService: {
        auto n = number(value);
        if (!n || *n > 65535) return bad(line, "\"" + std::string(value) + "\" is not a port");
        field[0] = static_cast<unsigned char>(*n >> 8);  // network byte order
        field[1] = static_cast<unsigned char>(*n & 0xff);
        break;
      }
    }
    out.append(reinterpret_cast<const char*>(field), concatenated ? 4 : natural_size(types[i]));
  }
  return plugin::Status::ok();
}

// Elements per netlink message, and the room one message may take (an element is at most ~150
// bytes: key and data of up to 16 bytes each, a chain name, attribute headers).
constexpr std::size_t kElementsPerMessage = 256;
constexpr std::size_t kMessageRoom = 64 * 1024;

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
struct SetFree {
  void operator()(nftnl_set* s) const { nftnl_set_free(s); }
};

}  // namespace

std::optional<ElementLayout> element_layout(std::string_view spec) {
  auto at = spec.find("type ");
  if (at == std::string_view::npos) return std::nullopt;
  spec.remove_prefix(at + 5);
  spec = spec.substr(0, spec.find(';'));
  ElementLayout layout;
  auto colon = spec.find(" : ");
  auto key = field_types(spec.substr(0, colon));
  if (!key) return std::nullopt;
  layout.key = std::move(*key);
  if (colon != std::string_view::npos) {
    auto data = trim(spec.substr(colon + 3));
    if (data == "verdict") {
      layout.verdict = true;
    } else {
      auto types = field_types(data);
      if (!types) return std::nullopt;
      layout.data = std::move(*types);
    }
  }
  return layout;
}

plugin::Result<EncodedElement> encode_element(const ElementLayout& layout, std::string_view line) {
  EncodedElement e;
  auto colon = line.find(" : ");
  const bool is_map = layout.verdict || !layout.data.empty();
  if (is_map != (colon != std::string_view::npos))
    return bad(line, is_map ? "a map element needs \"key : value\"" : "a set element has no value");
  if (auto s = encode_fields(layout.key, line.substr(0, colon), line, e.key); !s) return s;
  if (!is_map) return e;
  auto value = trim(line.substr(colon + 3));
  if (!layout.verdict) {
    if (auto s = encode_fields(layout.data, value, line, e.data); !s) return s;
    return e;
  }
  auto space = value.find(' ');
  auto word = value.substr(0, space);
  if (word == "accept" || word == "drop") {
    if (space != std::string_view::npos) return bad(line, "\"" + std::string(word) + "\" takes no chain");
    e.verdict = word == "accept" ? NF_ACCEPT : NF_DROP;
    return e;
  }
  if (word != "goto" && word != "jump") return bad(line, "\"" + std::string(value) + "\" is not a verdict");
  e.chain = std::string(trim(value.substr(space == std::string_view::npos ? value.size() : space)));
  if (e.chain.empty()) return bad(line, std::string(word) + " needs a chain");
  e.verdict = static_cast<std::uint32_t>(word == "goto" ? NFT_GOTO : NFT_JUMP);
  return e;
}

plugin::Status load_elements(std::string_view table, const std::vector<ElementList>& lists) {
  const std::string table_name(table);
  // The whole batch in one buffer: begin, the element messages, end.
  std::vector<char> buf(kMessageRoom);
  std::size_t used = 0;
  std::uint32_t seq = 1;
  const std::uint32_t begin_seq = seq;
  auto room = [&] {
    if (buf.size() - used < kMessageRoom) buf.resize(std::max(buf.size() * 2, used + kMessageRoom));
    return buf.data() + used;
  };
  used += nftnl_batch_begin(room(), seq++)->nlmsg_len;
  struct Sent {
    std::uint32_t seq;
    const std::string* set;
  };
  std::vector<Sent> sent;
  for (const ElementList& list : lists) {
    if (list.lines == nullptr) continue;
    const auto& lines = *list.lines;
    for (std::size_t first = 0; first < lines.size(); first += kElementsPerMessage) {
      std::unique_ptr<nftnl_set, SetFree> set(nftnl_set_alloc());
      if (!set) return plugin::internal("proxy nftables: out of memory building elements");
      nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table_name.c_str());
      nftnl_set_set_str(set.get(), NFTNL_SET_NAME, list.set.c_str());
      for (std::size_t i = first; i < std::min(lines.size(), first + kElementsPerMessage); ++i) {
        auto encoded = encode_element(list.layout, lines[i]);
        if (!encoded) return encoded.status().with_context("proxy nftables: set " + list.set);
        nftnl_set_elem* elem = nftnl_set_elem_alloc();
        if (elem == nullptr) return plugin::internal("proxy nftables: out of memory building elements");
        nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, encoded->key.data(), static_cast<std::uint32_t>(encoded->key.size()));
        if (!encoded->data.empty())
          nftnl_set_elem_set(elem, NFTNL_SET_ELEM_DATA, encoded->data.data(), static_cast<std::uint32_t>(encoded->data.size()));
        if (list.layout.verdict) {
          nftnl_set_elem_set_u32(elem, NFTNL_SET_ELEM_VERDICT, encoded->verdict);
          if (!encoded->chain.empty()) nftnl_set_elem_set_str(elem, NFTNL_SET_ELEM_CHAIN, encoded->chain.c_str());
        }
        nftnl_set_elem_add(set.get(), elem);  // the set owns it now
      }
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(room(), NFT_MSG_NEWSETELEM, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq);
      nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
      used += nlh->nlmsg_len;
      sent.push_back({seq++, &list.set});
    }
  }
  used += nftnl_batch_end(room(), seq++)->nlmsg_len;
  if (sent.empty()) return plugin::Status::ok();

  std::unique_ptr<mnl_socket, SocketCloser> nl(mnl_socket_open(NETLINK_NETFILTER));
  if (!nl) return plugin::unavailable(std::string("proxy nftables: netlink socket: ") + std::strerror(errno));
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return plugin::unavailable(std::string("proxy nftables: netlink bind: ") + std::strerror(errno));
  const int fd = mnl_socket_get_fd(nl.get());
  // The batch goes in one send, so the send buffer must hold it (root may raise it past wmem_max);
  // errors carry no copy of the message (NETLINK_CAP_ACK), so the acks fit a modest receive buffer.
  int size = static_cast<int>(used + 4096), on = 1, receive = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive, sizeof receive) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive, sizeof receive);
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  timeval timeout{30, 0};  // a kernel that never answers must not hang the proxy
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (mnl_socket_sendto(nl.get(), buf.data(), used) < 0)
    return plugin::unavailable("proxy nftables: sending " + std::to_string(used) + " bytes of elements: " + std::strerror(errno));

  // One ack per element message (NLM_F_ACK); the kernel reports every failing message before any
  // ack, and a failure of the batch as a whole against the batch's first message.
  std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE * 4);
  std::size_t acked = 0;
  std::string failure;
  while (acked < sent.size()) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), reply.data(), reply.size());
    if (n < 0)
      return plugin::unavailable("proxy nftables: waiting for the kernel to take the elements (" + std::to_string(acked) +
                                 " of " + std::to_string(sent.size()) + " messages answered): " + std::strerror(errno));
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(reply.data()); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (nlh->nlmsg_seq == begin_seq) {
        return plugin::unavailable(std::string("proxy nftables: the kernel refused the element batch: ") + std::strerror(-err->error));
      }
      ++acked;
      if (err->error != 0 && failure.empty()) {
        std::string set = "?";
        for (const Sent& s : sent)
          if (s.seq == nlh->nlmsg_seq) set = *s.set;
        failure = "proxy nftables: the kernel refused elements of set " + set + " in table ip " + table_name + ": " +
                  std::strerror(-err->error);
      }
    }
  }
  if (!failure.empty()) return plugin::unavailable(failure);
  return plugin::Status::ok();
}

}  // namespace skiff::plugins::proxy::nftables
