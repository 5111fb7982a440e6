// What the kernel hands every plugin: a logger, its own config section, metrics and paths.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "skiff/plugin/status.hpp"

namespace skiff::plugin {

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };

struct LogField {
  std::string_view key;
  std::string_view value;
};

// Structured logging: one line per call, key=value fields. Implemented by the kernel.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message, std::span<const LogField> fields) noexcept = 0;

  void info(std::string_view m, std::initializer_list<LogField> f = {}) noexcept { log(LogLevel::kInfo, m, f); }
  void warn(std::string_view m, std::initializer_list<LogField> f = {}) noexcept { log(LogLevel::kWarn, m, f); }
  void error(std::string_view m, std::initializer_list<LogField> f = {}) noexcept { log(LogLevel::kError, m, f); }
  void debug(std::string_view m, std::initializer_list<LogField> f = {}) noexcept { log(LogLevel::kDebug, m, f); }
};

// Prometheus-style instruments. Names follow Prometheus conventions (skiff_<area>_<what>_<unit>).
class Counter {
 public:
  virtual ~Counter() = default;
  virtual void add(double v = 1) noexcept = 0;
};
class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void set(double v) noexcept = 0;
  virtual void add(double v) noexcept = 0;
};
class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void observe(double v) noexcept = 0;
};
class Metrics {
 public:
  virtual ~Metrics() = default;
  // The returned instrument lives as long as the kernel; asking twice returns the same one.
  virtual Counter& counter(std::string_view name, std::string_view help) noexcept = 0;
  virtual Gauge& gauge(std::string_view name, std::string_view help) noexcept = 0;
  virtual Histogram& histogram(std::string_view name, std::string_view help) noexcept = 0;
};

// One plugin's config section ("store.sqlite"), with the plugin's declared defaults already applied.
// Keys are those the plugin declared in its OptionSpec list; the kernel refuses any other key.
class ConfigSection {
 public:
  virtual ~ConfigSection() = default;
  virtual std::string_view section() const noexcept = 0;
  // Empty optional when the key was neither set nor given a default.
  virtual bool has(std::string_view key) const noexcept = 0;
  virtual std::string_view get(std::string_view key) const noexcept = 0;

  // Typed readers; a bad value gives a Status naming "<section>.<key>" and the value.
  Result<std::string> get_string(std::string_view key) const;
  Result<std::int64_t> get_int(std::string_view key, std::int64_t min, std::int64_t max) const;
  Result<bool> get_bool(std::string_view key) const;
  std::string full_key(std::string_view key) const { return std::string(section()) + "." + std::string(key); }
};

// Everything a factory receives.
struct PluginContext {
  Logger& logger;
  Metrics& metrics;
  const ConfigSection& config;
  std::string_view data_dir;  // the daemon's state directory; a plugin keeps its files below it
};

// ---- inline helpers (header-only so a plugin need not link anything of the kernel) ----

inline Result<std::string> ConfigSection::get_string(std::string_view key) const {
  if (!has(key)) return invalid("config " + full_key(key) + ": no value and no default");
  return std::string(get(key));
}

inline Result<std::int64_t> ConfigSection::get_int(std::string_view key, std::int64_t min, std::int64_t max) const {
  if (!has(key)) return invalid("config " + full_key(key) + ": no value and no default");
  std::string_view text = get(key);
  std::int64_t value = 0;
  bool negative = false;
  std::size_t i = 0;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return invalid("config " + full_key(key) + ": expected an integer, got '" + std::string(text) + "'");
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9' || value > (INT64_MAX - 9) / 10)
      return invalid("config " + full_key(key) + ": expected an integer, got '" + std::string(text) + "'");
    value = value * 10 + (c - '0');
  }
  if (negative) value = -value;
  if (value < min || value > max)
    return invalid("config " + full_key(key) + ": " + std::string(text) + " is out of range [" + std::to_string(min) +
                   ", " + std::to_string(max) + "]");
  return value;
}

inline Result<bool> ConfigSection::get_bool(std::string_view key) const {
  if (!has(key)) return invalid("config " + full_key(key) + ": no value and no default");
  std::string_view t = get(key);
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return invalid("config " + full_key(key) + ": expected true or false, got '" + std::string(t) + "'");
}

}  // namespace skiff::plugin
