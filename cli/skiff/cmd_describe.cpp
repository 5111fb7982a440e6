// skiff describe: each object rendered readably (describe.hpp) with the events about it.
#include <chrono>
#include <iostream>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/describe.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"

namespace skiff::cli {

namespace {

// The events whose involvedObject is this object (kubectl's field selector: name, namespace, uid).
std::vector<Json> events_for(Context& ctx, const Json& object) {
  std::string name = str(object, {"metadata", "name"});
  std::string ns = str(object, {"metadata", "namespace"});
  std::string uid = str(object, {"metadata", "uid"});
  std::string selector = "involvedObject.name=" + name + ",involvedObject.namespace=" + ns;
  if (!uid.empty()) selector += ",involvedObject.uid=" + uid;
  std::string path = ns.empty() ? "/api/v1/events" : "/api/v1/namespaces/" + ns + "/events";
  std::vector<Json> out;
  try {
    Json list = ctx.api().get(path + query({{"fieldSelector", selector}}));
    for (const auto& e : at(list, {"items"})) out.push_back(e);
  } catch (const ApiError&) {
    // No events (or no permission to read them) should not hide the object itself.
  }
  return out;
}

}  // namespace

int cmd_describe(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "describe", "describe TYPE [NAME...] | TYPE/NAME... [options]",
                 "Show objects in detail: metadata, spec, status, conditions, and the events about them.\n"
                 "Without a name, every object of the type in the namespace (or matching -l).");
  std::string labels;
  bool all_namespaces = false;
  cl.add()                                                                           //
      ("selector,l", po::value(&labels)->value_name("SELECTOR"), "Label selector.")  //
      ("all-namespaces,A", po::bool_switch(&all_namespaces), "Across all namespaces.");
  if (!cl.parse(args)) return kExitOk;
  ResourceArgs targets = parse_resource_args(cl, ctx.discovery(), cl.positionals());

  bool failed = false;
  bool first = true;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  auto show = [&](const Json& object) {
    if (!first) std::cout << "\n\n";
    first = false;
    std::cout << describe_object(object, events_for(ctx, object), now.count());
    std::cout.flush();
  };
  for (const auto& item : targets.items) {
    std::string ns = all_namespaces ? std::string() : ctx.ns();
    if (item.names.empty()) {
      Json list = ctx.api().get(resource_path(*item.type, ns) + query({{"labelSelector", labels}}));
      for (Json object : at(list, {"items"})) {
        if (!object.contains("kind")) object["kind"] = item.type->kind;
        if (!object.contains("apiVersion")) object["apiVersion"] = item.type->api_version();
        show(object);
      }
      continue;
    }
    for (const auto& name : item.names) {
      try {
        show(ctx.api().get(resource_path(*item.type, ns, name)));
      } catch (const ApiError& e) {
        std::cerr << e.display() << "\n";
        failed = true;
      }
    }
  }
  if (first && !failed) std::cerr << "No resources found in " << ctx.ns() << " namespace.\n";
  return failed ? kExitFailure : kExitOk;
}

}  // namespace skiff::cli
