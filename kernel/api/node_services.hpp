// What a node agent serves for the pods on its nodes, as the kubelet's own API does for Kubernetes'
// API server: container logs (pods/log) and exec (pods/exec). The API handler finds the agent of a
// pod's node in a NodeDirectory; an agent running in the same skiffd registers itself there at start.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <functional>

#include "kernel/api/http.hpp"
#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

// GET pods/NAME/log's query, resolved against the pod.
struct PodLogRequest {
  std::string ns, pod, uid, container;
  bool follow = false;
  bool previous = false;    // the container's previous attempt
  bool timestamps = false;  // each line starts with its RFC 3339 time
  std::optional<std::int64_t> tail_lines;
  std::optional<std::int64_t> limit_bytes;
  std::optional<std::int64_t> since_seconds;
};

// GET pods/NAME/exec's query, resolved against the pod.
struct PodExecRequest {
  std::string ns, pod, uid, container;
  std::vector<std::string> command;
  bool stdin = false;  // kubectl exec -i
  bool tty = false;    // kubectl exec -t
};

// Output of an exec as it comes: stream 1 is stdout, 2 is stderr. Called from the exec's thread.
using ExecOutput = std::function<void(int stream, std::string_view data)>;

// What the client sends to an interactive exec, as it arrives: stdin bytes, terminal sizes, the end
// of stdin. The connection's side pushes from its own thread; the runtime pulls (the shapes of
// plugin::runtime::ExecStreams' read_stdin and terminal_resized).
class ExecInput {
 public:
  void push_stdin(std::string_view data) {
    if (data.empty()) return;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      stdin_.emplace_back(data);
    }
    cv_.notify_all();
  }
  void resize(plugin::runtime::TerminalSize size) {
    std::lock_guard lock(mutex_);
    size_ = size;
    resized_ = true;
  }
  // No more stdin: the client closed it or went away. What was pushed before is still read.
  void close_stdin() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  // Waits up to `wait` for stdin: true with the bytes that came (possibly none); false once stdin
  // is closed and everything pushed before was read.
  bool read_stdin(std::string& chunk, std::chrono::milliseconds wait = std::chrono::milliseconds(100)) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait, [&] { return closed_ || !stdin_.empty(); });
    chunk.clear();
    if (stdin_.empty()) return !closed_;
    chunk = std::move(stdin_.front());
    stdin_.pop_front();
    return true;
  }
  // True, filling `size`, when a new size came since the last call.
  bool take_resize(plugin::runtime::TerminalSize& size) {
    std::lock_guard lock(mutex_);
    if (!resized_) return false;
    resized_ = false;
    size = size_;
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> stdin_;
  bool closed_ = false;
  bool resized_ = false;
  plugin::runtime::TerminalSize size_;
};

class NodeServices {
 public:
  virtual ~NodeServices() = default;
  // The container's log: a source that is done once the log is read (without follow) or once the
  // container stopped and everything it wrote was read (with follow). kBadRequest with Kubernetes'
  // message when there is no log yet ("container "c" in pod "p" is waiting to start: …").
  virtual plugin::Result<std::unique_ptr<StreamSource>> pod_log(const PodLogRequest& request) = 0;
  // Runs the command in the container's running instance until it ends, passing its output on as it
  // comes and `input` in (with request.stdin or request.tty; null otherwise); the command's exit code. Blocks: call
  // it from a thread of its own.
  virtual plugin::Result<std::int32_t> pod_exec(const PodExecRequest& request, const ExecOutput& output,
                                                ExecInput* input) = 0;
};

// Node name → the agent serving it. Agents register and unregister themselves; lookups are
// concurrent with both.
class NodeDirectory {
 public:
  void add(const std::string& node, std::shared_ptr<NodeServices> services) {
    std::lock_guard lock(mutex_);
    nodes_[node] = std::move(services);
  }
  void remove(const NodeServices* services) {
    std::lock_guard lock(mutex_);
    std::erase_if(nodes_, [&](const auto& entry) { return entry.second.get() == services; });
  }
  // Null when no agent serves `node`. Shared: a request in flight keeps the agent's services alive
  // after the agent unregistered (its streams then end).
  std::shared_ptr<NodeServices> find(std::string_view node) const {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(node);
    return it == nodes_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<NodeServices>, std::less<>> nodes_;
};

}  // namespace skiff::kernel::api
