// skiff logs: a container's log from the pod's log subresource, streamed as it arrives.
#include <iostream>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"

namespace skiff::cli {

int cmd_logs(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "logs", "logs POD|pod/POD [-c CONTAINER] [-f] [--tail N] [options]",
                 "Print a container's log (GET /api/v1/namespaces/NS/pods/POD/log). With several containers and\n"
                 "no -c, the pod's kubectl.kubernetes.io/default-container annotation (else the first) is used.");
  std::string container;
  bool follow = false, timestamps = false, previous = false;
  std::int64_t tail = -1;
  cl.add()                                                                                    //
      ("container,c", po::value(&container)->value_name("NAME"), "The container.")            //
      ("follow,f", po::bool_switch(&follow), "Keep streaming new lines until the log ends.")  //
      ("tail", po::value(&tail)->value_name("N"), "Only the last N lines (-1: all).")         //
      ("timestamps", po::bool_switch(&timestamps), "Prefix each line with its timestamp.")    //
      ("previous,p", po::bool_switch(&previous), "The previous, terminated instance of the container.");
  if (!cl.parse(args)) return kExitOk;
  cl.expect_positionals(1, 1, "exactly one pod is expected: skiff logs POD [-c CONTAINER]");
  std::string name = cl.positionals().front();
  if (auto slash = name.find('/'); slash != std::string::npos) {
    const ResourceInfo& type = ctx.discovery().resolve(name.substr(0, slash));
    if (type.kind != "Pod") throw Failure("logs reads pods, not " + type.type_name() + " (give pod/NAME)");
    name = name.substr(slash + 1);
  }
  std::string pod_path = "/api/v1/namespaces/" + ctx.ns() + "/pods/" + name;
  Json pod = ctx.api().get(pod_path);
  if (container.empty()) {
    std::vector<std::string> names;
    for (const auto& c : at(pod, {"spec", "containers"})) names.push_back(str(c, {"name"}));
    container = str(pod, {"metadata", "annotations", "kubectl.kubernetes.io/default-container"});
    if (container.empty() && !names.empty()) container = names.front();
    if (names.size() > 1) {
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
      std::cerr << "Defaulted container \"" << container << "\" out of: " << all << "\n";
    }
  }
  std::string target = pod_path + "/log" +
                       query({{"container", container},
                              {"follow", follow ? "true" : ""},
                              {"tailLines", tail >= 0 ? std::to_string(tail) : ""},
                              {"timestamps", timestamps ? "true" : ""},
                              {"previous", previous ? "true" : ""}});
  HttpReply reply = ctx.api().http().stream(
      target, "application/json, */*",
      [](std::string_view data) {
        std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
        std::cout.flush();
        return true;
      },
      std::nullopt);
  if (reply.status >= 400) throw api_error_from(reply.status, reply.body);
  return kExitOk;
}

}  // namespace skiff::cli
