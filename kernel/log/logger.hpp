// Structured log lines: `ts=2026-11-23T05:40:00.123Z level=info component=store msg="…" key=value …`
// (logfmt, one line per record, written with a single write(2) so lines never interleave).
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "skiff/plugin/host.hpp"

namespace skiff::kernel {

class StructuredLogger final : public plugin::Logger {
 public:
  // Writes to `fd` (stderr by default). `component` is added to every line.
  explicit StructuredLogger(std::string component = "skiffd", int fd = 2,
                            plugin::LogLevel min_level = plugin::LogLevel::kInfo)
      : component_(std::move(component)), fd_(fd), min_level_(min_level) {}

  void log(plugin::LogLevel level, std::string_view message, std::span<const plugin::LogField> fields) noexcept override;
  // A logger for a sub-component sharing this one's output.
  StructuredLogger child(std::string component) const { return StructuredLogger(std::move(component), fd_, min_level_.load()); }
  void set_level(plugin::LogLevel level) noexcept { min_level_ = level; }

  // logfmt quoting: bare when safe, otherwise double-quoted with \" \\ \n escaped.
  static void append_value(std::string& out, std::string_view value);
  static std::string format(std::string_view component, plugin::LogLevel level, std::string_view message,
                            std::span<const plugin::LogField> fields);

 private:
  std::string component_;
  int fd_;
  std::atomic<plugin::LogLevel> min_level_;
};

}  // namespace skiff::kernel
