// The SQLite skiff.store.v1 backend: Skiff's embedded default. One database file in WAL mode; every
// acknowledged write is fsynced (synchronous=full), and concurrent writers share transactions and
// fsyncs through group commit. README.md has the schema, the config keys and the limits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/status.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::plugins::store::sqlite {

inline constexpr std::string_view kName = "sqlite";

// The schema this build writes (PRAGMA user_version). Older files are migrated on open; a file from a
// newer Skiff is refused.
inline constexpr int kSchemaVersion = 1;

// PRAGMA application_id of a Skiff store ("SKIF"), so a foreign SQLite file is refused, not adopted.
inline constexpr std::int32_t kApplicationId = 0x534b4946;

// The config keys of section "store.sqlite", with their defaults.
inline constexpr std::array<plugin::OptionSpec, 5> kOptions{{
    {"path", "", "database file; empty means <data_dir>/skiff.db"},
    {"synchronous", "full",
     "full: fsync every commit (a write survives power loss once acknowledged); "
     "normal: fsync only at checkpoints (survives a crash of skiffd, not of the machine)"},
    {"busy-timeout-ms", "5000", "how long to wait for a lock held by another connection, in milliseconds"},
    {"cache-size-mib", "32", "page cache per connection, in MiB"},
    {"max-batch", "1000", "most writes group commit puts in one transaction"},
}};

struct Options {
  std::string path;  // resolved: never empty
  bool synchronous_full = true;
  std::int64_t busy_timeout_ms = 5000;
  std::int64_t cache_size_mib = 32;
  std::size_t max_batch = 1000;
};

// Reads and validates the section; a bad value gives a Status naming "store.sqlite.<key>".
plugin::Result<Options> parse_options(const plugin::PluginContext& context);

// Opens (creating or migrating) the database at options.path. `logger` and `metrics` must outlive
// the backend.
plugin::Result<std::unique_ptr<plugin::store::Backend>> open_backend(const Options& options, plugin::Logger& logger,
                                                                     plugin::Metrics& metrics) noexcept;

// The factory the manifest exports: parse_options, then open_backend.
plugin::Result<std::unique_ptr<plugin::store::Backend>> make_backend(const plugin::PluginContext& context) noexcept;

}  // namespace skiff::plugins::store::sqlite
