// Rollout rules shared by `skiff rollout` and its tests: when a Deployment counts as rolled out
// (kubectl's DeploymentStatusViewer), and its revision history from its ReplicaSets.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::cli {

inline constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr const char* kChangeCauseAnnotation = "kubernetes.io/change-cause";
inline constexpr const char* kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

struct RolloutState {
  bool done = false;
  bool failed = false;  // the Progressing condition says the deadline was exceeded
  std::string message;  // kubectl's line, with a trailing newline
};

// Rolled out when metadata.generation <= status.observedGeneration, updatedReplicas == replicas,
// status.replicas == updatedReplicas (no old pods left) and availableReplicas >= updatedReplicas.
RolloutState deployment_rollout_state(const nlohmann::json& deployment);

// The deployment's ReplicaSets (owned by its uid) by revision number; unannotated ones are left out.
std::map<std::int64_t, nlohmann::json> revisions_of(const nlohmann::json& deployment,
                                                    const std::vector<nlohmann::json>& replicasets);

// "app=nginx,tier=web" from a LabelSelector's matchLabels (matchExpressions are matched by owner).
std::string match_labels_selector(const nlohmann::json& selector);

}  // namespace skiff::cli
