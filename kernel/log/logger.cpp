#include "kernel/log/logger.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace skiff::kernel {
namespace {

std::string_view level_name(plugin::LogLevel level) {
  switch (level) {
    case plugin::LogLevel::kDebug: return "debug";
    case plugin::LogLevel::kInfo: return "info";
    case plugin::LogLevel::kWarn: return "warn";
    case plugin::LogLevel::kError: return "error";
  }
  return "info";
}

void append_timestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  out += buf;
}

}  // namespace

void StructuredLogger::append_value(std::string& out, std::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string StructuredLogger::format(std::string_view component, plugin::LogLevel level, std::string_view message,
                                     std::span<const plugin::LogField> fields) {
  std::string line;
  line.reserve(128 + message.size());
  line += "ts=";
  append_timestamp(line);
  line += " level=";
  line += level_name(level);
  line += " component=";
  append_value(line, component);
  line += " msg=";
  append_value(line, message);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    append_value(line, f.value);
  }
  line += '\n';
  return line;
}

void StructuredLogger::log(plugin::LogLevel level, std::string_view message,
                           std::span<const plugin::LogField> fields) noexcept {
  if (level < min_level_.load(std::memory_order_relaxed)) return;
  try {
    std::string line = format(component_, level, message, fields);
    std::string_view rest = line;
    while (!rest.empty()) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  } catch (...) {
    // Logging must never take the daemon down (out of memory while formatting a line).
  }
}

}  // namespace skiff::kernel
