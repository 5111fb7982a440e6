// Map and set elements written straight to the kernel as nf_tables netlink messages (libnftnl),
// instead of as `add element` text for `nft -f`.
//
// Why: at 10,000 services the table holds ~134,000 elements, and `nft -f` spends ~2 s parsing and
// evaluating their 5.8 MB of text (a third of it in malloc) before the kernel sees one. Encoding
// an element is a few bytes: a key and a value, each the concatenation of fixed-size fields.
//
// Only the element lines the mode itself renders are understood: fields of type ipv4_addr,
// inet_proto and inet_service, and verdicts (`goto <chain>`, `jump <chain>`, accept, drop).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::proxy::nftables {

enum class FieldType { kIpv4Addr, kInetProto, kInetService };

// A set's or map's declared types, read from its spec ("{ type a . b : c . d; … }").
struct ElementLayout {
  std::vector<FieldType> key;
  std::vector<FieldType> data;  // empty: a set, or a verdict map
  bool verdict = false;
};
// nullopt when the spec names a type this encoder does not know (the caller writes text instead).
std::optional<ElementLayout> element_layout(std::string_view spec);

// One element in the kernel's encoding: fields of a concatenation take 4 bytes each (value first,
// zero-padded), as nft lays them out in registers; a lone field takes its own size.
struct EncodedElement {
  std::string key;
  std::string data;
  std::uint32_t verdict = 0;  // NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO when the layout is a verdict map
  std::string chain;          // for NFT_JUMP / NFT_GOTO
};
// Parses one element line as the mode renders it ("10.96.0.10 . tcp . 80 : 10.244.0.11 . 8080",
// "tcp . 30080 : goto lb-3"); an error names the line and the field.
plugin::Result<EncodedElement> encode_element(const ElementLayout& layout, std::string_view line);

// The elements of one set or map, for load_elements.
struct ElementList {
  std::string set;
  ElementLayout layout;
  const std::vector<std::string>* lines = nullptr;
};

// Adds every element of every list to its set in table `ip <table>`, as one nf_tables batch (one
// transaction: all or nothing). The sets must exist. An error names the set and the kernel's reason.
plugin::Status load_elements(std::string_view table, const std::vector<ElementList>& lists);

}  // namespace skiff::plugins::proxy::nftables
