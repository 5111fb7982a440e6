// NodeServices of an agent in another process (`skiffd agent`), reached over HTTPS at the endpoint
// its Node advertises, as Kubernetes' API server reaches a kubelet on :10250:
//   status.addresses[type=InternalIP].address and status.daemonEndpoints.kubeletEndpoint.Port
//   metadata.annotations["skiff.io/agent-serving-cert"]: the agent's self-signed serving certificate,
//   which the API server trusts for that endpoint (the Node object is written by the agent with the
//   cluster's token, so this is as trusted as the Node itself)
// and the cluster's token as the bearer token.
//
// The agent endpoint's protocol (served by agent/agent_services.cpp, AgentEndpoint):
//   GET /pods/NS/POD/log?uid=&container=&follow=&previous=&timestamps=&tailLines=&limitBytes=&sinceSeconds=
//       200 text/plain, chunked while following; an error is a Kubernetes Status with its code.
//   GET /pods/NS/POD/exec?uid=&container=&command=ARG&command=ARG…[&stdin=true][&tty=true][&session=ID]
//       200 application/x-skiff-exec: frames of [1 byte channel][4 bytes big-endian length][payload];
//       channel 1 stdout, 2 stderr, then 3 the exit code (decimal) or 4 an error (a Status).
//   POST /pods/NS/POD/exec/input?session=ID   (with stdin or tty: the client's side of that exec)
//       body: frames as above; channel 0 stdin bytes, 5 a terminal size ({"Width":W,"Height":H}),
//       6 the end of stdin. 204; posts to one session are applied in the order they are answered.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kernel/api/http_client.hpp"
#include "kernel/api/node_services.hpp"

namespace skiff::kernel::api {

inline constexpr std::string_view kAgentServingCertAnnotation = "skiff.io/agent-serving-cert";
inline constexpr int kExecChannelStdout = 1, kExecChannelStderr = 2, kExecChannelExit = 3, kExecChannelError = 4;
inline constexpr int kExecChannelStdin = 0, kExecChannelResize = 5, kExecChannelStdinEnd = 6;

// The request targets, and the requests an agent reads back from them.
std::string pod_log_target(const PodLogRequest& request);
std::string pod_exec_target(const PodExecRequest& request, std::string_view session = {});
std::string pod_exec_input_target(const PodExecRequest& request, std::string_view session);
// kBadRequest naming the parameter when one is malformed; kNotFound for another path.
plugin::Result<PodLogRequest> pod_log_request_of(const HttpRequest& request);
plugin::Result<PodExecRequest> pod_exec_request_of(const HttpRequest& request);
// POST …/exec/input: the frames of the body applied to `input` (stdin, sizes, end of stdin).
void apply_exec_input(std::string_view frames, ExecInput& input);

std::string exec_frame(int channel, std::string_view payload);

// A response stream whose bytes `body` emits from a thread of its own (an exec: the runtime's exec
// blocks until the command ends); done once `body` returned and everything was polled. If the client
// goes away first, `body` runs to its end and what it emits is dropped; `on_stop`, when given, hears
// of it (on the server's executor).
using Emit = std::function<void(std::string bytes)>;
std::unique_ptr<StreamSource> thread_source(std::function<void(const Emit& emit)> body,
                                            std::function<void()> on_stop = {});
// Splits the exec stream back into frames as bytes arrive.
class ExecFrameDecoder {
 public:
  void feed(std::string_view data, const std::function<void(int channel, std::string_view payload)>& out);

 private:
  std::string buffer_;
};

class RemoteNodeServices final : public NodeServices {
 public:
  // `config`: the agent's URL, its certificate as CA, the token.
  explicit RemoteNodeServices(HttpClientConfig config, std::chrono::milliseconds request_timeout = std::chrono::seconds(15))
      : config_(std::move(config)), timeout_(request_timeout) {}
  plugin::Result<std::unique_ptr<StreamSource>> pod_log(const PodLogRequest& request) override;
  plugin::Result<std::int32_t> pod_exec(const PodExecRequest& request, const ExecOutput& output,
                                        ExecInput* input) override;

 private:
  HttpClientConfig config_;
  std::chrono::milliseconds timeout_;
};

// The services of the agent `node` (a Node object) advertises; kUnavailable saying what is missing
// when it advertises no endpoint.
plugin::Result<std::shared_ptr<NodeServices>> remote_node_services(const nlohmann::json& node, const std::string& token);

}  // namespace skiff::kernel::api
