// Role skiff.runtime.v1 on the real runc binary (or crun: same command line). Sandboxes are network
// namespaces wired by CNI; containers are OCI bundles written from the node's image store
// (plugins/runtime/oci), their root an overlay of the image's unpacked layers, each run under a
// skiff-runc-shim that writes its CRI-format log and its exit code. Everything lives in files under
// the state directory, so a restarted agent finds its sandboxes and containers again.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/runtime.hpp"

namespace skiff::plugins::runtime::runc {

inline constexpr std::string_view kName = "runc";

struct RuncOptions {
  std::string binary = "runc";        // runc or crun, a path or a name in PATH
  std::string state_dir;              // sandboxes, containers, runc's --root
  std::string image_dir;              // the OCI image store (skiff image import writes there too)
  std::string shim;                   // skiff-runc-shim; empty: next to this plugin's .so
  std::string cni_plugin_dir = "/usr/lib/cni";
  std::string pod_cidr = "10.88.0.0/16";
  std::string bridge = "skiff0";
  std::string node_netns;             // network namespace the bridge lives in; empty: the daemon's
  bool ip_masq = false;
  std::int64_t sandbox_stop_grace_seconds = 10;  // stop_sandbox's grace for containers still running
  std::string cgroup_parent = "/skiff";          // containers' cgroups: <parent>/<container id>
  // Pod networks made ahead of time for pods without hostPorts (the plugin's config default is 1;
  // 0 here keeps tests that count veths exact).
  std::int64_t warm_networks = 0;
};

plugin::Result<std::unique_ptr<plugin::runtime::Runtime>> make_runc_runtime(RuncOptions options,
                                                                            plugin::Logger* logger = nullptr);

plugin::Result<std::unique_ptr<plugin::runtime::Runtime>> make_runtime(const plugin::PluginContext& context);

extern const std::array<plugin::OptionSpec, 11> kOptions;

}  // namespace skiff::plugins::runtime::runc
