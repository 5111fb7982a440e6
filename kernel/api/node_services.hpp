// What a node agent serves for the pods on its nodes, as the kubelet's own API does for Kubernetes'
// API server: container logs (pods/log) and exec (pods/exec). The API handler finds the agent of a
// pod's node in a NodeDirectory; an agent running in the same skiffd registers itself there at start.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <functional>

#include "kernel/api/http.hpp"
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
};

// Output of an exec as it comes: stream 1 is stdout, 2 is stderr. Called from the exec's thread.
using ExecOutput = std::function<void(int stream, std::string_view data)>;

class NodeServices {
 public:
  virtual ~NodeServices() = default;
  // The container's log: a source that is done once the log is read (without follow) or once the
  // container stopped and everything it wrote was read (with follow). kBadRequest with Kubernetes'
  // message when there is no log yet ("container "c" in pod "p" is waiting to start: …").
  virtual plugin::Result<std::unique_ptr<StreamSource>> pod_log(const PodLogRequest& request) = 0;
  // Runs the command in the container's running instance until it ends, passing its output on as it
  // comes; the command's exit code. Blocks: call it from a thread of its own.
  virtual plugin::Result<std::int32_t> pod_exec(const PodExecRequest& request, const ExecOutput& output) = 0;
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
