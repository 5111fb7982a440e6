// The endpoints controller: for every Service with a selector, the Endpoints object of the same name
// and its EndpointSlices, from the pods the selector picks. See README.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers::endpoints {

inline constexpr std::string_view kName = "endpoints";
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
inline constexpr std::string_view kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedBy = "endpointslice-controller.k8s.io";

class EndpointsController final : public plugin::controller::Controller {
 public:
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  // Pods → the services of their namespace whose selector picks them; EndpointSlices → their service.
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

 private:
  plugin::Status sync_endpoints(const std::string& ns, const std::string& name, const plugin::Object* service,
                                const nlohmann::json* subsets);
  plugin::Status sync_slices(const std::string& ns, const std::string& name, const plugin::Object* service,
                             const std::vector<nlohmann::json>* slices);

  std::optional<plugin::controller::Host> host_;
};

}  // namespace skiff::plugins::controllers::endpoints
