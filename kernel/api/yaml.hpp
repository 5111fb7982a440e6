// YAML → JSON for request bodies (application/yaml, apply-patch+yaml) and manifests. Plain scalars
// follow YAML 1.2's core schema (null, booleans, integers, floats); quoted scalars stay strings.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

// One document. kBadRequest with "yaml: line L, column C: …" on a syntax error.
plugin::Result<nlohmann::json> yaml_to_json(std::string_view text);

struct YamlDocument {
  nlohmann::json json;
  int line = 1;  // where the document starts in the stream (1-based), for error messages
};
// Every document of a multi-document stream ("---"), skipping empty ones.
plugin::Result<std::vector<YamlDocument>> yaml_documents(std::string_view text);

// JSON → block-style YAML, as `kubectl get -o yaml` prints it (keys in the object's order).
std::string json_to_yaml(const nlohmann::json& value);

}  // namespace skiff::kernel::api
