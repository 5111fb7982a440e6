// The skiff commands. Each takes the arguments after its name (global flags included, anywhere) and
// returns the exit code, or throws one of the errors in errors.hpp.
#pragma once

#include <string>
#include <vector>

#include "cli/skiff/command.hpp"

namespace skiff::cli {

using Args = std::vector<std::string>;

int cmd_version(Context& ctx, const Args& args);
int cmd_plugins(Context& ctx, const Args& args);   // cmd_plugins.cpp
int cmd_cluster(Context& ctx, const Args& args);   // cmd_cluster.cpp: `cluster status`
int cmd_apply(Context& ctx, const Args& args);     // cmd_apply.cpp
int cmd_get(Context& ctx, const Args& args);       // cmd_get.cpp
int cmd_describe(Context& ctx, const Args& args);  // cmd_describe.cpp
int cmd_delete(Context& ctx, const Args& args);    // cmd_delete.cpp
int cmd_logs(Context& ctx, const Args& args);      // cmd_logs.cpp
int cmd_scale(Context& ctx, const Args& args);     // cmd_rollout.cpp
int cmd_rollout(Context& ctx, const Args& args);   // cmd_rollout.cpp
int cmd_image(Context& ctx, const Args& args);     // cmd_image.cpp: the node's OCI image store

}  // namespace skiff::cli
