// Validation of the built-in kinds on create and update, with Kubernetes' rules and messages
// (pkg/apis/core/validation, pkg/apis/apps/validation, pkg/apis/batch/validation, and the apimachinery
// metadata checks). Every bad field is reported, not just the first; nothing here throws, whatever
// the JSON holds: a value of the wrong JSON type is itself a FieldError.
//
// validate() checks the object as Kubernetes would after decoding, i.e. with the defaults of
// defaults.hpp applied (it applies them to a private copy first, so an undefaulted update body is
// judged like Kubernetes judges it). The caller still stores the defaulted object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace skiff::kernel::api {

// One field-level problem: field.Error in Kubernetes.
struct FieldError {
  enum class Type { kRequired, kInvalid, kNotSupported, kForbidden, kDuplicate, kTooLong, kTooMany, kNotFound };

  Type type = Type::kInvalid;
  std::string field;     // "spec.template.spec.containers[0].image"
  nlohmann::json value;  // the bad value (printed for kInvalid, kNotSupported, kDuplicate, kTooMany, kNotFound)
  std::string detail;
  // When non-empty, printed instead of `value`: Go's %#v of a struct, as Kubernetes prints it
  // ("v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}, MatchExpressions:…}").
  std::string value_text;

  // Kubernetes' text without the field ("Invalid value: -1: must be greater than or equal to 0"):
  // what Status.details.causes[].message carries.
  std::string body() const;
  // "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
  std::string message() const;
  // The cause type for Status.details.causes[].reason: "FieldValueInvalid", "FieldValueRequired", …
  std::string reason() const;
};

// Every problem with `object` (kind `kind` in API group `group`; "" is the core group). `old` is the
// stored object on update, null on create. Kinds Skiff does not know get the metadata checks only.
std::vector<FieldError> validate(std::string_view group, std::string_view kind, const nlohmann::json& object,
                                 const nlohmann::json* old);

// Kubernetes' message for a 422: `Deployment.apps "web" is invalid: [a, b]`, without brackets for a
// single error and with repeated messages removed. `kind_with_group` is "Deployment.apps" or "Pod".
std::string invalid_message(std::string_view kind_with_group, std::string_view name,
                            const std::vector<FieldError>& errors);

// The whole 422 Status object (kind Status, reason Invalid, details with group, kind, name and one
// cause per error) that the API returns for these errors.
nlohmann::json invalid_status(std::string_view group, std::string_view kind, std::string_view name,
                              const std::vector<FieldError>& errors);

// Go's %q: a double-quoted string with Go's escapes.
std::string go_quote(std::string_view text);

}  // namespace skiff::kernel::api
