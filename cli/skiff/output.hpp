// What skiff prints: aligned columns the way kubectl lays them out, meta.k8s.io Tables, objects as
// JSON / YAML / names, and the -o flag.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace skiff::cli {

using Json = nlohmann::json;
struct ResourceInfo;

// Width on a terminal: UTF-8 code points (what Go's tabwriter counts).
std::size_t display_width(std::string_view text);

// kubectl's tabwriter settings: every column but the last is padded to its widest cell plus three
// spaces, and is at least six wide; the last column is not padded. Rows can be added after the first
// ones were printed (watch): the widths only grow.
class ColumnLayout {
 public:
  void fit(const std::vector<std::string>& row);
  std::string format(const std::vector<std::string>& row) const;  // no trailing newline

 private:
  std::vector<std::size_t> widths_;
};

// Lays out all rows at once; every line ends with '\n'. `indent` prefixes each line.
std::string format_columns(const std::vector<std::vector<std::string>>& rows, std::string_view indent = {});

// Every line of `text` prefixed with `indent`.
std::string indent_lines(const std::string& text, std::string_view indent);

// One Table cell as kubectl prints it: strings verbatim, numbers without a fraction when whole,
// booleans as true/false, null as "<none>".
std::string cell_text(const Json& cell);
// "k1=v1,k2=v2" sorted by key, or "<none>".
std::string labels_text(const Json& labels);

struct TableOptions {
  bool wide = false;              // also columns with priority > 0 (-o wide)
  bool namespace_column = false;  // NAMESPACE first (-A)
  bool show_labels = false;       // LABELS last (--show-labels)
  std::string name_prefix;        // "deployment.apps/" when several types are printed together
};
struct TableView {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
// The header and rows of a meta.k8s.io/v1 Table. A plain object or list (a server without Table
// support) becomes NAME and AGE-less rows of names.
TableView render_table(const Json& table, const TableOptions& options);

enum class Format { kDefault, kWide, kJson, kYaml, kName };
// Parses -o for `command`; `allowed` lists the accepted names besides the default ("json", "yaml",
// "name", "wide"). Throws UsageError.
Format parse_format(const std::string& command, const std::string& text, const std::vector<std::string>& allowed);

std::string json_text(const Json& value);  // kubectl -o json: 4-space indent, trailing newline
std::string yaml_text(const Json& value);  // kubectl -o yaml

// A v1 List of `items`, as kubectl prints several objects with -o json|yaml.
Json list_of(std::vector<Json> items);
// One object alone, several as a List.
Json one_or_list(std::vector<Json> items);

// "deployment.apps/nginx": the type as kubectl names it and the object's name.
std::string object_ref(const ResourceInfo& type, std::string_view name);
// kubectl's "lowercase kind[.group]" from an object's kind and apiVersion ("deployment.apps").
std::string type_name_of(const Json& object);

}  // namespace skiff::cli
