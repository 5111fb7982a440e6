#include "cli/skiff/command.hpp"

#include <cstdlib>
#include <iostream>
#include <regex>

#include "cli/skiff/errors.hpp"

namespace skiff::cli {

po::options_description global_options(GlobalOptions& into) {
  po::options_description g("Global options", 110, 60);
  auto& c = into.connection;
  g.add_options()  //
      ("kubeconfig", po::value(&c.kubeconfig)->value_name("FILE"),
       "The kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config).")                                        //
      ("context", po::value(&c.context)->value_name("NAME"), "The kubeconfig context to use.")                      //
      ("namespace,n", po::value(&c.ns)->value_name("NS"), "The namespace (default: the context's, else default).")  //
      ("server,s", po::value(&c.server)->value_name("URL"),
       "The API server's address, instead of the kubeconfig's.")                                             //
      ("token", po::value(&c.token)->value_name("TOKEN"), "The bearer token, instead of the kubeconfig's.")  //
      ("insecure-skip-tls-verify", po::bool_switch(&c.insecure),
       "Do not verify the server's certificate (insecure).")  //
      ("request-timeout", po::value(&into.request_timeout)->value_name("DURATION")->default_value("60s"),
       "How long to wait for the answer to one request (0: no limit).");
  return g;
}

std::size_t first_positional(const std::vector<std::string>& args) {
  GlobalOptions scratch;
  po::options_description globals = global_options(scratch);
  auto takes_value = [&](const std::string& name) {
    const po::option_description* d = globals.find_nothrow(name, false);
    return d != nullptr && d->semantic()->max_tokens() > 0;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return i + 1 < args.size() ? i + 1 : args.size();
    if (a.rfind("--", 0) == 0) {
      if (a.find('=') == std::string::npos && takes_value(a.substr(2))) ++i;
    } else if (a.size() >= 2 && a[0] == '-') {
      if (a.size() == 2 && takes_value(a)) ++i;  // Boost names short options "-n"
    } else {
      return i;
    }
  }
  return args.size();
}

std::optional<std::pair<std::string, std::vector<std::string>>> split_subcommand(const std::string& command,
                                                                                 const std::vector<std::string>& args,
                                                                                 const char* usage,
                                                                                 const std::string& choices) {
  std::size_t at = first_positional(args);
  if (at == args.size()) {
    for (const auto& a : args) {
      if (a == "--help" || a == "-h") {
        std::cout << usage;
        return std::nullopt;
      }
    }
    throw UsageError(command, "a subcommand is required: " + choices);
  }
  std::vector<std::string> rest = args;
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(at));
  return std::make_pair(args[at], std::move(rest));
}

// ------------------------------------------------------------------------------------------------

bool Context::has_cluster_config() {
  if (cluster_) return true;
  if (!globals_.connection.server.empty() || !globals_.connection.kubeconfig.empty()) return true;
  auto files = kubeconfig_files(globals_.connection, std::getenv("KUBECONFIG"), std::getenv("HOME"));
  for (const auto& p : files.paths) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) return true;
  }
  return false;
}

const ClusterConfig& Context::cluster() {
  if (!cluster_) {
    auto files = kubeconfig_files(globals_.connection, std::getenv("KUBECONFIG"), std::getenv("HOME"));
    cluster_ = resolve_cluster(load_kubeconfig(files), globals_.connection);
  }
  return *cluster_;
}

Api& Context::api() {
  if (!api_) {
    auto timeout = parse_duration("skiff", "--request-timeout", globals_.request_timeout);
    http_ = std::make_unique<HttpClient>(cluster(), timeout);
    api_ = std::make_unique<Api>(*http_);
  }
  return *api_;
}

Discovery& Context::discovery() {
  if (!discovery_) discovery_ = std::make_unique<Discovery>(api());
  return *discovery_;
}

// ------------------------------------------------------------------------------------------------

CommandLine::CommandLine(Context& ctx, std::string name, std::string usage, std::string description)
    : ctx_(ctx),
      name_(std::move(name)),
      usage_(std::move(usage)),
      description_(std::move(description)),
      options_("Options", 110, 60) {
  options_.add_options()("help,h", "Print this help.");
}

bool CommandLine::parse(const std::vector<std::string>& args) {
  po::options_description hidden;
  hidden.add_options()("args", po::value(&positionals_)->composing());
  po::options_description globals = global_options(ctx_.globals());
  po::options_description all;
  all.add(options_).add(globals).add(hidden);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args)
                  .options(all)
                  .positional(positional)
                  .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    if (vm.count("help")) {
      std::cout << "Usage: skiff " << usage_ << "\n\n" << description_ << "\n\n" << options_ << "\n" << globals;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(name_, e.what());
  }
  // Validate the shared duration now, so that a bad value is a usage error before anything is sent.
  parse_duration(name_, "--request-timeout", ctx_.globals().request_timeout);
  return true;
}

void CommandLine::expect_positionals(std::size_t min, std::size_t max, const std::string& what) const {
  if (positionals_.size() < min || positionals_.size() > max) usage_error(what);
}

void CommandLine::usage_error(const std::string& message) const { throw UsageError(name_, message); }

// ------------------------------------------------------------------------------------------------

std::chrono::milliseconds parse_duration(const std::string& command, const std::string& option,
                                         const std::string& text) {
  static const std::regex kNumber(R"(\d+)");
  static const std::regex kParts(R"((\d+(?:\.\d+)?)(ms|s|m|h))");
  if (std::regex_match(text, kNumber)) return std::chrono::seconds(std::stoll(text));
  double total_ms = 0;
  std::size_t consumed = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kParts); it != std::sregex_iterator(); ++it) {
    if (static_cast<std::size_t>(it->position()) != consumed) break;
    consumed += static_cast<std::size_t>(it->length());
    double v = std::stod((*it)[1]);
    std::string unit = (*it)[2];
    total_ms += v * (unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 3600000);
  }
  if (text.empty() || consumed != text.size())
    throw UsageError(command, option + ": \"" + text + "\" is not a duration (for example 30s, 5m, 1h, 250ms)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms));
}

std::optional<std::chrono::steady_clock::time_point> deadline_after(std::chrono::milliseconds limit) {
  if (limit.count() <= 0) return std::nullopt;
  return std::chrono::steady_clock::now() + limit;
}

void progress(const std::string& line) { std::cerr << line << std::endl; }

ResourceArgs parse_resource_args(CommandLine& cl, Discovery& discovery, const std::vector<std::string>& args) {
  ResourceArgs out;
  if (args.empty()) cl.usage_error("you must specify the type of resource");
  auto item_for = [&](const ResourceInfo* type) -> ResourceArgs::Item& {
    for (auto& i : out.items)
      if (i.type == type) return i;
    out.items.push_back({type, {}});
    return out.items.back();
  };
  bool slash_form = args.front().find('/') != std::string::npos;
  if (slash_form) {
    for (const auto& a : args) {
      auto slash = a.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == a.size()) {
        cl.usage_error("arguments in resource/name form must have a single resource and name, not \"" + a +
                       "\" (use TYPE/NAME for every argument, or TYPE NAME...)");
      }
      item_for(&discovery.resolve(a.substr(0, slash))).names.push_back(a.substr(slash + 1));
    }
  } else {
    const std::string& types = args.front();
    std::size_t start = 0;
    while (start <= types.size()) {
      auto comma = types.find(',', start);
      std::string t = types.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!t.empty()) {
        if (t == "all") {
          for (const ResourceInfo* r : discovery.category("all")) item_for(r);
          out.several_types = true;
        } else {
          item_for(&discovery.resolve(t));
        }
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (out.items.empty()) cl.usage_error("you must specify the type of resource");
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i].find('/') != std::string::npos) {
        cl.usage_error(
            "there is no need to specify a resource type as a separate argument when passing arguments "
            "in resource/name form (\"" +
            args[i] + "\")");
      }
      for (auto& item : out.items) item.names.push_back(args[i]);
    }
  }
  out.several_types = out.several_types || out.items.size() > 1;
  return out;
}

std::string query(std::initializer_list<std::pair<std::string, std::string>> params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + k + "=" + url_encode(v);
  }
  return q;
}

}  // namespace skiff::cli
