// The service proxy as a skiffd component: `proxy.mode = <proxy plugin>` turns it on (empty or
// "none": off). At start it starts the chosen mode, then removes what the other proxy modes left on
// this node (so changing proxy.mode and restarting leaves no stale rules), then keeps it in sync
// with Services and Endpoints: every change asks for a sync, syncs are at least
// proxy.min-sync-period-ms apart, and each hands the mode the complete desired state.
#pragma once

#include <vector>

#include "kernel/config/daemon_config.hpp"
#include "kernel/daemon/daemon.hpp"

namespace skiff::proxy {

std::vector<kernel::ComponentOption> proxy_options();
kernel::Daemon::ComponentFactory proxy_component();

}  // namespace skiff::proxy
