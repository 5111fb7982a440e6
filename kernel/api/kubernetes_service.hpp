// The `kubernetes` Service in `default` and its Endpoints, as kube-apiserver's bootstrap controller
// keeps them, so that `kubectl get services` shows it and in-cluster clients find the API server:
//   - the first address of the service range (10.96.0.1 by default), port 443 named https, to the
//     API server's own port; labels component=apiserver and provider=kubernetes;
//   - no selector, so the endpoints controller leaves its Endpoints alone;
//   - Endpoints and an EndpointSlice with the address and port the API server listens on.
#pragma once

#include <string_view>

#include "kernel/api/client.hpp"
#include "kernel/store/object_store.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

// Creates the Service when it is missing, through `client` (so it takes the API's admission and the
// ClusterIP allocator: an address a user's Service already holds makes it take another), and creates
// or rewrites the Endpoints and the EndpointSlice when they differ (a restart on another port).
// `host` 0.0.0.0, or anything but an IPv4 address, names no single address: they are then left
// unwritten.
plugin::Status publish_kubernetes_service(ApiClient& client, const ObjectStore& store, std::string_view service_cidr,
                                          std::string_view host, int port);

}  // namespace skiff::kernel::api
