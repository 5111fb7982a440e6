// skiff: the command line for a Skiff cluster. It talks HTTP(S) to skiffd's Kubernetes API with the
// kubeconfig (KUBECONFIG, ~/.kube/config or --kubeconfig), like kubectl, and adds what kubectl lacks:
// `cluster status` and `plugins`. Exit codes: 0 ok, 1 a failure or the server's error, 2 a bad command
// line. Commands live in cli/skiff/cmd_*.cpp; this file only finds the command and reports errors.
#include <iostream>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "kernel/config/daemon_config.hpp"

namespace {

using skiff::cli::Args;
using skiff::cli::Context;

struct CommandEntry {
  const char* name;
  const char* summary;
  int (*run)(Context&, const Args&);
};

const std::vector<CommandEntry>& command_table() {
  static const std::vector<CommandEntry> kCommands = {
      {"apply", "Create or update objects from manifests (server-side apply): -f FILE|DIR|-", skiff::cli::cmd_apply},
      {"get", "Show objects as a table, or as json, yaml or names; -w follows changes", skiff::cli::cmd_get},
      {"describe", "Show objects in detail, with their conditions and events", skiff::cli::cmd_describe},
      {"delete", "Delete objects by name, selector or manifest, and wait until they are gone", skiff::cli::cmd_delete},
      {"logs", "Print a container's log", skiff::cli::cmd_logs},
      {"scale", "Set a workload's number of replicas", skiff::cli::cmd_scale},
      {"rollout", "status | history | undo | restart of a deployment", skiff::cli::cmd_rollout},
      {"cluster", "status: the health of each component of the cluster", skiff::cli::cmd_cluster},
      {"image", "import | ls | rm: the node's OCI image store (what the runc runtime runs)", skiff::cli::cmd_image},
      {"plugins", "The loaded plugins per role, with version and ABI", skiff::cli::cmd_plugins},
      {"version", "skiff's version and plugin ABI", skiff::cli::cmd_version},
  };
  return kCommands;
}

void print_usage(std::ostream& out) {
  out << "Usage: skiff COMMAND [options]\n\nCommands:\n";
  for (const auto& c : command_table()) {
    std::string name = c.name;
    out << "  " << name << std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') << c.summary << "\n";
  }
  out << "\n`skiff COMMAND --help` lists a command's options. Every command accepts the global options\n"
         "--kubeconfig, --context, -n/--namespace, -s/--server, --token, --insecure-skip-tls-verify and\n"
         "--request-timeout. Exit codes: 0 ok, 1 failure (the server's message is printed), 2 bad command line.\n";
}

bool asks_for_help(const Args& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  namespace cli = skiff::cli;
  std::string command;
  try {
    auto inputs = skiff::kernel::ConfigInputs::from_process(argc, argv, envp);
    Context ctx(inputs.exe);
    Args args = inputs.args;
    std::size_t at = cli::first_positional(args);
    if (at == args.size()) {
      if (asks_for_help(args)) {
        print_usage(std::cout);
        return cli::kExitOk;
      }
      for (const auto& a : args)
        if (a == "--version") return cli::cmd_version(ctx, {});
      throw cli::UsageError("", "no command given");
    }
    command = args[at];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(at));
    if (command == "help") {
      std::size_t topic = cli::first_positional(args);
      if (topic == args.size()) {
        print_usage(std::cout);
        return cli::kExitOk;
      }
      command = args[topic];
      args = {"--help"};
    }
    for (const auto& c : command_table())
      if (command == c.name) return c.run(ctx, args);
    throw cli::UsageError("", "unknown command \"" + command + "\"");
  } catch (const cli::UsageError& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (e.command().empty()) {
      std::cerr << "\n";
      print_usage(std::cerr);
    } else {
      std::cerr << "See 'skiff " << e.command() << " --help' for usage.\n";
    }
    return cli::kExitUsage;
  } catch (const cli::ApiError& e) {
    std::cerr << e.display() << "\n";
    return cli::kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return cli::kExitFailure;
  }
}
