// meta.k8s.io/v1 Table responses for `kubectl get`: the columns Kubernetes' printers define for each
// built-in kind (pkg/printers/internalversion/printers.go) and the cells they compute, humanized
// exactly as kubectl shows them. The server always fills the wide (-o wide) cells; columns with
// priority 1 are the ones kubectl shows only with -o wide.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/store/resource.hpp"
#include "skiff/plugin/object.hpp"

namespace skiff::kernel::api {

// Kubernetes' duration.HumanDuration: "5s", "3m20s", "5m", "2d3h", "45d", "2y10d"; "<invalid>" for
// more than a second in the future.
std::string human_duration(std::int64_t ms);

// The Table's columnDefinitions for a type (Name + Age for kinds without a printer).
nlohmann::json table_columns(const ResourceType& type);

// One row ({"cells": […], "object": …}) for an object of `type`. `include_object` is "None",
// "Metadata" (the default; a PartialObjectMetadata) or "Object" (the whole object).
nlohmann::json table_row(const ResourceType& type, const nlohmann::json& object, std::int64_t now_ms,
                         std::string_view include_object);

// The whole Table. `resource_version` goes to metadata.resourceVersion (omitted when empty).
nlohmann::json to_table(const ResourceType& type, const std::vector<plugin::ObjectPtr>& objects, std::int64_t now_ms,
                        std::string_view include_object, std::string_view resource_version);

// The same Table as JSON text, made row by row (for lists: no DOM of every row at once), with
// metadata.continue when `continue_token` is set.
std::string to_table_text(const ResourceType& type, const std::vector<plugin::ObjectPtr>& objects, std::int64_t now_ms,
                          std::string_view include_object, std::string_view resource_version,
                          std::string_view continue_token);

}  // namespace skiff::kernel::api
