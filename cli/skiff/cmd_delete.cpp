// skiff delete: by type and name, by selector, or by the objects in manifests; then (by default)
// waits until each object is really gone — finalizers can keep it for a while.
#include <iostream>
#include <thread>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "cli/skiff/manifest.hpp"

namespace skiff::cli {

namespace {

struct Target {
  const ResourceInfo* type;
  std::string ns;
  std::string name;
  std::string label() const { return type->type_name() + " \"" + name + "\""; }
};

std::string finalizers_of(const Json& object) {
  std::string out;
  for (const auto& f : at(object, {"metadata", "finalizers"}))
    if (f.is_string()) out += (out.empty() ? "" : ", ") + f.get<std::string>();
  return out;
}

// Polls until the object is gone (404, or the name now belongs to a new object). Throws Failure on
// timeout.
void wait_until_gone(Context& ctx, const Target& t, const std::string& uid,
                     std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::string path = resource_path(*t.type, t.ns, t.name);
  auto interval = std::chrono::milliseconds(100);
  std::optional<std::string> last_state;  // a progress line is printed when this changes
  auto started = std::chrono::steady_clock::now();
  while (true) {
    Json current;
    try {
      current = ctx.api().get(path);
    } catch (const ApiError& e) {
      if (e.code() == 404) return;
      throw;
    }
    if (!uid.empty() && str(current, {"metadata", "uid"}) != uid) return;
    std::string finalizers = finalizers_of(current);
    std::string state = finalizers.empty() ? "" : " (finalizers: " + finalizers + ")";
    auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    if (!last_state || *last_state != state) {
      progress("waiting for " + t.label() + " to be deleted" + state + "... (" + std::to_string(waited.count()) + "s)");
      last_state = state;
    }
    if (deadline && std::chrono::steady_clock::now() >= *deadline)
      throw Failure("timed out waiting for the deletion of " + t.label() + state);
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::milliseconds(1000));
  }
}

}  // namespace

int cmd_delete(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "delete", "delete (TYPE [NAME...] | TYPE/NAME... | -f FILE|DIR|-) [options]",
                 "Delete objects by name, by label selector (-l, or --all), or those described in manifests.\n"
                 "By default skiff then waits until each one is gone; a progress line says what it waits for.");
  std::vector<std::string> files;
  std::string labels, output, timeout = "0";
  bool all = false, ignore_not_found = false, recursive = false, wait = true;
  cl.add()  //
      ("filename,f", po::value(&files)->value_name("FILE")->composing(),
       "Delete the objects in this manifest (file, dir or -).")                                   //
      ("recursive,R", po::bool_switch(&recursive), "Also read the directories' subdirectories.")  //
      ("selector,l", po::value(&labels)->value_name("SELECTOR"),
       "Delete every object matching this label selector.")                                          //
      ("all", po::bool_switch(&all), "Delete every object of the type in the namespace.")            //
      ("ignore-not-found", po::bool_switch(&ignore_not_found), "A missing object is not an error.")  //
      ("wait", po::value(&wait)->value_name("BOOL")->default_value(true)->implicit_value(true),
       "Wait until the objects are gone (--wait=false returns at once).")  //
      ("timeout", po::value(&timeout)->value_name("DURATION")->default_value("0"),
       "Give up waiting after this long (0: never).")  //
      ("output,o", po::value(&output)->value_name("FORMAT"), "name: print TYPE/NAME only.");
  if (!cl.parse(args)) return kExitOk;
  if (!output.empty() && output != "name")
    throw UsageError("delete", "unknown output format \"" + output + "\" (-o takes name)");
  auto deadline = deadline_after(parse_duration("delete", "--timeout", timeout));
  if (!files.empty() && !cl.positionals().empty()) cl.usage_error("give either -f or TYPE NAME, not both");
  if (files.empty() && cl.positionals().empty()) cl.usage_error("you must specify the type of resource (or -f FILE)");

  bool failed = false;
  std::vector<Target> targets;
  if (!files.empty()) {
    Manifests manifests = load_manifests(files, recursive, std::cin);
    for (const auto& e : manifests.errors) {
      std::cerr << "error: " << e << "\n";
      failed = true;
    }
    for (const auto& m : manifests.objects) {
      if (std::string problem = manifest_problem(m.object); !problem.empty()) {
        std::cerr << "error: " << m.where() << ": " << problem << "\n";
        failed = true;
        continue;
      }
      const ResourceInfo& type = ctx.discovery().for_kind(str(m.object, {"apiVersion"}), str(m.object, {"kind"}));
      std::string ns = str(m.object, {"metadata", "namespace"});
      if (ns.empty()) ns = ctx.ns();
      targets.push_back({&type, ns, str(m.object, {"metadata", "name"})});
    }
  } else {
    ResourceArgs resources = parse_resource_args(cl, ctx.discovery(), cl.positionals());
    for (const auto& item : resources.items) {
      if (!item.names.empty()) {
        if (all || !labels.empty()) cl.usage_error("names cannot be combined with --all or -l");
        for (const auto& n : item.names) targets.push_back({item.type, ctx.ns(), n});
        continue;
      }
      if (!all && labels.empty())
        cl.usage_error("resource(s) were provided, but no name was specified (give NAME, -l SELECTOR or --all)");
      Json list = ctx.api().get(resource_path(*item.type, ctx.ns()) + query({{"labelSelector", labels}}));
      for (const auto& o : at(list, {"items"}))
        targets.push_back({item.type, str(o, {"metadata", "namespace"}), str(o, {"metadata", "name"})});
    }
    if (targets.empty()) std::cerr << "No resources found\n";
  }

  std::vector<std::pair<Target, std::string>> deleted;  // with the uid, to tell a recreated object apart
  for (const auto& t : targets) {
    try {
      Json result =
          ctx.api().send("DELETE", resource_path(*t.type, t.ns, t.name), {{"propagationPolicy", "Background"}});
      std::cout << (output == "name" ? t.type->type_name() + "/" + t.name : t.label() + " deleted") << std::endl;
      deleted.emplace_back(t, str(result, {"kind"}) == "Status" ? "" : str(result, {"metadata", "uid"}));
    } catch (const ApiError& e) {
      if (e.code() == 404 && ignore_not_found) continue;
      std::cerr << e.display() << "\n";
      failed = true;
    }
  }
  if (wait) {
    for (const auto& [t, uid] : deleted) {
      try {
        wait_until_gone(ctx, t, uid, deadline);
      } catch (const Unreachable&) {
        throw;
      } catch (const Failure& e) {
        std::cerr << "error: " << e.what() << "\n";
        failed = true;
      }
    }
  }
  return failed ? kExitFailure : kExitOk;
}

}  // namespace skiff::cli
