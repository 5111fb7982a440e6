// The field schemas of the built-in kinds: JSON names, value types, and the list/map semantics that
// strategic merge patch (patchStrategy / patchMergeKey) and server-side apply (listType /
// listMapKeys / mapType / structType) need. The table lives in schema.cpp as a compact text
// description transcribed from the Kubernetes 1.32 Go types; it is parsed once, on first use.
//
// Also here: the checks behind fieldValidation=Strict (unknown fields) and the typed decoder's
// errors for values of the wrong JSON type, with Kubernetes' message wording. Each field also carries
// its number in Kubernetes' protobuf encoding and the Go facts (pointer, omitempty) that protobuf.hpp
// needs to turn a protobuf body into the JSON Go would write for it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

using Json = nlohmann::json;
using plugin::Result;
using plugin::Status;

struct TypeSchema;

// Compact JSON text of `v`; invalid UTF-8 is replaced instead of throwing.
std::string dump_text(const Json& v);

enum class ValueKind : std::uint8_t {
  kString,
  kInteger,  // format int32 or int64
  kNumber,   // float64
  kBoolean,
  kIntOrString,  // intstr.IntOrString
  kQuantity,     // resource.Quantity: a string ("500m", "1Gi") or a number
  kDateTime,     // metav1.Time / MicroTime: an RFC 3339 string
  kBytes,        // []byte: a base64 string
  kAny,          // free-form JSON (RawExtension, FieldsV1)
  kObject,       // a named struct type
  kArray,
  kMap,  // map of string to element
};

// Server-side apply's view of a list (+listType).
enum class ListType : std::uint8_t { kAtomic, kSet, kMap };

// The type of one value. Arrays and maps have an element type.
struct ValueType {
  ValueKind kind = ValueKind::kAny;
  const TypeSchema* object = nullptr;  // kObject
  const ValueType* element = nullptr;  // kArray, kMap
  std::string go_type;                 // as Go prints it in decode errors: "int32", "v1.PullPolicy", "[]v1.Container"
  std::string format;                  // OpenAPI format: "int32", "int64", "double", "byte", "date-time"
  bool micro_time = false;             // kDateTime: metav1.MicroTime (RFC 3339 with microseconds)
  ListType list_type = ListType::kAtomic;  // kArray
  std::vector<std::string> list_map_keys;  // kArray with ListType::kMap
  bool map_atomic = false;                 // kMap: +mapType=atomic
  bool duration = false;                   // kString: metav1.Duration ("1h0m0s"; protobuf: {1: int64 nanoseconds})
};

struct FieldSchema {
  std::string name;  // JSON name
  const ValueType* type = nullptr;
  std::vector<std::string> patch_strategies;  // "merge", "retainKeys", "replace" (struct tag patchStrategy)
  std::string patch_merge_key;                // struct tag patchMergeKey
  Json default_value;                         // null, or the default (list-map keys such as protocol: "TCP")

  // Kubernetes' protobuf encoding and how Go's JSON encoder writes the field (see schema.cpp's table).
  std::int32_t proto_number = 0;  // field number in the type's protobuf message; 0 only when json_only
  bool json_only = false;         // no protobuf field: TypeMeta's apiVersion and kind (carried by the envelope)
  bool pointer = false;           // a Go pointer: a present value is written even when it is zero
  bool omit_empty = true;         // the json tag has omitempty
  bool inlined = false;           // copied from a Go-embedded type; proto_number is within that type's message

  bool has_strategy(std::string_view strategy) const noexcept;
};

// A Go-embedded struct (",inline"): JSON shows its fields in the parent (copied into
// TypeSchema::fields with `inlined` set), protobuf carries it as one nested message field.
struct InlineSchema {
  std::int32_t proto_number = 0;
  const TypeSchema* type = nullptr;
};

struct TypeSchema {
  std::string name;     // Go type name: "DeploymentSpec"
  std::string package;  // OpenAPI prefix: "io.k8s.api.apps.v1"
  std::string group;    // group/version/kind are set on top-level kinds only
  std::string version;
  std::string kind;
  bool atomic = false;  // +structType=atomic
  std::vector<FieldSchema> fields;
  std::vector<InlineSchema> inlines;  // embedded types, in table order
  const ValueType* self = nullptr;    // a ValueType of kind kObject that refers to this type

  const FieldSchema* field(std::string_view json_name) const noexcept;
  // The type's own field with this protobuf number (not one copied from an inlined type), or null.
  const FieldSchema* proto_field(std::int32_t number) const noexcept;
  // The inlined type carried as protobuf field `number`, or null.
  const TypeSchema* proto_inline(std::int32_t number) const noexcept;
  bool is_kind() const noexcept { return !kind.empty(); }
  std::string openapi_name() const { return package + "." + name; }  // "io.k8s.api.apps.v1.DeploymentSpec"
  std::string go_name() const;                                       // "v1.DeploymentSpec"
};

// The schema of a built-in kind, or null.
const TypeSchema* schema_for(std::string_view group, std::string_view version, std::string_view kind) noexcept;
// The schema of an object from its apiVersion and kind fields, or null.
const TypeSchema* schema_for_object(const Json& object) noexcept;
// Any described type by its OpenAPI name ("io.k8s.api.core.v1.PodSpec"), or null.
const TypeSchema* find_type(std::string_view openapi_name) noexcept;
// Every described type, in table order.
std::vector<const TypeSchema*> all_types();
// Problems found while parsing the table (unresolved type names, bad modifiers); empty when sound.
const std::vector<std::string>& schema_table_problems();

// The type of the value found by following JSON field names from `type` (array and map levels are
// stepped through with "" as the segment), or null when a segment is not declared.
const ValueType* lookup_path(const TypeSchema& type, const std::vector<std::string>& fields) noexcept;

// Every field of `object` that `schema` does not declare, in the strict decoder's path format
// ("spec.replica", "spec.template.spec.containers[0].imagePullPolicyy"), in document (key) order.
// Free-form values (kAny) are not inspected.
std::vector<std::string> unknown_fields(const TypeSchema& schema, const Json& object);

// A value whose JSON type does not fit the field, as Go's decoder reports it.
struct TypeError {
  std::string path;  // strict-decoder path of the value: "spec.replicas", "spec.template.spec.containers[0].name"
  std::string
      message;  // "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
};
// Every value of the wrong type (the first is the one Kubernetes reports). null is accepted everywhere.
std::vector<TypeError> type_errors(const TypeSchema& schema, const Json& object);

// `strict decoding error: unknown field "a", unknown field "b"`
std::string strict_decoding_message(const std::vector<std::string>& unknown);
// `Deployment in version "v1" cannot be handled as a Deployment: <detail>` (apiserver's decode error).
std::string decode_error_message(std::string_view body_kind, std::string_view body_version, std::string_view kind,
                                 std::string_view detail);

// What the apiserver does when decoding a create/update body into `schema`'s kind: type errors
// always fail; unknown fields fail only when `strict`. Returns OK or kBadRequest with Kubernetes'
// message. Without strictness, unknown fields are the caller's to drop or warn about.
Status check_decode(const TypeSchema& schema, const Json& object, bool strict);

}  // namespace skiff::kernel::api
