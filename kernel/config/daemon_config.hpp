// skiffd's configuration: one INI file, the environment and command-line flags, parsed with
// Boost.Program_options. Precedence: flags > environment > file > defaults.
//
// Every key has three spellings:
//   file  (INI)   [store]\nbackend = sqlite          top-level keys before any [section]
//   flag          --store.backend=sqlite  (or --store.backend sqlite)
//   environment   SKIFF_STORE__BACKEND=sqlite        '.' → "__", '-' → '_', upper case
//
// Plugins declare their own keys (OptionSpec) under their section ("store.sqlite"), so parsing runs in
// two stages: bootstrap_options() finds --config and --plugin-dir (and --help …) without knowing the
// plugins; the caller loads the plugins; DaemonConfig::parse() then knows every key and refuses any
// other with a message naming the key (and, for the file, the file and line).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel/config/config_section.hpp"
#include "kernel/plugins/loader.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel {

// skiffd's data-dir default; the skiff CLI's local commands (image import) use the same one.
inline constexpr std::string_view kDefaultDataDir = "/var/lib/skiff";

// Where a value came from (for --print-config and for error messages).
struct ConfigOrigin {
  enum class Kind : std::uint8_t { kDefault, kFile, kEnv, kFlag };
  Kind kind = Kind::kDefault;
  std::string where;  // kFile: "path:line"; kEnv: "SKIFF_DATA_DIR"; kFlag: "--data-dir"
  // "default", "file /etc/skiff/skiffd.ini:3", "env SKIFF_DATA_DIR", "flag --data-dir"
  std::string describe() const;
};

struct ConfigValue {
  std::string value;
  ConfigOrigin origin;
};

// A key owned by a kernel component rather than a plugin (the API server's "api.workers", …). Main
// passes these to parse() and help_text(); they behave exactly like the kernel's own keys.
struct ComponentOption {
  std::string key;            // dotted: "api.workers" (file: [api] workers = …)
  std::string default_value;
  std::string help;
  // Empty when `value` is acceptable; otherwise what a valid value looks like ("an integer in [1, 256]").
  std::function<std::string(std::string_view value)> validate;
};

// The usual ComponentOption::validate bodies: "" when `value` is acceptable, else what it must be.
std::string integer_in(std::string_view value, long min, long max);  // "an integer in [min, max]"
std::string boolean(std::string_view value);                         // "true or false"

// What the process was started with. Tests build one by hand.
struct ConfigInputs {
  std::vector<std::string> args;                          // argv without argv[0]
  std::vector<std::pair<std::string, std::string>> env;   // NAME, value
  std::filesystem::path exe;                              // the running binary, for the default plugin-dir
  static ConfigInputs from_process(int argc, const char* const* argv, const char* const* envp);
};

// <exe dir>/../plugins when it exists, otherwise /usr/lib/skiff/plugins.
std::filesystem::path default_plugin_dir(const std::filesystem::path& exe);
// "SKIFF_" + key with '.' → "__", '-' → '_', upper-cased: "store.backend" → "SKIFF_STORE__BACKEND".
std::string env_name_for_key(std::string_view key);

// Stage 1: what is needed before plugins can be loaded.
struct BootstrapOptions {
  std::optional<std::filesystem::path> config_file;
  std::filesystem::path plugin_dir;
  ConfigOrigin plugin_dir_origin;
  bool help = false;
  bool print_config = false;
  bool version = false;
};
// Errors (kInvalid) for an unreadable or malformed config file, a flag without its value, …; unknown
// keys are left for parse(), which knows the plugins.
plugin::Result<BootstrapOptions> bootstrap_options(const ConfigInputs& inputs);

class DaemonConfig {
 public:
  // Stage 2: every source, validated. `plugin_exports` are the loaded plugins' exports (their
  // sections and options become keys). Errors are kInvalid and name the key and where it was set.
  static plugin::Result<DaemonConfig> parse(const ConfigInputs& inputs, const std::vector<ExportInfo>& plugin_exports,
                                            const std::vector<ComponentOption>& component_options = {});
  // The --help text: usage, the kernel keys, then one group per plugin export with its options.
  static std::string help_text(const std::vector<ExportInfo>& plugin_exports,
                               const std::vector<ComponentOption>& component_options = {});

  // Kernel settings.
  std::optional<std::filesystem::path> config_file;
  std::filesystem::path data_dir;
  std::string listen;  // as given: HOST:PORT
  std::string listen_host;
  std::uint16_t listen_port = 0;
  std::filesystem::path plugin_dir;
  plugin::LogLevel log_level = plugin::LogLevel::kInfo;
  std::string store_backend;
  std::size_t watch_window = 0;
  std::chrono::seconds compaction_interval{0};  // store.compaction-interval-seconds; 0: never
  // controllers.enabled: "*" (all loaded), names, and "-name" to exclude one from "*".
  std::vector<std::string> controllers;
  bool controller_enabled(std::string_view name) const;

  // A plugin export's config section: its declared defaults with the configured values on top.
  MapConfigSection section_for(const ExportInfo& plugin_export) const;
  // Every effective value (kernel, component and plugin keys; plugin keys without a value or default
  // are absent). Components read theirs here: value("api.workers")->value.
  const std::map<std::string, ConfigValue, std::less<>>& values() const noexcept { return values_; }
  const ConfigValue* value(std::string_view key) const;
  // The key's effective value, or `fallback` when it has none.
  std::string value_or(std::string_view key, std::string fallback) const;

  // The effective configuration as an INI file, each value followed by a comment saying where it came from.
  std::string to_ini() const;

 private:
  std::map<std::string, ConfigValue, std::less<>> values_;
  std::vector<std::string> kernel_keys_;    // kernel and component keys, in to_ini order
  std::vector<ExportInfo> plugin_exports_;  // for to_ini's plugin sections
};

}  // namespace skiff::kernel
