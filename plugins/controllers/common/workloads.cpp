#include "workloads.hpp"

#include <cmath>

namespace skiff::plugins::controllers {
namespace {

const std::string* label_of(const Json& labels, const std::string& key) {
  if (!labels.is_object()) return nullptr;
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

bool expression_matches(const Json& e, const Json& labels) {
  std::string key = e.value("key", ""), op = e.value("operator", "");
  const std::string* have = label_of(labels, key);
  auto in_values = [&] {
    if (have == nullptr || !e.contains("values") || !e["values"].is_array()) return false;
    for (const auto& v : e["values"])
      if (v.is_string() && v.get<std::string>() == *have) return true;
    return false;
  };
  if (op == "In") return in_values();
  if (op == "NotIn") return !in_values();
  if (op == "Exists") return have != nullptr;
  if (op == "DoesNotExist") return have == nullptr;
  return false;
}

}  // namespace

bool selector_matches(const Json& selector, const Json& labels) {
  if (!selector.is_object()) return false;
  bool any = false;
  if (auto it = selector.find("matchLabels"); it != selector.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      const std::string* have = label_of(labels, k);
      if (have == nullptr || !v.is_string() || *have != v.get<std::string>()) return false;
      any = true;
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (!expression_matches(e, labels)) return false;
      any = true;
    }
  }
  return any;
}

Json without_nulls(Json object) {
  if (object.is_object()) {
    for (auto it = object.begin(); it != object.end();) {
      if (it->is_null()) {
        it = object.erase(it);
      } else {
        *it = without_nulls(std::move(*it));
        ++it;
      }
    }
  } else if (object.is_array()) {
    for (auto& item : object) item = without_nulls(std::move(item));
  }
  return object;
}

std::string pod_template_hash(const Json& template_spec, std::int64_t collision_count) {
  std::string text = without_nulls(template_spec).dump();  // nlohmann orders object keys: the dump is canonical
  if (collision_count > 0) text += std::to_string(collision_count);
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (char d : std::to_string(h)) out += kAlphabet[static_cast<std::size_t>(d) % kAlphabet.size()];
  return out;
}

std::string string_field(const Json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::pair<std::string, std::string> split_key(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {std::string(), std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

plugin::Result<std::int64_t> int_or_percent(const Json& value, std::int64_t total, bool round_up) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    if (s.size() >= 2 && s.back() == '%') {
      std::int64_t pct = 0;
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return plugin::invalid("invalid value for IntOrString: \"" + s + "\"");
        pct = pct * 10 + (s[i] - '0');
      }
      double v = static_cast<double>(pct) * static_cast<double>(total) / 100.0;
      return static_cast<std::int64_t>(round_up ? std::ceil(v) : std::floor(v));
    }
    bool digits = !s.empty();
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    if (digits) return std::stoll(s);
    return plugin::invalid("invalid value for IntOrString: \"" + s + "\"");
  }
  return plugin::invalid("invalid value for IntOrString: " + value.dump());
}

}  // namespace skiff::plugins::controllers
