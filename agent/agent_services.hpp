// The node agent's side of the API's pod subresources (the kubelet's own API): pods/log from the
// container log files, pods/exec through the runtime. Registered for the agent's nodes in the
// daemon's NodeDirectory; shared, so a request in flight keeps the runtime alive after the agent
// stopped. For an agent in its own process (`skiffd agent`), AgentEndpoint serves the same over HTTPS.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
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
                                        const kernel::api::ExecOutput& output, kernel::api::ExecInput* input) override;
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
  // An interactive exec's input, by the session id the API server chose. Its posts may arrive
  // before the exec's GET, so either side creates the entry; the GET's end removes it, and entries no
  // GET ever took are dropped after a minute.
  // Shared with the exec threads, which may outlive the endpoint.
  class Sessions {
   public:
    std::shared_ptr<kernel::api::ExecInput> get(const std::string& id, bool take);
    void end(const std::string& id);

   private:
    struct Session {
      std::shared_ptr<kernel::api::ExecInput> input;
      std::chrono::steady_clock::time_point created;
      bool taken = false;
    };
    std::mutex mutex_;
    std::map<std::string, Session> sessions_;
  };

  std::shared_ptr<kernel::api::NodeServices> services_;
  std::shared_ptr<Sessions> sessions_ = std::make_shared<Sessions>();
};

}  // namespace skiff::agent
