// `skiff describe`'s rendering, for any kind: metadata, a replica summary where there is one, the
// spec (and other top-level fields) as indented "Label:  value" lines, the status, the conditions as a
// table, and the object's events.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::cli {

// "restartPolicy" → "Restart Policy", "podIP" → "Pod IP": how describe labels a field.
std::string smart_label(const std::string& field);

// The whole description. `events` are the object's Event objects (any order); `now_ms` makes ages.
std::string describe_object(const nlohmann::json& object, const std::vector<nlohmann::json>& events,
                            std::int64_t now_ms);

}  // namespace skiff::cli
