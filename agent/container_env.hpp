// A container's environment, command and args as the kubelet builds them from the pod spec:
// `env` (literal values with $(VAR) expansion, ConfigMap and Secret keys, the downward API's pod
// fields and container resources) and `envFrom` (every key of a ConfigMap or Secret, with a prefix),
// then $(VAR) expansion of command and args against the result.
//
// Pure functions over the pod JSON and a lookup of ConfigMaps and Secrets (the agent passes its
// informer cache), so they are unit-tested without a runtime. A reference the kubelet would refuse
// (a missing non-optional ConfigMap, Secret or key) is an error whose message is the kubelet's; the
// agent reports it as the container's CreateContainerConfigError.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/object.hpp"
#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::agent {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Reads a namespaced object (configmaps, secrets); null when it does not exist.
using ObjectLookup = std::function<plugin::ObjectPtr(const plugin::ResourceId&, std::string_view ns, std::string_view name)>;

extern const plugin::ResourceId kConfigMaps;
extern const plugin::ResourceId kSecrets;

// What the downward API shows besides the pod object itself.
struct PodFacts {
  const nlohmann::json* pod = nullptr;
  // The sandbox's IP, asked for only when an env var reads status.podIP: the runtime may still be
  // setting the network up while the container is created, and asking waits for it.
  std::function<std::string()> pod_ip = [] { return std::string(); };
  std::string host_ip;
  // The node's allocatable cpu and memory (quantities): what limits.cpu / limits.memory read when
  // the container sets no limit, as the kubelet does.
  std::string node_cpu = "0";
  std::string node_memory = "0";
  std::string node_ephemeral_storage = "0";
  // Service links (service_links() below): $(VAR) in env may read them, and each one the container
  // does not define itself is appended after its own variables, as the kubelet does.
  EnvList service_links;
};

// The variables the kubelet gives every container for Services: `kubernetes` in `default` always,
// and, when the pod's spec.enableServiceLinks is not false, every Service of the pod's namespace.
// Per Service with a cluster IP (headless and ExternalName ones have none): NAME_SERVICE_HOST,
// NAME_SERVICE_PORT (the first port), NAME_SERVICE_PORT_<PORTNAME> for named ports, and Docker's
// link variables NAME_PORT, NAME_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}; NAME is the Service's name
// upper-cased with '-' as '_'. `services` are Service objects of any namespace.
EnvList service_links(const std::vector<plugin::ObjectPtr>& services, const nlohmann::json& pod);

// Kubernetes' expansion: $(NAME) becomes the value `lookup` finds for NAME, or stays as written
// when there is none; $$ is a literal $; any other $ is kept.
std::string expand_references(std::string_view input, const std::function<const std::string*(std::string_view)>& lookup);

struct ContainerEnv {
  EnvList env;  // in definition order; a later definition of a name replaces the earlier value
  // envFrom keys skipped because they are no valid variable names, as the kubelet's
  // InvalidEnvironmentVariableNames event words it (one message per source).
  std::vector<std::string> skipped;
};

// The container's environment (envFrom first, then env in order, then the service links it does not
// set itself). An error carries the kubelet's
// message: `configmap "x" not found`, `couldn't find key k in ConfigMap default/x`, `secret "s" not
// found`, `couldn't find key k in Secret default/s`, `unsupported fieldPath: …`.
plugin::Result<ContainerEnv> container_env(const nlohmann::json& container, const PodFacts& facts,
                                           const ObjectLookup& lookup);

// $(VAR) expansion of each of `words` (command or args) against `env`.
std::vector<std::string> expand_words(const std::vector<std::string>& words, const EnvList& env);

// requests.cpu, limits.cpu and limits.memory as the runtime applies them (cgroup shares, quota, limit).
plugin::Result<plugin::runtime::Resources> container_resources(const nlohmann::json& container);

// Base64 as Secret data carries it (standard alphabet, padded); an error for anything else.
plugin::Result<std::string> decode_base64(std::string_view text);

}  // namespace skiff::agent
