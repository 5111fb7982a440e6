#include "agent/agent_services.hpp"

#include <nlohmann/json.hpp>

#include "kernel/api/handler.hpp"
#include "kernel/api/remote_node_services.hpp"

namespace skiff::agent {

namespace rt = plugin::runtime;

AgentServices::AgentServices(std::string log_dir, ContainerLogs::RunningCheck running,
                             std::shared_ptr<rt::Runtime> runtime)
    : logs_(std::move(log_dir), std::move(running)), runtime_(std::move(runtime)) {}

plugin::Result<std::unique_ptr<kernel::api::StreamSource>> AgentServices::pod_log(const kernel::api::PodLogRequest& request) {
  return logs_.pod_log(request);
}

plugin::Result<std::int32_t> AgentServices::pod_exec(const kernel::api::PodExecRequest& request,
                                                     const kernel::api::ExecOutput& output, kernel::api::ExecInput* input) {
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
    streams.tty = request.tty;
    if (input != nullptr && request.stdin)
      streams.read_stdin = [input](std::string& chunk) { return input->read_stdin(chunk); };
    if (input != nullptr && request.tty)
      streams.terminal_resized = [input](rt::TerminalSize& size) { return input->take_resize(size); };
    return runtime_->exec(chosen->id, request.command, streams);
  }
  return plugin::Status(plugin::Code::kBadRequest, "unable to upgrade connection: " + who + " is not running");
}

}  // namespace skiff::agent

namespace skiff::agent {
namespace {

namespace api = kernel::api;

api::HttpResponse status_answer(const plugin::Status& st) {
  int code = api::http_code(st.code());
  api::HttpResponse r;
  r.status = code;
  r.body = nlohmann::json{{"kind", "Status"},          {"apiVersion", "v1"},
                          {"metadata", nlohmann::json::object()}, {"status", "Failure"},
                          {"message", st.message()},   {"reason", api::reason_of(st.code())},
                          {"code", code}}
               .dump();
  return r;
}

}  // namespace

std::shared_ptr<api::ExecInput> AgentEndpoint::Sessions::get(const std::string& id, bool take) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(sessions_, [&](const auto& entry) { return !entry.second.taken && now - entry.second.created > std::chrono::minutes(1); });
  Session& s = sessions_[id];
  if (!s.input) {
    s.input = std::make_shared<api::ExecInput>();
    s.created = now;
  }
  s.taken = s.taken || take;
  return s.input;
}

void AgentEndpoint::Sessions::end(const std::string& id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

api::HttpResponse AgentEndpoint::handle(const api::HttpRequest& req) {
  if (req.method == "POST" && req.path.ends_with("/exec/input")) {
    std::string id = req.param("session").value_or("");
    if (id.empty()) return status_answer(plugin::Status(plugin::Code::kBadRequest, "session: Required value"));
    api::apply_exec_input(req.body, *sessions_->get(id, false));
    api::HttpResponse r;
    r.status = 204;
    r.verb = "exec";
    r.resource = "pods";
    return r;
  }
  if (req.method != "GET")
    return status_answer(plugin::Status(plugin::Code::kBadRequest, "only GET (and POST of exec input) is served here"));
  const bool is_log = req.path.ends_with("/log");
  api::HttpResponse r;
  r.verb = is_log ? "log" : "exec";
  r.resource = "pods";
  if (is_log) {
    auto log = api::pod_log_request_of(req);
    if (!log) return status_answer(log.status());
    auto source = services_->pod_log(*log);
    if (!source) return status_answer(source.status());
    r.content_type = "text/plain; charset=utf-8";
    if (!log->follow) {
      // Without follow the source reads the file once; a few pulls are more than enough.
      for (int i = 0; i < 4 && !(*source)->done(); ++i) r.body += (*source)->poll();
      return r;
    }
    r.stream = std::make_shared<api::StreamBody>();
    r.stream->source = std::move(*source);
    r.stream->deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
    r.stream->tick = std::chrono::milliseconds(100);
    r.stream->is_watch = false;
    return r;
  }
  auto exec = api::pod_exec_request_of(req);
  if (!exec) return status_answer(exec.status());
  r.content_type = "application/x-skiff-exec";
  r.stream = std::make_shared<api::StreamBody>();
  std::string id = req.param("session").value_or("");
  std::shared_ptr<api::ExecInput> input;
  if (exec->stdin || exec->tty) {
    if (id.empty()) return status_answer(plugin::Status(plugin::Code::kBadRequest, "session: Required value with stdin or tty"));
    input = sessions_->get(id, true);
  }
  auto body = [sessions = sessions_, services = services_, request = std::move(*exec), input, id](const api::Emit& emit) {
    auto code = services->pod_exec(
        request,
        [&](int stream, std::string_view data) {
          if (!data.empty()) emit(api::exec_frame(stream == 2 ? api::kExecChannelStderr : api::kExecChannelStdout, data));
        },
        input.get());
    if (input) sessions->end(id);
    if (code) {
      emit(api::exec_frame(api::kExecChannelExit, std::to_string(*code)));
    } else {
      emit(api::exec_frame(api::kExecChannelError, status_answer(code.status()).body));
    }
  };
  // The API server going away ends the command's stdin (a terminal hangs up), as kubectl going away does.
  r.stream->source = api::thread_source(std::move(body), [input] {
    if (input) input->close_stdin();
  });
  r.stream->deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  r.stream->is_watch = false;
  return r;
}

}  // namespace skiff::agent
