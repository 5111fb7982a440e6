// Field ownership: server-side apply (PATCH with application/apply-patch+yaml) and the
// Update-operation bookkeeping for every other write, both kept in metadata.managedFields in
// Kubernetes' FieldsV1 format:
//   f:<field>            a struct or map field
//   k:{"name":"nginx"}   an item of an associative list (listType=map), by its key fields
//   v:"value"            an item of a set (listType=set)
//   "."                  the node itself is owned as well as fields below it
// Semantics follow sigs.k8s.io/structured-merge-diff as kube-apiserver uses it; see apply.cpp for
// where this is simpler.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/api/schema.hpp"

namespace skiff::kernel::api {

struct FieldManagerOptions {
  // Recorded on the entries ("status" for writes to /status); part of a manager's identity.
  std::string subresource;
  // Top-level fields whose ownership is not tracked, as Kubernetes' reset fields: the main
  // resource ignores "status"; a /status write would pass {"spec"}.
  std::vector<std::string> ignored_fields = {"status"};
};

struct ApplyResult {
  Json object;           // the merged object with metadata.managedFields updated
  bool changed = false;  // object differs from the live object (false: a no-op apply)
  bool created = false;  // there was no live object
};

// Applies `applied` (the full intent of `manager`) to `live` (null: the object does not exist).
// Fields in `applied` are set and owned by `manager`; fields it applied before but no longer does
// are removed unless another manager owns them; associative lists merge by their keys, sets by
// value, atomic lists and maps are replaced. A changed field owned by another manager is a
// conflict: kConflict with Kubernetes' message, unless `force`, which takes the ownership over.
// Fields the schema does not declare, or values of the wrong type, are kBadRequest.
// Kinds without a schema merge objects field by field and replace lists.
// The caller stamps metadata (uid, resourceVersion, …) and validates the result.
Result<ApplyResult> server_side_apply(const Json* live, const Json& applied, std::string_view manager, bool force,
                                      std::int64_t now_ms, const FieldManagerOptions& options = {});

// Records a non-apply write (create, update, patch) by `manager` on `object`, whose previous state
// is `old` (null on create): fields this write added or changed move to `manager`'s Update entry,
// fields it removed leave every entry. managedFields the client sent in `object` replace the
// stored ones (an empty list resets them), as in Kubernetes.
void record_update(Json& object, const Json* old, std::string_view manager, std::int64_t now_ms,
                   const FieldManagerOptions& options = {});

// The FieldsV1 set of `object` as an applier of it would own it (metadata and status excluded as
// in server_side_apply). For tests and for tools.
Result<Json> fields_v1_of(const Json& object);

}  // namespace skiff::kernel::api
