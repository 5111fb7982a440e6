#include "cli/skiff/describe.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "cli/skiff/json_util.hpp"
#include "cli/skiff/output.hpp"
#include "kernel/api/table.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::cli {
namespace {

// Maps whose keys are data, not field names: printed verbatim as key=value lines.
const std::set<std::string>& free_form_maps() {
  static const std::set<std::string> kNames = {"labels",   "annotations", "matchLabels", "nodeSelector", "selector",
                                               "data",     "stringData",  "binaryData",  "limits",       "requests",
                                               "capacity", "allocatable", "parameters",  "hard",         "used"};
  return kNames;
}

const std::set<std::string>& hidden_annotations() {
  static const std::set<std::string> kNames = {"kubectl.kubernetes.io/last-applied-configuration"};
  return kNames;
}

// One output line: a label and its value, a heading (label only), or a pre-formatted line.
struct Line {
  int indent = 0;
  std::string label;  // without the colon; empty for a continuation of the previous value
  std::string value;
  bool has_value = true;
  bool verbatim = false;  // `value` is printed as is at `indent`
  bool bullet = false;    // the first line of a list item without a name: "- " before it
};

class Writer {
 public:
  void field(int indent, const std::string& label, const std::string& value) {
    lines_.push_back({indent, label, value});
  }
  void heading(int indent, const std::string& label) { lines_.push_back({indent, label, {}, false}); }
  void continuation(int indent, const std::string& value) { lines_.push_back({indent, {}, value}); }
  void text(int indent, const std::string& value) { lines_.push_back({indent, {}, value, true, true}); }
  // Marks the next line as the start of a list item.
  std::size_t size() const { return lines_.size(); }
  void bullet_at(std::size_t i) {
    if (i < lines_.size()) lines_[i].bullet = true;
  }

  // Values line up within each run of consecutive lines at one indent, as kubectl's tabwriter does.
  std::string render() const {
    std::string out;
    std::size_t i = 0;
    while (i < lines_.size()) {
      std::size_t j = i;
      std::size_t width = 0;
      while (j < lines_.size() && lines_[j].indent == lines_[i].indent && lines_[j].has_value && !lines_[j].verbatim) {
        if (!lines_[j].label.empty()) width = std::max(width, display_width(lines_[j].label) + 1);
        ++j;
      }
      if (j == i) {  // a heading or a verbatim line
        const Line& l = lines_[i];
        out += prefix(l) + (l.verbatim ? l.value : l.label + ":") + "\n";
        ++i;
        continue;
      }
      for (; i < j; ++i) {
        const Line& l = lines_[i];
        std::string label = l.label.empty() ? std::string() : l.label + ":";
        out += prefix(l) + label + std::string(width + 2 - display_width(label), ' ') + l.value + "\n";
      }
    }
    return out;
  }

 private:
  static std::string prefix(const Line& l) {
    auto indent = static_cast<std::size_t>(l.indent);
    return l.bullet && indent >= 2 ? std::string(indent - 2, ' ') + "- " : std::string(indent, ' ');
  }
  std::vector<Line> lines_;
};

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return cell_text(v);
}

bool is_scalar(const nlohmann::json& v) { return !v.is_object() && !v.is_array(); }

void key_values(Writer& w, int indent, const std::string& label, const nlohmann::json& map, bool byte_sizes = false) {
  std::vector<std::string> entries;
  std::map<std::string, std::string> sorted;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (hidden_annotations().count(it.key())) continue;
    if (byte_sizes && it.value().is_string()) {
      sorted[it.key()] = std::to_string(it.value().get<std::string>().size() * 3 / 4) + " bytes";
    } else {
      sorted[it.key()] = is_scalar(it.value()) ? scalar_text(it.value()) : it.value().dump();
    }
  }
  entries.reserve(sorted.size());
  for (const auto& [k, v] : sorted) entries.push_back(byte_sizes ? k + ":  " + v : k + "=" + v);
  if (entries.empty()) {
    w.field(indent, label, "<none>");
    return;
  }
  w.field(indent, label, entries.front());
  for (std::size_t i = 1; i < entries.size(); ++i) w.continuation(indent, entries[i]);
}

void value(Writer& w, int indent, const std::string& key, const nlohmann::json& v, bool secret);

void object_fields(Writer& w, int indent, const nlohmann::json& obj, bool secret) {
  for (auto it = obj.begin(); it != obj.end(); ++it) value(w, indent, it.key(), it.value(), secret);
}

void value(Writer& w, int indent, const std::string& key, const nlohmann::json& v, bool secret) {
  std::string label = smart_label(key);
  if (is_scalar(v)) {
    w.field(indent, label, v.is_null() ? "<none>" : scalar_text(v));
    return;
  }
  if (v.empty()) {
    w.field(indent, label, "<none>");
    return;
  }
  if (v.is_object()) {
    bool all_scalars = std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return is_scalar(x); });
    if (all_scalars && free_form_maps().count(key)) {
      key_values(w, indent, key == "data" || key == "binaryData" ? smart_label(key) : label, v,
                 secret && (key == "data" || key == "binaryData"));
      return;
    }
    w.heading(indent, label);
    object_fields(w, indent + 2, v, secret);
    return;
  }
  // An array.
  if (std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return is_scalar(x); })) {
    std::string joined;
    for (const auto& x : v) joined += (joined.empty() ? "" : ", ") + scalar_text(x);
    w.field(indent, label, joined);
    return;
  }
  // Items with a name are headed by it (Containers → "nginx:"); others are "- " items.
  w.heading(indent, label);
  for (const auto& item : v) {
    if (!item.is_object()) {
      w.text(indent + 2, "- " + item.dump());
      continue;
    }
    std::string name = str(item, {"name"});
    if (!name.empty()) {
      w.heading(indent + 2, name);
      for (auto it = item.begin(); it != item.end(); ++it)
        if (it.key() != "name") value(w, indent + 4, it.key(), it.value(), secret);
      continue;
    }
    std::size_t first = w.size();
    object_fields(w, indent + 4, item, secret);
    w.bullet_at(first);
  }
}

std::string since(const std::string& timestamp, std::int64_t now_ms) {
  auto t = kernel::parse_rfc3339(timestamp);
  return t ? kernel::api::human_duration(now_ms - *t) : "<unknown>";
}

// A table under a section heading, with kubectl's "----" underlines already among `rows`.
void table(Writer& w, const std::vector<std::vector<std::string>>& rows) {
  std::string text = format_columns(rows);
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    w.text(2, text.substr(start, nl - start));
    start = nl + 1;
  }
}

std::string event_time(const nlohmann::json& e) {
  for (auto path : {std::initializer_list<const char*>{"lastTimestamp"},
                    {"eventTime"},
                    {"firstTimestamp"},
                    {"metadata", "creationTimestamp"}}) {
    std::string t = str(e, path);
    if (!t.empty()) return t;
  }
  return {};
}

void events_section(Writer& w, std::vector<nlohmann::json> events, std::int64_t now_ms) {
  if (events.empty()) {
    w.field(0, "Events", "<none>");
    return;
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const nlohmann::json& a, const nlohmann::json& b) { return event_time(a) < event_time(b); });
  w.heading(0, "Events");
  std::vector<std::vector<std::string>> rows = {{"Type", "Reason", "Age", "From", "Message"},
                                                {"----", "------", "----", "----", "-------"}};
  for (const auto& e : events) {
    std::string age = since(event_time(e), now_ms);
    std::int64_t count = num(e, {"count"}, 1);
    std::string first = str(e, {"firstTimestamp"});
    if (count > 1 && !first.empty()) age += " (x" + std::to_string(count) + " over " + since(first, now_ms) + ")";
    std::string from = str(e, {"source", "component"});
    if (from.empty()) from = str(e, {"reportingComponent"});
    rows.push_back({str(e, {"type"}), str(e, {"reason"}), age, from, str(e, {"message"})});
  }
  table(w, rows);
}

void conditions_section(Writer& w, const nlohmann::json& conditions) {
  std::vector<std::vector<std::string>> rows = {{"Type", "Status", "Reason", "Message"},
                                                {"----", "------", "------", "-------"}};
  for (const auto& c : conditions)
    rows.push_back({str(c, {"type"}), str(c, {"status"}), str(c, {"reason"}), str(c, {"message"})});
  w.heading(0, "Conditions");
  table(w, rows);
}

}  // namespace

std::string smart_label(const std::string& field) {
  static const std::map<std::string, std::string> kAcronyms = {
      {"Api", "API"}, {"Ip", "IP"},   {"Ips", "IPs"},   {"Id", "ID"},     {"Uid", "UID"}, {"Url", "URL"},
      {"Dns", "DNS"}, {"Tls", "TLS"}, {"Cidr", "CIDR"}, {"Http", "HTTP"}, {"Tcp", "TCP"}, {"Udp", "UDP"},
      {"Os", "OS"},   {"Cpu", "CPU"}, {"Fs", "FS"},     {"Qos", "QoS"},   {"Pvc", "PVC"}};
  bool identifier = !field.empty() && std::islower(static_cast<unsigned char>(field[0])) &&
                    std::all_of(field.begin(), field.end(), [](unsigned char c) { return std::isalnum(c); });
  if (!identifier) return field;
  std::vector<std::string> words;
  std::string cur;
  for (std::size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(field[i - 1]));
    // A lower-case letter after capitals starts a word, except a plural "s" at the end ("podIPs").
    bool next_lower = i + 1 < field.size() && std::islower(static_cast<unsigned char>(field[i + 1])) &&
                      !(i + 2 == field.size() && field[i + 1] == 's');
    bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(field[i - 1]));
    // A word starts at an upper-case letter after a lower-case one ("podIP" → pod|IP), or at the last
    // capital of a run followed by lower case ("IPFamily" → IP|Family).
    if (upper && !cur.empty() && (prev_lower || (prev_upper && next_lower))) {
      words.push_back(cur);
      cur.clear();
    }
    cur += c;
  }
  if (!cur.empty()) words.push_back(cur);
  std::string out;
  for (auto& w : words) {
    w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    auto a = kAcronyms.find(w);
    out += (out.empty() ? "" : " ") + (a != kAcronyms.end() ? a->second : w);
  }
  return out;
}

std::string describe_object(const nlohmann::json& object, const std::vector<nlohmann::json>& events,
                            std::int64_t now_ms) {
  Writer w;
  const nlohmann::json& meta = at(object, {"metadata"});
  bool secret = str(object, {"kind"}) == "Secret";
  w.field(0, "Name", str(meta, {"name"}));
  if (!str(meta, {"namespace"}).empty()) w.field(0, "Namespace", str(meta, {"namespace"}));
  key_values(w, 0, "Labels", at(meta, {"labels"}));
  key_values(w, 0, "Annotations", at(meta, {"annotations"}));
  if (!str(object, {"apiVersion"}).empty()) w.field(0, "API Version", str(object, {"apiVersion"}));
  if (!str(object, {"kind"}).empty()) w.field(0, "Kind", str(object, {"kind"}));
  std::string created = str(meta, {"creationTimestamp"});
  if (!created.empty()) w.field(0, "CreationTimestamp", created + " (" + since(created, now_ms) + " ago)");
  if (!str(meta, {"deletionTimestamp"}).empty()) w.field(0, "Deletion Requested", str(meta, {"deletionTimestamp"}));
  if (at(meta, {"finalizers"}).is_array() && !at(meta, {"finalizers"}).empty())
    value(w, 0, "finalizers", meta["finalizers"], false);
  for (const auto& ref : at(meta, {"ownerReferences"})) {
    if (ref.is_object() && ref.value("controller", false))
      w.field(0, "Controlled By", str(ref, {"kind"}) + "/" + str(ref, {"name"}));
  }

  const nlohmann::json& spec = at(object, {"spec"});
  const nlohmann::json& status = at(object, {"status"});
  if (at(spec, {"replicas"}).is_number_integer()) {
    auto replicas = num(spec, {"replicas"});
    w.field(0, "Replicas",
            std::to_string(replicas) + " desired | " + std::to_string(num(status, {"updatedReplicas"})) +
                " updated | " + std::to_string(num(status, {"replicas"})) + " total | " +
                std::to_string(num(status, {"availableReplicas"})) + " available | " +
                std::to_string(num(status, {"unavailableReplicas"})) + " unavailable");
  }
  // Everything else at the top level (spec, data, an Event's fields, …), then the status.
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& k = it.key();
    if (k == "apiVersion" || k == "kind" || k == "metadata" || k == "status") continue;
    value(w, 0, k, it.value(), secret);
  }
  if (status.is_object() && !status.empty()) {
    nlohmann::json rest = status;
    rest.erase("conditions");
    if (!rest.empty()) value(w, 0, "status", rest, false);
    const nlohmann::json& conditions = at(status, {"conditions"});
    if (conditions.is_array() && !conditions.empty()) conditions_section(w, conditions);
  }
  events_section(w, events, now_ms);
  return w.render();
}

}  // namespace skiff::cli
