// The Deployment controller (apps/v1): rolls a pod template out through ReplicaSets it owns.
// See README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "controller_common.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers {

struct DeploymentOptions {
  // Upper bound for the requeue that checks progressDeadlineSeconds (ms); 0 = none. Tests on a fake
  // clock cap it so that a real-time queue delay stays short.
  std::int64_t max_requeue_ms = 0;
};

class DeploymentController final : public plugin::controller::Controller {
 public:
  explicit DeploymentController(DeploymentOptions options = {}) : options_(options) {}

  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;

 private:
  struct Sync;
  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& ns, const std::string& name);

  const DeploymentOptions options_;
  std::optional<plugin::controller::Host> host_;
  std::optional<EventRecorder> events_;
};

}  // namespace skiff::plugins::controllers
