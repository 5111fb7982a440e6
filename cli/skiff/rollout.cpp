#include "cli/skiff/rollout.hpp"

#include <cstdlib>
#include <map>

#include "cli/skiff/json_util.hpp"

namespace skiff::cli {

RolloutState deployment_rollout_state(const nlohmann::json& d) {
  std::string name = str(d, {"metadata", "name"});
  RolloutState s;
  if (num(d, {"metadata", "generation"}) > num(d, {"status", "observedGeneration"})) {
    s.message = "Waiting for deployment spec update to be observed...\n";
    return s;
  }
  for (const auto& c : at(d, {"status", "conditions"})) {
    if (str(c, {"type"}) == "Progressing" && str(c, {"reason"}) == "ProgressDeadlineExceeded") {
      s.failed = true;
      s.message = "deployment \"" + name + "\" exceeded its progress deadline\n";
      return s;
    }
  }
  std::int64_t updated = num(d, {"status", "updatedReplicas"});
  std::int64_t total = num(d, {"status", "replicas"});
  std::int64_t available = num(d, {"status", "availableReplicas"});
  const nlohmann::json& wanted = at(d, {"spec", "replicas"});
  std::string prefix = "Waiting for deployment \"" + name + "\" rollout to finish: ";
  if (wanted.is_number_integer() && updated < wanted.get<std::int64_t>()) {
    s.message = prefix + std::to_string(updated) + " out of " + std::to_string(wanted.get<std::int64_t>()) +
                " new replicas have been updated...\n";
  } else if (total > updated) {
    s.message = prefix + std::to_string(total - updated) + " old replicas are pending termination...\n";
  } else if (available < updated) {
    s.message =
        prefix + std::to_string(available) + " of " + std::to_string(updated) + " updated replicas are available...\n";
  } else {
    s.done = true;
    s.message = "deployment \"" + name + "\" successfully rolled out\n";
  }
  return s;
}

std::map<std::int64_t, nlohmann::json> revisions_of(const nlohmann::json& deployment,
                                                    const std::vector<nlohmann::json>& replicasets) {
  std::string uid = str(deployment, {"metadata", "uid"});
  std::map<std::int64_t, nlohmann::json> out;
  for (const auto& rs : replicasets) {
    bool owned = false;
    for (const auto& ref : at(rs, {"metadata", "ownerReferences"}))
      if (str(ref, {"uid"}) == uid) owned = true;
    std::string revision = str(rs, {"metadata", "annotations", kRevisionAnnotation});
    if (!owned || revision.empty()) continue;
    char* end = nullptr;
    long long n = std::strtoll(revision.c_str(), &end, 10);
    if (end != revision.c_str() && *end == '\0') out[n] = rs;
  }
  return out;
}

std::string match_labels_selector(const nlohmann::json& selector) {
  std::map<std::string, std::string> sorted;
  const nlohmann::json& labels = at(selector, {"matchLabels"});
  if (labels.is_object()) {
    for (auto it = labels.begin(); it != labels.end(); ++it)
      if (it.value().is_string()) sorted[it.key()] = it.value().get<std::string>();
  }
  std::string out;
  for (const auto& [k, v] : sorted) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace skiff::cli
