// The ABI boundary between the kernel and a plugin .so.
//
// A plugin exports exactly one symbol, `skiff_plugin_entry` (through BOOST_DLL_ALIAS, see
// SKIFF_PLUGIN_ENTRY below), a noexcept function returning its Manifest. The loader reads the
// C-layout ManifestHeader first, and only if the ABI major, minor and tag agree does it touch the
// C++ part (exports, factories). That order is what lets a plugin built against another SDK be
// refused with a message instead of a crash.
//
// Versioning rules (docs/plugins.md has the long form, with which side allocates what):
//  - appending to what the kernel creates and plugins only read or call bumps the minor;
//  - removing, reordering or changing any member, or changing what plugins create, bumps the major;
//  - a kernel accepts plugins of its own major and any minor up to its own, built with its compiler
//    and standard library; the header hash in the tag must match only at the kernel's own minor.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include <boost/dll/alias.hpp>

#include "skiff/plugin/abi_tag.hpp"  // generated: SKIFF_PLUGIN_API_{MAJOR,MINOR}, SKIFF_PLUGIN_API_HEADERS_HASH
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::plugin {

inline constexpr std::uint32_t kManifestMagic = 0x4c504b53;  // "SKPL" little-endian
inline constexpr std::uint16_t kAbiMajor = SKIFF_PLUGIN_API_MAJOR;
inline constexpr std::uint16_t kAbiMinor = SKIFF_PLUGIN_API_MINOR;

// Compiler and standard-library identity: C++ types cross the boundary, so both sides must agree on
// their layout. Two builds with the same headers but a different libstdc++ are different ABIs.
#define SKIFF_PLUGIN_STRINGIFY2(x) #x
#define SKIFF_PLUGIN_STRINGIFY(x) SKIFF_PLUGIN_STRINGIFY2(x)
#if defined(__clang__)
#define SKIFF_PLUGIN_COMPILER "clang-" SKIFF_PLUGIN_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define SKIFF_PLUGIN_COMPILER "gcc-" SKIFF_PLUGIN_STRINGIFY(__GNUC__)
#else
#define SKIFF_PLUGIN_COMPILER "unknown-compiler"
#endif
#if defined(_GLIBCXX_RELEASE)
#define SKIFF_PLUGIN_STDLIB \
  "libstdc++-" SKIFF_PLUGIN_STRINGIFY(_GLIBCXX_RELEASE) "-cxx11abi" SKIFF_PLUGIN_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define SKIFF_PLUGIN_STDLIB "libc++-" SKIFF_PLUGIN_STRINGIFY(_LIBCPP_VERSION)
#else
#define SKIFF_PLUGIN_STDLIB "unknown-stdlib"
#endif

// "skiff-plugin-api/1.1;headers=<sha256 prefix>;gcc-12;libstdc++-12-cxx11abi1"
#define SKIFF_PLUGIN_ABI_TAG                                                                          \
  "skiff-plugin-api/" SKIFF_PLUGIN_STRINGIFY(SKIFF_PLUGIN_API_MAJOR) "." SKIFF_PLUGIN_STRINGIFY(     \
      SKIFF_PLUGIN_API_MINOR) ";headers=" SKIFF_PLUGIN_API_HEADERS_HASH ";" SKIFF_PLUGIN_COMPILER ";" \
      SKIFF_PLUGIN_STDLIB

inline constexpr std::string_view kAbiTag = SKIFF_PLUGIN_ABI_TAG;

extern "C" {
// Plain C layout; frozen forever, so any Skiff can read any plugin's header.
struct ManifestHeader {
  std::uint32_t magic;
  std::uint16_t abi_major;
  std::uint16_t abi_minor;
  const char* abi_tag;
  const char* plugin_name;
  const char* plugin_version;
};
}

// A config key a plugin reads from its section. The section is derived from the export's role and
// name: role "skiff.store.v1" + name "sqlite" → section "store.sqlite", flag --store.sqlite.<key>.
struct OptionSpec {
  const char* key;
  const char* default_value;  // nullptr: no default (the plugin decides whether that is an error)
  const char* help;
};

// Type-erased factory pointer; the role header defines the real signature and the loader casts back
// only after matching the role string.
using ErasedFactory = void (*)();

struct Export {
  const char* role;   // versioned role, e.g. "skiff.store.v1"
  const char* name;   // unique within the role, snake_case
  const char* description;
  std::span<const OptionSpec> options;
  ErasedFactory factory;
};

struct Manifest {
  ManifestHeader header;
  std::span<const Export> exports;
};

using EntryFn = const Manifest*() noexcept;

// Each role's interface declares `static constexpr std::string_view kRole` and this factory type.
// Factories must not throw; the type is deliberately not noexcept so that the loader can still catch
// a plugin that breaks the rule and refuse it ("factory threw …") instead of terminating the daemon.
template <class Interface>
using Factory = Result<std::unique_ptr<Interface>> (*)(const PluginContext&);

template <class Interface>
constexpr Export make_export(const char* name, const char* description, Factory<Interface> factory,
                             std::span<const OptionSpec> options = {}) {
  return Export{Interface::kRole.data(), name, description, options, reinterpret_cast<ErasedFactory>(factory)};
}

constexpr ManifestHeader make_header(const char* plugin_name, const char* plugin_version) {
  return ManifestHeader{kManifestMagic, kAbiMajor, kAbiMinor, SKIFF_PLUGIN_ABI_TAG, plugin_name, plugin_version};
}

}  // namespace skiff::plugin

// Exports `fn` (a `const skiff::plugin::Manifest* fn() noexcept`) as the plugin's entry point.
#define SKIFF_PLUGIN_ENTRY(fn) BOOST_DLL_ALIAS(fn, skiff_plugin_entry)
