#include "batch_common.hpp"

#include <algorithm>
#include <limits>

#include "skiff/plugin/time.hpp"

namespace skiff::plugins::controllers::batch {

const Json& member(const Json& j, std::string_view key) {
  static const Json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

std::string text(const Json& j, std::string_view key) {
  const Json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::int64_t> integer(const Json& j, std::string_view key) {
  const Json& v = member(j, key);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

const Json* condition(const Json& status, std::string_view type) {
  const Json& conditions = member(status, "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions)
    if (text(c, "type") == type) return &c;
  return nullptr;
}

bool condition_true(const Json& status, std::string_view type) {
  const Json* c = condition(status, type);
  return c != nullptr && text(*c, "status") == "True";
}

void set_condition(Json& status, std::string_view type, std::string_view value, std::string_view reason,
                   std::string_view message, std::int64_t now_ms) {
  Json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  std::string now = plugin::format_rfc3339(now_ms);
  for (auto& c : conditions) {
    if (text(c, "type") != type) continue;
    if (text(c, "status") != value) c["lastTransitionTime"] = now;
    if (text(c, "status") != value || text(c, "reason") != reason) c["lastProbeTime"] = now;
    c["status"] = value;
    c["reason"] = reason;
    c["message"] = message;
    return;
  }
  conditions.push_back({{"type", type},
                        {"status", value},
                        {"reason", reason},
                        {"message", message},
                        {"lastProbeTime", now},
                        {"lastTransitionTime", now}});
}

std::optional<std::string> job_finished(const Json& job) {
  const Json& status = member(job, "status");
  for (const char* type : {"Complete", "Failed"})
    if (condition_true(status, type)) return std::string(type);
  return std::nullopt;
}

void Expectations::observe(const std::set<std::string>& seen) {
  // client-go's expectations timeout: a create the cache has not shown by then is assumed lost.
  constexpr auto kTimeout = std::chrono::minutes(5);
  auto now = std::chrono::steady_clock::now();
  std::erase_if(created, [&](const auto& entry) { return seen.count(entry.first) > 0 || now - entry.second > kTimeout; });
}

std::optional<std::pair<std::string, std::string>> split_key(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return std::pair{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

plugin::Result<std::int64_t> max_requeue_ms(const plugin::ConfigSection& config) {
  return config.get_int("max-requeue-ms", 0, std::numeric_limits<std::int32_t>::max());
}

std::int64_t capped_delay(std::int64_t delay_ms, std::int64_t max_ms) {
  delay_ms = std::max<std::int64_t>(delay_ms, 1);
  return max_ms > 0 ? std::min(delay_ms, max_ms) : delay_ms;
}

plugin::Status remove_incarnation(plugin::Client& client, const plugin::ResourceId& resource, const std::string& ns,
                                  const std::string& name, const std::string& uid) {
  auto removed = client.remove(resource, ns, name, {plugin::Propagation::kBackground, uid, 0});
  if (removed || removed.status().code() == plugin::Code::kNotFound ||
      removed.status().code() == plugin::Code::kConflict)
    return plugin::Status::ok();
  return removed.status();
}

}  // namespace skiff::plugins::controllers::batch
