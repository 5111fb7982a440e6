// skiffd: parse the configuration (loading plugins first, since they declare config keys), then run
// the daemon until SIGINT/SIGTERM. Exit codes: 0 ok, 1 runtime failure, 2 configuration error.
// `skiffd agent --server URL --token TOKEN …` runs only the node agent against a remote API server.
#include <signal.h>

#include <iostream>
#include <memory>

#include "agent/component.hpp"
#include "kernel/api/component.hpp"
#include "kernel/config/daemon_config.hpp"
#include "kernel/daemon/daemon.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/plugins/loader.hpp"
#include "kernel/reconcile/component.hpp"
#include "kernel/scheduler/component.hpp"
#include "proxy/component.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

int config_error(const skiff::plugin::Status& status) {
  std::cerr << "skiffd: config error: " << status.message() << "\n";
  return kExitConfig;
}

// `skiffd agent --server URL --token TOKEN [--ca-file F] [--node-name N] [other flags]`: the short
// flags become the agent.* keys they stand for; every other flag is skiffd's own.
std::vector<std::string> agent_args(const std::vector<std::string>& args) {
  static const std::vector<std::pair<std::string, std::string>> kShort = {
      {"--server", "--agent.server"}, {"--token", "--agent.token"}, {"--ca-file", "--agent.ca-file"},
      {"--node-name", "--agent.node-name"}};
  std::vector<std::string> out;
  for (const auto& arg : args) {
    std::string translated = arg;
    for (const auto& [from, to] : kShort) {
      if (arg == from) translated = to;
      else if (arg.rfind(from + "=", 0) == 0) translated = to + arg.substr(from.size());
    }
    out.push_back(translated);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  using namespace skiff::kernel;
  // Before any thread exists, so that Daemon::run() is where these signals arrive.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A daemon must not die silently because a peer closed a pipe or socket it was writing to (a
  // subprocess that exited early, a library writing without MSG_NOSIGNAL): such a write fails with
  // EPIPE and its caller reports it. The runc and proxy plugins ignored it for themselves already.
  ::signal(SIGPIPE, SIG_IGN);

  try {
    ConfigInputs inputs = ConfigInputs::from_process(argc, argv, envp);
    // `skiffd agent …`: only the node agent, joined to a remote API server.
    const bool agent_mode = !inputs.args.empty() && inputs.args.front() == "agent";
    if (agent_mode) inputs.args = agent_args({inputs.args.begin() + 1, inputs.args.end()});
    auto boot = bootstrap_options(inputs);
    if (!boot) return config_error(boot.status());
    if (boot->version) {
      std::cout << "skiffd " << SKIFF_VERSION << "\nplugin ABI " << skiff::plugin::kAbiMajor << "."
                << skiff::plugin::kAbiMinor << " (" << skiff::plugin::kAbiTag << ")\n";
      return kExitOk;
    }

    // Keys the kernel's components declare, beside the kernel's own and the plugins'.
    std::vector<ComponentOption> component_options = skiff::kernel::api::api_server_options();
    for (auto& o : skiff::kernel::scheduler::scheduler_options()) component_options.push_back(std::move(o));
    for (auto& option : skiff::agent::agent_options()) component_options.push_back(std::move(option));
    for (auto& option : skiff::proxy::proxy_options()) component_options.push_back(std::move(option));

    // The loader's logger outlives the daemon, which keeps using the loader.
    StructuredLogger plugin_log("skiffd");
    auto plugins = std::make_unique<PluginLoader>(&plugin_log);
    if (auto s = plugins->load_directory(boot->plugin_dir); !s.is_ok())
      plugin_log.warn("no plugins loaded", {{"plugin_dir", boot->plugin_dir.string()}, {"error", s.message()}});

    if (boot->help) {
      std::cout << DaemonConfig::help_text(plugins->exports(), component_options);
      auto refused = plugins->refusals();
      if (!refused.empty()) {
        std::cout << "\nRefused plugins (their options are not listed):\n";
        for (const auto& r : refused) std::cout << "  " << r.message() << "\n";
      }
      return kExitOk;
    }

    auto config = DaemonConfig::parse(inputs, plugins->exports(), component_options);
    if (!config) return config_error(config.status());
    if (boot->print_config) {
      std::cout << config->to_ini();
      return kExitOk;
    }
    if (agent_mode) {
      for (const char* key : {"agent.server", "agent.token", "agent.runtime"}) {
        const ConfigValue* v = config->value(key);
        if (v == nullptr || v->value.empty())
          return config_error(skiff::plugin::invalid(std::string("skiffd agent needs ") + key +
                                                     " (skiffd agent --server URL --token TOKEN --agent.runtime=NAME)"));
      }
    }
    plugin_log.set_level(config->log_level);
    Daemon daemon(std::move(config).value(), std::move(plugins), SKIFF_VERSION);
    if (agent_mode) {
      // No store and no API server of its own: the agent (and its runtime plugin) and nothing else.
      daemon.without_store();
      daemon.add_component(skiff::agent::agent_component());
      int code = daemon.run();
      return code == 0 ? kExitOk : code == kExitConfig ? kExitConfig : kExitRuntime;
    }
    daemon.add_component(skiff::kernel::api::api_server_component());
    daemon.add_component(skiff::kernel::controllers_component());
    daemon.add_component(skiff::kernel::scheduler::scheduler_component());
    daemon.add_component(skiff::agent::agent_component());
    daemon.add_component(skiff::proxy::proxy_component());
    int code = daemon.run();
    return code == 0 ? kExitOk : code == kExitConfig ? kExitConfig : kExitRuntime;
  } catch (const std::exception& e) {
    std::cerr << "skiffd: fatal: " << e.what() << "\n";
    return kExitRuntime;
  }
}
