// JSON text to an nlohmann::json DOM, faster than nlohmann's own parser.
//
// Every object the kernel holds is JSON text, and the hot paths (a create's body, the binding's read
// of the stored pod, the scheduler's parse of each pod) turn it back into a DOM. nlohmann's lexer reads
// one character at a time and is most of that cost; simdjson parses the same text several times
// faster, and the DOM is then built straight from its tape. bench/scheduler/README.md has figures.
//
// The result is the DOM nlohmann::json::parse builds: non-negative integers are number_unsigned, a
// repeated key keeps its last value. Anything simdjson refuses (invalid JSON, a byte-order mark,
// integers beyond 64 bits, nesting past 1,024 levels) is parsed again by nlohmann, so errors and those
// edge cases behave as they always did. One difference is left: the integer -0 becomes an unsigned 0
// (nlohmann: a signed 0); both dump as 0 and compare equal.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace skiff::kernel {

// As nlohmann::json::parse(text): throws nlohmann::json::parse_error (with the position) on invalid text.
nlohmann::json parse_json(std::string_view text);

// As nlohmann::json::parse(text, nullptr, false): a discarded value on invalid text.
nlohmann::json parse_json_or_discarded(std::string_view text) noexcept;

// Only the top-level member `name` of an object, built alone (the rest of the text is validated but
// not built): null when the text is an object without it, discarded when it is not a JSON object.
nlohmann::json parse_json_member(std::string_view text, std::string_view name) noexcept;

}  // namespace skiff::kernel
