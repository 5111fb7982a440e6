// Non-throwing reads of objects the server (or a manifest) sent, whatever types they hold.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

namespace skiff::cli {

// The value at a path of keys, or null when any step is missing or not an object.
inline const nlohmann::json& at(const nlohmann::json& j, std::initializer_list<const char*> path) {
  static const nlohmann::json kNull;
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object()) return kNull;
    auto it = cur->find(k);
    if (it == cur->end()) return kNull;
    cur = &*it;
  }
  return *cur;
}

inline std::string str(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const auto& v = at(j, path);
  return v.is_string() ? v.get<std::string>() : std::string();
}

inline std::int64_t num(const nlohmann::json& j, std::initializer_list<const char*> path, std::int64_t fallback = 0) {
  const auto& v = at(j, path);
  return v.is_number_integer() ? v.get<std::int64_t>() : fallback;
}

}  // namespace skiff::cli
