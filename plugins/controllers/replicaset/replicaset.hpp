// The ReplicaSet controller (apps/v1): keeps spec.replicas active pods matching spec.selector.
// See README.md.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "controller_common.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers {

struct ReplicaSetOptions {
  // Most pods created or deleted by one reconcile (Kubernetes' burstReplicas).
  std::int64_t burst_replicas = 500;
  // Upper bound for the "look again when a pod becomes available" requeue (ms); 0 = none. Tests
  // on a fake clock cap it so that a real-time queue delay stays short.
  std::int64_t max_requeue_ms = 0;
  // How long a create/delete not yet seen by the cache holds further creates/deletes back.
  std::int64_t expectations_timeout_ms = 5 * 60 * 1000;
};

class ReplicaSetController final : public plugin::controller::Controller {
 public:
  explicit ReplicaSetController(ReplicaSetOptions options = {}) : options_(options) {}

  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

 private:
  // Creates and deletes sent but not yet observed in the cache (Kubernetes' expectations): while
  // any is pending the controller does not create or delete again, so a lagging cache never makes
  // it overshoot.
  struct Expectations {
    std::set<std::string> adds, deletes;  // pod names
    std::int64_t since_ms = 0;
  };
  bool expectations_satisfied(const std::string& key, const std::string& ns);
  plugin::Result<plugin::controller::ReconcileResult> sync(const std::string& ns, const std::string& name);

  const ReplicaSetOptions options_;
  std::optional<plugin::controller::Host> host_;
  std::optional<EventRecorder> events_;
  std::mutex mutex_;
  std::map<std::string, Expectations, std::less<>> expectations_;
  // Pods whose events named a ReplicaSet as their controller, by ReplicaSet key: the reconcile
  // lists pods by the selector, and these are how it finds owned pods that no longer match.
  std::map<std::string, std::set<std::string>, std::less<>> touched_;
};

}  // namespace skiff::plugins::controllers
