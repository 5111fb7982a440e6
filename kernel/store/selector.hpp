// Label and field selectors with Kubernetes' grammar and semantics
// (k8s.io/apimachinery/pkg/labels/selector.go, pkg/fields/selector.go).
//
// Labels: "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a", "!a", comma-separated = AND.
// Fields: "f=v", "f==v", "f!=v", comma-separated = AND.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "skiff/plugin/object.hpp"
#include "skiff/plugin/status.hpp"

namespace skiff::kernel {

using plugin::Result;
using plugin::Status;
using plugin::StringPairs;

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op = Op::kEquals;
    std::vector<std::string> values;  // sorted; one value for kEquals / kNotEquals
  };

  // kInvalid with the position and the offending text on bad syntax, bad key or bad value.
  static Result<LabelSelector> parse(std::string_view text);
  // From a metav1.LabelSelector JSON ({"matchLabels":{…},"matchExpressions":[…]}). A null or absent
  // selector matches nothing only where Kubernetes says so; callers decide — this returns "everything".
  static Result<LabelSelector> from_json(const nlohmann::json& selector);

  bool empty() const noexcept { return requirements_.empty(); }
  bool matches(const StringPairs& labels) const noexcept;
  const std::vector<Requirement>& requirements() const noexcept { return requirements_; }
  std::string to_string() const;  // canonical text form, requirements sorted by key

 private:
  std::vector<Requirement> requirements_;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    bool equals = true;  // false: !=
    std::string value;
  };

  static Result<FieldSelector> parse(std::string_view text);

  bool empty() const noexcept { return requirements_.empty(); }
  // metadata.name and metadata.namespace come from the object's name/ns; other fields from object.fields.
  // A field the object does not carry compares as "".
  bool matches(const plugin::Object& object) const noexcept;
  const std::vector<Requirement>& requirements() const noexcept { return requirements_; }
  std::string to_string() const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace skiff::kernel
