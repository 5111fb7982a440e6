// skiff plugins: what the cluster's skiffd loaded (GET /skiff/v1/plugins), or — with --plugin-dir or
// without any cluster configured — what this skiff's loader finds in a directory. And skiff version.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "cli/skiff/output.hpp"
#include "kernel/config/daemon_config.hpp"
#include "kernel/plugins/loader.hpp"
#include "skiff/plugin/abi.hpp"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "dev"
#endif

namespace skiff::cli {

namespace {

std::string basename_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

Json abi_json() {
  return {{"major", plugin::kAbiMajor}, {"minor", plugin::kAbiMinor}, {"tag", std::string(plugin::kAbiTag)}};
}

// The `-o json` document of local mode (stable for scripts; see README).
Json local_listing(const std::string& dir, const kernel::PluginLoader& loader) {
  Json out;
  out["plugin_dir"] = dir;
  out["abi"] = abi_json();
  out["plugins"] = Json::array();
  for (const auto& p : loader.plugins()) {
    Json jp = {{"file", p.file},
               {"name", p.name},
               {"version", p.version},
               {"abi", {{"major", p.abi_major}, {"minor", p.abi_minor}, {"tag", p.abi_tag}}}};
    jp["exports"] = Json::array();
    for (const auto& e : p.exports) {
      Json je = {{"role", e.role}, {"name", e.name}, {"description", e.description}, {"section", e.section}};
      je["options"] = Json::array();
      for (const auto& o : e.options) {
        je["options"].push_back(
            {{"key", o.key}, {"help", o.help}, {"default", o.default_value ? Json(*o.default_value) : Json()}});
      }
      jp["exports"].push_back(std::move(je));
    }
    out["plugins"].push_back(std::move(jp));
  }
  out["roles"] = Json::object();
  for (const auto& p : loader.plugins())
    for (const auto& e : p.exports) out["roles"][e.role].push_back(e.name);
  out["refused"] = Json::array();
  for (const auto& r : loader.refusals()) {
    out["refused"].push_back({{"file", r.file},
                              {"plugin", r.plugin},
                              {"reason", std::string(kernel::refusal_reason_name(r.reason))},
                              {"message", r.detail}});
  }
  return out;
}

// One row per export, sorted by role and name: ROLE NAME PLUGIN VERSION ABI SECTION FILE.
void print_listing(const std::string& title, const Json& listing) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : at(listing, {"plugins"})) {
    const Json& abi = at(p, {"abi"});
    std::string abi_text = abi.is_string()
                               ? abi.get<std::string>()
                               : std::to_string(num(abi, {"major"})) + "." + std::to_string(num(abi, {"minor"}));
    for (const auto& e : at(p, {"exports"})) {
      rows.push_back({str(e, {"role"}), str(e, {"name"}), str(p, {"name"}), str(p, {"version"}), abi_text,
                      str(e, {"section"}), basename_of(str(p, {"file"}))});
    }
  }
  std::sort(rows.begin(), rows.end());
  std::cout << title << "\n\n";
  if (rows.empty()) {
    std::cout << "No loadable plugins.\n";
  } else {
    rows.insert(rows.begin(), {"ROLE", "NAME", "PLUGIN", "VERSION", "ABI", "SECTION", "FILE"});
    std::cout << format_columns(rows);
  }
  const Json& refused = at(listing, {"refused"});
  if (refused.is_array() && !refused.empty()) {
    // The local loader also says why in one word; the server's listing has the message only.
    bool reasons =
        std::any_of(refused.begin(), refused.end(), [](const Json& x) { return !str(x, {"reason"}).empty(); });
    std::vector<std::vector<std::string>> r = {reasons ? std::vector<std::string>{"FILE", "REASON", "MESSAGE"}
                                                       : std::vector<std::string>{"FILE", "MESSAGE"}};
    for (const auto& x : refused) {
      if (reasons) {
        r.push_back({basename_of(str(x, {"file"})), str(x, {"reason"}), str(x, {"message"})});
      } else {
        r.push_back({basename_of(str(x, {"file"})), str(x, {"message"})});
      }
    }
    std::cout << "\nRefused:\n" << format_columns(r);
  }
}

}  // namespace

int cmd_version(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "version", "version [-o json|yaml]", "Print skiff's version and the plugin ABI it speaks.");
  std::string output;
  cl.add()("output,o", po::value(&output)->value_name("FORMAT"), "json or yaml.");
  if (!cl.parse(args)) return kExitOk;
  if (!cl.positionals().empty()) cl.usage_error("version takes no arguments");
  Format format = parse_format("version", output, {"json", "yaml"});
  Json v = {{"version", SKIFF_VERSION}, {"abi", abi_json()}};
  if (format == Format::kJson) std::cout << json_text(v);
  if (format == Format::kYaml) std::cout << yaml_text(v);
  if (format == Format::kDefault) {
    std::cout << "skiff " << SKIFF_VERSION << "\nplugin ABI " << plugin::kAbiMajor << "." << plugin::kAbiMinor << " ("
              << plugin::kAbiTag << ")\n";
  }
  return kExitOk;
}

int cmd_plugins(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "plugins", "plugins [--plugin-dir DIR | --local] [-o json|yaml] [options]",
                 "List plugins per role with their version and ABI, and the files that were refused.\n"
                 "With a cluster configured (kubeconfig or --server): what its skiffd loaded (GET /skiff/v1/plugins).\n"
                 "With --plugin-dir DIR or --local, or without any cluster configured: what this skiff's loader finds\n"
                 "in DIR (default $SKIFF_PLUGIN_DIR, else <skiff's dir>/../plugins or ../lib/skiff/plugins, else /usr/lib/skiff/plugins);\n"
                 "nothing is created and no daemon is contacted.");
  std::string dir, output;
  bool local = false;
  cl.add()                                                                                         //
      ("plugin-dir", po::value(&dir)->value_name("DIR"), "List the plugins in this directory.")    //
      ("local", po::bool_switch(&local), "List the default plugin directory, not the cluster's.")  //
      ("output,o", po::value(&output)->value_name("FORMAT"), "json or yaml.");
  if (!cl.parse(args)) return kExitOk;
  if (!cl.positionals().empty()) cl.usage_error("plugins takes no arguments");
  Format format = parse_format("plugins", output, {"json", "yaml"});

  if (dir.empty() && !local && ctx.has_cluster_config()) {
    Json listing;
    try {
      listing = ctx.api().get("/skiff/v1/plugins");
    } catch (const Unreachable& e) {
      throw Unreachable(std::string(e.what()) + " (--plugin-dir DIR or --local lists a plugin directory instead)");
    }
    Json roles = Json::object();
    for (const auto& p : at(listing, {"plugins"}))
      for (const auto& e : at(p, {"exports"})) roles[str(e, {"role"})].push_back(str(e, {"name"}));
    listing["roles"] = roles;
    listing["server"] = ctx.api().http().server();
    if (format == Format::kJson) std::cout << json_text(listing);
    if (format == Format::kYaml) std::cout << yaml_text(listing);
    if (format == Format::kDefault) print_listing("Plugins loaded by skiffd at " + ctx.api().http().server(), listing);
    return kExitOk;
  }

  if (dir.empty()) {
    const char* env = std::getenv("SKIFF_PLUGIN_DIR");
    dir = env != nullptr && *env != '\0' ? std::string(env) : kernel::default_plugin_dir(ctx.exe()).string();
  }
  kernel::PluginLoader loader;  // no logger: refusals are part of the output
  if (auto status = loader.load_directory(dir); !status.is_ok()) throw Failure(status.message());
  Json listing = local_listing(dir, loader);
  if (format == Format::kJson) std::cout << json_text(listing);
  if (format == Format::kYaml) std::cout << yaml_text(listing);
  if (format == Format::kDefault) {
    print_listing("Plugins in " + dir + " (this skiff speaks plugin ABI " + std::to_string(plugin::kAbiMajor) + "." +
                      std::to_string(plugin::kAbiMinor) + ")",
                  listing);
  }
  return kExitOk;
}

}  // namespace skiff::cli
