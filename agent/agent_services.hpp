// The node agent's side of the API's pod subresources (the kubelet's own API): pods/log from the
// container log files, pods/exec through the runtime. Registered for the agent's nodes in the
// daemon's NodeDirectory; shared, so a request in flight keeps the runtime alive after the agent
// stopped. For an agent in its own process (`skiffd agent`), AgentEndpoint serves the same over HTTPS.
#pragma once

#include <memory>
#include <string>

#include "agent/container_logs.hpp"
#include "kernel/api/http.hpp"
#include "kernel/api/node_services.hpp"
#include "skiff/plugin/runtime.hpp"

namespace skiff::agent {

class AgentServices final : public kernel::api::NodeServices {
 public:
  AgentServices(std::string log_dir, ContainerLogs::RunningCheck running,
                std::shared_ptr<plugin::runtime::Runtime> runtime);

  plugin::Result<std::unique_ptr<kernel::api::StreamSource>> pod_log(const kernel::api::PodLogRequest& request) override;
  plugin::Result<std::int32_t> pod_exec(const kernel::api::PodExecRequest& request,
                                        const kernel::api::ExecOutput& output) override;
  // The agent is stopping: follows end (see ContainerLogs::detach).
  void detach() { logs_.detach(); }

 private:
  ContainerLogs logs_;
  std::shared_ptr<plugin::runtime::Runtime> runtime_;
};

}  // namespace skiff::agent

namespace skiff::agent {

// The agent's own HTTPS endpoint for `skiffd agent` (the kubelet's :10250): pods/log and pods/exec
// of this agent's pods for the API server, in the protocol kernel/api/remote_node_services.hpp
// describes. The Server in front of it requires the cluster's token.
class AgentEndpoint final : public kernel::api::Handler {
 public:
  explicit AgentEndpoint(std::shared_ptr<kernel::api::NodeServices> services) : services_(std::move(services)) {}
  kernel::api::HttpResponse handle(const kernel::api::HttpRequest& request) override;

 private:
  std::shared_ptr<kernel::api::NodeServices> services_;
};

}  // namespace skiff::agent
