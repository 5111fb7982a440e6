// What the store tests share: a temp directory, the host services a PluginContext needs, and the
// list of backends the conformance suite runs (every backend runs every test).
#pragma once

#include <dlfcn.h>
#include <stdlib.h>  // mkdtemp

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernel/config/config_section.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"
#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::tests::store {

using ConfigValues = std::map<std::string, std::string, std::less<>>;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/skiff-store-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + " failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The host services behind one plugin::PluginContext.
class Host {
 public:
  Host(std::string section, std::string data_dir, const ConfigValues& values = {},
       std::span<const plugin::OptionSpec> options = {})
      : logger_("store-test", 2, plugin::LogLevel::kWarn),
        config_(kernel::MapConfigSection::with_defaults(std::move(section), options, values)),
        data_dir_(std::move(data_dir)),
        context_{logger_, metrics_, config_, data_dir_} {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const plugin::PluginContext& context() const noexcept { return context_; }
  kernel::MetricsRegistry& metrics() noexcept { return metrics_; }

 private:
  kernel::StructuredLogger logger_;
  kernel::MetricsRegistry metrics_;
  kernel::MapConfigSection config_;
  std::string data_dir_;
  plugin::PluginContext context_;
};

// Records every event a backend delivers.
class RecordingSink final : public plugin::store::EventSink {
 public:
  void on_events(std::span<const plugin::store::Event> events) noexcept override {
    std::lock_guard lock(mu_);
    events_.insert(events_.end(), events.begin(), events.end());
    ++calls_;
  }
  std::vector<plugin::store::Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  std::int64_t last_revision() const {
    std::lock_guard lock(mu_);
    return events_.empty() ? 0 : events_.back().kv.mod_revision;
  }

 private:
  mutable std::mutex mu_;
  std::vector<plugin::store::Event> events_;
  std::size_t calls_ = 0;
};

// A built plugin module opened with dlopen, to check what its manifest exports.
class LoadedModule {
 public:
  explicit LoadedModule(const std::string& path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (handle_ == nullptr) error_ = dlerror();
  }
  LoadedModule(const LoadedModule&) = delete;
  LoadedModule& operator=(const LoadedModule&) = delete;
  ~LoadedModule() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  const std::string& error() const noexcept { return error_; }

  // Null when the module did not load or has no entry point.
  const plugin::Manifest* manifest() const {
    if (handle_ == nullptr) return nullptr;
    void* alias = dlsym(handle_, "skiff_plugin_entry");
    if (alias == nullptr) return nullptr;
    // BOOST_DLL_ALIAS exports a variable that holds the entry function's address.
    const void* address = *static_cast<const void* const*>(alias);
    plugin::EntryFn* entry = nullptr;
    std::memcpy(&entry, &address, sizeof entry);
    return entry();
  }

 private:
  void* handle_;
  std::string error_;
};

// One backend under test. `open` builds it over `dir`; opening the same dir again is a restart.
struct BackendKind {
  std::string name;
  bool persistent = false;  // does a reopen over the same dir see the data?
  std::function<std::unique_ptr<Host>(const std::string& dir)> host;
  std::function<plugin::Result<std::unique_ptr<plugin::store::Backend>>(const plugin::PluginContext&)> open;
};

// So test listings name the backend instead of dumping the struct's bytes.
inline void PrintTo(const BackendKind& kind, std::ostream* os) { *os << kind.name; }

// Every backend of role skiff.store.v1 built in this tree. Add a line here for a new one.
const std::vector<BackendKind>& all_backends();

}  // namespace skiff::tests::store
