#include "agent/agent_services.hpp"

namespace skiff::agent {

namespace rt = plugin::runtime;

AgentServices::AgentServices(std::string log_dir, ContainerLogs::RunningCheck running,
                             std::shared_ptr<rt::Runtime> runtime)
    : logs_(std::move(log_dir), std::move(running)), runtime_(std::move(runtime)) {}

plugin::Result<std::unique_ptr<kernel::api::StreamSource>> AgentServices::pod_log(const kernel::api::PodLogRequest& request) {
  return logs_.pod_log(request);
}

plugin::Result<std::int32_t> AgentServices::pod_exec(const kernel::api::PodExecRequest& request,
                                                     const kernel::api::ExecOutput& output) {
  // The pod's sandbox, then the container's running instance (the newest attempt that runs).
  auto sandboxes = runtime_->list_sandboxes();
  if (!sandboxes) return sandboxes.status();
  const std::string who = "container " + request.container + " in pod " + request.pod;
  for (const auto& sandbox : *sandboxes) {
    if (sandbox.pod.ns != request.ns || sandbox.pod.name != request.pod || sandbox.pod.uid != request.uid) continue;
    auto containers = runtime_->list_containers(sandbox.id);
    if (!containers) return containers.status();
    const rt::ContainerStatus* chosen = nullptr;
    for (const auto& c : *containers)
      if (c.name == request.container && c.state == rt::ContainerState::kRunning && (!chosen || c.attempt > chosen->attempt))
        chosen = &c;
    if (chosen == nullptr) break;
    rt::ExecStreams streams;
    streams.on_output = output;
    return runtime_->exec(chosen->id, request.command, streams);
  }
  return plugin::Status(plugin::Code::kBadRequest, "unable to upgrade connection: " + who + " is not running");
}

}  // namespace skiff::agent
