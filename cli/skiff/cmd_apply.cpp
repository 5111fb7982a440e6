// skiff apply: server-side apply of every object in the manifests, one PATCH each.
#include <iostream>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "cli/skiff/manifest.hpp"
#include "cli/skiff/output.hpp"

namespace skiff::cli {

namespace {

// The namespace an object goes to: its own, else -n / the context's. Throws Failure when both are
// given and differ, as kubectl does.
std::string target_namespace(Context& ctx, const ResourceInfo& type, Json& object) {
  if (!type.namespaced) return {};
  std::string own = str(object, {"metadata", "namespace"});
  if (!own.empty() && ctx.cluster().ns_from_flag && own != ctx.ns()) {
    throw Failure("the namespace from the provided object \"" + own + "\" does not match the namespace \"" + ctx.ns() +
                  "\". You must pass '--namespace=" + own + "' to perform this operation.");
  }
  std::string ns = own.empty() ? ctx.ns() : own;
  object["metadata"]["namespace"] = ns;
  return ns;
}

}  // namespace

int cmd_apply(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "apply", "apply -f FILE|DIR|- [-f ...] [options]",
                 "Create or update the objects in the manifests with server-side apply (field manager \"skiff\").\n"
                 "FILE may hold several YAML documents; DIR means every .yaml, .yml and .json file in it, in name\n"
                 "order; - reads standard input. A document the server refuses is reported with its file and line,\n"
                 "the others are still applied, and skiff exits 1 at the end.");
  std::vector<std::string> files;
  bool recursive = false, force = false;
  std::string output, manager = "skiff";
  cl.add()  //
      ("filename,f", po::value(&files)->value_name("FILE")->composing(),
       "A manifest file, a directory, or - for stdin.")                                           //
      ("recursive,R", po::bool_switch(&recursive), "Also read the directories' subdirectories.")  //
      ("force-conflicts", po::bool_switch(&force), "Take over fields another manager owns.")      //
      ("field-manager", po::value(&manager)->value_name("NAME")->default_value("skiff"),
       "The field manager's name.")  //
      ("output,o", po::value(&output)->value_name("FORMAT"), "json, yaml or name (default: one line per object).");
  if (!cl.parse(args)) return kExitOk;
  if (!cl.positionals().empty())
    cl.usage_error("unexpected argument \"" + cl.positionals().front() + "\" (use -f FILE)");
  if (files.empty()) cl.usage_error("must specify -f FILE, -f DIR or -f -");
  Format format = parse_format("apply", output, {"json", "yaml", "name"});

  Manifests manifests = load_manifests(files, recursive, std::cin);
  bool failed = false;
  for (const auto& e : manifests.errors) {
    std::cerr << "error: " << e << "\n";
    failed = true;
  }
  std::vector<Json> applied;
  for (const auto& m : manifests.objects) {
    try {
      if (std::string problem = manifest_problem(m.object); !problem.empty())
        throw Failure("error validating " + m.where() + ": " + problem);
      Json object = m.object;
      const ResourceInfo& type = ctx.discovery().for_kind(str(object, {"apiVersion"}), str(object, {"kind"}));
      std::string name = str(object, {"metadata", "name"});
      std::string path = resource_path(type, target_namespace(ctx, type, object), name);
      std::string before;
      try {
        before = str(ctx.api().get(path), {"metadata", "resourceVersion"});
      } catch (const ApiError& e) {
        if (e.code() != 404) throw;
      }
      Json result = ctx.api().send(
          "PATCH",
          path + query({{"fieldManager", manager}, {"fieldValidation", "Strict"}, {"force", force ? "true" : ""}}),
          object, "application/apply-patch+yaml");
      bool unchanged = !before.empty() && before == str(result, {"metadata", "resourceVersion"});
      if (format == Format::kName) {
        std::cout << object_ref(type, name) << std::endl;
      } else if (format == Format::kDefault) {
        std::cout << object_ref(type, name) << (unchanged ? " unchanged" : " serverside-applied") << std::endl;
      }
      applied.push_back(std::move(result));
    } catch (const ApiError& e) {
      std::cerr << "Error from server (" << e.reason() << "): error when applying " << m.where() << ": " << e.what()
                << "\n";
      failed = true;
    } catch (const Unreachable&) {
      throw;
    } catch (const Failure& e) {
      std::string what = e.what();
      if (what.find(m.file) == std::string::npos) what = "error when applying " + m.where() + ": " + what;
      std::cerr << "error: " << what << "\n";
      failed = true;
    }
  }
  if (!applied.empty() && (format == Format::kJson || format == Format::kYaml)) {
    Json out = one_or_list(std::move(applied));
    std::cout << (format == Format::kJson ? json_text(out) : yaml_text(out));
  }
  return failed ? kExitFailure : kExitOk;
}

}  // namespace skiff::cli
