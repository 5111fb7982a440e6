// Kubernetes conventions shared by the controller plugins. See README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "skiff/plugin/client.hpp"
#include "skiff/plugin/object.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::plugins::controllers {

using Json = nlohmann::json;

// Parses a cached object's JSON into a copy the caller may edit.
Json parse(const plugin::Object& object);

// metadata.ownerReferences entry a controller puts on what it creates: controller and
// blockOwnerDeletion true, so foreground deletion of the owner waits for the dependent.
Json controller_reference(const Json& owner, std::string_view api_version, std::string_view kind);

// The controller reference of `object` (the ownerReference with controller: true), if any.
std::optional<Json> controller_of(const Json& object);
// True when `object`'s controller reference points at the owner with this uid.
bool is_controlled_by(const Json& object, std::string_view owner_uid);

// Pod state as the workload controllers count it.
bool pod_is_terminal(const Json& pod);  // phase Succeeded or Failed
bool pod_is_active(const Json& pod);    // not terminal and not being deleted
bool pod_is_ready(const Json& pod);     // condition Ready=True
// Ready for at least `min_ready_seconds` at `now_ms` (the Ready condition's lastTransitionTime).
bool pod_is_available(const Json& pod, std::int64_t min_ready_seconds, std::int64_t now_ms);

// A metav1.LabelSelector ({matchLabels, matchExpressions}) as the string Cache::list takes
// ("app=web,tier in (a,b),!legacy"). kInvalid names the bad part. An empty selector selects all.
plugin::Result<std::string> selector_string(const Json& label_selector);

// Writes core/v1 Events about objects, as Kubernetes' event recorder does (one Event per call;
// kubectl describe lists them by involvedObject).
class EventRecorder {
 public:
  EventRecorder(plugin::Client& client, const plugin::Clock& clock, std::string component)
      : client_(client), clock_(clock), component_(std::move(component)) {}
  // `type` is "Normal" or "Warning". Failures are returned, not thrown; callers usually ignore them
  // (an event is best effort, as in Kubernetes).
  plugin::Status record(const Json& object, std::string_view type, std::string_view reason, std::string_view message);

 private:
  plugin::Client& client_;
  const plugin::Clock& clock_;
  const std::string component_;
};

}  // namespace skiff::plugins::controllers
