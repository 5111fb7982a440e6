#include "kernel/config/daemon_config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>

namespace skiff::kernel {
namespace po = boost::program_options;
using plugin::invalid;
using plugin::Result;
using plugin::Status;

namespace {

struct KernelKey {
  std::string_view key;
  std::string_view help;
};

// The kernel's own keys, in --help and --print-config order. Defaults live in kernel_default().
constexpr KernelKey kKernelKeys[] = {
    {"data-dir", "Directory for the daemon's state; created with mode 0700 if missing."},
    {"listen", "HOST:PORT the API server listens on."},
    {"plugin-dir", "Directory searched for libskiff-*.so plugins."},
    {"log-level", "Least severe level logged: debug, info, warn or error."},
    {"store.backend", "Name of the skiff.store.v1 plugin that stores every object."},
    {"store.compaction-interval-seconds",
     "Compact the store's history this often, to the revision seen one interval before (0: never)."},
    {"watch.window", "Events kept per resource for watchers that fall behind."},
    {"controllers.enabled",
     "Controller plugins to run: '*' for every loaded one, or a comma list of names; '-name' excludes one from '*'."},
};

constexpr std::string_view kUsage =
    "Usage: skiffd [--config FILE] [--KEY=VALUE ...]\n"
    "\n"
    "Every key can be set in the INI file given with --config (\"[store]\" then \"backend = sqlite\"), as a\n"
    "flag (--store.backend=sqlite) or in the environment (SKIFF_STORE__BACKEND=sqlite: '.' becomes \"__\",\n"
    "'-' becomes '_', upper case). Precedence: flags > environment > file > defaults.\n";

std::string kernel_default(std::string_view key, const std::filesystem::path& exe) {
  if (key == "data-dir") return std::string(kDefaultDataDir);
  if (key == "listen") return "127.0.0.1:6443";
  if (key == "plugin-dir") return default_plugin_dir(exe).string();
  if (key == "log-level") return "info";
  if (key == "store.backend") return "sqlite";
  if (key == "store.compaction-interval-seconds") return "300";  // kube-apiserver's --etcd-compaction-interval
  if (key == "watch.window") return "65536";
  if (key == "controllers.enabled") return "*";
  return {};
}

bool is_kernel_key(std::string_view key) {
  return std::any_of(std::begin(kKernelKeys), std::end(kKernelKeys), [&](const KernelKey& k) { return k.key == key; });
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// One value as a source gave it.
struct Setting {
  std::string key;
  std::string value;
  ConfigOrigin origin;
};

// ---- the INI file ----
//
// Boost.Program_options parses the file; this scan runs first, with the same grammar, to report
// syntax errors with their line and to know the line of every key (program_options keeps none).
struct FileLine {
  std::string key;  // full dotted name, as program_options builds it ("store.sqlite.path")
  int line = 0;
};

Result<std::vector<FileLine>> scan_ini(const std::string& path, const std::string& text) {
  std::vector<FileLine> out;
  std::istringstream in(text);
  std::string raw, prefix;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    std::string s = raw;
    if (auto hash = s.find('#'); hash != std::string::npos) s.erase(hash);
    s = trim(s);
    if (s.empty()) continue;
    auto where = [&] { return path + " line " + std::to_string(line); };
    if (s.front() == '[') {
      if (s.back() != ']' || s.size() < 3)
        return invalid(where() + ": malformed section header '" + trim(raw) + "' (expected [section])");
      prefix = trim(std::string_view(s).substr(1, s.size() - 2));
      if (prefix.empty() || prefix.find_first_of(" \t=[]") != std::string::npos)
        return invalid(where() + ": malformed section header '" + trim(raw) + "'");
      if (prefix.back() != '.') prefix += '.';
      continue;
    }
    auto eq = s.find('=');
    if (eq == std::string::npos)
      return invalid(where() + ": expected 'key = value', a [section] header or a # comment, got '" + trim(raw) + "'");
    std::string key = trim(std::string_view(s).substr(0, eq));
    if (key.empty()) return invalid(where() + ": a value without a key: '" + trim(raw) + "'");
    out.push_back({prefix + key, line});
  }
  return out;
}

struct FileContents {
  std::string path;
  std::string text;
};

Result<FileContents> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("cannot read config file " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return FileContents{path.string(), ss.str()};
}

// Every key=value of the file, in order, with its line. `desc` decides what program_options calls
// registered; unregistered keys come back too (the caller decides whether they are errors).
struct FileSetting {
  Setting setting;
  bool registered = true;
};
Result<std::vector<FileSetting>> parse_file(const FileContents& file, const po::options_description& desc) {
  auto lines = scan_ini(file.path, file.text);
  if (!lines) return lines.status();
  std::istringstream in(file.text);
  po::parsed_options parsed(&desc);
  try {
    parsed = po::parse_config_file(in, desc, /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    return invalid("config file " + file.path + ": " + e.what());
  }
  std::vector<FileSetting> out;
  std::size_t next = 0;  // program_options returns the options in file order, as the scan does
  for (const auto& o : parsed.options) {
    int line = 0;
    for (std::size_t i = next; i < lines->size(); ++i) {
      if ((*lines)[i].key == o.string_key) {
        line = (*lines)[i].line;
        next = i + 1;
        break;
      }
    }
    FileSetting fs;
    fs.setting.key = o.string_key;
    fs.setting.value = o.value.empty() ? std::string() : o.value.front();
    fs.setting.origin = {ConfigOrigin::Kind::kFile, file.path + ":" + std::to_string(line)};
    fs.registered = !o.unregistered;
    out.push_back(std::move(fs));
  }
  return out;
}

std::string file_location(const ConfigOrigin& origin) {
  // "path:line" → "path line N"
  auto colon = origin.where.rfind(':');
  if (colon == std::string::npos) return origin.where;
  return origin.where.substr(0, colon) + " line " + origin.where.substr(colon + 1);
}

// ---- the command line ----

struct CommandLine {
  std::vector<Setting> settings;  // config keys, including "config"
  bool help = false;
  bool print_config = false;
  bool version = false;
};

void add_switches(po::options_description& desc) {
  desc.add_options()("help,h", po::bool_switch(), "Print this help (including every loaded plugin's options) and exit.")(
      "print-config", po::bool_switch(), "Print the effective configuration as INI, with each value's origin, and exit.")(
      "version", po::bool_switch(), "Print the version and exit.")(
      "config", po::value<std::string>()->value_name("FILE"), "The INI config file (also SKIFF_CONFIG).");
}

// strict: unknown flags and stray arguments are errors (stage 2); otherwise they are skipped (stage 1).
Result<CommandLine> parse_command_line(const std::vector<std::string>& args, const po::options_description& desc,
                                       bool strict) {
  po::parsed_options parsed(&desc);
  try {
    parsed = po::command_line_parser(args)
                 .options(desc)
                 .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                 .allow_unregistered()
                 .run();
  } catch (const po::error& e) {
    return invalid(std::string("command line: ") + e.what());
  }
  CommandLine out;
  std::set<std::string> seen;
  for (const auto& o : parsed.options) {
    std::string token = o.original_tokens.empty() ? o.string_key : o.original_tokens.front();
    if (o.position_key >= 0 || o.string_key.empty()) {
      if (strict) return invalid("command line: unexpected argument '" + token + "' (every setting is a --key=value flag)");
      continue;
    }
    if (o.unregistered) {
      if (!strict) continue;
      std::string name = token.substr(0, token.find('='));
      std::string key = name;
      key.erase(0, key.find_first_not_of('-'));
      return invalid("unknown command-line flag '" + name + "': there is no config key '" + key +
                     "' (not a kernel key, and no loaded plugin declares it; run skiffd --help for the list)");
    }
    if (o.string_key == "help") out.help = true;
    else if (o.string_key == "print-config") out.print_config = true;
    else if (o.string_key == "version") out.version = true;
    else {
      if (!seen.insert(o.string_key).second)
        return invalid("command line: flag --" + o.string_key + " is given more than once");
      out.settings.push_back({o.string_key, o.value.empty() ? std::string() : o.value.front(),
                              {ConfigOrigin::Kind::kFlag, "--" + o.string_key}});
    }
  }
  return out;
}

// ---- the environment ----

// SKIFF_* variables → keys. `keys` are every key the daemon knows (plus "config").
Result<std::vector<Setting>> parse_environment(const std::vector<std::pair<std::string, std::string>>& env,
                                               const std::vector<std::string>& keys, bool strict) {
  std::map<std::string, std::string> by_env_name;
  for (const auto& k : keys) by_env_name.emplace(env_name_for_key(k), k);
  std::vector<Setting> out;
  for (const auto& [name, value] : env) {
    if (!name.starts_with("SKIFF_")) continue;
    // Read before main() by the allocator (kernel/allocator/), not a config key.
    if (name == "SKIFF_HEAP_HUGE_PAGES") continue;
    auto it = by_env_name.find(name);
    if (it == by_env_name.end()) {
      if (!strict) continue;
      return invalid("unknown environment variable " + name +
                     ": it names no config key (SKIFF_<KEY> with '.' as \"__\" and '-' as '_', e.g. SKIFF_DATA_DIR or "
                     "SKIFF_STORE__BACKEND; run skiffd --help for the keys)");
    }
    out.push_back({it->second, value, {ConfigOrigin::Kind::kEnv, name}});
  }
  return out;
}

// ---- validation of the kernel's keys ----

std::string origin_suffix(const ConfigOrigin& origin) {
  switch (origin.kind) {
    case ConfigOrigin::Kind::kDefault: return " (the default)";
    case ConfigOrigin::Kind::kFile: return " (set in " + file_location(origin) + ")";
    case ConfigOrigin::Kind::kEnv: return " (set by environment variable " + origin.where + ")";
    case ConfigOrigin::Kind::kFlag: return " (set by flag " + origin.where + ")";
  }
  return {};
}

Status bad_value(std::string_view key, const ConfigValue& v, std::string_view expected) {
  return invalid("invalid value '" + v.value + "' for config key " + std::string(key) + origin_suffix(v.origin) + ": " +
                 std::string(expected));
}

bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (max - static_cast<std::uint64_t>(c - '0')) / 10) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// Help text as a sentence, so that "Default: …" can follow it.
std::string sentence(std::string_view text) {
  std::string out = trim(text);
  if (!out.empty() && out.back() != '.') out += '.';
  return out;
}

bool is_name_word(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

std::string ConfigOrigin::describe() const {
  switch (kind) {
    case Kind::kDefault: return "default";
    case Kind::kFile: return "file " + where;
    case Kind::kEnv: return "env " + where;
    case Kind::kFlag: return "flag " + where;
  }
  return "default";
}

ConfigInputs ConfigInputs::from_process(int argc, const char* const* argv, const char* const* envp) {
  ConfigInputs in;
  for (int i = 1; i < argc; ++i) in.args.emplace_back(argv[i]);
  for (const char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    in.env.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  std::error_code ec;
  in.exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec && argc > 0) in.exe = std::filesystem::absolute(argv[0], ec);
  return in;
}

std::filesystem::path default_plugin_dir(const std::filesystem::path& exe) {
  std::error_code ec;
  // A build tree has bin/skiffd and plugins/; an installed tree (any prefix, a package's /usr included)
  // has bin/skiffd and SKIFF_PLUGIN_INSTALL_DIR beside it.
  if (!exe.empty()) {
    const auto prefix = exe.parent_path().parent_path();
    for (const char* relative : {"plugins", SKIFF_PLUGIN_INSTALL_DIR}) {
      auto candidate = (prefix / relative).lexically_normal();
      if (std::filesystem::is_directory(candidate, ec)) return candidate;
    }
  }
  return "/usr/" SKIFF_PLUGIN_INSTALL_DIR;
}

std::string env_name_for_key(std::string_view key) {
  std::string out = "SKIFF_";
  for (char c : key) {
    if (c == '.') out += "__";
    else if (c == '-') out += '_';
    else out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<BootstrapOptions> bootstrap_options(const ConfigInputs& inputs) {
  po::options_description desc;
  add_switches(desc);
  for (const auto& k : kKernelKeys) desc.add_options()(std::string(k.key).c_str(), po::value<std::string>(), "");
  auto cmd = parse_command_line(inputs.args, desc, /*strict=*/false);
  if (!cmd) return cmd.status();
  auto env = parse_environment(inputs.env, {"config", "plugin-dir"}, /*strict=*/false);
  if (!env) return env.status();

  BootstrapOptions out;
  out.help = cmd->help;
  out.print_config = cmd->print_config;
  out.version = cmd->version;
  std::optional<Setting> plugin_dir;
  for (const auto& s : env.value()) {
    if (s.key == "config") out.config_file = s.value;
    if (s.key == "plugin-dir") plugin_dir = s;
  }
  std::optional<Setting> plugin_dir_flag;
  for (const auto& s : cmd->settings) {
    if (s.key == "config") out.config_file = s.value;
    if (s.key == "plugin-dir") plugin_dir_flag = s;
  }
  if (out.config_file && out.config_file->empty()) return invalid("--config (or SKIFF_CONFIG) is set to an empty path");
  if (out.config_file && !plugin_dir && !plugin_dir_flag) {
    auto contents = read_file(*out.config_file);
    if (!contents) return contents.status();
    auto file = parse_file(*contents, desc);
    if (!file) return file.status();
    for (const auto& fs : file.value())
      if (fs.setting.key == "plugin-dir") plugin_dir = fs.setting;
  }
  if (plugin_dir_flag) plugin_dir = plugin_dir_flag;
  if (plugin_dir) {
    out.plugin_dir = plugin_dir->value;
    out.plugin_dir_origin = plugin_dir->origin;
  } else {
    out.plugin_dir = default_plugin_dir(inputs.exe);
  }
  return out;
}

Result<DaemonConfig> DaemonConfig::parse(const ConfigInputs& inputs, const std::vector<ExportInfo>& plugin_exports,
                                         const std::vector<ComponentOption>& component_options) {
  // Every key the daemon knows, each registered with program_options.
  DaemonConfig config;
  for (const auto& k : kKernelKeys) config.kernel_keys_.emplace_back(k.key);
  for (const auto& c : component_options) {
    if (c.key.empty() || is_kernel_key(c.key) ||
        std::count(config.kernel_keys_.begin(), config.kernel_keys_.end(), c.key) != 0)
      return invalid("component config key '" + c.key + "' is empty or declared twice");
    config.kernel_keys_.push_back(c.key);
  }
  std::vector<std::string> keys = config.kernel_keys_;
  std::set<std::string> declared(keys.begin(), keys.end());
  for (const auto& e : plugin_exports) {
    for (const auto& o : e.options) {
      std::string key = e.section + "." + o.key;
      if (!declared.insert(key).second)
        return invalid("config key " + key + " is declared twice (the second time by " + e.file + ")");
      keys.push_back(key);
    }
  }
  po::options_description file_desc;
  for (const auto& k : keys) file_desc.add_options()(k.c_str(), po::value<std::string>(), "");
  po::options_description cmd_desc;
  add_switches(cmd_desc);
  cmd_desc.add(file_desc);

  auto cmd = parse_command_line(inputs.args, cmd_desc, /*strict=*/true);
  if (!cmd) return cmd.status();
  std::vector<std::string> env_keys = keys;
  env_keys.emplace_back("config");
  auto env = parse_environment(inputs.env, env_keys, /*strict=*/true);
  if (!env) return env.status();

  for (const auto& s : env.value())
    if (s.key == "config") config.config_file = s.value;
  for (const auto& s : cmd->settings)
    if (s.key == "config") config.config_file = s.value;
  if (config.config_file && config.config_file->empty())
    return invalid("--config (or SKIFF_CONFIG) is set to an empty path");

  // Defaults, then file, env and flags on top.
  for (const auto& k : kKernelKeys)
    config.values_[std::string(k.key)] = {kernel_default(k.key, inputs.exe), {ConfigOrigin::Kind::kDefault, ""}};
  for (const auto& c : component_options) config.values_[c.key] = {c.default_value, {ConfigOrigin::Kind::kDefault, ""}};
  for (const auto& e : plugin_exports)
    for (const auto& o : e.options)
      if (o.default_value) config.values_[e.section + "." + o.key] = {*o.default_value, {ConfigOrigin::Kind::kDefault, ""}};

  if (config.config_file) {
    auto contents = read_file(*config.config_file);
    if (!contents) return contents.status();
    auto file = parse_file(*contents, file_desc);
    if (!file) return file.status();
    std::map<std::string, std::string> first_seen;
    for (const auto& fs : file.value()) {
      const Setting& s = fs.setting;
      if (!fs.registered)
        return invalid("unknown config key '" + s.key + "' in " + file_location(s.origin) +
                       ": not a kernel key, and no loaded plugin declares it (run skiffd --help for the list)");
      auto [it, fresh] = first_seen.emplace(s.key, file_location(s.origin));
      if (!fresh)
        return invalid("config key '" + s.key + "' is set twice in " + contents->path + " (" + it->second + " and " +
                       file_location(s.origin).substr(contents->path.size() + 1) + ")");
      config.values_[s.key] = {s.value, s.origin};
    }
  }
  for (const auto& s : env.value())
    if (s.key != "config") config.values_[s.key] = {s.value, s.origin};
  for (const auto& s : cmd->settings)
    if (s.key != "config") config.values_[s.key] = {s.value, s.origin};

  // Kernel keys, typed and checked.
  auto get = [&](std::string_view key) -> const ConfigValue& { return config.values_.find(key)->second; };

  const ConfigValue& data_dir = get("data-dir");
  if (data_dir.value.empty()) return bad_value("data-dir", data_dir, "expected a directory path");
  config.data_dir = data_dir.value;

  const ConfigValue& listen = get("listen");
  {
    auto colon = listen.value.rfind(':');
    std::uint64_t port = 0;
    std::string host = colon == std::string::npos ? std::string() : listen.value.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    bool host_ok = !host.empty() && host.find_first_of(" \t/[]") == std::string::npos &&
                   (host.find(':') == std::string::npos || listen.value.front() == '[');
    if (colon == std::string::npos || !host_ok || !parse_uint(listen.value.substr(colon + 1), 65535, port))
      return bad_value("listen", listen, "expected HOST:PORT with a port in [0, 65535] (IPv6 as [::1]:6443)");
    config.listen = listen.value;
    config.listen_host = host;
    config.listen_port = static_cast<std::uint16_t>(port);
  }

  const ConfigValue& plugin_dir = get("plugin-dir");
  if (plugin_dir.value.empty()) return bad_value("plugin-dir", plugin_dir, "expected a directory path");
  {
    std::error_code ec;
    if (plugin_dir.origin.kind != ConfigOrigin::Kind::kDefault && !std::filesystem::is_directory(plugin_dir.value, ec))
      return bad_value("plugin-dir", plugin_dir, "no such directory");
  }
  config.plugin_dir = plugin_dir.value;

  const ConfigValue& level = get("log-level");
  if (level.value == "debug") config.log_level = plugin::LogLevel::kDebug;
  else if (level.value == "info") config.log_level = plugin::LogLevel::kInfo;
  else if (level.value == "warn") config.log_level = plugin::LogLevel::kWarn;
  else if (level.value == "error") config.log_level = plugin::LogLevel::kError;
  else return bad_value("log-level", level, "expected debug, info, warn or error");

  const ConfigValue& backend = get("store.backend");
  if (!is_name_word(backend.value))
    return bad_value("store.backend", backend, "expected the name of a skiff.store.v1 plugin (skiff plugins lists them)");
  config.store_backend = backend.value;

  const ConfigValue& compaction = get("store.compaction-interval-seconds");
  {
    std::uint64_t seconds = 0;
    if (!parse_uint(compaction.value, 7 * 24 * 3600, seconds))
      return bad_value("store.compaction-interval-seconds", compaction, "expected an integer in [0, 604800] (0: never)");
    config.compaction_interval = std::chrono::seconds(seconds);
  }

  const ConfigValue& window = get("watch.window");
  {
    std::uint64_t w = 0;
    if (!parse_uint(window.value, 1u << 26, w) || w == 0)
      return bad_value("watch.window", window, "expected an integer in [1, 67108864]");
    config.watch_window = static_cast<std::size_t>(w);
  }

  const ConfigValue& enabled = get("controllers.enabled");
  {
    std::vector<std::string> loaded;
    for (const auto& e : plugin_exports)
      if (e.role == "skiff.controller.v1") loaded.push_back(e.name);
    std::sort(loaded.begin(), loaded.end());
    std::string loaded_list;
    for (const auto& name : loaded) loaded_list += (loaded_list.empty() ? "" : ", ") + name;
    std::string item;
    std::istringstream in(enabled.value);
    while (std::getline(in, item, ',')) {
      item = trim(item);
      if (item.empty()) continue;
      std::string name = item.front() == '-' ? item.substr(1) : item;
      if (item != "*" && !is_name_word(name))
        return bad_value("controllers.enabled", enabled, "expected '*' or a comma list of controller names ('-name' to exclude)");
      if (item != "*" && !std::binary_search(loaded.begin(), loaded.end(), name))
        return bad_value("controllers.enabled", enabled,
                         "no loaded controller plugin is named '" + name + "' (loaded: " +
                             (loaded.empty() ? std::string("none") : loaded_list) + ")");
      config.controllers.push_back(item);
    }
  }

  for (const auto& c : component_options) {
    if (!c.validate) continue;
    const ConfigValue& v = get(c.key);
    if (std::string expected = c.validate(v.value); !expected.empty()) return bad_value(c.key, v, expected);
  }

  config.plugin_exports_ = plugin_exports;
  return config;
}

bool DaemonConfig::controller_enabled(std::string_view name) const {
  bool all = false, named = false, excluded = false;
  for (const auto& c : controllers) {
    if (c == "*") all = true;
    else if (c.front() == '-' && std::string_view(c).substr(1) == name) excluded = true;
    else if (c == name) named = true;
  }
  return named || (all && !excluded);
}

const ConfigValue* DaemonConfig::value(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

std::string DaemonConfig::value_or(std::string_view key, std::string fallback) const {
  const ConfigValue* v = value(key);
  return v != nullptr ? v->value : fallback;
}

std::string integer_in(std::string_view value, long min, long max) {
  std::string s(value);
  char* end = nullptr;
  long n = std::strtol(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && n >= min && n <= max) return {};
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

std::string boolean(std::string_view value) {
  return value == "true" || value == "false" ? std::string() : std::string("true or false");
}

MapConfigSection DaemonConfig::section_for(const ExportInfo& plugin_export) const {
  std::vector<plugin::OptionSpec> specs;
  std::map<std::string, std::string, std::less<>> values;
  for (const auto& o : plugin_export.options) {
    specs.push_back({o.key.c_str(), o.default_value ? o.default_value->c_str() : nullptr, o.help.c_str()});
    // Only values a source set: the defaults come from the export's own specs.
    if (const ConfigValue* v = value(plugin_export.section + "." + o.key);
        v != nullptr && v->origin.kind != ConfigOrigin::Kind::kDefault)
      values[o.key] = v->value;
  }
  return MapConfigSection::with_defaults(plugin_export.section, specs, values);
}

std::string DaemonConfig::to_ini() const {
  std::ostringstream out;
  out << "# Effective skiffd configuration; the comment after each value says where it came from.\n";
  out << "# Config file: " << (config_file ? config_file->string() : std::string("none")) << "\n";
  auto line = [&](std::string_view key, std::string_view short_key) {
    const ConfigValue* v = value(key);
    if (v == nullptr) {
      out << "# " << short_key << " =  # not set, no default\n";
      return;
    }
    out << short_key << " = " << v->value << "  # " << v->origin.describe() << "\n";
  };
  // Top-level keys first: in INI everything after a [section] header belongs to it.
  std::map<std::string, std::vector<std::string>> kernel_sections;
  for (const auto& k : kernel_keys_) {
    auto dot = k.rfind('.');
    if (dot == std::string::npos) line(k, k);
    else kernel_sections[k.substr(0, dot)].push_back(k);
  }
  for (const auto& [section, keys] : kernel_sections) {
    out << "\n[" << section << "]\n";
    for (const auto& k : keys) line(k, std::string_view(k).substr(section.size() + 1));
  }
  std::vector<const ExportInfo*> exports;
  for (const auto& e : plugin_exports_) exports.push_back(&e);
  std::sort(exports.begin(), exports.end(), [](const ExportInfo* a, const ExportInfo* b) { return a->section < b->section; });
  for (const ExportInfo* e : exports) {
    out << "\n# " << e->role << " '" << e->name << "' from plugin " << e->plugin << " " << e->plugin_version << " ("
        << e->file << ")\n";
    out << "[" << e->section << "]\n";
    if (e->options.empty()) out << "# (no options)\n";
    for (const auto& o : e->options) line(e->section + "." + o.key, o.key);
  }
  return out.str();
}

std::string DaemonConfig::help_text(const std::vector<ExportInfo>& plugin_exports,
                                    const std::vector<ComponentOption>& component_options) {
  constexpr unsigned kWidth = 110;
  std::ostringstream out;
  out << kUsage << "\n";
  po::options_description general("General", kWidth, kWidth / 2);
  add_switches(general);
  po::options_description kernel("Kernel", kWidth, kWidth / 2);
  for (const auto& k : kKernelKeys) {
    std::string help = std::string(k.help) + " Default: ";
    help += k.key == "plugin-dir" ? std::string("<skiffd's dir>/../plugins, else <skiffd's dir>/../" SKIFF_PLUGIN_INSTALL_DIR ", else /usr/" SKIFF_PLUGIN_INSTALL_DIR)
                                  : kernel_default(k.key, {});
    help += ". Env: " + env_name_for_key(k.key) + ".";
    kernel.add_options()(std::string(k.key).c_str(), po::value<std::string>()->value_name("VALUE"), help.c_str());
  }
  for (const auto& c : component_options) {
    std::string help = sentence(c.help);
    if (!help.empty()) help += ' ';
    help += "Default: " + (c.default_value.empty() ? std::string("\"\"") : c.default_value) + ". Env: " +
            env_name_for_key(c.key) + ".";
    kernel.add_options()(c.key.c_str(), po::value<std::string>()->value_name("VALUE"), help.c_str());
  }
  out << general << "\n" << kernel;
  std::vector<const ExportInfo*> exports;
  for (const auto& e : plugin_exports) exports.push_back(&e);
  std::sort(exports.begin(), exports.end(), [](const ExportInfo* a, const ExportInfo* b) { return a->section < b->section; });
  for (const ExportInfo* e : exports) {
    std::string caption = "[" + e->section + "] " + e->role + " '" + e->name + "' from plugin " + e->plugin + " " +
                          e->plugin_version;
    if (!e->description.empty()) caption += ": " + e->description;
    po::options_description group(caption, kWidth, kWidth / 2);
    for (const auto& o : e->options) {
      std::string key = e->section + "." + o.key;
      std::string help = sentence(o.help);
      if (!help.empty()) help += ' ';
      help += o.default_value ? "Default: " + (o.default_value->empty() ? std::string("\"\"") : *o.default_value) + "."
                              : std::string("No default.");
      help += " Env: " + env_name_for_key(key) + ".";
      group.add_options()(key.c_str(), po::value<std::string>()->value_name("VALUE"), help.c_str());
    }
    out << "\n" << group;
    if (e->options.empty()) out << "  (no options)\n";
  }
  if (exports.empty()) out << "\nNo plugins loaded (see --plugin-dir).\n";
  return out.str();
}

}  // namespace skiff::kernel
