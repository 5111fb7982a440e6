// Pods and Nodes as the scheduler's plugins see them: parsed once, when the informer delivers the
// object, into the plain value types of skiff/plugin/scheduler.hpp. Nothing in the scheduling hot
// path touches JSON.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "skiff/plugin/object.hpp"
#include "skiff/plugin/scheduler.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel::scheduler {

namespace sp = plugin::scheduler;
using plugin::StringPairs;

// spec.priorityClassName → value; nullopt for an unknown class. `global_default` is the value of the
// class with globalDefault: true (nullopt when there is none).
struct PriorityResolver {
  std::function<std::optional<std::int32_t>(std::string_view class_name)> lookup;
  std::function<std::optional<std::int32_t>()> global_default;
};

// kInvalid names the field ("spec.containers[0].resources.requests.cpu: …").
// `fingerprint`, when given, receives pod_fingerprint() of the same parse.
plugin::Result<sp::PodInfo> parse_pod(const plugin::Object& object, const PriorityResolver* priorities = nullptr,
                                      std::string* fingerprint = nullptr);
plugin::Result<sp::NodeInfo> parse_node(const plugin::Object& object);

// "nginx" → "docker.io/library/nginx:latest", as the image locality score compares them.
std::string normalize_image(std::string_view image);

// A hash of a pod's spec and labels, to tell a real change of a pending pod from a status write
// (a collision only delays a retry until the next event or the periodic one).
std::string pod_fingerprint(const nlohmann::json& spec, const StringPairs& labels);

}  // namespace skiff::kernel::scheduler
