#include "tests/controllers/workloads_support.hpp"

#include "deployment.hpp"
#include "replicaset.hpp"

namespace skiff::testing::workloads {

void run_workload_controllers(ControlPlane& cp) {
  cp.run("replicaset", std::make_shared<plugins::controllers::ReplicaSetController>(
                           plugins::controllers::ReplicaSetOptions{.max_requeue_ms = 20}));
  cp.run("deployment", std::make_shared<plugins::controllers::DeploymentController>(
                           plugins::controllers::DeploymentOptions{.max_requeue_ms = 20}));
}

}  // namespace skiff::testing::workloads
