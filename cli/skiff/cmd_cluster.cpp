// skiff cluster status: the server's verbose health checks (/livez, /readyz) as one table, with its
// version and the store's revision.
#include <iostream>

#include "cli/skiff/cluster_health.hpp"
#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "cli/skiff/output.hpp"

namespace skiff::cli {

int cmd_cluster(Context& ctx, const Args& args) {
  static const char* kUsage =
      "Usage: skiff cluster status [-o json|yaml] [options]\n\n"
      "Subcommands:\n"
      "  status   The API server's health checks (/livez and /readyz), its version and the store revision.\n"
      "           Exits 1 when a check fails or the server cannot be reached.\n";
  auto sub = split_subcommand("cluster", args, kUsage, "status");
  if (!sub) return kExitOk;
  if (sub->first != "status") throw UsageError("cluster", "unknown subcommand \"" + sub->first + "\" (status)");
  const Args& rest = sub->second;

  CommandLine cl(ctx, "cluster status", "cluster status [-o json|yaml] [options]",
                 "Show each health check of the API server (from /livez?verbose and /readyz?verbose), the server\n"
                 "version and the store's current revision. Exits 1 when a check fails or the server cannot be\n"
                 "reached.");
  std::string output;
  cl.add()("output,o", po::value(&output)->value_name("FORMAT"), "json or yaml.");
  if (!cl.parse(rest)) return kExitOk;
  if (!cl.positionals().empty()) cl.usage_error("unexpected argument \"" + cl.positionals().front() + "\"");
  Format format = parse_format(cl.name(), output, {"json", "yaml"});

  HttpClient& http = ctx.api().http();
  Json version = Json::parse(http.request("GET", "/version").body, nullptr, false);
  HttpReply live = http.request("GET", "/livez?verbose", {}, {}, "text/plain");
  HttpReply ready = http.request("GET", "/readyz?verbose", {}, {}, "text/plain");
  std::vector<HealthCheck> checks;
  parse_health("livez", live.body, checks);
  parse_health("readyz", ready.body, checks);
  bool is_live = live.status == 200, is_ready = ready.status == 200;
  // A failing endpoint that names no check (a proxy's error page, say) still shows as a row.
  if (!is_live && checks.empty()) checks.push_back({"livez", false, "HTTP " + std::to_string(live.status), {"livez"}});
  if (!is_ready && checks.empty())
    checks.push_back({"readyz", false, "HTTP " + std::to_string(ready.status), {"readyz"}});

  // The store's revision is the resourceVersion any list reports.
  std::string revision;
  try {
    revision = str(ctx.api().get("/api/v1/namespaces?limit=1"), {"metadata", "resourceVersion"});
  } catch (const ApiError& e) {
    revision = "unknown (" + e.display() + ")";
  }
  std::string kube_version = version.is_object() ? str(version, {"gitVersion"}) : "unknown";
  std::string skiff_version = version.is_object() ? str(version, {"gitCommit"}) : "";

  if (format != Format::kDefault) {
    Json out = {{"server", http.server()},
                {"context", ctx.cluster().context},
                {"version", version.is_object() ? version : Json()},
                {"storeRevision", revision},
                {"live", is_live},
                {"ready", is_ready},
                {"checks", Json::array()}};
    for (const auto& c : checks) {
      out["checks"].push_back(
          {{"name", c.name}, {"status", c.ok ? "ok" : "failed"}, {"message", c.message}, {"probes", c.probes}});
    }
    std::cout << (format == Format::kJson ? json_text(out) : yaml_text(out));
  } else {
    std::vector<std::vector<std::string>> head = {
        {"Server:", http.server() + (ctx.cluster().context.empty() ? "" : " (context " + ctx.cluster().context + ")")},
        {"Version:", kube_version + (skiff_version.empty() ? "" : " (" + skiff_version + ")")},
        {"Store revision:", revision},
        {"Live:", is_live ? "yes" : "no"},
        {"Ready:", is_ready ? "yes" : "no"}};
    std::cout << format_columns(head) << "\n";
    std::vector<std::vector<std::string>> rows = {{"COMPONENT", "STATUS", "MESSAGE"}};
    for (const auto& c : checks) rows.push_back({c.name, c.ok ? "ok" : "failed", c.message});
    std::cout << format_columns(rows);
  }
  bool all_ok = is_live && is_ready;
  for (const auto& c : checks) all_ok = all_ok && c.ok;
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace skiff::cli
