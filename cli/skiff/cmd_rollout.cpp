// skiff scale (the /scale subresource) and skiff rollout status|history|undo|restart.
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "cli/skiff/output.hpp"
#include "cli/skiff/rollout.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::cli {

namespace {

struct Named {
  const ResourceInfo* type;
  std::string name;
};

std::vector<Named> named_targets(CommandLine& cl, Context& ctx, const std::vector<std::string>& args) {
  ResourceArgs resources = parse_resource_args(cl, ctx.discovery(), args);
  std::vector<Named> out;
  for (const auto& item : resources.items) {
    if (item.names.empty()) cl.usage_error("a name is required: TYPE NAME or TYPE/NAME");
    for (const auto& n : item.names) out.push_back({item.type, n});
  }
  return out;
}

const Named& one_deployment(CommandLine& cl, const std::vector<Named>& targets) {
  if (targets.size() != 1) cl.usage_error("exactly one deployment is expected (deployment/NAME)");
  if (targets.front().type->kind != "Deployment") {
    throw Failure("rollout " + cl.name().substr(cl.name().find(' ') + 1) + " is implemented for deployments, not " +
                  targets.front().type->type_name());
  }
  return targets.front();
}

void print_results(Format format, const std::vector<Json>& results) {
  if (format == Format::kJson) std::cout << json_text(one_or_list(results));
  if (format == Format::kYaml) std::cout << yaml_text(one_or_list(results));
}

// ------------------------------------------------------------------------------------------------ status

int rollout_status(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "rollout status", "rollout status deployment/NAME [options]",
                 "Wait until the deployment has rolled out: its controller saw the latest spec, every replica\n"
                 "is updated and the updated ones are available. Prints a line each time the progress changes.");
  std::string timeout = "0";
  bool watch = true;
  cl.add()  //
      ("timeout", po::value(&timeout)->value_name("DURATION")->default_value("0"),
       "Give up after this long (0: never).")  //
      ("watch,w", po::value(&watch)->value_name("BOOL")->default_value(true)->implicit_value(true),
       "Keep watching until done (--watch=false: print the state once).");
  if (!cl.parse(args)) return kExitOk;
  auto targets = named_targets(cl, ctx, cl.positionals());
  const Named& d = one_deployment(cl, targets);
  auto deadline = deadline_after(parse_duration(cl.name(), "--timeout", timeout));
  std::string path = resource_path(*d.type, ctx.ns(), d.name);
  std::string last;
  // Returns true when the rollout is over (done, or failed: then it throws).
  auto judge = [&](const Json& deployment) {
    RolloutState s = deployment_rollout_state(deployment);
    if (s.failed) throw Failure(s.message.substr(0, s.message.size() - 1));
    if (s.message != last) std::cout << s.message << std::flush;
    last = s.message;
    return s.done;
  };
  while (true) {
    Json current = ctx.api().get(path);
    if (judge(current) || !watch) return kExitOk;
    // Changes after the version just judged; the server may end a watch early, then read and watch again.
    std::string target =
        resource_path(*d.type, ctx.ns()) + query({{"watch", "true"},
                                                  {"fieldSelector", "metadata.name=" + d.name},
                                                  {"resourceVersion", str(current, {"metadata", "resourceVersion"})}});
    bool done = false;
    auto watch_started = std::chrono::steady_clock::now();
    auto end = ctx.api().watch(
        target, "application/json",
        [&](const Json& event) {
          std::string type = str(event, {"type"});
          if (type == "ERROR") {
            if (num(event, {"object", "code"}) == 410) return false;  // expired: read it again
            throw ApiError(static_cast<int>(num(event, {"object", "code"}, 500)), str(event, {"object", "reason"}),
                           str(event, {"object", "message"}));
          }
          if (type == "DELETED")
            throw Failure("deployment \"" + d.name + "\" was deleted while waiting for its rollout");
          if (type == "ADDED" || type == "MODIFIED") done = judge(at(event, {"object"}));
          return !done;
        },
        deadline);
    if (done) return kExitOk;
    if (end == Api::WatchEnd::kTimedOut || (deadline && std::chrono::steady_clock::now() >= *deadline))
      throw Failure("timed out waiting for deployment \"" + d.name + "\" to roll out (--timeout " + timeout + ")");
    // A server that keeps ending watches at once is not asked again in a tight loop.
    if (std::chrono::steady_clock::now() - watch_started < std::chrono::seconds(1))
      std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// ------------------------------------------------------------------------------------------------ history, undo

struct History {
  Json deployment;
  std::map<std::int64_t, Json> revisions;
};

History history_of(Context& ctx, const Named& d) {
  History h;
  h.deployment = ctx.api().get(resource_path(*d.type, ctx.ns(), d.name));
  const ResourceInfo& replicasets = ctx.discovery().for_kind("apps/v1", "ReplicaSet");
  Json list = ctx.api().get(resource_path(replicasets, ctx.ns()) +
                            query({{"labelSelector", match_labels_selector(at(h.deployment, {"spec", "selector"}))}}));
  std::vector<Json> items;
  for (const auto& rs : at(list, {"items"})) items.push_back(rs);
  h.revisions = revisions_of(h.deployment, items);
  return h;
}

int rollout_history(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "rollout history", "rollout history deployment/NAME [--revision N] [options]",
                 "List the deployment's revisions (its ReplicaSets' deployment.kubernetes.io/revision) and their\n"
                 "change causes; --revision N shows that revision's pod template.");
  std::int64_t revision = 0;
  std::string output;
  cl.add()                                                                                            //
      ("revision", po::value(&revision)->value_name("N"), "Show the pod template of this revision.")  //
      ("output,o", po::value(&output)->value_name("FORMAT"), "json or yaml: the ReplicaSets.");
  if (!cl.parse(args)) return kExitOk;
  Format format = parse_format(cl.name(), output, {"json", "yaml"});
  auto targets = named_targets(cl, ctx, cl.positionals());
  const Named& d = one_deployment(cl, targets);
  History h = history_of(ctx, d);
  if (revision > 0) {
    auto it = h.revisions.find(revision);
    if (it == h.revisions.end()) throw Failure("unable to find the specified revision " + std::to_string(revision));
    Json tmpl = at(it->second, {"spec", "template"});
    if (format != Format::kDefault) {
      print_results(format, {tmpl});
      return kExitOk;
    }
    std::cout << object_ref(*d.type, d.name) << " with revision #" << revision << "\nPod Template:\n"
              << indent_lines(yaml_text(tmpl), "  ");
    return kExitOk;
  }
  if (format != Format::kDefault) {
    std::vector<Json> list;
    for (const auto& [n, rs] : h.revisions) list.push_back(rs);
    std::cout << (format == Format::kJson ? json_text(list_of(list)) : yaml_text(list_of(list)));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"REVISION", "CHANGE-CAUSE"}};
  for (const auto& [n, rs] : h.revisions) {
    std::string cause = str(rs, {"metadata", "annotations", kChangeCauseAnnotation});
    rows.push_back({std::to_string(n), cause.empty() ? "<none>" : cause});
  }
  std::cout << object_ref(*d.type, d.name) << "\n" << format_columns(rows);
  return kExitOk;
}

int rollout_undo(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "rollout undo", "rollout undo deployment/NAME [--to-revision N] [options]",
                 "Roll the deployment back to the pod template of an earlier revision (default: the previous\n"
                 "one). The deployment controller then makes it the newest revision.");
  std::int64_t to_revision = 0;
  cl.add()("to-revision", po::value(&to_revision)->value_name("N"),
           "The revision to go back to (0: the previous one).");
  if (!cl.parse(args)) return kExitOk;
  auto targets = named_targets(cl, ctx, cl.positionals());
  const Named& d = one_deployment(cl, targets);
  History h = history_of(ctx, d);
  if (h.revisions.empty()) throw Failure("no rollout history found for deployment \"" + d.name + "\"");
  if (to_revision == 0) {
    if (h.revisions.size() < 2) throw Failure("no previous revision to roll back to for deployment \"" + d.name + "\"");
    to_revision = std::prev(h.revisions.end(), 2)->first;
  }
  auto it = h.revisions.find(to_revision);
  if (it == h.revisions.end())
    throw Failure("unable to find specified revision " + std::to_string(to_revision) + " in history");
  Json tmpl = at(it->second, {"spec", "template"});
  if (tmpl.is_object() && tmpl.contains("metadata") && tmpl["metadata"].contains("labels") &&
      tmpl["metadata"]["labels"].is_object()) {
    tmpl["metadata"]["labels"].erase("pod-template-hash");
  }
  if (tmpl == at(h.deployment, {"spec", "template"})) {
    std::cout << object_ref(*d.type, d.name) << " skipped rollback (current template already matches revision "
              << to_revision << ")\n";
    return kExitOk;
  }
  Json patch = Json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", tmpl}}});
  ctx.api().send("PATCH", resource_path(*d.type, ctx.ns(), d.name) + query({{"fieldManager", "skiff"}}), patch,
                 "application/json-patch+json");
  std::cout << object_ref(*d.type, d.name) << " rolled back\n";
  return kExitOk;
}

// ------------------------------------------------------------------------------------------------ restart

int rollout_restart(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "rollout restart", "rollout restart (deployment|daemonset|statefulset)/NAME... [options]",
                 "Restart the workload's pods by stamping its pod template with the annotation\n"
                 "kubectl.kubernetes.io/restartedAt, which makes the controller roll out new pods.");
  std::string output;
  cl.add()("output,o", po::value(&output)->value_name("FORMAT"), "json, yaml or name.");
  if (!cl.parse(args)) return kExitOk;
  Format format = parse_format(cl.name(), output, {"json", "yaml", "name"});
  auto targets = named_targets(cl, ctx, cl.positionals());
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  Json patch = {
      {"spec",
       {{"template",
         {{"metadata", {{"annotations", {{kRestartedAtAnnotation, kernel::format_rfc3339(now.count())}}}}}}}}}};
  std::vector<Json> results;
  for (const auto& t : targets) {
    const std::string& kind = t.type->kind;
    if (kind != "Deployment" && kind != "DaemonSet" && kind != "StatefulSet") {
      throw Failure("rollout restart is implemented for deployments, daemonsets and statefulsets, not " +
                    t.type->type_name());
    }
    results.push_back(ctx.api().send("PATCH",
                                     resource_path(*t.type, ctx.ns(), t.name) + query({{"fieldManager", "skiff"}}),
                                     patch, "application/merge-patch+json"));
    if (format == Format::kName) std::cout << object_ref(*t.type, t.name) << "\n";
    if (format == Format::kDefault) std::cout << object_ref(*t.type, t.name) << " restarted\n";
  }
  print_results(format, results);
  return kExitOk;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ scale

int cmd_scale(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "scale", "scale (TYPE NAME... | TYPE/NAME...) --replicas=N [options]",
                 "Set the number of replicas through the scale subresource (deployments, replicasets,\n"
                 "statefulsets).");
  std::int64_t replicas = -1;
  std::string output;
  cl.add()                                                                                   //
      ("replicas", po::value(&replicas)->value_name("N"), "The number of replicas wanted.")  //
      ("output,o", po::value(&output)->value_name("FORMAT"), "json, yaml (the Scale objects) or name.");
  if (!cl.parse(args)) return kExitOk;
  if (replicas < 0) cl.usage_error("--replicas=N is required (N >= 0)");
  Format format = parse_format("scale", output, {"json", "yaml", "name"});
  auto targets = named_targets(cl, ctx, cl.positionals());
  std::vector<Json> results;
  for (const auto& t : targets) {
    results.push_back(ctx.api().send("PATCH", resource_path(*t.type, ctx.ns(), t.name, "scale"),
                                     {{"spec", {{"replicas", replicas}}}}, "application/merge-patch+json"));
    if (format == Format::kName) std::cout << object_ref(*t.type, t.name) << "\n";
    if (format == Format::kDefault) std::cout << object_ref(*t.type, t.name) << " scaled\n";
  }
  print_results(format, results);
  return kExitOk;
}

int cmd_rollout(Context& ctx, const Args& args) {
  static const char* kUsage =
      "Usage: skiff rollout SUBCOMMAND deployment/NAME [options]\n\n"
      "Subcommands:\n"
      "  status    Wait until the deployment has rolled out, printing progress.\n"
      "  history   List its revisions (--revision N: one revision's pod template).\n"
      "  undo      Go back to the previous revision (--to-revision N).\n"
      "  restart   Restart its pods (deployments, daemonsets, statefulsets).\n\n"
      "`skiff rollout SUBCOMMAND --help` lists each one's options.\n";
  auto sub = split_subcommand("rollout", args, kUsage, "status, history, undo or restart");
  if (!sub) return kExitOk;
  const auto& [name, rest] = *sub;
  if (name == "status") return rollout_status(ctx, rest);
  if (name == "history") return rollout_history(ctx, rest);
  if (name == "undo") return rollout_undo(ctx, rest);
  if (name == "restart") return rollout_restart(ctx, rest);
  throw UsageError("rollout", "unknown subcommand \"" + name + "\" (status, history, undo or restart)");
}

}  // namespace skiff::cli
