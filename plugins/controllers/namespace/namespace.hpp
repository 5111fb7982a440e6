// The namespace controller: empties a Terminating namespace, then lets it go. See README.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers::ns {

inline constexpr std::string_view kName = "namespace";
// The finalizer the API puts on a namespace it is asked to delete (metadata.finalizers and
// spec.finalizers); this controller removes it once the namespace is empty.
inline constexpr std::string_view kFinalizer = "kubernetes";

class NamespaceController final : public plugin::controller::Controller {
 public:
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  // Content of a Terminating namespace → that namespace (its deletion may be what it waits for).
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

 private:
  std::optional<plugin::controller::Host> host_;
};

}  // namespace skiff::plugins::controllers::ns
