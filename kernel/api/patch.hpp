// The three client patch types Kubernetes accepts on PATCH (server-side apply is in apply.hpp):
//   application/merge-patch+json           merge_patch            RFC 7386
//   application/json-patch+json            json_patch             RFC 6902
//   application/strategic-merge-patch+json strategic_merge_patch  Kubernetes' strategic merge patch
// Each returns the patched copy of `target` or a Status; none throws. Format errors in the patch
// itself are kBadRequest; a patch that is well formed but cannot be applied is kInvalid (422).
#pragma once

#include "kernel/api/schema.hpp"

namespace skiff::kernel::api {

// RFC 7386: objects merge recursively, null deletes, anything else (arrays included) replaces.
Result<Json> merge_patch(const Json& target, const Json& patch);

// RFC 6902 operations add, remove, replace, move, copy and test, with JSON Pointer paths (~0 ~1
// escapes, "-" appends). The operations apply in order to a copy; any failure (a failed test
// included) fails the whole patch with a message naming the operation's index and path.
Result<Json> json_patch(const Json& target, const Json& ops);

// Strategic merge patch as kube-apiserver applies it (strategicpatch.StrategicMergeMapPatch):
// null deletes a field; maps merge recursively; lists whose field has patchStrategy "merge" merge
// by patchMergeKey (lists of scalars are unioned); other lists are replaced. Directives:
// `$patch: replace|delete` (in maps; `merge` is accepted there as the default), `$patch: delete|replace`
// in list items, `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.
// `schema` is the patched kind's type (null: unknown, so maps merge and lists are replaced).
Result<Json> strategic_merge_patch(const Json& target, const Json& patch, const TypeSchema* schema);

}  // namespace skiff::kernel::api
