// Container logs as the node agent serves them to the API (pods/log): the runtime writes each
// container attempt's output to <log_dir>/<ns>_<pod>_<uid>/<container>/<attempt>.log in the CRI
// format ("<RFC 3339 time> <stdout|stderr> <F|P> <text>", P marking a partial line); this reads those
// files back as kubectl shows them, with tailLines, sinceSeconds, limitBytes, timestamps, previous and
// follow.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "kernel/api/node_services.hpp"

namespace skiff::agent {

class ContainerLogs {
 public:
  // `running` says whether the container's current attempt still runs; a follow ends once it does not
  // and everything written was read.
  using RunningCheck = std::function<bool(const kernel::api::PodLogRequest&)>;
  ContainerLogs(std::string log_dir, RunningCheck running);

  // What the API's pods/log answers (see kernel::api::NodeServices::pod_log).
  plugin::Result<std::unique_ptr<kernel::api::StreamSource>> pod_log(const kernel::api::PodLogRequest& request);

  // The agent is stopping: open follows end (at their next poll) instead of asking it any more.
  void detach();

 private:
  struct Shared {
    std::mutex mutex;
    RunningCheck running;  // empty once detached
  };
  std::string log_dir_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace skiff::agent
