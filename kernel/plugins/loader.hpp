// The plugin loader: opens libskiff-*.so modules with Boost.DLL, checks each manifest against this
// kernel's ABI, records what every plugin exports, and creates plugin objects on demand.
//
// Order of checks for one file (each failure is a refusal with its own message naming the file):
//   open (dlopen) → entry alias `skiff_plugin_entry` → ManifestHeader: magic, ABI major, ABI minor,
//   ABI tag (see HostAbi and docs/plugins.md: same major, minor up to ours, same compiler and standard
//   library; the header hash must match only at our own minor) → only then the C++ part: exports (role, name, options) → duplicates across plugins.
// Nothing past the header is read from a plugin built for another ABI, so a stale plugin is refused
// with a message instead of crashing the daemon. Factory failures are refused when create() runs.
//
// Lifetime: every object create() returns holds the library that made it; the library is unloaded
// only after the loader and every such object are gone.
#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel {

// One option an export declares (copied out of the plugin's manifest).
struct PluginOption {
  std::string key;
  std::optional<std::string> default_value;
  std::string help;
};

// One export of a loaded plugin. All strings are copies: they outlive the library.
struct ExportInfo {
  std::string role;     // "skiff.store.v1"
  std::string name;     // "sqlite"
  std::string description;
  std::string section;  // "store.sqlite": where its options live in the config
  std::vector<PluginOption> options;
  std::string plugin;          // the manifest's plugin name
  std::string plugin_version;  // the manifest's plugin version
  std::string file;            // the .so it came from
};

struct PluginInfo {
  std::string file;
  std::string name;
  std::string version;
  std::uint16_t abi_major = 0;
  std::uint16_t abi_minor = 0;
  std::string abi_tag;
  std::vector<ExportInfo> exports;
};

// The plugin ABI a kernel speaks: what this build was compiled with (current()), or, in tests, another
// kernel version to check the compatibility rule against real modules.
struct HostAbi {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  std::string tag;  // "skiff-plugin-api/<major>.<minor>;headers=<hash>;<compiler>;<stdlib>"
  static HostAbi current();
};

// The parts of an ABI tag the compatibility rule compares. Empty fields when the tag is malformed.
struct AbiTagParts {
  std::string version;    // "1.0"
  std::string headers;    // the hash of the plugin-api headers
  std::string toolchain;  // "gcc-12;libstdc++-12-cxx11abi1"
};
AbiTagParts split_abi_tag(std::string_view tag);

// Why a plugin (or one of its exports) was not used.
struct PluginRefusal {
  enum class Reason : std::uint8_t {
    kCannotOpen,       // not a shared library, missing dependency, unreadable file
    kMissingEntry,     // no skiff_plugin_entry alias
    kNoManifest,       // the entry returned null
    kBadMagic,
    kAbiMajor,
    kAbiMinor,
    kAbiTag,
    kBadManifest,      // empty plugin name, malformed role, unknown role, empty export name, bad option
    kDuplicate,        // (role, name) already provided by another plugin
    kFactoryFailed,    // the factory returned an error Status (or null)
    kFactoryThrew,
    kBadConfig,        // the factory refused its config section (kInvalid)
  };
  Reason reason = Reason::kCannotOpen;
  std::string file;
  std::string plugin;  // manifest name when known
  std::string role;    // for export-level refusals
  std::string name;
  std::string detail;  // the reason in words, without the file name

  std::string message() const { return file + ": " + detail; }
};
std::string_view refusal_reason_name(PluginRefusal::Reason reason) noexcept;

// "skiff.store.v1" + "sqlite" → "store.sqlite"; "skiff.scheduler.filter.v1" + "taints" →
// "scheduler.filter.taints". Empty when the role is malformed.
std::string config_section_for(std::string_view role, std::string_view name);
// skiff.<area>[.<sub>…].v<N>, lower-case segments.
bool is_well_formed_role(std::string_view role) noexcept;

class PluginLoader {
 public:
  // Roles this kernel can use. A plugin exporting any other role is refused whole.
  static std::vector<std::string> builtin_roles();

  // `logger` (may be null) receives one warn line per refusal; it must outlive the loader.
  // `host` is the ABI this loader accepts plugins for (tests pass another to play a newer kernel).
  explicit PluginLoader(plugin::Logger* logger = nullptr, std::vector<std::string> known_roles = builtin_roles(),
                        HostAbi host = HostAbi::current());
  ~PluginLoader();
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;

  // Loads every regular file named libskiff-*.so in `dir`, in name order. Refused plugins are recorded
  // and skipped; the Status is an error only when the directory itself cannot be read.
  plugin::Status load_directory(const std::filesystem::path& dir);
  // Loads one file, whatever its name. False when refused (see refusals()).
  bool load_file(const std::filesystem::path& file);

  std::vector<PluginInfo> plugins() const;
  std::vector<ExportInfo> exports() const;
  std::vector<ExportInfo> exports_of(std::string_view role) const;
  std::optional<ExportInfo> find(std::string_view role, std::string_view name) const;
  std::vector<PluginRefusal> refusals() const;
  std::vector<std::string> known_roles() const { return known_roles_; }

  // Creates the export (I::kRole, name). Errors: kNotFound when nothing exports it; otherwise the
  // refusal (factory failed, threw, or refused its config), which is also recorded in refusals().
  template <class I>
  plugin::Result<std::shared_ptr<I>> create(std::string_view name, const plugin::PluginContext& context);

 private:
  struct Library;  // the Boost.DLL handle; defined in loader.cpp
  struct Resolved {
    plugin::ErasedFactory factory = nullptr;
    std::shared_ptr<const void> library;  // keeps the .so loaded
    ExportInfo info;
  };
  struct Loaded {
    PluginInfo info;
    std::shared_ptr<Library> library;
    std::vector<plugin::ErasedFactory> factories;  // parallel to info.exports
  };

  plugin::Result<Resolved> resolve(std::string_view role, std::string_view name) const;
  plugin::Status refuse_create(const Resolved& resolved, PluginRefusal::Reason reason, std::string detail);
  void record(PluginRefusal refusal);

  plugin::Logger* logger_;
  std::vector<std::string> known_roles_;
  HostAbi host_;
  mutable std::mutex mutex_;
  std::vector<Loaded> loaded_;
  std::vector<PluginRefusal> refusals_;
};

template <class I>
plugin::Result<std::shared_ptr<I>> PluginLoader::create(std::string_view name, const plugin::PluginContext& context) {
  auto resolved = resolve(I::kRole, name);
  if (!resolved) return resolved.status();
  // The role string matched I::kRole, so this is the factory type the plugin compiled.
  auto factory = reinterpret_cast<plugin::Factory<I>>(resolved->factory);
  std::optional<plugin::Result<std::unique_ptr<I>>> made;
  try {
    made.emplace(factory(context));
  } catch (const std::exception& e) {
    return refuse_create(*resolved, PluginRefusal::Reason::kFactoryThrew,
                         std::string("factory threw an exception (factories must return a Status): ") + e.what());
  } catch (...) {
    return refuse_create(*resolved, PluginRefusal::Reason::kFactoryThrew,
                         "factory threw a non-std::exception (factories must return a Status)");
  }
  if (!made->is_ok()) {
    const plugin::Status& s = made->status();
    bool config = s.code() == plugin::Code::kInvalid;
    return refuse_create(*resolved, config ? PluginRefusal::Reason::kBadConfig : PluginRefusal::Reason::kFactoryFailed,
                         (config ? "bad config in section [" + resolved->info.section + "]: " : std::string("factory failed: ")) +
                             std::string(plugin::code_name(s.code())) + ": " + s.message());
  }
  std::unique_ptr<I> object = std::move(*made).value();
  made.reset();
  if (!object) return refuse_create(*resolved, PluginRefusal::Reason::kFactoryFailed, "factory returned a null object");
  // The deleter runs the plugin's destructor while the library is still mapped, then lets go of it.
  return std::shared_ptr<I>(object.release(), [library = std::move(resolved->library)](I* p) mutable {
    delete p;
    library.reset();
  });
}

}  // namespace skiff::kernel
