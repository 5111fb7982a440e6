// Helpers the workload controllers (replicaset, deployment) share, on top of controller_common.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "controller_common.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers {

// True when `labels` (a metadata.labels object, or null) satisfies the metav1.LabelSelector
// `selector`. An empty or null selector matches nothing, as apps/v1 workloads treat it; an
// unknown operator matches nothing.
bool selector_matches(const Json& selector, const Json& labels);

// `object` with null members dropped, recursively: what a Go client sends as `"creationTimestamp":
// null` in a pod template is the zero value an API server would have dropped, so templates are
// compared (and hashed) without them.
Json without_nulls(Json object);

// The stable hash Kubernetes names ReplicaSets and labels pods with (pod-template-hash): FNV-32a
// of the template's canonical JSON (keys sorted) plus the collision count, written in the
// "safe" alphabet (no vowels, no confusable digits) so it never spells words.
std::string pod_template_hash(const Json& template_spec, std::int64_t collision_count = 0);

// "key" split into namespace and name ("ns/name" as the reconcile loop hands keys out).
std::pair<std::string, std::string> split_key(std::string_view key);

// An integer or "N%" (intstr) resolved against `total`; percentages round up or down as asked.
// kInvalid for anything else.
plugin::Result<std::int64_t> int_or_percent(const Json& value, std::int64_t total, bool round_up);

// j[key] when it is a string, else "" (j may be anything).
std::string string_field(const Json& j, std::string_view key);

// A controller's reconcile(key) around its sync(ns, name): the key split, and any exception turned
// into a Status naming `what` and the key (nothing may cross the plugin boundary).
template <typename Sync>
plugin::Result<plugin::controller::ReconcileResult> guarded_reconcile(std::string_view what, std::string_view key,
                                                                      Sync&& sync) noexcept {
  try {
    auto [ns, name] = split_key(key);
    return sync(ns, name);
  } catch (const std::exception& e) {
    return plugin::internal(std::string(what) + " " + std::string(key) + ": " + e.what());
  }
}

}  // namespace skiff::plugins::controllers
