#include "tests/controllers/workloads_support.hpp"

#include "deployment.hpp"
#include "replicaset.hpp"

namespace skiff::testing::workloads {
namespace {

class KubeletDeletions final : public plugin::controller::Controller {
 public:
  explicit KubeletDeletions(kernel::api::ApiClient& client) : client_(client) {}
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override {
    return {{kPods, plugin::controller::KeyMapping::kSelf, ""}};
  }
  void bind(const plugin::controller::Host& host) noexcept override { cache_ = &host.cache; }
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override {
    auto slash = key.find('/');
    std::string ns(key.substr(0, slash)), name(key.substr(slash + 1));
    plugin::ObjectPtr pod = cache_->get(kPods, ns, name);
    if (!pod || !pod->deleting) return plugin::controller::ReconcileResult{};
    auto r = client_.remove_with_grace(kPods, ns, name, {.precondition_uid = pod->uid}, 0);
    if (!r && r.status().code() != plugin::Code::kNotFound && r.status().code() != plugin::Code::kConflict)
      return r.status();
    return plugin::controller::ReconcileResult{};
  }

 private:
  kernel::api::ApiClient& client_;
  const plugin::Cache* cache_ = nullptr;
};

}  // namespace

void run_kubelet_deletions(ControlPlane& cp) {
  cp.run("kubelet-deletions", std::make_shared<KubeletDeletions>(cp.api_client()));
}

void run_workload_controllers(ControlPlane& cp) {
  run_kubelet_deletions(cp);
  cp.run("replicaset", std::make_shared<plugins::controllers::ReplicaSetController>(
                           plugins::controllers::ReplicaSetOptions{.max_requeue_ms = 20}));
  cp.run("deployment", std::make_shared<plugins::controllers::DeploymentController>(
                           plugins::controllers::DeploymentOptions{.max_requeue_ms = 20}));
}

}  // namespace skiff::testing::workloads
