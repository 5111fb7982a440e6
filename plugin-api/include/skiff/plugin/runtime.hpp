// Role skiff.runtime.v1: what the node agent needs from a container runtime, in the shape of
// Kubernetes' CRI (RuntimeService + ImageService) so that runc, containerd and Docker plugins all fit.
//
// A pod is a sandbox (it holds the pod's network namespace and IP; its containers share them) plus
// containers created inside it. The agent owns the desired state and calls these methods to get
// there; the runtime owns processes, mounts and cgroups and reports what really exists, including
// after an agent restart (list_* return what an earlier agent left running, so it can be adopted).
// Every call is synchronous and may block (pulls, stops with a grace period); the agent calls
// from its own worker threads. Identifiers are the runtime's own opaque strings.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugin::runtime {

// Who a sandbox or container belongs to; the runtime stores it and returns it in listings, which is
// how a restarted agent recognises its pods.
struct PodRef {
  std::string ns;
  std::string name;
  std::string uid;
  std::uint32_t attempt = 0;  // incremented when the sandbox is re-created
};

struct PortMapping {
  std::string protocol = "TCP";  // TCP, UDP, SCTP
  std::int32_t container_port = 0;
  std::int32_t host_port = 0;  // 0: not published on the node
  std::string host_ip;
};

struct SandboxConfig {
  PodRef pod;
  std::string hostname;
  std::string log_directory;  // where container logs of this pod go
  std::vector<PortMapping> port_mappings;
  std::vector<std::string> dns_servers, dns_searches, dns_options;
  std::string cgroup_parent;  // the pod's cgroup, under which each container's goes
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

enum class SandboxState : std::uint8_t { kReady, kNotReady };

struct SandboxStatus {
  std::string id;
  PodRef pod;
  SandboxState state = SandboxState::kNotReady;
  std::string ip;  // the pod IP; empty until the network is set up
  std::int64_t created_at_ms = 0;
};

struct Mount {
  std::string host_path;
  std::string container_path;
  bool read_only = false;
};

struct Resources {
  std::int64_t cpu_millis = 0;          // request → cpu shares / weight; 0: unset
  std::int64_t cpu_limit_millis = 0;    // limit → cpu quota; 0: unlimited
  std::int64_t memory_limit_bytes = 0;  // 0: unlimited
};

struct ContainerConfig {
  std::string name;
  std::uint32_t attempt = 0;  // the restart count this instance stands for
  std::string image;          // an image id (from pull_image / image_status)
  std::vector<std::string> command;  // entrypoint override; empty: the image's
  std::vector<std::string> args;     // empty: the image's cmd (unless command is set)
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;
  std::vector<Mount> mounts;
  Resources resources;
  std::string log_path;  // relative to the sandbox's log_directory
  bool tty = false;
  bool stdin_open = false;
};

enum class ContainerState : std::uint8_t { kCreated, kRunning, kExited, kUnknown };

struct ContainerStatus {
  std::string id;
  std::string sandbox_id;
  std::string name;
  std::uint32_t attempt = 0;
  ContainerState state = ContainerState::kUnknown;
  std::int64_t created_at_ms = 0;
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  std::int32_t exit_code = 0;
  std::string reason;   // "OOMKilled", "Error", "Completed", … as Kubernetes reports them
  std::string message;
  std::string image;     // as requested
  std::string image_id;  // the resolved id (digest)
  std::string log_path;  // absolute
};

struct ImageInfo {
  std::string id;  // "sha256:…" of the config
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  std::uint64_t size_bytes = 0;
};

struct ExecResult {
  std::int32_t exit_code = 0;
  std::string stdout_data;
  std::string stderr_data;
};

// A terminal's size in character cells, as `kubectl exec -t` reports it.
struct TerminalSize {
  std::uint16_t width = 0;   // columns
  std::uint16_t height = 0;  // rows
};

// An interactive exec (kubectl exec): the runtime calls `on_output` (stream 1 = stdout, 2 = stderr;
// with a terminal everything is stream 1) as output arrives and returns the exit code when the
// process ends.
struct ExecStreams {
  // The process's stdin, pulled by the runtime until it returns false (end of input). Each call
  // waits at most about 100 ms for input and may return true with an empty chunk (nothing yet), so a
  // runtime can pull from a loop that also watches the process. Null: no stdin.
  std::function<bool(std::string& chunk)> read_stdin;
  std::function<void(int stream, std::string_view data)> on_output;
  // Give the process a terminal (`kubectl exec -t`); end of stdin then hangs the terminal up.
  bool tty = false;
  // ABI 1.2. With `tty`: true, filling `size`, when the client reported a new terminal size since
  // the previous call (the first call gives the initial size if one came). Never blocks. Null: no
  // size reports.
  std::function<bool(TerminalSize& size)> terminal_resized;
};

struct ContainerStats {
  std::string id;
  std::uint64_t cpu_usage_nanos = 0;
  std::uint64_t memory_working_set_bytes = 0;
};

class Runtime {
 public:
  static constexpr std::string_view kRole = "skiff.runtime.v1";
  virtual ~Runtime() = default;

  // The runtime's version alone ("1.1.5"); the node reports it as <runtime name>://<version>.
  virtual std::string version() const noexcept = 0;

  // ---- sandboxes ----
  // A runtime may return before the sandbox's network is up and finish it in the background (runc
  // does, beside the first container's creation). Then sandbox_status waits for it, and
  // start_container does not let a container run before it: a network that failed makes the start
  // fail with its error and the sandbox NotReady, which the agent replaces.
  virtual Result<std::string> run_sandbox(const SandboxConfig& config) noexcept = 0;
  // Stops every container of the sandbox (after their grace) and tears its network down; idempotent.
  virtual Status stop_sandbox(std::string_view sandbox_id) noexcept = 0;
  virtual Status remove_sandbox(std::string_view sandbox_id) noexcept = 0;
  virtual Result<SandboxStatus> sandbox_status(std::string_view sandbox_id) noexcept = 0;
  virtual Result<std::vector<SandboxStatus>> list_sandboxes() noexcept = 0;

  // ---- containers ----
  virtual Result<std::string> create_container(std::string_view sandbox_id, const ContainerConfig& config,
                                               const SandboxConfig& sandbox) noexcept = 0;
  virtual Status start_container(std::string_view container_id) noexcept = 0;
  // SIGTERM, then SIGKILL after `grace_seconds`; idempotent for an exited container.
  virtual Status stop_container(std::string_view container_id, std::int64_t grace_seconds) noexcept = 0;
  virtual Status remove_container(std::string_view container_id) noexcept = 0;
  virtual Result<ContainerStatus> container_status(std::string_view container_id) noexcept = 0;
  // Empty sandbox_id: every container.
  virtual Result<std::vector<ContainerStatus>> list_containers(std::string_view sandbox_id) noexcept = 0;
  virtual Result<ExecResult> exec_sync(std::string_view container_id, const std::vector<std::string>& command,
                                       std::int64_t timeout_seconds) noexcept = 0;
  virtual Result<std::int32_t> exec(std::string_view container_id, const std::vector<std::string>& command,
                                    const ExecStreams& streams) noexcept = 0;
  virtual Result<ContainerStats> container_stats(std::string_view container_id) noexcept = 0;

  // ---- images ----
  // Pulls (or finds) `reference` ("busybox:1.36", "127.0.0.1:5000/app@sha256:…").
  virtual Result<ImageInfo> pull_image(std::string_view reference) noexcept = 0;
  // nullopt: not present on the node.
  virtual Result<std::optional<ImageInfo>> image_status(std::string_view reference) noexcept = 0;
  virtual Result<std::vector<ImageInfo>> list_images() noexcept = 0;
  virtual Status remove_image(std::string_view image_id) noexcept = 0;
};

}  // namespace skiff::plugin::runtime
