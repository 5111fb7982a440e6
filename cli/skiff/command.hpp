// What every skiff command shares: the global flags, the lazily built connection to the cluster
// (kubeconfig → HTTP client → discovery), Boost.Program_options parsing with --help, durations and
// progress lines.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/skiff/api.hpp"
#include "cli/skiff/client.hpp"
#include "cli/skiff/discovery.hpp"
#include "cli/skiff/kubeconfig.hpp"

namespace skiff::cli {

namespace po = boost::program_options;

struct GlobalOptions {
  ConnectionOverrides connection;
  std::string request_timeout = "60s";
};

// The flags every command accepts, anywhere on the line (as kubectl's persistent flags).
po::options_description global_options(GlobalOptions& into);

// Where the command (or a subcommand such as `rollout status`) is among `args`: the first argument
// that is neither a flag nor the value of a global flag ("-n NS"). args.size() when there is none.
std::size_t first_positional(const std::vector<std::string>& args);

// For commands with subcommands (rollout, cluster): the subcommand and the remaining arguments, or
// nullopt once `usage` was printed for --help. Throws UsageError when there is no subcommand.
std::optional<std::pair<std::string, std::vector<std::string>>> split_subcommand(const std::string& command,
                                                                                 const std::vector<std::string>& args,
                                                                                 const char* usage,
                                                                                 const std::string& choices);

class Context {
 public:
  explicit Context(std::filesystem::path exe) : exe_(std::move(exe)) {}
  GlobalOptions& globals() { return globals_; }
  const std::filesystem::path& exe() const { return exe_; }

  // Resolved on first use; each throws Failure when there is no usable kubeconfig.
  const ClusterConfig& cluster();
  Api& api();
  Discovery& discovery();
  // The namespace for namespaced objects: -n, else the context's, else "default".
  const std::string& ns() { return cluster().ns; }
  // Whether any kubeconfig (or --server) is there to use, without failing.
  bool has_cluster_config();

 private:
  std::filesystem::path exe_;
  GlobalOptions globals_;
  std::optional<ClusterConfig> cluster_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Discovery> discovery_;
};

// One command's options plus the global ones. parse() prints the help and returns false for --help;
// a bad flag or value throws UsageError (exit 2).
class CommandLine {
 public:
  CommandLine(Context& ctx, std::string name, std::string usage, std::string description);
  po::options_description_easy_init add() { return options_.add_options(); }
  bool parse(const std::vector<std::string>& args);
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Throws UsageError unless there are between min and max positional arguments.
  void expect_positionals(std::size_t min, std::size_t max, const std::string& what) const;
  [[noreturn]] void usage_error(const std::string& message) const;
  const std::string& name() const { return name_; }

 private:
  Context& ctx_;
  std::string name_;
  std::string usage_;
  std::string description_;
  po::options_description options_;
  std::vector<std::string> positionals_;
};

// "30s", "5m", "1h30m", "250ms", or a bare number of seconds. "0" means no limit. Throws UsageError.
std::chrono::milliseconds parse_duration(const std::string& command, const std::string& option,
                                         const std::string& text);

// A deadline `limit` from now, or none for a zero limit.
std::optional<std::chrono::steady_clock::time_point> deadline_after(std::chrono::milliseconds limit);

// A progress line on stderr, for waits (stdout stays parseable).
void progress(const std::string& line);

// The command's resource arguments: "TYPE NAME…", "TYPE1,TYPE2 [NAME…]" or "TYPE/NAME…".
struct ResourceArgs {
  struct Item {
    const ResourceInfo* type = nullptr;
    std::vector<std::string> names;  // empty: every object of the type
  };
  std::vector<Item> items;
  bool several_types = false;
};
ResourceArgs parse_resource_args(CommandLine& cl, Discovery& discovery, const std::vector<std::string>& args);

// Query string from (key, value) pairs with empty values left out: "?a=b&c=d" or "".
std::string query(std::initializer_list<std::pair<std::string, std::string>> params);

}  // namespace skiff::cli
