// The defaults Kubernetes fills in when it decodes a built-in object (pkg/apis/core/v1/defaults.go,
// pkg/apis/apps/v1/defaults.go, pkg/apis/batch/v1/defaults.go, …), plus what its create path adds on
// top for a new object: the registry strategies (Pod status and QoS class, Namespace finalizer, a
// cleared status for workloads) and the default admission plugins for pods (ServiceAccount, Priority,
// DefaultTolerationSeconds).
//
// Defaulting only fills what is absent: running it twice changes nothing. Values of the wrong JSON
// type are left alone for validation to report; nothing here throws.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

namespace skiff::kernel::api {

enum class Operation {
  kCreate,  // decode defaults + the create-only parts (status reset, pod admission defaults)
  kUpdate,  // decode defaults only: what Kubernetes applies to every update body
};

void apply_defaults(std::string_view group, std::string_view kind, nlohmann::json& object,
                    Operation operation = Operation::kCreate);

// Kubernetes' generated Job selector: matchLabels batch.kubernetes.io/controller-uid=<uid>, and the
// controller-uid / job-name labels (legacy and batch.kubernetes.io/ forms) on the pod template,
// unless spec.manualSelector is true. Labels the user set are kept (validation then rejects a
// mismatch). apply_defaults(kCreate) calls this when metadata.uid is already set.
void generate_job_selector(nlohmann::json& job, std::string_view uid);

// The volume source fields of a core/v1 Volume ("hostPath", "emptyDir", …), in the order Kubernetes
// checks them.
std::span<const std::string_view> volume_source_fields();

// The QoS class Kubernetes computes for a pod: "Guaranteed", "Burstable" or "BestEffort".
std::string_view pod_qos_class(const nlohmann::json& pod);

}  // namespace skiff::kernel::api
