// Services + Endpoints → the state a proxy mode is asked to reach (kube-proxy's ServicePortMap and
// EndpointsMap, flattened). Pure, so it is tested without a kernel.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/proxy.hpp"

namespace skiff::proxy {

// `services`: Service objects; `endpoints`: Endpoints objects by "ns/name". Services without a
// cluster IP (headless, ExternalName, not allocated yet) are left out. An Endpoints port is matched
// to a service port by name and protocol, as kube-proxy does; addresses are ready, notReadyAddresses not.
plugin::proxy::ProxyState desired_state(const std::vector<nlohmann::json>& services,
                                        const std::map<std::string, nlohmann::json>& endpoints);

}  // namespace skiff::proxy
