// skiff: the command line. For now local commands only: `skiff version` and `skiff plugins`, which
// loads the plugin manifests from a directory (nothing is created, no daemon is contacted).
// Exit codes: 0 ok, 1 failure, 2 usage error.
#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "kernel/config/daemon_config.hpp"
#include "kernel/plugins/loader.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace po = boost::program_options;
using skiff::kernel::ExportInfo;
using skiff::kernel::PluginLoader;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "Usage: skiff <command> [options]\n"
    "\n"
    "Commands:\n"
    "  version                                  Print skiff's version and plugin ABI.\n"
    "  plugins [--plugin-dir DIR] [-o table|json]\n"
    "                                           List the plugins in DIR that this skiff can load, per role,\n"
    "                                           and the ones it refuses with the reason. DIR defaults to\n"
    "                                           $SKIFF_PLUGIN_DIR, else <skiff's dir>/../plugins, else\n"
    "                                           /usr/lib/skiff/plugins.\n"
    "  help                                     Print this help.\n";

int usage_error(const std::string& message) {
  std::cerr << "skiff: " << message << "\n\n" << kUsage;
  return kExitUsage;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string basename_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

int cmd_version() {
  std::cout << "skiff " << SKIFF_VERSION << "\nplugin ABI " << skiff::plugin::kAbiMajor << "." << skiff::plugin::kAbiMinor
            << " (" << skiff::plugin::kAbiTag << ")\n";
  return kExitOk;
}

int cmd_plugins(const std::vector<std::string>& args, const std::filesystem::path& exe) {
  std::string dir, output = "table";
  bool help = false;
  po::options_description desc("skiff plugins");
  desc.add_options()("plugin-dir", po::value(&dir)->value_name("DIR"), "Directory of libskiff-*.so plugins.")(
      "output,o", po::value(&output)->value_name("FORMAT"), "table (default) or json.")("help,h", po::bool_switch(&help),
                                                                                         "Print this help.");
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args)
                  .options(desc)
                  .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(std::string("plugins: ") + e.what());
  }
  if (help) {
    std::cout << "Usage: skiff plugins [--plugin-dir DIR] [-o table|json]\n\n" << desc;
    return kExitOk;
  }
  if (output != "table" && output != "json") return usage_error("plugins: -o must be table or json, not '" + output + "'");
  if (dir.empty()) {
    const char* env = std::getenv("SKIFF_PLUGIN_DIR");
    dir = env != nullptr && *env != '\0' ? std::string(env) : skiff::kernel::default_plugin_dir(exe).string();
  }

  PluginLoader loader;  // no logger: refusals are part of the output
  auto status = loader.load_directory(dir);
  if (!status.is_ok()) {
    std::cerr << "skiff: " << status.message() << "\n";
    return kExitFailure;
  }
  auto plugins = loader.plugins();
  auto refusals = loader.refusals();
  std::vector<ExportInfo> exports = loader.exports();
  std::sort(exports.begin(), exports.end(), [](const ExportInfo& a, const ExportInfo& b) {
    return std::tie(a.role, a.name) < std::tie(b.role, b.name);
  });

  if (output == "json") {
    using nlohmann::json;
    json out;
    out["plugin_dir"] = dir;
    out["abi"] = {{"major", skiff::plugin::kAbiMajor}, {"minor", skiff::plugin::kAbiMinor},
                  {"tag", std::string(skiff::plugin::kAbiTag)}};
    out["plugins"] = json::array();
    for (const auto& p : plugins) {
      json jp = {{"file", p.file}, {"name", p.name}, {"version", p.version},
                 {"abi", {{"major", p.abi_major}, {"minor", p.abi_minor}, {"tag", p.abi_tag}}}};
      jp["exports"] = json::array();
      for (const auto& e : p.exports) {
        json je = {{"role", e.role}, {"name", e.name}, {"description", e.description}, {"section", e.section}};
        je["options"] = json::array();
        for (const auto& o : e.options) {
          json jo = {{"key", o.key}, {"help", o.help}};
          jo["default"] = o.default_value ? json(*o.default_value) : json(nullptr);
          je["options"].push_back(std::move(jo));
        }
        jp["exports"].push_back(std::move(je));
      }
      out["plugins"].push_back(std::move(jp));
    }
    out["roles"] = json::object();
    for (const auto& e : exports) out["roles"][e.role].push_back(e.name);
    out["refused"] = json::array();
    for (const auto& r : refusals)
      out["refused"].push_back({{"file", r.file},
                                {"plugin", r.plugin},
                                {"reason", std::string(skiff::kernel::refusal_reason_name(r.reason))},
                                {"message", r.detail}});
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }

  std::cout << "Plugins in " << dir << " (this skiff speaks plugin ABI " << skiff::plugin::kAbiMajor << "."
            << skiff::plugin::kAbiMinor << ")\n\n";
  if (exports.empty()) {
    std::cout << "No loadable plugins.\n";
  } else {
    std::vector<std::vector<std::string>> rows{{"ROLE", "NAME", "PLUGIN", "VERSION", "ABI", "SECTION", "FILE"}};
    for (const auto& e : exports) {
      std::string abi;
      for (const auto& p : plugins)
        if (p.file == e.file) abi = std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
      rows.push_back({e.role, e.name, e.plugin, e.plugin_version, abi, e.section, basename_of(e.file)});
    }
    print_table(rows);
  }
  if (!refusals.empty()) {
    std::cout << "\nRefused:\n";
    std::vector<std::vector<std::string>> rows{{"FILE", "REASON", "DETAIL"}};
    for (const auto& r : refusals)
      rows.push_back({basename_of(r.file), std::string(skiff::kernel::refusal_reason_name(r.reason)), r.detail});
    print_table(rows);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  try {
    auto inputs = skiff::kernel::ConfigInputs::from_process(argc, argv, envp);
    if (inputs.args.empty()) return usage_error("no command given");
    std::string command = inputs.args.front();
    std::vector<std::string> rest(inputs.args.begin() + 1, inputs.args.end());
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (command == "version" || command == "--version") return rest.empty() ? cmd_version() : usage_error("version takes no arguments");
    if (command == "plugins") return cmd_plugins(rest, inputs.exe);
    return usage_error("unknown command '" + command + "'");
  } catch (const std::exception& e) {
    std::cerr << "skiff: " << e.what() << "\n";
    return kExitFailure;
  }
}
