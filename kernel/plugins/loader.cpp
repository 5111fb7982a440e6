#include "kernel/plugins/loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <system_error>

#include <boost/dll/shared_library.hpp>

#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/proxy.hpp"
#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/scheduler.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::kernel {

struct PluginLoader::Library {
  boost::dll::shared_library handle;
};

namespace {

constexpr const char* kEntryAlias = "skiff_plugin_entry";

bool is_lower_segment(std::string_view s) noexcept {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Export and option names become config keys, flags (--section.key) and env names (SKIFF_…), so
// they are restricted to characters that survive all three.
bool is_config_word(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string quoted(const char* s) { return s == nullptr ? std::string("<null>") : "'" + std::string(s) + "'"; }

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string version_string(unsigned major, unsigned minor) { return std::to_string(major) + "." + std::to_string(minor); }

bool has_elf_magic(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::string_view refusal_reason_name(PluginRefusal::Reason reason) noexcept {
  using R = PluginRefusal::Reason;
  switch (reason) {
    case R::kCannotOpen: return "cannot-open";
    case R::kMissingEntry: return "missing-entry";
    case R::kNoManifest: return "no-manifest";
    case R::kBadMagic: return "bad-magic";
    case R::kAbiMajor: return "abi-major";
    case R::kAbiMinor: return "abi-minor";
    case R::kAbiTag: return "abi-tag";
    case R::kBadManifest: return "bad-manifest";
    case R::kDuplicate: return "duplicate";
    case R::kFactoryFailed: return "factory-failed";
    case R::kFactoryThrew: return "factory-threw";
    case R::kBadConfig: return "bad-config";
  }
  return "unknown";
}

bool is_well_formed_role(std::string_view role) noexcept {
  // skiff . area [. sub]* . vN
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = role.find('.', start);
    parts.push_back(role.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() < 3 || parts.front() != "skiff") return false;
  std::string_view v = parts.back();
  if (v.size() < 2 || v[0] != 'v' || !std::all_of(v.begin() + 1, v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  for (std::size_t i = 1; i + 1 < parts.size(); ++i)
    if (!is_lower_segment(parts[i])) return false;
  return true;
}

std::string config_section_for(std::string_view role, std::string_view name) {
  if (!is_well_formed_role(role)) return {};
  std::string_view middle = role.substr(6);                 // drop "skiff."
  middle = middle.substr(0, middle.rfind('.'));             // drop ".vN"
  return std::string(middle) + "." + std::string(name);
}

std::vector<std::string> PluginLoader::builtin_roles() {
  return {std::string(plugin::controller::Controller::kRole), std::string(plugin::store::Backend::kRole),
          std::string(plugin::runtime::Runtime::kRole), std::string(plugin::scheduler::FilterPlugin::kRole),
          std::string(plugin::scheduler::ScorePlugin::kRole), std::string(plugin::proxy::Proxy::kRole)};
}

HostAbi HostAbi::current() { return HostAbi{plugin::kAbiMajor, plugin::kAbiMinor, std::string(plugin::kAbiTag)}; }

AbiTagParts split_abi_tag(std::string_view tag) {
  constexpr std::string_view kPrefix = "skiff-plugin-api/";
  constexpr std::string_view kHeaders = ";headers=";
  if (!tag.starts_with(kPrefix)) return {};
  auto headers_at = tag.find(kHeaders);
  if (headers_at == std::string_view::npos) return {};
  auto toolchain_at = tag.find(';', headers_at + kHeaders.size());
  if (toolchain_at == std::string_view::npos) return {};
  AbiTagParts parts;
  parts.version = tag.substr(kPrefix.size(), headers_at - kPrefix.size());
  parts.headers = tag.substr(headers_at + kHeaders.size(), toolchain_at - headers_at - kHeaders.size());
  parts.toolchain = tag.substr(toolchain_at + 1);
  return parts;
}

PluginLoader::PluginLoader(plugin::Logger* logger, std::vector<std::string> known_roles, HostAbi host)
    : logger_(logger), known_roles_(std::move(known_roles)), host_(std::move(host)) {
  std::sort(known_roles_.begin(), known_roles_.end());
}

// Loaded libraries are released here; a library an object still uses stays mapped through the
// object's deleter.
PluginLoader::~PluginLoader() = default;

void PluginLoader::record(PluginRefusal refusal) {
  if (logger_ != nullptr) {
    logger_->warn("plugin refused", {{"file", refusal.file},
                                     {"plugin", refusal.plugin},
                                     {"reason", refusal_reason_name(refusal.reason)},
                                     {"detail", refusal.detail}});
  }
  std::lock_guard lock(mutex_);
  refusals_.push_back(std::move(refusal));
}

plugin::Status PluginLoader::load_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return plugin::not_found("plugin directory " + dir.string() + " does not exist or is not a directory");
  std::vector<std::filesystem::path> files;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return plugin::unavailable("cannot read plugin directory " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return plugin::unavailable("cannot read plugin directory " + dir.string() + ": " + ec.message());
    std::string fname = it->path().filename().string();
    if (fname.size() <= 12 || !fname.starts_with("libskiff-") || !fname.ends_with(".so")) continue;
    std::error_code sec;
    if (!it->is_regular_file(sec)) continue;  // follows symlinks
    files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f);
  return plugin::Status::ok();
}

bool PluginLoader::load_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  auto refuse = [&](PluginRefusal::Reason reason, std::string detail, std::string plugin_name = {}) {
    PluginRefusal r;
    r.reason = reason;
    r.file = file;
    r.plugin = std::move(plugin_name);
    r.detail = std::move(detail);
    record(std::move(r));
    return false;
  };

  // 1. Open. RTLD_NOW so a missing symbol is reported here rather than on first call; RTLD_LOCAL so
  //    plugins cannot see each other's symbols.
  auto library = std::make_shared<Library>();
  boost::dll::fs::error_code ec;
  library->handle.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !library->handle.is_loaded()) {
    const char* dl = dlerror();  // Boost.DLL leaves the dlopen error in place on failure
    std::string why = dl != nullptr ? std::string(dl) : ec.message();
    std::error_code fec;
    if (!std::filesystem::exists(path, fec)) return refuse(PluginRefusal::Reason::kCannotOpen, "cannot open: no such file");
    if (!has_elf_magic(path))
      return refuse(PluginRefusal::Reason::kCannotOpen, "not a shared library (no ELF header); dlopen: " + why);
    return refuse(PluginRefusal::Reason::kCannotOpen, "cannot open shared library: " + why);
  }

  // 2. The entry point, through its Boost.DLL alias.
  if (!library->handle.has(kEntryAlias))
    return refuse(PluginRefusal::Reason::kMissingEntry,
                  std::string("missing entry symbol '") + kEntryAlias +
                      "' (not a Skiff plugin, or built without SKIFF_PLUGIN_ENTRY)");
  plugin::EntryFn& entry = library->handle.get_alias<plugin::EntryFn>(kEntryAlias);
  const plugin::Manifest* manifest = entry();
  if (manifest == nullptr) return refuse(PluginRefusal::Reason::kNoManifest, "entry returned no manifest");

  // 3. The C-layout header, and nothing else, until it proves the rest has our layout.
  const plugin::ManifestHeader& h = manifest->header;
  if (h.magic != plugin::kManifestMagic)
    return refuse(PluginRefusal::Reason::kBadMagic, "bad manifest magic " + hex32(h.magic) + " (expected " +
                                                        hex32(plugin::kManifestMagic) + "): not a Skiff plugin manifest");
  std::string plugin_name = h.plugin_name != nullptr ? h.plugin_name : "";
  std::string plugin_version = h.plugin_version != nullptr ? h.plugin_version : "";
  std::string label = plugin_name.empty() ? std::string("plugin") : "plugin '" + plugin_name + "'";
  const std::string ours = version_string(host_.major, host_.minor);
  const std::string theirs = version_string(h.abi_major, h.abi_minor);
  if (h.abi_major != host_.major)
    return refuse(PluginRefusal::Reason::kAbiMajor,
                  label + " was built for plugin ABI " + theirs + ", this skiffd speaks " + ours +
                      " (ABI major versions must match: " + std::to_string(h.abi_major) + " != " +
                      std::to_string(host_.major) + "; rebuild the plugin against this skiffd's plugin-api)",
                  plugin_name);
  if (h.abi_minor > host_.minor)
    return refuse(PluginRefusal::Reason::kAbiMinor,
                  label + " was built for plugin ABI " + theirs + ", newer than this skiffd's " + ours +
                      " (upgrade skiffd or rebuild the plugin against this plugin-api)",
                  plugin_name);
  // The tag: a minor only appends to the SDK, so a plugin of an older minor is read through the
  // layout it was built with and only the toolchain must agree. At our own minor the headers must be
  // exactly ours: a different hash there means the SDK changed without a version bump.
  const AbiTagParts plugin_tag = split_abi_tag(h.abi_tag == nullptr ? std::string_view() : std::string_view(h.abi_tag));
  const AbiTagParts host_tag = split_abi_tag(host_.tag);
  const std::string tag_help = " (plugin ABI tag " + quoted(h.abi_tag) + ", this skiffd's '" + host_.tag + "')";
  if (plugin_tag.version != theirs)
    return refuse(PluginRefusal::Reason::kAbiTag,
                  label + " has a malformed ABI tag or one that disagrees with its ABI version " + theirs + tag_help +
                      "; rebuild the plugin",
                  plugin_name);
  if (plugin_tag.toolchain != host_tag.toolchain)
    return refuse(PluginRefusal::Reason::kAbiTag,
                  label + " was built with " + plugin_tag.toolchain + ", this skiffd with " + host_tag.toolchain +
                      " (C++ types cross the plugin boundary, so compiler and standard library must match; "
                      "rebuild the plugin)" + tag_help,
                  plugin_name);
  if (h.abi_minor == host_.minor && plugin_tag.headers != host_tag.headers)
    return refuse(PluginRefusal::Reason::kAbiTag,
                  label + " was built against plugin-api " + theirs + " headers " + plugin_tag.headers +
                      ", this skiffd has " + ours + " headers " + host_tag.headers +
                      " (the plugin-api headers differ within one ABI version; rebuild the plugin)" + tag_help,
                  plugin_name);
  if (plugin_name.empty()) return refuse(PluginRefusal::Reason::kBadManifest, "manifest has an empty plugin name");

  // 4. The exports. Validate all of them before accepting any: a manifest is taken whole or not at all.
  Loaded loaded;
  loaded.info.file = file;
  loaded.info.name = plugin_name;
  loaded.info.version = plugin_version;
  loaded.info.abi_major = h.abi_major;
  loaded.info.abi_minor = h.abi_minor;
  loaded.info.abi_tag = h.abi_tag;
  if (manifest->exports.empty()) return refuse(PluginRefusal::Reason::kBadManifest, label + " exports nothing", plugin_name);
  std::size_t index = 0;
  for (const plugin::Export& e : manifest->exports) {
    std::string where = label + " export #" + std::to_string(index++);
    if (e.name == nullptr || *e.name == '\0')
      return refuse(PluginRefusal::Reason::kBadManifest, where + " (role " + quoted(e.role) + ") has an empty name",
                    plugin_name);
    where += " '" + std::string(e.name) + "'";
    if (e.role == nullptr || !is_well_formed_role(e.role))
      return refuse(PluginRefusal::Reason::kBadManifest,
                    where + " has a malformed role " + quoted(e.role) + " (expected skiff.<area>.v<N>)", plugin_name);
    if (!std::binary_search(known_roles_.begin(), known_roles_.end(), std::string(e.role)))
      return refuse(PluginRefusal::Reason::kBadManifest,
                    where + " has unknown role '" + e.role + "' (this skiffd knows " + join(known_roles_, ", ") + ")",
                    plugin_name);
    if (!is_config_word(e.name))
      return refuse(PluginRefusal::Reason::kBadManifest,
                    where + " has a malformed name (use lower-case letters, digits, '_' and '-')", plugin_name);
    if (e.factory == nullptr)
      return refuse(PluginRefusal::Reason::kBadManifest, where + " has no factory", plugin_name);
    ExportInfo info;
    info.role = e.role;
    info.name = e.name;
    info.description = e.description != nullptr ? e.description : "";
    info.section = config_section_for(info.role, info.name);
    info.plugin = plugin_name;
    info.plugin_version = plugin_version;
    info.file = file;
    std::set<std::string, std::less<>> keys;
    for (const plugin::OptionSpec& o : e.options) {
      if (o.key == nullptr || !is_config_word(o.key))
        return refuse(PluginRefusal::Reason::kBadManifest,
                      where + " declares a malformed option key " + quoted(o.key) +
                          " (use lower-case letters, digits, '_' and '-')",
                      plugin_name);
      if (!keys.insert(o.key).second)
        return refuse(PluginRefusal::Reason::kBadManifest, where + " declares option '" + std::string(o.key) + "' twice",
                      plugin_name);
      PluginOption opt;
      opt.key = o.key;
      if (o.default_value != nullptr) opt.default_value = o.default_value;
      opt.help = o.help != nullptr ? o.help : "";
      info.options.push_back(std::move(opt));
    }
    for (const auto& prev : loaded.info.exports)
      if (prev.role == info.role && prev.name == info.name)
        return refuse(PluginRefusal::Reason::kDuplicate, where + " duplicates " + info.role + "/" + info.name +
                                                             " within the same plugin",
                      plugin_name);
    loaded.info.exports.push_back(std::move(info));
    loaded.factories.push_back(e.factory);
  }

  // 5. Names are unique per role across every loaded plugin; the first one loaded keeps it.
  {
    std::unique_lock lock(mutex_);
    for (const auto& info : loaded.info.exports) {
      for (const auto& other : loaded_) {
        for (const auto& oe : other.info.exports) {
          if (oe.role != info.role || oe.name != info.name) continue;
          std::string detail = label + " exports " + info.role + "/" + info.name + ", already provided by plugin '" +
                               other.info.name + "' in " + other.info.file;
          lock.unlock();
          PluginRefusal r;
          r.reason = PluginRefusal::Reason::kDuplicate;
          r.file = file;
          r.plugin = plugin_name;
          r.role = info.role;
          r.name = info.name;
          r.detail = std::move(detail);
          record(std::move(r));
          return false;
        }
      }
    }
    loaded.library = std::move(library);
    loaded_.push_back(std::move(loaded));
  }
  if (logger_ != nullptr) {
    logger_->debug("plugin loaded", {{"file", file}, {"plugin", plugin_name}, {"version", plugin_version}});
  }
  return true;
}

std::vector<PluginInfo> PluginLoader::plugins() const {
  std::lock_guard lock(mutex_);
  std::vector<PluginInfo> out;
  for (const auto& l : loaded_) out.push_back(l.info);
  return out;
}

std::vector<ExportInfo> PluginLoader::exports() const {
  std::lock_guard lock(mutex_);
  std::vector<ExportInfo> out;
  for (const auto& l : loaded_)
    for (const auto& e : l.info.exports) out.push_back(e);
  return out;
}

std::vector<ExportInfo> PluginLoader::exports_of(std::string_view role) const {
  std::vector<ExportInfo> out;
  for (auto& e : exports())
    if (e.role == role) out.push_back(std::move(e));
  std::sort(out.begin(), out.end(), [](const ExportInfo& a, const ExportInfo& b) { return a.name < b.name; });
  return out;
}

std::optional<ExportInfo> PluginLoader::find(std::string_view role, std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& l : loaded_)
    for (const auto& e : l.info.exports)
      if (e.role == role && e.name == name) return e;
  return std::nullopt;
}

std::vector<PluginRefusal> PluginLoader::refusals() const {
  std::lock_guard lock(mutex_);
  return refusals_;
}

plugin::Result<PluginLoader::Resolved> PluginLoader::resolve(std::string_view role, std::string_view name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> available;
  for (const auto& l : loaded_) {
    for (std::size_t i = 0; i < l.info.exports.size(); ++i) {
      const auto& e = l.info.exports[i];
      if (e.role != role) continue;
      if (e.name == name) {
        Resolved r;
        r.factory = l.factories[i];
        r.library = l.library;
        r.info = e;
        return r;
      }
      available.push_back(e.name);
    }
  }
  std::sort(available.begin(), available.end());
  return plugin::not_found("no loaded plugin exports " + std::string(role) + " '" + std::string(name) + "' (available: " +
                           (available.empty() ? std::string("none") : join(available, ", ")) + ")");
}

plugin::Status PluginLoader::refuse_create(const Resolved& resolved, PluginRefusal::Reason reason, std::string detail) {
  PluginRefusal r;
  r.reason = reason;
  r.file = resolved.info.file;
  r.plugin = resolved.info.plugin;
  r.role = resolved.info.role;
  r.name = resolved.info.name;
  r.detail = "plugin '" + resolved.info.plugin + "' export " + resolved.info.role + "/" + resolved.info.name + ": " +
             std::move(detail);
  std::string message = r.message();
  record(std::move(r));
  return {reason == PluginRefusal::Reason::kBadConfig ? plugin::Code::kInvalid : plugin::Code::kInternal,
          std::move(message)};
}

}  // namespace skiff::kernel
