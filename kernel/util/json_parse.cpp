#include "kernel/util/json_parse.hpp"

#include <simdjson.h>

#include <optional>
#include <string>

namespace skiff::kernel {
namespace {

using Json = nlohmann::json;
namespace dom = simdjson::dom;

// A parser keeps its buffers between documents, which is what makes it fast; one per thread, since a
// parser is not thread-safe. Documents above this size get a parser of their own, so a thread that
// once read a large LIST body does not hold megabytes for the rest of its life.
constexpr std::size_t kRetainedDocumentBytes = 256 * 1024;

// The nlohmann value of `e`.
Json build(dom::element e) {
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      Json out = Json::object();
      auto& members = out.get_ref<Json::object_t&>();
      for (dom::key_value_pair member : dom::object(e))
        members.insert_or_assign(std::string(member.key), build(member.value));  // the last repeat wins, as in nlohmann
      return out;
    }
    case dom::element_type::ARRAY: {
      Json out = Json::array();
      auto& items = out.get_ref<Json::array_t&>();
      dom::array array(e);
      items.reserve(array.size());
      for (dom::element item : array) items.push_back(build(item));
      return out;
    }
    case dom::element_type::STRING:
      return std::string(std::string_view(e));
    case dom::element_type::INT64: {
      // nlohmann reads every integer without a minus sign as unsigned.
      const std::int64_t v = std::int64_t(e);
      return v >= 0 ? Json(static_cast<std::uint64_t>(v)) : Json(v);
    }
    case dom::element_type::UINT64:
      return std::uint64_t(e);
    case dom::element_type::DOUBLE:
      return double(e);
    case dom::element_type::BOOL:
      return bool(e);
    case dom::element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

// The element of `text`, parsed by `parser`; nullopt when simdjson refuses it.
std::optional<dom::element> parse_with(dom::parser& parser, std::string_view text) {
  // A byte-order mark is skipped by nlohmann; let it handle that rare case.
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) return std::nullopt;
  dom::element root;
  if (parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  return root;
}

// Runs `use(parser)` with this thread's parser, or a fresh one for a large document.
template <typename Use>
auto with_parser(std::string_view text, Use use) {
  if (text.size() > kRetainedDocumentBytes) {
    dom::parser local;
    return use(local);
  }
  thread_local dom::parser parser;
  return use(parser);
}

std::optional<Json> fast_parse(std::string_view text) noexcept {
  try {
    return with_parser(text, [&](dom::parser& parser) -> std::optional<Json> {
      auto root = parse_with(parser, text);
      if (!root) return std::nullopt;
      return build(*root);
    });
  } catch (const std::exception&) {  // bad_alloc, or a simdjson surprise: nlohmann has the last word
    return std::nullopt;
  }
}

}  // namespace

Json parse_json(std::string_view text) {
  if (auto j = fast_parse(text)) return std::move(*j);
  return Json::parse(text);
}

Json parse_json_or_discarded(std::string_view text) noexcept {
  if (auto j = fast_parse(text)) return std::move(*j);
  return Json::parse(text, nullptr, false);
}

Json parse_json_member(std::string_view text, std::string_view name) noexcept {
  try {
    auto fast = with_parser(text, [&](dom::parser& parser) -> std::optional<Json> {
      auto root = parse_with(parser, text);
      if (!root) return std::nullopt;
      if (!root->is_object()) return Json(Json::value_t::discarded);
      // The last of repeated members, as nlohmann would keep.
      std::optional<dom::element> found;
      for (dom::key_value_pair member : dom::object(*root))
        if (member.key == name) found = member.value;
      if (!found) return Json(nullptr);
      return build(*found);
    });
    if (fast) return std::move(*fast);
  } catch (const std::exception&) {
  }
  Json whole = Json::parse(text, nullptr, false);
  if (whole.is_discarded() || !whole.is_object()) return Json(Json::value_t::discarded);
  auto it = whole.find(name);
  return it == whole.end() ? Json(nullptr) : std::move(*it);
}

}  // namespace skiff::kernel
