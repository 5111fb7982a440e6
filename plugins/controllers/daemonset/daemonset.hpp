// The DaemonSet controller (apps/v1): one pod per eligible node. See README.md.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "controller_common.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers {

// Whether a DaemonSet pod with `pod_spec` (its tolerations already including the automatic ones)
// should run on `node`: nodeSelector, required node affinity, and NoSchedule/NoExecute taints.
bool daemon_should_run(const Json& pod_spec, const Json& node);

// Adds Kubernetes' automatic DaemonSet tolerations (not-ready and unreachable NoExecute;
// disk-, memory-, pid-pressure and unschedulable NoSchedule) that `pod_spec` does not have yet.
void add_daemon_tolerations(Json& pod_spec);

class DaemonSetController final : public plugin::controller::Controller {
 public:
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

 private:
  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& ns, const std::string& name);

  std::optional<plugin::controller::Host> host_;
  std::optional<EventRecorder> events_;
  // Pods created but not yet seen by the cache, by DaemonSet key then node: no second pod is
  // created for such a node (Kubernetes' expectations). Value: pod name and when it was created.
  std::mutex mutex_;
  std::map<std::string, std::map<std::string, std::pair<std::string, std::int64_t>>, std::less<>> pending_;
};

}  // namespace skiff::plugins::controllers
