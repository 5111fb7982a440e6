// The daemon component that runs controller plugins (role skiff.controller.v1): one shared informer
// factory, and one ControllerRunner per controller export that controllers.enabled selects.
#pragma once

#include "kernel/daemon/daemon.hpp"

namespace skiff::kernel {

Daemon::ComponentFactory controllers_component();

}  // namespace skiff::kernel
