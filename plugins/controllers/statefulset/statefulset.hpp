// The StatefulSet controller (apps/v1): pods with stable names <sts>-0..N-1. See README.md.
#pragma once

#include <optional>
#include <string>

#include "controller_common.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers {

class StatefulSetController final : public plugin::controller::Controller {
 public:
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;

 private:
  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& ns, const std::string& name);

  std::optional<plugin::controller::Host> host_;
  std::optional<EventRecorder> events_;
};

}  // namespace skiff::plugins::controllers
