// The OCI runtime spec (config.json) of one container: the image's config and the pod's
// ContainerConfig turned into process, mounts, namespaces (the sandbox's network namespace joined)
// and cgroup limits. Defaults follow what `runc spec` and Docker use (capabilities, masked paths).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "image_store.hpp"
#include "skiff/plugin/runtime.hpp"

namespace skiff::plugins::runtime::runc {

struct SpecInputs {
  const plugin::runtime::ContainerConfig* container = nullptr;
  const oci::ImageConfig* image = nullptr;
  std::filesystem::path rootfs;          // the container's (overlay) root
  std::string hostname;
  std::string netns;                     // path of the sandbox's network namespace
  std::string cgroups_path;              // "/skiff/<id>"
  std::filesystem::path resolv_conf, hosts, hostname_file;  // the sandbox's, bind-mounted
  // The kernel accounts swap per cgroup (memory.memsw.* exists): a memory limit then also caps
  // memory + swap, so a container over its limit is OOM-killed instead of swapping, as in Kubernetes.
  bool swap_accounting = false;
};

// config.json's text, or why the container cannot run (no command, a user name not in /etc/passwd).
plugin::Result<std::string> make_spec(const SpecInputs& in);

// Kubernetes' rule: command replaces the entrypoint (and drops the image's cmd), args replace cmd.
std::vector<std::string> container_argv(const plugin::runtime::ContainerConfig& c, const oci::ImageConfig& image);

}  // namespace skiff::plugins::runtime::runc
