// The API server as a daemon component: cluster credentials, the REST handler, the NNG server, and
// DATA_DIR/kubeconfig for kubectl.
#pragma once

#include "kernel/daemon/daemon.hpp"

namespace skiff::kernel::api {

// The config keys the API server reads (besides the kernel's `listen`).
std::vector<ComponentOption> api_server_options();

// Reads listen, api.insecure-http and api.workers from the daemon's config.
Daemon::ComponentFactory api_server_component();

}  // namespace skiff::kernel::api
