// Helpers the batch controller tests share: playing the controllers that do not run (a kubelet, a
// Job controller) by writing status, and reading what the controllers recorded.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/control_plane.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {

// Edits the stored object's status with `edit` and writes it through the status subresource,
// retrying on conflicts (the controllers write the same objects). False if it never got through.
inline bool write_status(ControlPlane& cp, const plugin::ResourceId& resource, const std::string& ns,
                         const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
  return eventually([&] {
    nlohmann::json current = cp.get(resource, ns, name);
    if (current.is_null()) return false;
    edit(current);
    return cp.client().update_status(resource, current.dump()).is_ok();
  });
}

// How many Events in `ns` have this reason.
inline std::size_t count_events(ControlPlane& cp, const std::string& reason, const std::string& ns = "default") {
  std::size_t n = 0;
  for (auto& e : cp.list({"", "v1", "events"}, ns)) n += e.value("reason", "") == reason ? 1 : 0;
  return n;
}

}  // namespace skiff::testing
