// Shared test helpers: a temporary directory that cleans itself up, a settable clock, a plugin
// context built from the kernel's real logger, metrics and config section, and bounded waiting.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "kernel/config/config_section.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"
#include "skiff/plugin/object.hpp"

namespace skiff::testing {

class TempDir {
 public:
  explicit TempDir(std::string prefix = "skiff-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

class FakeClock final : public plugin::Clock {
 public:
  explicit FakeClock(std::int64_t start_ms = 1'795'000'000'000) : now_(start_ms) {}
  std::int64_t now_ms() const noexcept override { return now_.load(); }
  void advance_ms(std::int64_t ms) { now_ += ms; }
  void set_ms(std::int64_t ms) { now_ = ms; }

 private:
  std::atomic<std::int64_t> now_;
};

// Owns what a plugin::PluginContext points to.
struct TestPluginContext {
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kWarn};
  kernel::MetricsRegistry metrics;
  kernel::MapConfigSection config;
  std::string data_dir;

  TestPluginContext(std::string section, std::map<std::string, std::string, std::less<>> values, std::string dir)
      : config(std::move(section), std::move(values)), data_dir(std::move(dir)) {}
  plugin::PluginContext context() { return plugin::PluginContext{logger, metrics, config, data_dir}; }
};

// Polls `predicate` (every 2 ms) until it is true or `timeout` passes; every wait in a test is bounded.
template <class F>
bool eventually(F&& predicate, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return predicate();
}

}  // namespace skiff::testing
