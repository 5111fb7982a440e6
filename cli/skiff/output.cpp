#include "cli/skiff/output.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "cli/skiff/discovery.hpp"
#include "cli/skiff/errors.hpp"
#include "kernel/api/table.hpp"
#include "kernel/api/yaml.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::cli {
namespace {

constexpr std::size_t kPadding = 3;
constexpr std::size_t kMinWidth = 6;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string age_of(const Json& object) {
  const Json* ts = nullptr;
  if (object.contains("metadata") && object["metadata"].contains("creationTimestamp"))
    ts = &object["metadata"]["creationTimestamp"];
  if (ts == nullptr || !ts->is_string()) return "<unknown>";
  auto t = kernel::parse_rfc3339(ts->get<std::string>());
  if (!t) return "<unknown>";
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return kernel::api::human_duration(now.count() - *t);
}

}  // namespace

std::size_t display_width(std::string_view text) {
  std::size_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

void ColumnLayout::fit(const std::vector<std::string>& row) {
  if (row.size() > widths_.size()) widths_.resize(row.size(), 0);
  for (std::size_t i = 0; i + 1 < row.size(); ++i)
    widths_[i] = std::max({widths_[i], display_width(row[i]) + kPadding, kMinWidth});
}

std::string ColumnLayout::format(const std::vector<std::string>& row) const {
  std::string line;
  for (std::size_t i = 0; i < row.size(); ++i) {
    line += row[i];
    if (i + 1 < row.size()) {
      std::size_t w = i < widths_.size() ? widths_[i] : display_width(row[i]) + kPadding;
      line.append(w > display_width(row[i]) ? w - display_width(row[i]) : 1, ' ');
    }
  }
  // An empty last cell would leave the previous column's padding dangling.
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string format_columns(const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
  ColumnLayout layout;
  for (const auto& r : rows) layout.fit(r);
  std::string out;
  for (const auto& r : rows) {
    out += indent;
    out += layout.format(r);
    out += '\n';
  }
  return out;
}

std::string indent_lines(const std::string& text, std::string_view indent) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    out.append(indent).append(text, start, nl == std::string::npos ? std::string::npos : nl - start).append("\n");
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

std::string cell_text(const Json& cell) {
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_null()) return "<none>";
  if (cell.is_boolean()) return cell.get<bool>() ? "true" : "false";
  if (cell.is_number_float()) {
    double d = cell.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  }
  return cell.dump();
}

std::string labels_text(const Json& labels) {
  if (!labels.is_object() || labels.empty()) return "<none>";
  std::map<std::string, std::string> sorted;
  for (auto it = labels.begin(); it != labels.end(); ++it) sorted[it.key()] = cell_text(it.value());
  std::string out;
  for (const auto& [k, v] : sorted) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

TableView render_table(const Json& table, const TableOptions& options) {
  TableView view;
  auto meta_of = [](const Json& object) -> const Json& {
    static const Json kEmpty = Json::object();
    return object.is_object() && object.contains("metadata") && object["metadata"].is_object() ? object["metadata"]
                                                                                               : kEmpty;
  };
  auto decorate = [&](std::vector<std::string> cells, const Json& object) {
    const Json& meta = meta_of(object);
    if (options.namespace_column) cells.insert(cells.begin(), meta.value("namespace", ""));
    if (options.show_labels) cells.push_back(labels_text(meta.contains("labels") ? meta["labels"] : Json()));
    return cells;
  };
  auto decorate_header = [&](std::vector<std::string> header) {
    if (options.namespace_column) header.insert(header.begin(), "NAMESPACE");
    if (options.show_labels) header.push_back("LABELS");
    return header;
  };

  if (table.value("kind", "") != "Table") {
    // Not a Table: NAME and AGE from the objects themselves.
    view.header = decorate_header({"NAME", "AGE"});
    std::vector<Json> objects;
    if (table.contains("items") && table["items"].is_array()) {
      for (const auto& i : table["items"]) objects.push_back(i);
    } else if (table.is_object()) {
      objects.push_back(table);
    }
    for (const auto& o : objects)
      view.rows.push_back(decorate({options.name_prefix + meta_of(o).value("name", ""), age_of(o)}, o));
    return view;
  }

  std::vector<std::size_t> shown;
  std::vector<std::string> header;
  std::optional<std::size_t> name_column;
  const Json& columns = table.contains("columnDefinitions") ? table["columnDefinitions"] : Json::array();
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const Json& c = columns[i];
    int priority = c.value("priority", 0);
    if (priority > 0 && !options.wide) continue;
    shown.push_back(i);
    header.push_back(upper(c.value("name", "")));
    if (!name_column && c.value("format", "") == "name") name_column = i;
  }
  view.header = decorate_header(std::move(header));
  for (const auto& row : table.value("rows", Json::array())) {
    const Json& cells = row.contains("cells") ? row["cells"] : Json::array();
    std::vector<std::string> out;
    for (std::size_t i : shown) {
      std::string text = i < cells.size() ? cell_text(cells[i]) : "";
      if (name_column && i == *name_column) text = options.name_prefix + text;
      out.push_back(std::move(text));
    }
    view.rows.push_back(decorate(std::move(out), row.contains("object") ? row["object"] : Json()));
  }
  return view;
}

Format parse_format(const std::string& command, const std::string& text, const std::vector<std::string>& allowed) {
  if (text.empty()) return Format::kDefault;
  if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw UsageError(command, "unknown output format \"" + text + "\" (-o takes " + list + ")");
  }
  if (text == "wide") return Format::kWide;
  if (text == "json") return Format::kJson;
  if (text == "yaml") return Format::kYaml;
  if (text == "name") return Format::kName;
  return Format::kDefault;
}

std::string json_text(const Json& value) { return value.dump(4) + "\n"; }

std::string yaml_text(const Json& value) { return kernel::api::json_to_yaml(value); }

Json list_of(std::vector<Json> items) {
  Json list = {
      {"apiVersion", "v1"}, {"kind", "List"}, {"items", Json::array()}, {"metadata", {{"resourceVersion", ""}}}};
  for (auto& i : items) list["items"].push_back(std::move(i));
  return list;
}

Json one_or_list(std::vector<Json> items) {
  if (items.size() == 1) return std::move(items.front());
  return list_of(std::move(items));
}

std::string object_ref(const ResourceInfo& type, std::string_view name) {
  return type.type_name() + "/" + std::string(name);
}

std::string type_name_of(const Json& object) {
  std::string kind = object.value("kind", "");
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string api_version = object.value("apiVersion", "");
  auto slash = api_version.find('/');
  return slash == std::string::npos ? kind : kind + "." + api_version.substr(0, slash);
}

}  // namespace skiff::cli
