// OpenAPI v3 documents generated from the schema table, in the shape kube-apiserver serves them:
//   GET /openapi/v3                 openapi_v3_root: one serverRelativeURL per group-version
//   GET /openapi/v3/apis/apps/v1    openapi_v3_group_version: paths and components.schemas
// kubectl uses them for fieldValidation support (queryParamVerifierV3: a PATCH operation with the
// kind's x-kubernetes-group-version-kind and a fieldValidation query parameter), for computing
// client-side apply patches (x-kubernetes-patch-strategy / -merge-key on properties), and for
// `kubectl explain`. The documents depend only on the registry, so callers may cache them.
#pragma once

#include <string>
#include <string_view>

#include "kernel/api/schema.hpp"
#include "kernel/store/resource.hpp"

namespace skiff::kernel::api {

// {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=<H>"},"apis/apps/v1":{…},…}}
// where H is openapi_hash of that group-version's document.
Json openapi_v3_root(const ResourceRegistry& registry);

// The OpenAPI 3.0 document of one group-version ("" for the core group); an empty `paths` when the
// registry serves nothing there.
Json openapi_v3_group_version(const ResourceRegistry& registry, std::string_view group, std::string_view version);

// A stable hash of a document (16 upper-case hex digits), used as the ?hash= cache key.
std::string openapi_hash(const Json& document);

}  // namespace skiff::kernel::api
