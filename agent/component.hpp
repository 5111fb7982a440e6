// The node agent as a skiffd component: `agent.runtime = <runtime plugin>` turns it on. It starts
// after the API and the controllers, registers the node(s), then syncs pods bound to them.
#pragma once

#include <vector>

#include "kernel/config/daemon_config.hpp"
#include "kernel/daemon/daemon.hpp"

namespace skiff::agent {

std::vector<kernel::ComponentOption> agent_options();
kernel::Daemon::ComponentFactory agent_component();

}  // namespace skiff::agent
