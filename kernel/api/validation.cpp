#include "kernel/api/validation.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>

#include "kernel/api/defaults.hpp"
#include "kernel/api/quantity.hpp"
#include "kernel/store/selector.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;
using Type = FieldError::Type;
using Strings = std::vector<std::string>;

// ------------------------------------------------------------------------------------------------
// Go formatting of values in messages

bool all_values_are_strings(const Json& v) {
  if (v.is_object()) {
    for (const auto& [k, e] : v.items())
      if (!e.is_string()) return false;
    return true;
  }
  if (v.is_array()) {
    for (const auto& e : v)
      if (!e.is_string()) return false;
    return true;
  }
  return false;
}

// Go's %#v of a map[string]string; null prints as a nil map.
std::string go_string_map(const Json* m) {
  if (!m || !m->is_object()) return "map[string]string(nil)";
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : m->items()) {  // nlohmann keeps keys sorted, as fmt sorts map keys
    if (!first) out += ", ";
    first = false;
    out += go_quote(k) + ":" + go_quote(v.is_string() ? v.get_ref<const std::string&>() : std::string());
  }
  return out + "}";
}

std::string go_string_slice(const Json* a) {
  if (!a || !a->is_array()) return "[]string(nil)";
  std::string out = "[]string{";
  for (std::size_t i = 0; i < a->size(); ++i) {
    if (i) out += ", ";
    const Json& e = (*a)[i];
    out += go_quote(e.is_string() ? e.get_ref<const std::string&>() : e.dump());
  }
  return out + "}";
}

// The generic rendering of a bad value: what %v / %q / %#v make of the Go value it decodes to.
std::string go_value(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::string: return go_quote(v.get_ref<const std::string&>());
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return v.dump();
    case Json::value_t::object:
      if (all_values_are_strings(v)) return go_string_map(&v);
      return v.dump();
    case Json::value_t::array:
      if (all_values_are_strings(v)) return go_string_slice(&v);
      return v.dump();
    default: return v.dump();
  }
}

const Json* find_member(const Json& parent, std::string_view key) {
  if (!parent.is_object()) return nullptr;
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return nullptr;
  return &*it;
}

// %#v of a metav1.LabelSelector (a struct value, as Kubernetes passes *LabelSelector).
std::string go_label_selector(const Json& sel) {
  const Json* ml = find_member(sel, "matchLabels");
  const Json* me = find_member(sel, "matchExpressions");
  std::string out = "v1.LabelSelector{MatchLabels:" + go_string_map(ml) + ", MatchExpressions:";
  if (!me || !me->is_array()) {
    out += "[]v1.LabelSelectorRequirement(nil)";
  } else {
    out += "[]v1.LabelSelectorRequirement{";
    for (std::size_t i = 0; i < me->size(); ++i) {
      const Json& r = (*me)[i];
      const Json* key = find_member(r, "key");
      const Json* op = find_member(r, "operator");
      if (i) out += ", ";
      out += "v1.LabelSelectorRequirement{Key:" + go_quote(key && key->is_string() ? key->get<std::string>() : "") +
             ", Operator:" + go_quote(op && op->is_string() ? op->get<std::string>() : "") +
             ", Values:" + go_string_slice(find_member(r, "values")) + "}";
    }
    out += "}";
  }
  return out + "}";
}

// %#v of an intstr.IntOrString.
std::string go_int_or_string(const Json* v) {
  if (v && v->is_string())
    return "intstr.IntOrString{Type:1, IntVal:0, StrVal:" + go_quote(v->get_ref<const std::string&>()) + "}";
  std::string n = v && v->is_number_integer() ? v->dump() : "0";
  return "intstr.IntOrString{Type:0, IntVal:" + n + ", StrVal:\"\"}";
}

// ------------------------------------------------------------------------------------------------
// Paths

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}
std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }
std::string key(const std::string& path, std::string_view k) { return path + "[" + std::string(k) + "]"; }

// ------------------------------------------------------------------------------------------------
// The message catalogue (k8s.io/apimachinery/pkg/util/validation)

std::string regex_error(std::string_view msg, std::string_view fmt, std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  if (examples.size() == 0) return out + " (regex used for validation is '" + std::string(fmt) + "')";
  out += " (e.g. ";
  bool first = true;
  for (auto ex : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'" + std::string(ex) + "', ";
  }
  return out + "regex used for validation is '" + std::string(fmt) + "')";
}

std::string max_len_error(int n) { return "must be no more than " + std::to_string(n) + " characters"; }
std::string range_error(long long lo, long long hi) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", inclusive";
}
constexpr std::string_view kNegative = "must be greater than or equal to 0";
constexpr std::string_view kImmutable = "field is immutable";
constexpr std::string_view kFileMode = "must be a number between 0 and 0777 (octal), both inclusive";
constexpr std::string_view kInvalidIP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

const std::string& label_regex_msg() {
  static const std::string m = regex_error(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
      "with an alphanumeric character",
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?", {"my-name", "123-abc"});
  return m;
}
const std::string& subdomain_regex_msg() {
  static const std::string m = regex_error(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
      "and end with an alphanumeric character",
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", {"example.com"});
  return m;
}
const std::string& dns1035_regex_msg() {
  static const std::string m = regex_error(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
      "character, and end with an alphanumeric character",
      "[a-z]([-a-z0-9]*[a-z0-9])?", {"my-name", "abc-123"});
  return m;
}
constexpr std::string_view kQualifiedNameMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool is_label(std::string_view v) {
  if (v.empty() || !lower_alnum(v.front()) || !lower_alnum(v.back())) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool is_subdomain(std::string_view v) {
  if (v.empty()) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = v.find('.', start);
    if (!is_label(v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_qualified_part(std::string_view v) {
  if (v.empty() || !alnum(v.front()) || !alnum(v.back())) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

Strings label_msgs(std::string_view v) {  // IsDNS1123Label
  Strings out;
  if (v.size() > 63) out.push_back(max_len_error(63));
  if (!is_label(v)) out.push_back(label_regex_msg());
  return out;
}

Strings subdomain_msgs(std::string_view v) {  // IsDNS1123Subdomain
  Strings out;
  if (v.size() > 253) out.push_back(max_len_error(253));
  if (!is_subdomain(v)) out.push_back(subdomain_regex_msg());
  return out;
}

Strings dns1035_msgs(std::string_view v) {  // IsDNS1035Label
  Strings out;
  if (v.size() > 63) out.push_back(max_len_error(63));
  bool ok = !v.empty() && v.front() >= 'a' && v.front() <= 'z' && lower_alnum(v.back()) &&
            std::all_of(v.begin(), v.end(), [](char c) { return lower_alnum(c) || c == '-'; });
  if (!ok) out.push_back(dns1035_regex_msg());
  return out;
}

Strings qualified_name_msgs(std::string_view v) {  // IsQualifiedName
  Strings out;
  std::string_view name = v;
  std::size_t slash = v.find('/');
  if (slash != std::string_view::npos) {
    if (v.find('/', slash + 1) != std::string_view::npos) {
      out.push_back("a qualified name " +
                    regex_error(kQualifiedNameMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return out;
    }
    std::string_view prefix = v.substr(0, slash);
    name = v.substr(slash + 1);
    if (prefix.empty())
      out.push_back("prefix part must be non-empty");
    else
      for (auto& m : subdomain_msgs(prefix)) out.push_back("prefix part " + m);
  }
  if (name.empty())
    out.push_back("name part must be non-empty");
  else if (name.size() > 63)
    out.push_back("name part " + max_len_error(63));
  if (!is_qualified_part(name))
    out.push_back("name part " + regex_error(kQualifiedNameMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}));
  return out;
}

Strings label_value_msgs(std::string_view v) {  // IsValidLabelValue
  Strings out;
  if (v.size() > 63) out.push_back(max_len_error(63));
  if (!v.empty() && !is_qualified_part(v))
    out.push_back(regex_error(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
        "and end with an alphanumeric character",
        "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  return out;
}

Strings config_key_msgs(std::string_view v) {  // IsConfigMapKey
  Strings out;
  if (v.size() > 253) out.push_back(max_len_error(253));
  bool ok = !v.empty() &&
            std::all_of(v.begin(), v.end(), [](char c) { return alnum(c) || c == '-' || c == '.' || c == '_'; });
  if (!ok)
    out.push_back(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                              "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
  if (v == ".")
    out.push_back("must not be '.'");
  else if (v == "..")
    out.push_back("must not be '..'");
  else if (v.starts_with(".."))
    out.push_back("must not start with '..'");
  return out;
}

Strings port_name_msgs(std::string_view v) {  // IsValidPortName
  Strings out;
  if (v.size() > 15) out.push_back(max_len_error(15));
  if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return lower_alnum(c) || c == '-'; }))
    out.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (std::none_of(v.begin(), v.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
    out.push_back("must contain at least one letter (a-z)");
  if (v.find("--") != std::string_view::npos) out.push_back("must not contain consecutive hyphens");
  if (!v.empty() && (v.front() == '-' || v.back() == '-')) out.push_back("must not begin or end with a hyphen");
  return out;
}

Strings env_name_msgs(std::string_view v) {  // IsRelaxedEnvVarName (on by default since 1.32)
  Strings out;
  if (v.empty()) out.push_back("environment variable name must be non-empty");
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e || c == '=') {
      out.push_back("a valid environment variable name must consist only of printable ASCII characters other than '='");
      break;
    }
  return out;
}

bool is_percent(std::string_view v) {
  return v.size() >= 2 && v.back() == '%' && std::all_of(v.begin(), v.end() - 1, digit);
}

bool is_ip(std::string_view v) {
  std::string s(v);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_cidr(std::string_view v) {
  std::size_t slash = v.find('/');
  if (slash == std::string_view::npos || slash + 1 >= v.size()) return false;
  std::string_view bits = v.substr(slash + 1);
  if (!std::all_of(bits.begin(), bits.end(), digit) || bits.size() > 3) return false;
  int n = std::stoi(std::string(bits));
  std::string ip(v.substr(0, slash));
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return n <= 32;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return n <= 128;
  return false;
}

// NameIsDNSSubdomain / NameIsDNSLabel / NameIsDNS1035Label with Kubernetes' prefix masking.
enum class NameRule { kSubdomain, kLabel, kDns1035 };

Strings name_msgs(NameRule rule, std::string name, bool prefix) {
  if (prefix && name.size() > 1 && name.back() == '-') name = name.substr(0, name.size() - 2) + "a";
  switch (rule) {
    case NameRule::kLabel: return label_msgs(name);
    case NameRule::kDns1035: return dns1035_msgs(name);
    case NameRule::kSubdomain: break;
  }
  return subdomain_msgs(name);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// FieldError

std::string go_quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\v': out += "\\v"; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    // A well-formed multi-byte UTF-8 sequence is printed as is; anything else as \x escapes.
    std::size_t len = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (ok) {
      out.append(text.substr(i, len));
      i += len - 1;
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
  return out + "\"";
}

std::string FieldError::body() const {
  std::string s;
  switch (type) {
    case Type::kRequired: s = "Required value"; break;
    case Type::kForbidden: s = "Forbidden"; break;
    case Type::kTooLong: s = "Too long"; break;
    case Type::kInvalid: s = "Invalid value: "; break;
    case Type::kNotSupported: s = "Unsupported value: "; break;
    case Type::kDuplicate: s = "Duplicate value: "; break;
    case Type::kTooMany: s = "Too many: "; break;
    case Type::kNotFound: s = "Not found: "; break;
  }
  if (type != Type::kRequired && type != Type::kForbidden && type != Type::kTooLong)
    s += value_text.empty() ? go_value(value) : value_text;
  if (!detail.empty()) s += ": " + detail;
  return s;
}

std::string FieldError::message() const { return field + ": " + body(); }

std::string FieldError::reason() const {
  switch (type) {
    case Type::kRequired: return "FieldValueRequired";
    case Type::kInvalid: return "FieldValueInvalid";
    case Type::kNotSupported: return "FieldValueNotSupported";
    case Type::kForbidden: return "FieldValueForbidden";
    case Type::kDuplicate: return "FieldValueDuplicate";
    case Type::kTooLong: return "FieldValueTooLong";
    case Type::kTooMany: return "FieldValueTooMany";
    case Type::kNotFound: return "FieldValueNotFound";
  }
  return "FieldValueInvalid";
}

std::string invalid_message(std::string_view kind_with_group, std::string_view name,
                            const std::vector<FieldError>& errors) {
  std::string head = std::string(kind_with_group) + " " + go_quote(name) + " is invalid";
  std::vector<std::string> messages;
  std::set<std::string> seen;
  for (const auto& e : errors) {
    std::string m = e.message();
    if (seen.insert(m).second) messages.push_back(std::move(m));
  }
  if (messages.empty()) return head;
  if (messages.size() == 1) return head + ": " + messages.front();
  std::string out = head + ": [";
  for (std::size_t i = 0; i < messages.size(); ++i) out += (i ? ", " : "") + messages[i];
  return out + "]";
}

nlohmann::json invalid_status(std::string_view group, std::string_view kind, std::string_view name,
                              const std::vector<FieldError>& errors) {
  Json causes = Json::array();
  for (const auto& e : errors) causes.push_back({{"reason", e.reason()}, {"message", e.body()}, {"field", e.field}});
  Json details = {{"name", name}, {"kind", kind}, {"causes", causes}};
  if (!group.empty()) details["group"] = group;
  std::string kind_with_group = group.empty() ? std::string(kind) : std::string(kind) + "." + std::string(group);
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", Json::object()},
          {"status", "Failure"},
          {"message", invalid_message(kind_with_group, name, errors)},
          {"reason", "Invalid"},
          {"details", details},
          {"code", 422}};
}

namespace {

// ------------------------------------------------------------------------------------------------
// The error collector and typed readers. Readers never throw: a member of the wrong JSON type is
// reported as an Invalid value and read as absent.

class Checker {
 public:
  std::vector<FieldError> errs;

  void add(Type t, std::string field, Json value, std::string detail, std::string value_text = {}) {
    errs.push_back(FieldError{t, std::move(field), std::move(value), std::move(detail), std::move(value_text)});
  }
  void required(const std::string& f, std::string_view detail = {}) {
    add(Type::kRequired, f, "", std::string(detail));
  }
  void invalid(const std::string& f, Json v, std::string_view detail) {
    add(Type::kInvalid, f, std::move(v), std::string(detail));
  }
  void invalid_text(const std::string& f, std::string text, std::string_view detail) {
    add(Type::kInvalid, f, nullptr, std::string(detail), std::move(text));
  }
  void not_supported(const std::string& f, Json v, std::initializer_list<std::string_view> valid) {
    std::string detail;
    for (auto s : valid) detail += (detail.empty() ? "supported values: " : ", ") + go_quote(s);
    add(Type::kNotSupported, f, std::move(v), detail);
  }
  void not_supported_text(const std::string& f, std::string text, std::initializer_list<std::string_view> valid) {
    not_supported(f, nullptr, valid);
    errs.back().value_text = std::move(text);
  }
  void forbidden(const std::string& f, std::string_view detail) { add(Type::kForbidden, f, "", std::string(detail)); }
  void duplicate(const std::string& f, Json v) { add(Type::kDuplicate, f, std::move(v), ""); }
  void not_found(const std::string& f, Json v) { add(Type::kNotFound, f, std::move(v), ""); }
  void too_long(const std::string& f, long long max) {
    add(Type::kTooLong, f, "<value omitted>", "may not be more than " + std::to_string(max) + " bytes");
  }
  void wrong_type(const std::string& f, const Json& v, std::string_view type) {
    invalid(f, v, "must be of type " + std::string(type));
  }
  void immutable(const std::string& f, Json v) { invalid(f, std::move(v), kImmutable); }
  void immutable_text(const std::string& f, std::string text) { invalid_text(f, std::move(text), kImmutable); }

  // A string enum (restartPolicy, protocol, …): Required when absent or "", Unsupported (listing
  // `valid` in that order) when not one of them.
  std::string enumeration(const Json& parent, const std::string& base, std::string_view k,
                          std::initializer_list<std::string_view> valid) {
    bool bad = false;
    std::string v = text(parent, base, k, &bad);
    if (v.empty()) {
      if (!bad) required(child(base, k));
    } else if (std::find(valid.begin(), valid.end(), v) == valid.end()) {
      not_supported(child(base, k), v, valid);
    }
    return v;
  }
  // A string member that must not be empty: Required when absent or "" (not when of another type).
  std::string required_text(const Json& parent, const std::string& base, std::string_view k) {
    bool bad = false;
    std::string v = text(parent, base, k, &bad);
    if (v.empty() && !bad) required(child(base, k));
    return v;
  }
  // Kubernetes' "exactly one of" unions (volume sources, probe and hook handlers): the first member
  // present counts and goes to fn(name, member, path); every further one is Forbidden with
  // `too_many`. Returns how many members were present.
  template <class Fn>
  int one_of(const Json& parent, const std::string& base, std::span<const std::string_view> names,
             std::string_view too_many, Fn&& fn) {
    int present = 0;
    for (auto name : names) {
      const Json* v = find_member(parent, name);
      if (!v) continue;
      std::string path = child(base, name);
      if (present++ > 0)
        forbidden(path, too_many);
      else if (!v->is_object())
        wrong_type(path, *v, "object");
      else
        fn(name, *v, path);
    }
    return present;
  }

  // parent[k] as a string; "" when absent. `bad` is set when it has another type (reported).
  std::string text(const Json& parent, const std::string& base, std::string_view k, bool* bad = nullptr) {
    const Json* v = find_member(parent, k);
    if (!v) return {};
    if (!v->is_string()) {
      wrong_type(child(base, k), *v, "string");
      if (bad) *bad = true;
      return {};
    }
    return v->get<std::string>();
  }
  std::optional<std::int64_t> integer(const Json& parent, const std::string& base, std::string_view k,
                                      bool* bad = nullptr) {
    const Json* v = find_member(parent, k);
    if (!v) return std::nullopt;
    if (v->is_number_integer() &&
        !(v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)))
      return v->get<std::int64_t>();
    wrong_type(child(base, k), *v, "integer");
    if (bad) *bad = true;
    return std::nullopt;
  }
  std::optional<bool> boolean(const Json& parent, const std::string& base, std::string_view k) {
    const Json* v = find_member(parent, k);
    if (!v) return std::nullopt;
    if (v->is_boolean()) return v->get<bool>();
    wrong_type(child(base, k), *v, "boolean");
    return std::nullopt;
  }
  const Json* object(const Json& parent, const std::string& base, std::string_view k) {
    return of_type(parent, base, k, Json::value_t::object, "object");
  }
  const Json* array(const Json& parent, const std::string& base, std::string_view k) {
    return of_type(parent, base, k, Json::value_t::array, "array");
  }
  const Json* of_type(const Json& parent, const std::string& base, std::string_view k, Json::value_t type,
                      std::string_view type_name) {
    const Json* v = find_member(parent, k);
    if (!v || v->type() == type) return v;
    wrong_type(child(base, k), *v, type_name);
    return nullptr;
  }
  // Elements of an array that must be objects; others are reported and skipped.
  bool element_object(const Json& e, const std::string& path) {
    if (e.is_object()) return true;
    if (!e.is_null()) wrong_type(path, e, "object");
    return false;
  }
  // A non-negative integer field: ValidateNonnegativeField.
  void nonnegative(const Json& parent, const std::string& base, std::string_view k) {
    if (auto v = integer(parent, base, k); v && *v < 0) invalid(child(base, k), *v, kNegative);
  }
  // ValidatePortNumOrName for an IntOrString port.
  void port_num_or_name(const Json* v, const std::string& path) {
    if (v && v->is_string()) {
      for (auto& m : port_name_msgs(v->get_ref<const std::string&>())) invalid(path, *v, m);
      return;
    }
    if (v && !v->is_number_integer()) {
      wrong_type(path, *v, "integer or string");
      return;
    }
    std::int64_t n = v ? v->get<std::int64_t>() : 0;
    if (n < 1 || n > 65535) invalid(path, n, range_error(1, 65535));
  }

  // ValidateLabels: keys are qualified names, values label values; errors point at the map.
  const Json* labels(const Json& parent, const std::string& base, std::string_view k) {
    const Json* m = object(parent, base, k);
    if (!m) return nullptr;
    std::string path = child(base, k);
    for (const auto& [lk, lv] : m->items()) {
      for (auto& msg : qualified_name_msgs(lk)) invalid(path, lk, msg);
      if (lv.is_null()) continue;
      if (!lv.is_string()) {
        wrong_type(key(path, lk), lv, "string");
        continue;
      }
      for (auto& msg : label_value_msgs(lv.get_ref<const std::string&>())) invalid(path, lv, msg);
    }
    return m;
  }

  void annotations(const Json& parent, const std::string& base, std::string_view k) {
    const Json* m = object(parent, base, k);
    if (!m) return;
    std::string path = child(base, k);
    std::size_t total = 0;
    for (const auto& [ak, av] : m->items()) {
      std::string lower = ak;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
      for (auto& msg : qualified_name_msgs(lower)) invalid(path, ak, msg);
      if (av.is_string())
        total += av.get_ref<const std::string&>().size();
      else if (!av.is_null())
        wrong_type(key(path, ak), av, "string");
      total += ak.size();
    }
    if (total > 256 * 1024) too_long(path, 256 * 1024);
  }

  void finalizer_names(const Json& parent, const std::string& base, std::string_view k) {
    const Json* a = array(parent, base, k);
    if (!a) return;
    std::string path = child(base, k);
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Json& f = (*a)[i];
      if (!f.is_string()) {
        wrong_type(index(path, i), f, "string");
        continue;
      }
      const std::string& s = f.get_ref<const std::string&>();
      auto msgs = qualified_name_msgs(s);
      for (auto& msg : msgs) invalid(path, s, msg);
      if (msgs.empty() && s.find('/') == std::string::npos && s != "kubernetes" && s != "orphan" &&
          s != "foregroundDeletion")
        invalid(path, s, "name is neither a standard finalizer name nor is it fully qualified");
    }
  }

  // ValidateLabelSelector; returns false when the selector has errors.
  bool label_selector(const Json& sel, const std::string& path) {
    std::size_t before = errs.size();
    labels(sel, path, "matchLabels");
    if (const Json* exprs = array(sel, path, "matchExpressions")) {
      for (std::size_t i = 0; i < exprs->size(); ++i) {
        std::string p = index(child(path, "matchExpressions"), i);
        if (!element_object((*exprs)[i], p)) continue;
        const Json& r = (*exprs)[i];
        std::string op = text(r, p, "operator");
        const Json* values = array(r, p, "values");
        std::size_t n = values ? values->size() : 0;
        if (op == "In" || op == "NotIn") {
          if (n == 0) required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
        } else if (op == "Exists" || op == "DoesNotExist") {
          if (n > 0)
            forbidden(child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        } else {
          invalid(child(p, "operator"), op, "not a valid selector operator");
        }
        std::string k = text(r, p, "key");
        for (auto& msg : qualified_name_msgs(k)) invalid(child(p, "key"), k, msg);
        for (std::size_t j = 0; values && j < values->size(); ++j) {
          const Json& v = (*values)[j];
          if (!v.is_string()) {
            wrong_type(index(child(p, "values"), j), v, "string");
            continue;
          }
          for (auto& msg : label_value_msgs(v.get_ref<const std::string&>()))
            invalid(index(child(p, "values"), j), v, msg);
        }
      }
    }
    return errs.size() == before;
  }

  // ObjectMeta on create (ValidateObjectMeta).
  void object_meta(const Json& obj, bool namespaced, NameRule rule) {
    static const Json kEmpty = Json::object();
    const Json* m = object(obj, "", "metadata");
    const Json& md = m ? *m : kEmpty;
    bool bad_name = false;
    std::string name = text(md, "metadata", "name", &bad_name);
    std::string gen = text(md, "metadata", "generateName");
    if (!gen.empty())
      for (auto& msg : name_msgs(rule, gen, true)) invalid("metadata.generateName", gen, msg);
    if (name.empty()) {
      // The store generates the name from generateName after admission.
      if (!bad_name && gen.empty()) required("metadata.name", "name or generateName is required");
    } else {
      for (auto& msg : name_msgs(rule, name, false)) invalid("metadata.name", name, msg);
    }
    if (namespaced) {
      std::string ns = text(md, "metadata", "namespace");
      if (!ns.empty())
        for (auto& msg : label_msgs(ns)) invalid("metadata.namespace", ns, msg);
    }
    nonnegative(md, "metadata", "generation");
    labels(md, "metadata", "labels");
    annotations(md, "metadata", "annotations");
    owner_references(md);
    finalizer_names(md, "metadata", "finalizers");
  }

  void owner_references(const Json& md) {
    const Json* refs = array(md, "metadata", "ownerReferences");
    if (!refs) return;
    const std::string path = "metadata.ownerReferences";
    std::string controller;
    for (const auto& r : *refs) {
      if (!element_object(r, path)) continue;
      std::string api = text(r, path, "apiVersion");
      std::string kind = text(r, path, "kind");
      std::string name = text(r, path, "name");
      std::string uid = text(r, path, "uid");
      std::size_t slash = api.find('/');
      if ((slash == std::string::npos ? api : api.substr(slash + 1)).empty())
        invalid(child(path, "apiVersion"), api, "version must not be empty");
      if (kind.empty()) invalid(child(path, "kind"), kind, "must not be empty");
      if (name.empty()) invalid(child(path, "name"), name, "must not be empty");
      if (uid.empty()) invalid(child(path, "uid"), uid, "must not be empty");
      if (auto c = boolean(r, path, "controller"); c && *c) {
        std::string current = kind + "/" + name;
        if (!controller.empty())
          invalid(path, *refs,
                  "Only one reference can have Controller set to true. Found \"true\" in references for " + controller +
                      " and " + current);
        else
          controller = current;
      }
    }
  }

  // ObjectMeta on update (ValidateObjectMetaUpdate): identity fields may not change.
  void object_meta_update(const Json& obj, const Json& old) {
    static const Json kEmpty = Json::object();
    const Json* nm = find_member(obj, "metadata");
    const Json* om = find_member(old, "metadata");
    const Json& n = nm && nm->is_object() ? *nm : kEmpty;
    const Json& o = om && om->is_object() ? *om : kEmpty;
    auto str = [](const Json& m, std::string_view k) {
      const Json* v = find_member(m, k);
      return v && v->is_string() ? v->get<std::string>() : std::string();
    };
    if (str(n, "name") != str(o, "name") && !str(n, "name").empty()) immutable("metadata.name", str(n, "name"));
    if (str(n, "namespace") != str(o, "namespace") && !str(n, "namespace").empty())
      immutable("metadata.namespace", str(n, "namespace"));
    if (!str(n, "uid").empty() && str(n, "uid") != str(o, "uid")) immutable("metadata.uid", str(n, "uid"));
    // metadata.generation is the server's: whatever a client sends is replaced, as in Kubernetes.
    // Finalizers cannot be added to an object that is being deleted.
    if (find_member(o, "deletionTimestamp")) {
      std::set<std::string> had;
      if (const Json* of = find_member(o, "finalizers"); of && of->is_array())
        for (const auto& f : *of)
          if (f.is_string()) had.insert(f.get<std::string>());
      if (const Json* nf = find_member(n, "finalizers"); nf && nf->is_array()) {
        Json added = Json::array();
        for (const auto& f : *nf)
          if (f.is_string() && !had.count(f.get<std::string>())) added.push_back(f);
        if (!added.empty())
          forbidden("metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    "finalizers " +
                        go_string_slice(&added));
      }
    }
  }
};

// Semantic equality of two JSON values, as apiequality.Semantic treats Go values: null, empty
// arrays and empty objects equal absence.
bool vacuous(const Json& v) { return v.is_null() || ((v.is_array() || v.is_object()) && v.empty()); }

bool same(const Json& a, const Json& b) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      auto it = b.find(k);
      if (it == b.end() ? !vacuous(v) : !same(v, *it)) return false;
    }
    for (const auto& [k, v] : b.items())
      if (!a.contains(k) && !vacuous(v)) return false;
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  if (vacuous(a) && vacuous(b)) return true;
  if (a.is_number() && b.is_number()) return a == b;
  return a == b;
}

const Json* member_or_null(const Json& parent, std::string_view k) { return find_member(parent, k); }

// Lines "- path: old" / "+ path: new" for every leaf that differs (the stand-in for go-cmp's diff).
void diff_lines(const Json* a, const Json* b, const std::string& path, std::string& out, int& budget) {
  if (budget <= 0) return;
  if ((!a || vacuous(*a)) && (!b || vacuous(*b))) return;
  if (a && b && a->is_object() && b->is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a->items()) keys.insert(k);
    for (const auto& [k, v] : b->items()) keys.insert(k);
    for (const auto& k : keys) diff_lines(member_or_null(*a, k), member_or_null(*b, k), child(path, k), out, budget);
    return;
  }
  if (a && b && a->is_array() && b->is_array() && a->size() == b->size()) {
    for (std::size_t i = 0; i < a->size(); ++i) diff_lines(&(*a)[i], &(*b)[i], index(path, i), out, budget);
    return;
  }
  if (a && b && same(*a, *b)) return;
  if (a && !vacuous(*a)) out += "- " + path + ": " + a->dump() + "\n";
  if (b && !vacuous(*b)) out += "+ " + path + ": " + b->dump() + "\n";
  --budget;
}

}  // namespace

namespace {

// ------------------------------------------------------------------------------------------------
// Pod specs (ValidatePodSpec and the functions it calls)

bool contains_element(std::string_view path, std::string_view element) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start) == element)
      return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

// validateLocalDescendingPath (+ the "..": prefix rule of ValidateLocalNonReservedPath when `reserved`).
void local_path(Checker& c, const std::string& value, const std::string& path, bool reserved) {
  if (!value.empty() && value.front() == '/') c.invalid(path, value, "must be a relative path");
  if (contains_element(value, "..")) c.invalid(path, value, "must not contain '..'");
  if (reserved && value.starts_with("..") && !value.starts_with("../"))
    c.invalid(path, value, "must not start with '..'");
}

void file_mode(Checker& c, const Json& parent, const std::string& base, std::string_view k) {
  if (auto m = c.integer(parent, base, k); m && (*m > 0777 || *m < 0)) c.invalid(child(base, k), *m, kFileMode);
}

void key_to_paths(Checker& c, const Json& source, const std::string& base) {
  const Json* items = c.array(source, base, "items");
  if (!items) return;
  for (std::size_t i = 0; i < items->size(); ++i) {
    std::string p = index(child(base, "items"), i);
    if (!c.element_object((*items)[i], p)) continue;
    const Json& kp = (*items)[i];
    bool bad_key = false, bad_path = false;
    if (c.text(kp, p, "key", &bad_key).empty() && !bad_key) c.required(child(p, "key"));
    std::string target = c.text(kp, p, "path", &bad_path);
    if (target.empty() && !bad_path) c.required(child(p, "path"));
    local_path(c, target, child(p, "path"), true);
    file_mode(c, kp, p, "mode");
  }
}

void volume_source(Checker& c, const Json& vol, const std::string& p) {
  int present = c.one_of(
      vol, p, volume_source_fields(), "may not specify more than 1 volume type",
      [&](std::string_view src, const Json& s, const std::string& sp) {
        if (src == "hostPath") {
          bool bad = false;
          std::string hp = c.text(s, sp, "path", &bad);
          if (hp.empty()) {
            if (!bad) c.required(child(sp, "path"));
            return;
          }
          if (contains_element(hp, "..")) c.invalid(child(sp, "path"), hp, "must not contain '..'");
          std::string t = c.text(s, sp, "type");
          static const std::set<std::string> kTypes = {
              "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"};
          if (!kTypes.count(t))
            c.not_supported(
                child(sp, "type"), t,
                {"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"});
        } else if (src == "emptyDir") {
          if (const Json* size = find_member(s, "sizeLimit")) {
            std::string err;
            auto q = Quantity::from_json(*size, &err);
            if (!q)
              c.invalid(child(sp, "sizeLimit"), *size, err);
            else if (q->is_negative())
              c.forbidden(child(sp, "sizeLimit"), "SizeLimit field must be a valid resource quantity");
          }
        } else if (src == "secret" || src == "configMap") {
          c.required_text(s, sp, src == "secret" ? "secretName" : "name");
          file_mode(c, s, sp, "defaultMode");
          key_to_paths(c, s, sp);
        } else if (src == "persistentVolumeClaim") {
          c.required_text(s, sp, "claimName");
        } else if (src == "nfs") {
          c.required_text(s, sp, "server");
          std::string np = c.required_text(s, sp, "path");
          if (!np.empty() && np.front() != '/') c.invalid(child(sp, "path"), np, "must be an absolute path");
        } else if (src == "downwardAPI" || src == "projected") {
          file_mode(c, s, sp, "defaultMode");
        } else if (src == "csi") {
          c.required_text(s, sp, "driver");
        }
      });
  if (present == 0) c.required(p, "must specify a volume type");
}

// ValidateVolumes: the names of the volumes that are valid (mounts may only refer to those).
std::set<std::string> volumes(Checker& c, const Json& spec, const std::string& base) {
  std::set<std::string> valid;
  const Json* vols = c.array(spec, base, "volumes");
  if (!vols) return valid;
  std::string path = child(base, "volumes");
  for (std::size_t i = 0; i < vols->size(); ++i) {
    std::string p = index(path, i);
    if (!c.element_object((*vols)[i], p)) continue;
    const Json& v = (*vols)[i];
    std::size_t before = c.errs.size();
    volume_source(c, v, p);
    bool bad = false;
    std::string name = c.text(v, p, "name", &bad);
    if (name.empty()) {
      if (!bad) c.required(child(p, "name"));
    } else {
      for (auto& m : label_msgs(name)) c.invalid(child(p, "name"), name, m);
    }
    if (valid.count(name)) c.duplicate(child(p, "name"), name);
    if (c.errs.size() == before) valid.insert(name);
  }
  return valid;
}

bool native_resource(std::string_view name) {
  return name.find('/') == std::string_view::npos || name.find("kubernetes.io/") != std::string_view::npos;
}
bool hugepages(std::string_view name) { return name.starts_with("hugepages-"); }
bool overcommit_allowed(std::string_view name) { return native_resource(name) && !hugepages(name); }

// validateContainerResourceName
void container_resource_name(Checker& c, const std::string& name, const std::string& path) {
  auto msgs = qualified_name_msgs(name);
  for (auto& m : msgs) c.invalid(path, name, m);
  if (!msgs.empty()) return;
  if (name.find('/') == std::string::npos) {
    if (name == "cpu" || name == "memory" || name == "ephemeral-storage" || hugepages(name)) return;
    static const std::set<std::string> kStandard = {"storage",
                                                    "pods",
                                                    "services",
                                                    "replicationcontrollers",
                                                    "resourcequotas",
                                                    "secrets",
                                                    "configmaps",
                                                    "persistentvolumeclaims",
                                                    "services.nodeports",
                                                    "services.loadbalancers",
                                                    "requests.cpu",
                                                    "requests.memory",
                                                    "requests.storage",
                                                    "requests.ephemeral-storage",
                                                    "limits.cpu",
                                                    "limits.memory",
                                                    "limits.ephemeral-storage"};
    if (kStandard.count(name) || name.starts_with("requests.hugepages-"))
      c.invalid(path, name, "must be a standard resource for containers");
    else
      c.invalid(path, name, "must be a standard resource type or fully qualified");
  } else if (!native_resource(name)) {
    if (name.starts_with("requests.") || !qualified_name_msgs("requests." + name).empty())
      c.invalid(path, name, "doesn't follow extended resource name standard");
  }
}

std::optional<Quantity> quantity(Checker& c, const Json& v, const std::string& path) {
  std::string err;
  auto q = Quantity::from_json(v, &err);
  if (!q) c.invalid(path, v, err);
  return q;
}

// ValidateResourceQuantityValue
void resource_quantity(Checker& c, const std::string& name, const Quantity& q, const std::string& path) {
  if (q.is_negative()) c.invalid(path, q.to_string(), kNegative);
  if (!native_resource(name) && q.milli_value() % 1000 != 0) c.invalid(path, q.to_string(), "must be an integer");
}

void resources(Checker& c, const Json& ctr, const std::string& p) {
  const Json* res = c.object(ctr, p, "resources");
  if (!res) return;
  std::string rp = child(p, "resources");
  std::string lim_path = child(rp, "limits");
  std::string req_path = child(rp, "requests");
  std::map<std::string, Quantity> limits;
  if (const Json* lim = c.object(*res, rp, "limits"))
    for (const auto& [name, v] : lim->items()) {
      std::string fp = key(lim_path, name);
      container_resource_name(c, name, fp);
      auto q = quantity(c, v, fp);
      if (!q) continue;
      resource_quantity(c, name, *q, fp);
      limits.emplace(name, *q);
    }
  if (const Json* req = c.object(*res, rp, "requests"))
    for (const auto& [name, v] : req->items()) {
      std::string fp = key(req_path, name);
      container_resource_name(c, name, fp);
      auto q = quantity(c, v, fp);
      if (!q) continue;
      resource_quantity(c, name, *q, fp);
      auto it = limits.find(name);
      if (it != limits.end()) {
        if (q->compare(it->second) != 0 && !overcommit_allowed(name))
          c.invalid(req_path, q->to_string(), "must be equal to " + name + " limit of " + it->second.to_string());
        else if (q->compare(it->second) > 0)
          c.invalid(req_path, q->to_string(),
                    "must be less than or equal to " + name + " limit of " + it->second.to_string());
      } else if (!overcommit_allowed(name)) {
        c.required(lim_path, "Limit must be set for non overcommitable resources");
      }
    }
}

void container_ports(Checker& c, const Json& ctr, const std::string& p, bool host_network) {
  const Json* ports = c.array(ctr, p, "ports");
  if (!ports) return;
  std::string path = child(p, "ports");
  std::set<std::string> names;
  for (std::size_t i = 0; i < ports->size(); ++i) {
    std::string ip = index(path, i);
    if (!c.element_object((*ports)[i], ip)) continue;
    const Json& port = (*ports)[i];
    std::string name = c.text(port, ip, "name");
    if (!name.empty()) {
      auto msgs = port_name_msgs(name);
      for (auto& m : msgs) c.invalid(child(ip, "name"), name, m);
      if (msgs.empty() && !names.insert(name).second) c.duplicate(child(ip, "name"), name);
    }
    bool bad = false;
    auto cp = c.integer(port, ip, "containerPort", &bad);
    if (!bad) {
      if (!cp || *cp == 0)
        c.required(child(ip, "containerPort"));
      else if (*cp < 1 || *cp > 65535)
        c.invalid(child(ip, "containerPort"), *cp, range_error(1, 65535));
    }
    auto hp = c.integer(port, ip, "hostPort");
    if (hp && *hp != 0 && (*hp < 1 || *hp > 65535)) c.invalid(child(ip, "hostPort"), *hp, range_error(1, 65535));
    std::string proto = c.enumeration(port, ip, "protocol", {"SCTP", "TCP", "UDP"});
    if (host_network && cp && hp && *hp != 0 && *hp != *cp)
      c.invalid(child(ip, "containerPort"), *cp, "must match `hostPort` when `hostNetwork` is true");
  }
}

void key_selector(Checker& c, const Json& parent, const std::string& base, std::string_view k) {
  const Json* sel = c.object(parent, base, k);
  if (!sel) return;
  std::string sp = child(base, k);
  std::string name = c.text(*sel, sp, "name");
  for (auto& m : subdomain_msgs(name)) c.invalid(child(sp, "name"), name, m);
  bool bad = false;
  std::string kk = c.text(*sel, sp, "key", &bad);
  if (kk.empty()) {
    if (!bad) c.required(child(sp, "key"));
  } else {
    for (auto& m : config_key_msgs(kk)) c.invalid(child(sp, "key"), kk, m);
  }
}

void env(Checker& c, const Json& ctr, const std::string& p) {
  const Json* vars = c.array(ctr, p, "env");
  if (!vars) return;
  std::string path = child(p, "env");
  for (std::size_t i = 0; i < vars->size(); ++i) {
    std::string ip = index(path, i);
    if (!c.element_object((*vars)[i], ip)) continue;
    const Json& ev = (*vars)[i];
    bool bad = false;
    std::string name = c.text(ev, ip, "name", &bad);
    if (!bad) {
      if (name.empty()) c.required(child(ip, "name"));
      for (auto& m : env_name_msgs(name)) c.invalid(child(ip, "name"), name, m);
    }
    const Json* from = c.object(ev, ip, "valueFrom");
    if (!from) continue;
    std::string fp = child(ip, "valueFrom");
    int sources = 0;
    if (const Json* ref = c.object(*from, fp, "fieldRef")) {
      ++sources;
      bool bad_path = false;
      if (c.text(*ref, child(fp, "fieldRef"), "fieldPath", &bad_path).empty() && !bad_path)
        c.required(child(child(fp, "fieldRef"), "fieldPath"));
    }
    if (const Json* ref = c.object(*from, fp, "resourceFieldRef")) {
      ++sources;
      bool bad_res = false;
      if (c.text(*ref, child(fp, "resourceFieldRef"), "resource", &bad_res).empty() && !bad_res)
        c.required(child(child(fp, "resourceFieldRef"), "resource"));
    }
    if (find_member(*from, "configMapKeyRef")) {
      ++sources;
      key_selector(c, *from, fp, "configMapKeyRef");
    }
    if (find_member(*from, "secretKeyRef")) {
      ++sources;
      key_selector(c, *from, fp, "secretKeyRef");
    }
    std::string value = c.text(ev, ip, "value");
    if (sources == 0)
      c.invalid(fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
    else if (!value.empty())
      c.invalid(fp, "", "may not be specified when `value` is not empty");
    else if (sources > 1)
      c.invalid(fp, "", "may not have more than one field specified at a time");
  }
}

void volume_mounts(Checker& c, const Json& ctr, const std::string& p, const std::set<std::string>& vols) {
  const Json* mounts = c.array(ctr, p, "volumeMounts");
  if (!mounts) return;
  std::string path = child(p, "volumeMounts");
  std::set<std::string> mount_points;
  for (std::size_t i = 0; i < mounts->size(); ++i) {
    std::string ip = index(path, i);
    if (!c.element_object((*mounts)[i], ip)) continue;
    const Json& m = (*mounts)[i];
    bool bad_name = false, bad_path = false;
    std::string name = c.text(m, ip, "name", &bad_name);
    if (name.empty() && !bad_name) c.required(child(ip, "name"));
    if (!bad_name && !vols.count(name)) c.not_found(child(ip, "name"), name);
    std::string mount_path = c.text(m, ip, "mountPath", &bad_path);
    if (mount_path.empty() && !bad_path) c.required(child(ip, "mountPath"));
    if (!bad_path && !mount_points.insert(mount_path).second)
      c.invalid(child(ip, "mountPath"), mount_path, "must be unique");
    std::string sub = c.text(m, ip, "subPath");
    if (!sub.empty()) local_path(c, sub, child(ip, "subPath"), false);
  }
}

// validateHandler for probes (exec/httpGet/tcpSocket/grpc) and lifecycle hooks (exec/httpGet/tcpSocket/sleep).
void handler(Checker& c, const Json& h, const std::string& p, bool lifecycle) {
  static constexpr std::string_view kProbe[] = {"exec", "httpGet", "tcpSocket", "grpc"};
  static constexpr std::string_view kHook[] = {"exec", "httpGet", "tcpSocket", "sleep"};
  auto kinds = lifecycle ? std::span<const std::string_view>(kHook) : std::span<const std::string_view>(kProbe);
  int present =
      c.one_of(h, p, kinds, "may not specify more than 1 handler type",
               [&](std::string_view kind, const Json& v, const std::string& kp) {
                 if (kind == "exec") {
                   const Json* cmd = c.array(v, kp, "command");
                   if (!cmd || cmd->empty()) c.required(child(kp, "command"));
                 } else if (kind == "httpGet") {
                   c.required_text(v, kp, "path");
                   c.port_num_or_name(find_member(v, "port"), child(kp, "port"));
                   std::string scheme = c.text(v, kp, "scheme");
                   if (scheme != "HTTP" && scheme != "HTTPS")
                     c.not_supported(child(kp, "scheme"), scheme, {"HTTP", "HTTPS"});
                   if (const Json* headers = c.array(v, kp, "httpHeaders"))
                     for (std::size_t i = 0; i < headers->size(); ++i) {
                       std::string hp = index(child(kp, "httpHeaders"), i);
                       if (!c.element_object((*headers)[i], hp)) continue;
                       std::string name = c.text((*headers)[i], hp, "name");
                       bool ok = !name.empty() &&
                                 std::all_of(name.begin(), name.end(), [](char ch) { return alnum(ch) || ch == '-'; });
                       if (!ok)
                         c.invalid(child(kp, "httpHeaders"), name,
                                   regex_error("a valid HTTP header must consist of alphanumeric characters or '-'",
                                               "[-A-Za-z0-9]+", {"X-Header-Name"}));
                     }
                 } else if (kind == "tcpSocket") {
                   c.port_num_or_name(find_member(v, "port"), child(kp, "port"));
                 } else if (kind == "grpc") {
                   std::int64_t n = c.integer(v, kp, "port").value_or(0);
                   if (n < 1 || n > 65535) c.invalid(child(kp, "port"), n, range_error(1, 65535));
                 } else if (kind == "sleep") {
                   if (auto secs = c.integer(v, kp, "seconds"); secs && *secs < 0)
                     c.invalid(child(kp, "seconds"), *secs, kNegative);
                 }
               });
  if (present == 0) c.required(p, "must specify a handler type");
}

enum class ProbeKind { kLiveness, kReadiness, kStartup };

void probe(Checker& c, const Json& ctr, const std::string& p, std::string_view which, ProbeKind kind) {
  const Json* pr = c.object(ctr, p, which);
  if (!pr) return;
  std::string pp = child(p, which);
  handler(c, *pr, pp, false);
  for (const char* f :
       {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"})
    c.nonnegative(*pr, pp, f);
  auto grace = c.integer(*pr, pp, "terminationGracePeriodSeconds");
  if (grace && *grace <= 0) c.invalid(child(pp, "terminationGracePeriodSeconds"), *grace, "must be greater than 0");
  if (kind != ProbeKind::kReadiness) {
    std::int64_t st = c.integer(*pr, pp, "successThreshold").value_or(0);
    if (st != 1) c.invalid(child(pp, "successThreshold"), st, "must be 1");
  } else if (grace) {
    c.invalid(child(pp, "terminationGracePeriodSeconds"), *grace, "must not be set for readinessProbes");
  }
}

void lifecycle(Checker& c, const Json& ctr, const std::string& p) {
  const Json* lc = c.object(ctr, p, "lifecycle");
  if (!lc) return;
  std::string lp = child(p, "lifecycle");
  for (const char* hook : {"postStart", "preStop"})
    if (const Json* h = c.object(*lc, lp, hook)) handler(c, *h, child(lp, hook), true);
}

// validateContainerCommon
void container_common(Checker& c, const Json& ctr, const std::string& p, const std::set<std::string>& vols,
                      bool host_network) {
  bool bad = false;
  std::string name = c.text(ctr, p, "name", &bad);
  if (name.empty()) {
    if (!bad) c.required(child(p, "name"));
  } else {
    for (auto& m : label_msgs(name)) c.invalid(child(p, "name"), name, m);
  }
  c.enumeration(ctr, p, "terminationMessagePolicy", {"File", "FallbackToLogsOnError"});
  container_ports(c, ctr, p, host_network);
  env(c, ctr, p);
  volume_mounts(c, ctr, p, vols);
  c.enumeration(ctr, p, "imagePullPolicy", {"Always", "IfNotPresent", "Never"});
  resources(c, ctr, p);
  c.object(ctr, p, "securityContext");
  c.array(ctr, p, "command");
  c.array(ctr, p, "args");
}

// Returns the names of the regular containers (init container names must differ from them).
std::set<std::string> containers(Checker& c, const Json& spec, const std::string& base,
                                 const std::set<std::string>& vols, bool host_network) {
  std::set<std::string> names;
  std::string path = child(base, "containers");
  const Json* raw = find_member(spec, "containers");
  const Json* cs = c.array(spec, base, "containers");
  if (!cs || cs->empty()) {
    if (!raw || raw->is_array()) c.required(path);
    return names;
  }
  for (std::size_t i = 0; i < cs->size(); ++i) {
    std::string p = index(path, i);
    if (!c.element_object((*cs)[i], p)) continue;
    const Json& ctr = (*cs)[i];
    container_common(c, ctr, p, vols, host_network);
    std::string name = c.text(ctr, p, "name");
    if (!names.insert(name).second) c.duplicate(child(p, "name"), name);
    c.required_text(ctr, p, "image");
    lifecycle(c, ctr, p);
    probe(c, ctr, p, "livenessProbe", ProbeKind::kLiveness);
    probe(c, ctr, p, "readinessProbe", ProbeKind::kReadiness);
    probe(c, ctr, p, "startupProbe", ProbeKind::kStartup);
    if (find_member(ctr, "restartPolicy"))
      c.forbidden(child(p, "restartPolicy"), "may not be set for non-init containers");
  }
  return names;
}

void init_containers(Checker& c, const Json& spec, const std::string& base, const std::set<std::string>& vols,
                     std::set<std::string> names, bool host_network) {
  const Json* cs = c.array(spec, base, "initContainers");
  if (!cs) return;
  std::string path = child(base, "initContainers");
  for (std::size_t i = 0; i < cs->size(); ++i) {
    std::string p = index(path, i);
    if (!c.element_object((*cs)[i], p)) continue;
    const Json& ctr = (*cs)[i];
    container_common(c, ctr, p, vols, host_network);
    bool restart_always = false;
    if (find_member(ctr, "restartPolicy")) {
      std::string rp = c.text(ctr, p, "restartPolicy");
      if (rp == "Always")
        restart_always = true;
      else
        c.not_supported(child(p, "restartPolicy"), rp, {"Always"});
    }
    std::string name = c.text(ctr, p, "name");
    if (names.count(name))
      c.duplicate(child(p, "name"), name);
    else if (!name.empty())
      names.insert(name);
    c.required_text(ctr, p, "image");
    if (restart_always) {
      lifecycle(c, ctr, p);
      probe(c, ctr, p, "livenessProbe", ProbeKind::kLiveness);
      probe(c, ctr, p, "readinessProbe", ProbeKind::kReadiness);
      probe(c, ctr, p, "startupProbe", ProbeKind::kStartup);
    } else {
      if (find_member(ctr, "lifecycle"))
        c.forbidden(child(p, "lifecycle"), "may not be set for init containers without restartPolicy=Always");
      if (find_member(ctr, "livenessProbe"))
        c.forbidden(child(p, "livenessProbe"), "may not be set for init containers without restartPolicy=Always");
      if (find_member(ctr, "readinessProbe"))
        c.forbidden(child(p, "readinessProbe"), "may not be set for init containers");
      if (find_member(ctr, "startupProbe"))
        c.forbidden(child(p, "startupProbe"), "may not be set for init containers without restartPolicy=Always");
    }
  }
}

std::string go_toleration(const Json& t) {
  auto s = [&](std::string_view k) {
    const Json* v = find_member(t, k);
    return go_quote(v && v->is_string() ? v->get<std::string>() : std::string());
  };
  return "core.Toleration{Key:" + s("key") + ", Operator:" + s("operator") + ", Value:" + s("value") +
         ", Effect:" + s("effect") + ", TolerationSeconds:(*int64)(nil)}";
}

void tolerations(Checker& c, const Json& spec, const std::string& base) {
  const Json* ts = c.array(spec, base, "tolerations");
  if (!ts) return;
  std::string path = child(base, "tolerations");
  for (std::size_t i = 0; i < ts->size(); ++i) {
    std::string ip = index(path, i);
    if (!c.element_object((*ts)[i], ip)) continue;
    const Json& t = (*ts)[i];
    std::string k = c.text(t, ip, "key");
    if (!k.empty())
      for (auto& m : qualified_name_msgs(k)) c.invalid(child(ip, "key"), k, m);
    std::string op = c.text(t, ip, "operator");
    if (k.empty() && op != "Exists")
      c.invalid(child(ip, "operator"), op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
    std::string effect = c.text(t, ip, "effect");
    if (c.integer(t, ip, "tolerationSeconds") && effect != "NoExecute")
      c.invalid(child(ip, "effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set");
    std::string value = c.text(t, ip, "value");
    if (op == "Equal" || op.empty()) {
      auto msgs = label_value_msgs(value);
      if (!msgs.empty()) {
        std::string joined;
        for (auto& m : msgs) joined += (joined.empty() ? "" : ";") + m;
        c.invalid(child(ip, "operator"), value, joined);
      }
    } else if (op == "Exists") {
      if (!value.empty())
        c.invalid_text(child(ip, "operator"), go_toleration(t), "value must be empty when `operator` is 'Exists'");
    } else {
      c.not_supported(child(ip, "operator"), op, {"Equal", "Exists"});
    }
    if (!effect.empty() && effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute")
      c.not_supported(child(ip, "effect"), effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
  }
}

void pod_spec(Checker& c, const Json& spec, const std::string& base) {
  bool bad = false;
  auto grace = c.integer(spec, base, "terminationGracePeriodSeconds", &bad);
  if (!grace && !bad) c.required(child(base, "terminationGracePeriodSeconds"));
  if (grace && *grace < 0) c.invalid(child(base, "terminationGracePeriodSeconds"), *grace, kNegative);
  bool host_network = c.boolean(spec, base, "hostNetwork").value_or(false);

  auto vols = volumes(c, spec, base);
  auto names = containers(c, spec, base, vols, host_network);
  init_containers(c, spec, base, vols, names, host_network);

  c.enumeration(spec, base, "restartPolicy", {"Always", "OnFailure", "Never"});
  std::string dns =
      c.enumeration(spec, base, "dnsPolicy", {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
  const Json* dns_config = c.object(spec, base, "dnsConfig");
  if (dns == "None" && !dns_config)
    c.required(child(base, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None");
  c.labels(spec, base, "nodeSelector");
  c.object(spec, base, "securityContext");
  c.object(spec, base, "affinity");
  if (const Json* secrets = c.array(spec, base, "imagePullSecrets"))
    for (std::size_t i = 0; i < secrets->size(); ++i)
      c.element_object((*secrets)[i], index(child(base, "imagePullSecrets"), i));

  if (const Json* gates = c.array(spec, base, "readinessGates"))
    for (std::size_t i = 0; i < gates->size(); ++i) {
      std::string gp = index(child(base, "readinessGates"), i);
      if (!c.element_object((*gates)[i], gp)) continue;
      std::string type = c.text((*gates)[i], gp, "conditionType");
      for (auto& m : qualified_name_msgs(type)) c.invalid(child(gp, "conditionType"), type, m);
    }
  if (const Json* gates = c.array(spec, base, "schedulingGates")) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < gates->size(); ++i) {
      std::string gp = index(child(base, "schedulingGates"), i);
      if (!c.element_object((*gates)[i], gp)) continue;
      std::string name = c.text((*gates)[i], gp, "name");
      for (auto& m : qualified_name_msgs(name)) c.invalid(gp, name, m);
      if (!seen.insert(name).second) c.duplicate(gp, name);
    }
  }
  if (const Json* tsc = c.array(spec, base, "topologySpreadConstraints"))
    for (std::size_t i = 0; i < tsc->size(); ++i) {
      std::string tp = index(child(base, "topologySpreadConstraints"), i);
      if (!c.element_object((*tsc)[i], tp)) continue;
      const Json& t = (*tsc)[i];
      std::int64_t skew = c.integer(t, tp, "maxSkew").value_or(0);
      if (skew <= 0) c.invalid(child(tp, "maxSkew"), skew, "must be greater than zero");
      bool bad_key = false;
      std::string topology_key = c.text(t, tp, "topologyKey", &bad_key);
      if (topology_key.empty()) {
        if (!bad_key) c.required(child(tp, "topologyKey"), "can not be empty");
      } else {
        for (auto& m : qualified_name_msgs(topology_key)) c.invalid(child(tp, "topologyKey"), topology_key, m);
      }
      std::string when = c.text(t, tp, "whenUnsatisfiable");
      if (when != "DoNotSchedule" && when != "ScheduleAnyway")
        c.not_supported(child(tp, "whenUnsatisfiable"), when, {"DoNotSchedule", "ScheduleAnyway"});
    }

  for (const char* field : {"serviceAccountName", "nodeName", "priorityClassName"}) {
    std::string v = c.text(spec, base, field);
    if (!v.empty())
      for (auto& m : subdomain_msgs(v)) c.invalid(child(base, field), v, m);
  }
  if (auto ads = c.integer(spec, base, "activeDeadlineSeconds"); ads && (*ads < 1 || *ads > 2147483647))
    c.invalid(child(base, "activeDeadlineSeconds"), *ads, range_error(1, 2147483647));
  for (const char* field : {"hostname", "subdomain"}) {
    std::string v = c.text(spec, base, field);
    if (!v.empty())
      for (auto& m : label_msgs(v)) c.invalid(child(base, field), v, m);
  }
  tolerations(c, spec, base);
  if (find_member(spec, "preemptionPolicy")) {
    std::string pp = c.text(spec, base, "preemptionPolicy");
    if (pp != "PreemptLowerPriority" && pp != "Never")
      c.not_supported(child(base, "preemptionPolicy"), pp, {"PreemptLowerPriority", "Never"});
  }
  if (const Json* os = c.object(spec, base, "os")) {
    std::string name = c.text(*os, child(base, "os"), "name");
    if (name != "linux" && name != "windows")
      c.not_supported(child(child(base, "os"), "name"), name, {"linux", "windows"});
  }
}

// ValidatePodTemplateSpec: template metadata (labels under "<template>.labels") and the spec.
void pod_template(Checker& c, const Json& tmpl, const std::string& path) {
  static const Json kEmpty = Json::object();
  const Json* meta = c.object(tmpl, path, "metadata");
  const Json& md = meta ? *meta : kEmpty;
  c.labels(md, path, "labels");
  c.annotations(md, path, "annotations");
  const Json* spec = c.object(tmpl, path, "spec");
  pod_spec(c, spec ? *spec : kEmpty, child(path, "spec"));
  if (spec) {
    const Json* eph = find_member(*spec, "ephemeralContainers");
    if (eph && eph->is_array() && !eph->empty())
      c.forbidden(child(child(path, "spec"), "ephemeralContainers"),
                  "ephemeral containers not allowed in pod template");
  }
}

// ------------------------------------------------------------------------------------------------
// Pod updates (ValidatePodUpdate)

constexpr std::string_view kPodUpdatable =
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

void pod_update(Checker& c, const Json& pod, const Json& old) {
  static const Json kEmpty = Json::object();
  const Json* ns = find_member(pod, "spec");
  const Json* os = find_member(old, "spec");
  const Json& spec = ns && ns->is_object() ? *ns : kEmpty;
  const Json& ospec = os && os->is_object() ? *os : kEmpty;

  for (const char* list : {"containers", "initContainers"}) {
    const Json* n = find_member(spec, list);
    const Json* o = find_member(ospec, list);
    std::size_t nn = n && n->is_array() ? n->size() : 0;
    std::size_t on = o && o->is_array() ? o->size() : 0;
    std::string path = child("spec", list);
    if (nn != on) {
      c.forbidden(path, "pod updates may not add or remove containers");
      return;
    }
    for (std::size_t i = 0; i < nn; ++i) {
      const Json& ctr = (*n)[i];
      const Json* image = find_member(ctr, "image");
      std::string img = image && image->is_string() ? image->get<std::string>() : std::string();
      if (img.empty()) c.required(child(index(path, i), "image"));
      auto first = img.find_first_not_of(" \t\n\r\f\v");
      auto last = img.find_last_not_of(" \t\n\r\f\v");
      if (!img.empty() && (first != 0 || last != img.size() - 1))
        c.invalid(child(index(path, i), "image"), img, "must not have leading or trailing whitespace");
    }
  }

  const Json* nads = find_member(spec, "activeDeadlineSeconds");
  const Json* oads = find_member(ospec, "activeDeadlineSeconds");
  if (nads && nads->is_number_integer()) {
    std::int64_t v = nads->get<std::int64_t>();
    if (v < 0 || v > 2147483647) {
      c.invalid("spec.activeDeadlineSeconds", v, range_error(0, 2147483647));
      return;
    }
    if (oads && oads->is_number_integer() && oads->get<std::int64_t>() < v) {
      c.invalid("spec.activeDeadlineSeconds", v, "must be less than or equal to previous value");
      return;
    }
  } else if (!nads && oads) {
    c.invalid("spec.activeDeadlineSeconds", nullptr, "must not update from a positive integer to nil value");
  }

  // Tolerations: every old one must still be there (its tolerationSeconds may change).
  const Json* ntol = find_member(spec, "tolerations");
  const Json* otol = find_member(ospec, "tolerations");
  if (otol && otol->is_array()) {
    for (const auto& o : *otol) {
      bool found = false;
      if (ntol && ntol->is_array())
        for (const auto& n : *ntol) {
          Json a = o, b = n;
          if (a.is_object()) a.erase("tolerationSeconds");
          if (b.is_object()) b.erase("tolerationSeconds");
          if (same(a, b)) found = true;
        }
      if (!found) {
        c.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds");
        break;
      }
    }
  }

  // Scheduling gates may only be removed.
  if (const Json* gates = find_member(spec, "schedulingGates"); gates && gates->is_array()) {
    std::set<std::string> had;
    if (const Json* og = find_member(ospec, "schedulingGates"); og && og->is_array())
      for (const auto& g : *og)
        if (const Json* n = find_member(g, "name"); n && n->is_string()) had.insert(n->get<std::string>());
    for (std::size_t i = 0; i < gates->size(); ++i)
      if (const Json* n = find_member((*gates)[i], "name"); n && n->is_string() && !had.count(n->get<std::string>()))
        c.forbidden(child(index("spec.schedulingGates", i), "name"),
                    "only deletion is allowed, but found new scheduling gate '" + n->get<std::string>() + "'");
  }

  if (same(spec, ospec)) return;
  Json munged = spec;
  for (const char* list : {"containers", "initContainers"}) {
    const Json* o = find_member(ospec, list);
    if (!o || !o->is_array() || !munged.contains(list) || !munged[list].is_array()) continue;
    for (std::size_t i = 0; i < o->size() && i < munged[list].size(); ++i)
      if (munged[list][i].is_object() && (*o)[i].is_object()) {
        if (const Json* img = find_member((*o)[i], "image"))
          munged[list][i]["image"] = *img;
        else
          munged[list][i].erase("image");
      }
  }
  for (const char* field : {"activeDeadlineSeconds", "tolerations", "schedulingGates"}) {
    if (const Json* o = find_member(ospec, field))
      munged[field] = *o;
    else
      munged.erase(field);
  }
  const Json* og = find_member(ospec, "terminationGracePeriodSeconds");
  const Json* ng = find_member(munged, "terminationGracePeriodSeconds");
  if (og && ng && og->is_number_integer() && ng->is_number_integer() && og->get<std::int64_t>() < 0 &&
      ng->get<std::int64_t>() == 1)
    munged["terminationGracePeriodSeconds"] = *og;
  if (!same(munged, ospec)) {
    std::string diff;
    int budget = 20;
    diff_lines(&ospec, &munged, "spec", diff, budget);
    c.forbidden("spec", std::string(kPodUpdatable) + "\n" + diff);
  }
}

}  // namespace

namespace {

// ------------------------------------------------------------------------------------------------
// Workloads

const Json& empty_object() {
  static const Json kEmpty = Json::object();
  return kEmpty;
}

const Json& object_or_empty(const Json& parent, std::string_view k) {
  const Json* v = find_member(parent, k);
  return v && v->is_object() ? *v : empty_object();
}

plugin::StringPairs label_pairs(const Json* labels) {
  plugin::StringPairs out;
  if (labels && labels->is_object())
    for (const auto& [k, v] : labels->items())
      out.emplace_back(k, v.is_string() ? v.get<std::string>() : std::string());
  return out;  // nlohmann objects iterate in key order, as StringPairs must be
}

// The selector as metav1.LabelSelectorAsSelector sees it.
struct Selector {
  enum class State { kNil, kEverything, kValid, kInvalid } state = State::kNil;
  std::optional<kernel::LabelSelector> matcher;
  const Json* json = nullptr;

  std::size_t terms() const {
    if (!json) return 0;
    std::size_t n = 0;
    if (const Json* ml = find_member(*json, "matchLabels"); ml && ml->is_object()) n += ml->size();
    if (const Json* me = find_member(*json, "matchExpressions"); me && me->is_array()) n += me->size();
    return n;
  }
  // Nothing (a nil selector) matches no labels; Everything is "empty" and is not checked.
  bool checks_template() const { return state == State::kNil || state == State::kValid; }
  bool matches(const Json* labels) const {
    if (state == State::kNil) return false;
    return matcher && matcher->matches(label_pairs(labels));
  }
};

Selector read_selector(Checker& c, const Json& spec, const std::string& path) {
  Selector s;
  const Json* sel = find_member(spec, "selector");
  if (!sel) return s;
  if (!sel->is_object()) {
    c.wrong_type(path, *sel, "object");
    s.state = Selector::State::kInvalid;
    return s;
  }
  s.json = sel;
  if (!c.label_selector(*sel, path)) {
    s.state = Selector::State::kInvalid;
    return s;
  }
  auto parsed = kernel::LabelSelector::from_json(*sel);
  if (!parsed) {
    s.state = Selector::State::kInvalid;
    return s;
  }
  s.matcher = std::move(*parsed);
  s.state = s.matcher->empty() ? Selector::State::kEverything : Selector::State::kValid;
  return s;
}

const Json* template_labels(const Json& tmpl) {
  const Json* meta = find_member(tmpl, "metadata");
  return meta ? find_member(*meta, "labels") : nullptr;
}

void selector_must_match(Checker& c, const Selector& s, const Json& tmpl, const std::string& template_path) {
  if (!s.checks_template()) return;
  const Json* labels = template_labels(tmpl);
  if (!s.matches(labels))
    c.invalid_text(child(child(template_path, "metadata"), "labels"), go_string_map(labels),
                   "`selector` does not match template `labels`");
}

// ValidatePodTemplateSpecForReplicaSet (Deployments and ReplicaSets).
void template_for_replica_set(Checker& c, const Json& spec, const Selector& s, std::string_view owner) {
  const Json* tmpl = c.object(spec, "spec", "template");
  const Json& t = tmpl ? *tmpl : empty_object();
  selector_must_match(c, s, t, "spec.template");
  pod_template(c, t, "spec.template");
  const Json& tspec = object_or_empty(t, "spec");
  if (const Json* rp = find_member(tspec, "restartPolicy"); rp && rp->is_string() && rp->get<std::string>() != "Always")
    c.not_supported("spec.template.spec.restartPolicy", *rp, {"Always"});
  if (find_member(tspec, "activeDeadlineSeconds"))
    c.forbidden("spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in " + std::string(owner) + " is not Supported");
}

// The selector checks Deployments, ReplicaSets and StatefulSets share: required, not empty.
Selector required_selector(Checker& c, const Json& spec, std::string_view what) {
  Selector s = read_selector(c, spec, "spec.selector");
  if (!find_member(spec, "selector"))
    c.required("spec.selector");
  else if (s.json && s.terms() == 0)
    c.invalid_text("spec.selector", go_label_selector(*s.json), "empty selector is invalid for " + std::string(what));
  return s;
}

void int_or_percent(Checker& c, const Json* v, const std::string& path) {
  if (!v) return;
  if (v->is_string()) {
    if (!is_percent(v->get_ref<const std::string&>()))
      c.invalid_text(path, go_int_or_string(v),
                     regex_error("a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%",
                                 {"1%", "93%"}));
  } else if (v->is_number_integer()) {
    if (v->get<std::int64_t>() < 0) c.invalid(path, v->get<std::int64_t>(), kNegative);
  } else {
    c.wrong_type(path, *v, "integer or string");
  }
}

// getIntOrPercentValue
std::int64_t int_or_percent_value(const Json* v) {
  if (!v) return 0;
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_string() && is_percent(v->get_ref<const std::string&>())) {
    const std::string& s = v->get_ref<const std::string&>();
    return s.size() > 10 ? INT64_MAX : std::stoll(s.substr(0, s.size() - 1));
  }
  return 0;
}

void not_more_than_100_percent(Checker& c, const Json* v, const std::string& path) {
  if (v && v->is_string() && is_percent(v->get_ref<const std::string&>()) && int_or_percent_value(v) > 100)
    c.invalid_text(path, go_int_or_string(v), "must not be greater than 100%");
}

void immutable_selector(Checker& c, const Json& spec, const Json& ospec) {
  const Json* n = find_member(spec, "selector");
  const Json* o = find_member(ospec, "selector");
  if ((n || o) && !(n && o && same(*n, *o))) {
    if (n && n->is_object())
      c.immutable_text("spec.selector", go_label_selector(*n));
    else
      c.immutable_text("spec.selector", "nil");
  }
}

void deployment(Checker& c, const Json& d, const Json* old) {
  const Json& spec = object_or_empty(d, "spec");
  c.nonnegative(spec, "spec", "replicas");
  Selector s = required_selector(c, spec, "deployment");
  if (s.state == Selector::State::kInvalid)
    c.invalid_text("spec.selector", s.json ? go_label_selector(*s.json) : "nil", "invalid label selector");
  else
    template_for_replica_set(c, spec, s, "ReplicaSet");

  const Json& strategy = object_or_empty(spec, "strategy");
  std::string type = c.text(strategy, "spec.strategy", "type");
  const Json* ru = find_member(strategy, "rollingUpdate");
  if (type == "Recreate") {
    if (ru) c.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
  } else if (type == "RollingUpdate") {
    if (!ru) {
      c.required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil");
    } else if (ru->is_object()) {
      const Json* mu = find_member(*ru, "maxUnavailable");
      const Json* ms = find_member(*ru, "maxSurge");
      int_or_percent(c, mu, "spec.strategy.rollingUpdate.maxUnavailable");
      int_or_percent(c, ms, "spec.strategy.rollingUpdate.maxSurge");
      if (int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0)
        c.invalid_text("spec.strategy.rollingUpdate.maxUnavailable", go_int_or_string(mu),
                       "may not be 0 when `maxSurge` is 0");
      not_more_than_100_percent(c, mu, "spec.strategy.rollingUpdate.maxUnavailable");
    } else {
      c.wrong_type("spec.strategy.rollingUpdate", *ru, "object");
    }
  } else {
    c.not_supported_text(
        "spec.strategy",
        "apps.DeploymentStrategy{Type:" + go_quote(type) + ", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}",
        {"Recreate", "RollingUpdate"});
  }
  c.nonnegative(spec, "spec", "minReadySeconds");
  c.nonnegative(spec, "spec", "revisionHistoryLimit");
  if (auto pds = c.integer(spec, "spec", "progressDeadlineSeconds")) {
    if (*pds < 0) c.invalid("spec.progressDeadlineSeconds", *pds, kNegative);
    std::int64_t min_ready = c.integer(spec, "spec", "minReadySeconds").value_or(0);
    if (*pds <= min_ready) c.invalid("spec.progressDeadlineSeconds", *pds, "must be greater than minReadySeconds");
  }
  if (old) immutable_selector(c, spec, object_or_empty(*old, "spec"));
}

void replica_set(Checker& c, const Json& rs, const Json* old) {
  const Json& spec = object_or_empty(rs, "spec");
  c.nonnegative(spec, "spec", "replicas");
  c.nonnegative(spec, "spec", "minReadySeconds");
  Selector s = required_selector(c, spec, "deployment");  // sic: Kubernetes says "deployment" here too
  if (s.state == Selector::State::kInvalid)
    c.invalid_text("spec.selector", s.json ? go_label_selector(*s.json) : "nil", "invalid label selector");
  else
    template_for_replica_set(c, spec, s, "ReplicaSet");
  if (old) immutable_selector(c, spec, object_or_empty(*old, "spec"));
}

void daemon_set(Checker& c, const Json& ds, const Json* old) {
  const Json& spec = object_or_empty(ds, "spec");
  Selector s = read_selector(c, spec, "spec.selector");
  const Json* tmpl = c.object(spec, "spec", "template");
  const Json& t = tmpl ? *tmpl : empty_object();
  if (s.state != Selector::State::kInvalid && s.state != Selector::State::kEverything) {
    const Json* labels = template_labels(t);
    if (!s.matches(labels))
      c.invalid_text("spec.template.metadata.labels", go_string_map(labels),
                     "`selector` does not match template `labels`");
  }
  if (s.json && s.terms() == 0)
    c.invalid_text("spec.selector", go_label_selector(*s.json), "empty selector is invalid for daemonset");
  pod_template(c, t, "spec.template");
  const Json& tspec = object_or_empty(t, "spec");
  if (const Json* rp = find_member(tspec, "restartPolicy"); rp && rp->is_string() && rp->get<std::string>() != "Always")
    c.not_supported("spec.template.spec.restartPolicy", *rp, {"Always"});
  if (find_member(tspec, "activeDeadlineSeconds"))
    c.forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in DaemonSet is not Supported");
  c.nonnegative(spec, "spec", "minReadySeconds");
  c.nonnegative(spec, "spec", "templateGeneration");

  const Json& strategy = object_or_empty(spec, "updateStrategy");
  std::string type = c.text(strategy, "spec.updateStrategy", "type");
  if (type == "RollingUpdate") {
    const Json* ru = find_member(strategy, "rollingUpdate");
    if (!ru) {
      c.required("spec.updateStrategy.rollingUpdate");
    } else if (ru->is_object()) {
      const std::string base = "spec.updateStrategy.rollingUpdate";
      const Json* mu = find_member(*ru, "maxUnavailable");
      const Json* ms = find_member(*ru, "maxSurge");
      int_or_percent(c, mu, base + ".maxUnavailable");
      int_or_percent(c, ms, base + ".maxSurge");
      not_more_than_100_percent(c, mu, base + ".maxUnavailable");
      not_more_than_100_percent(c, ms, base + ".maxSurge");
      bool unavailable = int_or_percent_value(mu) != 0, surge = int_or_percent_value(ms) != 0;
      if (unavailable && surge)
        c.invalid_text(base + ".maxSurge", go_int_or_string(ms), "may not be set when maxUnavailable is non-zero");
      else if (!unavailable && !surge)
        c.required(base + ".maxUnavailable", "cannot be 0 when maxSurge is 0");
    } else {
      c.wrong_type("spec.updateStrategy.rollingUpdate", *ru, "object");
    }
  } else if (type != "OnDelete") {
    c.not_supported_text(
        "spec.updateStrategy",
        "apps.DaemonSetUpdateStrategy{Type:" + go_quote(type) + ", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}",
        {"RollingUpdate", "OnDelete"});
  }
  c.nonnegative(spec, "spec", "revisionHistoryLimit");
  if (old) immutable_selector(c, spec, object_or_empty(*old, "spec"));
}

void stateful_set(Checker& c, const Json& ss, const Json* old) {
  const Json& spec = object_or_empty(ss, "spec");
  std::string pmp = c.text(spec, "spec", "podManagementPolicy");
  if (pmp.empty())
    c.required("spec.podManagementPolicy");
  else if (pmp != "OrderedReady" && pmp != "Parallel")
    c.invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'");

  const Json& strategy = object_or_empty(spec, "updateStrategy");
  std::string type = c.text(strategy, "spec.updateStrategy", "type");
  const Json* ru = find_member(strategy, "rollingUpdate");
  if (type.empty()) {
    c.required("spec.updateStrategy");
  } else if (type == "OnDelete") {
    if (ru) c.invalid("spec.updateStrategy.rollingUpdate", *ru, "only allowed for updateStrategy 'RollingUpdate'");
  } else if (type == "RollingUpdate") {
    if (ru && ru->is_object()) {
      const std::string base = "spec.updateStrategy.rollingUpdate";
      c.nonnegative(*ru, base, "partition");
      if (const Json* mu = find_member(*ru, "maxUnavailable")) {
        int_or_percent(c, mu, base + ".maxUnavailable");
        if (int_or_percent_value(mu) == 0)
          c.invalid_text(base + ".maxUnavailable", go_int_or_string(mu), "cannot be 0");
        not_more_than_100_percent(c, mu, base + ".maxUnavailable");
      }
    }
  } else {
    c.invalid_text("spec.updateStrategy",
                   "apps.StatefulSetUpdateStrategy{Type:" + go_quote(type) +
                       ", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}",
                   "must be 'RollingUpdate' or 'OnDelete'");
  }
  if (const Json* policy = c.object(spec, "spec", "persistentVolumeClaimRetentionPolicy"))
    for (const char* f : {"whenDeleted", "whenScaled"}) {
      std::string v = c.text(*policy, "spec.persistentVolumeClaimRetentionPolicy", f);
      if (v != "Retain" && v != "Delete")
        c.not_supported(child("spec.persistentVolumeClaimRetentionPolicy", f), v, {"Retain", "Delete"});
    }
  c.nonnegative(spec, "spec", "replicas");
  c.nonnegative(spec, "spec", "minReadySeconds");
  if (const Json* ordinals = c.object(spec, "spec", "ordinals")) c.nonnegative(*ordinals, "spec.ordinals", "start");

  Selector s = required_selector(c, spec, "statefulset");
  const Json* tmpl = c.object(spec, "spec", "template");
  const Json& t = tmpl ? *tmpl : empty_object();
  if (s.state == Selector::State::kInvalid) {
    c.invalid_text("spec.selector", s.json ? go_label_selector(*s.json) : "nil", "");
  } else {
    // Kubernetes checks only the template's labels and annotations here, not its pod spec.
    selector_must_match(c, s, t, "spec.template");
    const Json& meta = object_or_empty(t, "metadata");
    c.labels(meta, "spec.template", "labels");
    c.annotations(meta, "spec.template", "annotations");
  }
  const Json& tspec = object_or_empty(t, "spec");
  std::string restart = c.text(tspec, "spec.template.spec", "restartPolicy");
  if (restart != "Always") c.not_supported("spec.template.spec.restartPolicy", restart, {"Always"});
  if (find_member(tspec, "activeDeadlineSeconds"))
    c.forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported");

  if (old) {
    Json a = spec, b = object_or_empty(*old, "spec");
    for (const char* f : {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                          "minReadySeconds"}) {
      a.erase(f);
      b.erase(f);
    }
    if (!same(a, b))
      c.forbidden("spec",
                  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                  "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
  }
}

void controller_revision(Checker& c, const Json& cr, const Json* old) {
  if (!find_member(cr, "data")) c.required("data", "data is mandatory");
  c.nonnegative(cr, "", "revision");
  if (old) {
    const Json* n = find_member(cr, "data");
    const Json* o = find_member(*old, "data");
    if (n && o && !same(*n, *o)) c.immutable("data", *n);
  }
}

// ------------------------------------------------------------------------------------------------
// Jobs and CronJobs

// validateJobSpec: what Jobs and CronJob job templates share.
void job_spec(Checker& c, const Json& spec, const std::string& base) {
  for (const char* f :
       {"parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"})
    c.nonnegative(spec, base, f);
  if (find_member(spec, "completionMode")) {
    std::string mode = c.text(spec, base, "completionMode");
    if (mode != "NonIndexed" && mode != "Indexed")
      c.not_supported(child(base, "completionMode"), mode, {"NonIndexed", "Indexed"});
    if (mode == "Indexed" && !find_member(spec, "completions"))
      c.required(child(base, "completions"), "when completion mode is Indexed");
  }
  const Json* tmpl = c.object(spec, base, "template");
  const Json& t = tmpl ? *tmpl : empty_object();
  pod_template(c, t, child(base, "template"));
  const Json& tspec = object_or_empty(t, "spec");
  std::string restart = c.text(tspec, child(child(base, "template"), "spec"), "restartPolicy");
  if (restart != "OnFailure" && restart != "Never")
    c.not_supported(child(base, "template.spec.restartPolicy"), restart, {"OnFailure", "Never"});
}

bool manual_selector(const Json& spec) {
  const Json* m = find_member(spec, "manualSelector");
  return m && m->is_boolean() && m->get<bool>();
}

void job(Checker& c, const Json& j, const Json* old) {
  const Json& spec = object_or_empty(j, "spec");
  const Json& meta = object_or_empty(j, "metadata");
  const bool manual = manual_selector(spec);
  const Json* sel = find_member(spec, "selector");
  // Without manualSelector, the selector is generated from the uid the store assigns; until then
  // there is nothing to check.
  if (!manual && sel && sel->is_object()) {
    const Json* uid = find_member(meta, "uid");
    if (uid && uid->is_string() && !uid->get_ref<const std::string&>().empty()) {
      auto parsed = kernel::LabelSelector::from_json(*sel);
      plugin::StringPairs expected = {{"batch.kubernetes.io/controller-uid", uid->get<std::string>()}};
      if (!parsed || !parsed->matches(expected))
        c.invalid_text("spec.selector", go_label_selector(*sel), "`selector` not auto-generated");
    }
  }
  job_spec(c, spec, "spec");
  if (manual || sel) {
    Selector s = read_selector(c, spec, "spec.selector");
    if (!sel) c.required("spec.selector");
    if (s.state == Selector::State::kNil || s.state == Selector::State::kValid) {
      const Json& t = object_or_empty(spec, "template");
      const Json* labels = template_labels(t);
      if (!s.matches(labels))
        c.invalid_text("spec.template.metadata.labels", go_string_map(labels),
                       "`selector` does not match template `labels`");
    }
  }
  if (!old) return;
  const Json& ospec = object_or_empty(*old, "spec");
  immutable_selector(c, spec, ospec);
  auto differs = [&](std::string_view f) {
    const Json* a = find_member(spec, f);
    const Json* b = find_member(ospec, f);
    return (a || b) && !(a && b && same(*a, *b));
  };
  // Completions may change only together with parallelism on Indexed Jobs (elastic Indexed Jobs).
  bool elastic = c.text(spec, "spec", "completionMode") == "Indexed" && differs("completions") &&
                 differs("parallelism") &&
                 same(find_member(spec, "completions") ? spec["completions"] : Json(),
                      find_member(spec, "parallelism") ? spec["parallelism"] : Json());
  if (differs("completions") && !elastic)
    c.immutable("spec.completions", find_member(spec, "completions") ? spec["completions"] : Json());
  // The template may change only while the Job is suspended and has not started.
  bool suspended = c.boolean(spec, "spec", "suspend").value_or(false);
  const Json& ostatus = object_or_empty(*old, "status");
  bool started = find_member(ostatus, "startTime") != nullptr;
  if (differs("template") && !(suspended && !started))
    c.immutable("spec.template", find_member(spec, "template") ? spec["template"] : Json());
  for (const char* f : {"completionMode", "podFailurePolicy", "backoffLimitPerIndex"})
    if (differs(f)) c.immutable(child("spec", f), find_member(spec, f) ? spec[f] : Json());
}

// robfig/cron's ParseStandard (5 fields or a descriptor), with its error messages.
struct CronField {
  const char* name;
  unsigned min, max;
  std::map<std::string, unsigned> names;
};

std::string atoi_error(std::string_view s) { return "strconv.Atoi: parsing " + go_quote(s) + ": invalid syntax"; }

// mustParseInt; empty string on success.
std::string cron_int(std::string_view s, unsigned& out) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), digit))
    return "failed to parse int from " + std::string(s) + ": " + atoi_error(s);
  if (digits.size() > 18)
    return "failed to parse int from " + std::string(s) + ": strconv.Atoi: parsing " + go_quote(s) +
           ": value out of range";
  long long v = std::stoll(std::string(digits));
  if (negative && v != 0) return "negative number (" + std::to_string(-v) + ") not allowed: " + std::string(s);
  if (v > 4294967295LL) v = 4294967295LL;
  out = static_cast<unsigned>(v);
  return {};
}

std::string cron_range(std::string_view expr, const CronField& f) {
  std::vector<std::string_view> range_and_step;
  for (std::size_t start = 0;;) {
    std::size_t slash = expr.find('/', start);
    range_and_step.push_back(
        expr.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::vector<std::string_view> low_high;
  for (std::size_t start = 0;;) {
    std::size_t dash = range_and_step[0].find('-', start);
    low_high.push_back(
        range_and_step[0].substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  auto int_or_name = [&](std::string_view s, unsigned& out) -> std::string {
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; });
    if (auto it = f.names.find(lower); it != f.names.end()) {
      out = it->second;
      return {};
    }
    return cron_int(s, out);
  };
  unsigned start = 0, end = 0, step = 1;
  bool single = low_high.size() == 1;
  if (low_high[0] == "*" || low_high[0] == "?") {
    start = f.min;
    end = f.max;
  } else {
    if (auto err = int_or_name(low_high[0], start); !err.empty()) return err;
    if (low_high.size() == 1)
      end = start;
    else if (low_high.size() == 2) {
      if (auto err = int_or_name(low_high[1], end); !err.empty()) return err;
    } else {
      return "too many hyphens: " + std::string(expr);
    }
  }
  if (range_and_step.size() == 2) {
    if (auto err = cron_int(range_and_step[1], step); !err.empty()) return err;
    if (single) end = f.max;
  } else if (range_and_step.size() > 2) {
    return "too many slashes: " + std::string(expr);
  }
  if (start < f.min)
    return "beginning of range (" + std::to_string(start) + ") below minimum (" + std::to_string(f.min) +
           "): " + std::string(expr);
  if (end > f.max)
    return "end of range (" + std::to_string(end) + ") above maximum (" + std::to_string(f.max) +
           "): " + std::string(expr);
  if (start > end)
    return "beginning of range (" + std::to_string(start) + ") beyond end of range (" + std::to_string(end) +
           "): " + std::string(expr);
  if (step == 0) return "step of range should be a positive number: " + std::string(expr);
  return {};
}

bool zone_exists(const std::string& name) {
  if (name == "UTC") return true;
  std::string path = "/usr/share/zoneinfo/" + name;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string_view(magic, 4) == "TZif";
}

// Go's time.ParseDuration grammar, enough to accept or reject "@every <duration>".
bool go_duration(std::string_view s) {
  if (s.empty()) return false;
  if (s[0] == '+' || s[0] == '-') s.remove_prefix(1);
  if (s == "0") return true;
  if (s.empty()) return false;
  static constexpr std::string_view kUnits[] = {"ns", "us", "\xc2\xb5s", "\xce\xbcs", "ms", "s", "m", "h"};
  while (!s.empty()) {
    std::size_t i = 0;
    bool digits = false;
    while (i < s.size() && digit(s[i])) ++i, digits = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && digit(s[i])) ++i, digits = true;
    }
    if (!digits) return false;
    s.remove_prefix(i);
    bool unit = false;
    for (auto u : kUnits)
      if (s.starts_with(u) && !(u == "m" && s.starts_with("ms"))) {
        s.remove_prefix(u.size());
        unit = true;
        break;
      }
    if (!unit) return false;
  }
  return true;
}

std::string cron_error(std::string spec) {
  if (spec.empty()) return "empty spec string";
  if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=")) {
    std::size_t space = spec.find(' ');
    std::size_t eq = spec.find('=');
    std::string loc = spec.substr(eq + 1, space == std::string::npos ? std::string::npos : space - eq - 1);
    if (loc.empty() || loc == "Local" ? false : !zone_exists(loc))
      return "provided bad location " + loc + ": unknown time zone " + loc;
    spec = space == std::string::npos ? std::string() : spec.substr(space);
    spec.erase(0, spec.find_first_not_of(" \t\n\r\v\f"));
  }
  if (spec.starts_with("@")) {
    static const std::set<std::string> kDescriptors = {"@yearly", "@annually", "@monthly", "@weekly",
                                                       "@daily",  "@midnight", "@hourly"};
    if (kDescriptors.count(spec)) return {};
    if (spec.starts_with("@every ")) {
      std::string d = spec.substr(7);
      if (!go_duration(d)) return "failed to parse duration " + spec + ": time: invalid duration " + go_quote(d);
      return {};
    }
    return "unrecognized descriptor: " + spec;
  }
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < spec.size();) {
    while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
    std::size_t start = i;
    while (i < spec.size() && !std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
    if (i > start) fields.push_back(spec.substr(start, i - start));
  }
  if (fields.size() != 5) {
    std::string list;
    for (const auto& f : fields) list += (list.empty() ? "" : " ") + f;
    return "expected exactly 5 fields, found " + std::to_string(fields.size()) + ": [" + list + "]";
  }
  static const CronField kFields[] = {
      {"minute", 0, 59, {}},
      {"hour", 0, 23, {}},
      {"dom", 1, 31, {}},
      {"month",
       1,
       12,
       {{"jan", 1},
        {"feb", 2},
        {"mar", 3},
        {"apr", 4},
        {"may", 5},
        {"jun", 6},
        {"jul", 7},
        {"aug", 8},
        {"sep", 9},
        {"oct", 10},
        {"nov", 11},
        {"dec", 12}}},
      {"dow", 0, 6, {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4}, {"fri", 5}, {"sat", 6}}}};
  for (std::size_t i = 0; i < 5; ++i) {
    std::string_view field = fields[i];
    for (std::size_t start = 0; start <= field.size();) {
      std::size_t comma = field.find(',', start);
      std::string_view part =
          field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (!part.empty())
        if (auto err = cron_range(part, kFields[i]); !err.empty()) return err;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return {};
}

bool tz_part_ok(std::string_view part) {
  if (part.empty() || part.size() > 14) return false;
  return std::all_of(part.begin(), part.end(),
                     [](char ch) { return alnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == '+'; });
}

void time_zone(Checker& c, const Json& spec, const std::string& base) {
  const Json* tz = find_member(spec, "timeZone");
  if (!tz) return;
  std::string path = child(base, "timeZone");
  if (!tz->is_string()) {
    c.wrong_type(path, *tz, "string");
    return;
  }
  const std::string& name = tz->get_ref<const std::string&>();
  if (name.empty()) {
    c.invalid(path, name, "timeZone must be nil or non-empty string");
    return;
  }
  for (std::size_t start = 0;;) {
    std::size_t slash = name.find('/', start);
    std::string_view part =
        std::string_view(name).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "." || part == ".." || part.starts_with("-") || !tz_part_ok(part)) {
      c.invalid(path, name, "unknown time zone " + name);
      return;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; });
  if (lower == "local") {
    c.invalid(path, name, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones");
    return;
  }
  if (!zone_exists(name)) c.invalid(path, name, "unknown time zone " + name);
}

void cron_job(Checker& c, const Json& cj, const Json* old) {
  const Json& spec = object_or_empty(cj, "spec");
  const Json& ospec = old ? object_or_empty(*old, "spec") : empty_object();
  bool bad = false;
  std::string schedule = c.text(spec, "spec", "schedule", &bad);
  if (schedule.empty()) {
    if (!bad) c.required("spec.schedule");
  } else {
    bool allow_tz = old && c.text(ospec, "spec", "schedule").find("TZ") != std::string::npos;
    if (auto err = cron_error(schedule); !err.empty()) c.invalid("spec.schedule", schedule, err);
    if (allow_tz && schedule.find("TZ") != std::string::npos && find_member(spec, "timeZone"))
      c.invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule");
    else if (!allow_tz && schedule.find("TZ") != std::string::npos)
      c.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  c.nonnegative(spec, "spec", "startingDeadlineSeconds");
  const Json* tz = find_member(spec, "timeZone");
  const Json* otz = old ? find_member(ospec, "timeZone") : nullptr;
  if (!old || !((!tz && !otz) || (tz && otz && *tz == *otz))) time_zone(c, spec, "spec");

  c.enumeration(spec, "spec", "concurrencyPolicy", {"Allow", "Forbid", "Replace"});

  const Json* jt = c.object(spec, "spec", "jobTemplate");
  const Json& jtspec = object_or_empty(jt ? *jt : empty_object(), "spec");
  if (jt) {
    const Json& jtmeta = object_or_empty(*jt, "metadata");
    c.labels(jtmeta, "spec.jobTemplate.metadata", "labels");
    c.annotations(jtmeta, "spec.jobTemplate.metadata", "annotations");
  }
  job_spec(c, jtspec, "spec.jobTemplate.spec");
  if (const Json* sel = find_member(jtspec, "selector"))
    c.invalid_text("spec.jobTemplate.spec.selector", sel->is_object() ? go_label_selector(*sel) : sel->dump(),
                   "`selector` will be auto-generated");
  if (manual_selector(jtspec)) c.not_supported("spec.jobTemplate.spec.manualSelector", true, {"nil", "false"});
  c.nonnegative(spec, "spec", "successfulJobsHistoryLimit");
  c.nonnegative(spec, "spec", "failedJobsHistoryLimit");

  // The controller appends an 11-character suffix to Job names, which may not exceed 63.
  std::string name = c.text(object_or_empty(cj, "metadata"), "metadata", "name");
  if (name.size() > 52) c.invalid("metadata.name", name, "must be no more than 52 characters");
}

// ------------------------------------------------------------------------------------------------
// Services and endpoints

std::string go_service_port(const Json& p) {
  auto s = [&](std::string_view k) {
    const Json* v = find_member(p, k);
    return go_quote(v && v->is_string() ? v->get<std::string>() : std::string());
  };
  const Json* port = find_member(p, "port");
  return "core.ServicePort{Name:\"\", Protocol:" + s("protocol") +
         ", AppProtocol:(*string)(nil), Port:" + (port && port->is_number_integer() ? port->dump() : "0") +
         ", TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}";
}

std::vector<std::string> cluster_ips(const Json& spec) {
  std::vector<std::string> out;
  if (const Json* ips = find_member(spec, "clusterIPs"); ips && ips->is_array()) {
    for (const auto& ip : *ips)
      if (ip.is_string()) out.push_back(ip.get<std::string>());
  } else if (const Json* ip = find_member(spec, "clusterIP");
             ip && ip->is_string() && !ip->get_ref<const std::string&>().empty()) {
    out.push_back(ip->get<std::string>());
  }
  return out;
}

void service(Checker& c, const Json& svc, const Json* old) {
  const Json& spec = object_or_empty(svc, "spec");
  std::string type = c.text(spec, "spec", "type");
  std::vector<std::string> ips = cluster_ips(spec);
  bool headless = !ips.empty() && ips[0] == "None";
  const Json* ports = c.array(spec, "spec", "ports");
  if ((!ports || ports->empty()) && !headless && type != "ExternalName") c.required("spec.ports");

  if (type == "ExternalName") {
    if (!ips.empty()) c.forbidden("spec.clusterIPs", "may not be set for ExternalName services");
    std::string cname = c.text(spec, "spec", "externalName");
    if (!cname.empty() && cname.back() == '.') cname.pop_back();
    if (cname.empty())
      c.required("spec.externalName");
    else
      for (auto& m : subdomain_msgs(cname)) c.invalid("spec.externalName", cname, m);
  } else {
    for (std::size_t i = 0; i < ips.size(); ++i) {
      std::string p = index("spec.clusterIPs", i);
      if (ips[i] == "None") {
        if (i != 0)
          c.invalid(p, ips[i], "'None' must be the first and only value");
        else if (type == "NodePort" || type == "LoadBalancer")
          c.invalid(p, ips[i], "may not be set to 'None' for " + type + " services");
      } else if (!ips[i].empty() && !is_ip(ips[i])) {
        c.invalid(p, ips[i], kInvalidIP);
      }
    }
  }

  std::set<std::string> names;
  std::set<std::pair<std::string, std::int64_t>> node_ports, port_keys;
  const std::size_t n = ports ? ports->size() : 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::string pp = index("spec.ports", i);
    if (!c.element_object((*ports)[i], pp)) continue;
    const Json& port = (*ports)[i];
    std::string name = c.text(port, pp, "name");
    if (n > 1 && name.empty()) {
      c.required(child(pp, "name"));
    } else if (!name.empty()) {
      for (auto& m : label_msgs(name)) c.invalid(child(pp, "name"), name, m);
      if (!names.insert(name).second) c.duplicate(child(pp, "name"), name);
    }
    std::int64_t number = c.integer(port, pp, "port").value_or(0);
    if (number < 1 || number > 65535) c.invalid(child(pp, "port"), number, range_error(1, 65535));
    std::string proto = c.enumeration(port, pp, "protocol", {"SCTP", "TCP", "UDP"});
    c.port_num_or_name(find_member(port, "targetPort"), child(pp, "targetPort"));
    std::string app = c.text(port, pp, "appProtocol");
    if (find_member(port, "appProtocol"))
      for (auto& m : qualified_name_msgs(app)) c.invalid(child(pp, "appProtocol"), app, m);
    std::int64_t node_port = c.integer(port, pp, "nodePort").value_or(0);
    if (node_port != 0) {
      if (type == "ClusterIP")
        c.forbidden(child(pp, "nodePort"), "may not be used when `type` is 'ClusterIP'");
      else if (node_port < 1 || node_port > 65535)  // the configured range is the allocator's check
        c.invalid(child(pp, "nodePort"), node_port, range_error(1, 65535));
      if (!node_ports.insert({proto, node_port}).second) c.duplicate(child(pp, "nodePort"), node_port);
    }
    if (!port_keys.insert({proto, number}).second) c.add(Type::kDuplicate, pp, nullptr, "", go_service_port(port));
  }

  if (find_member(spec, "selector")) c.labels(spec, "spec", "selector");
  c.enumeration(spec, "spec", "sessionAffinity", {"ClientIP", "None"});
  if (type.empty())
    c.required("spec.type");
  else if (type != "ClusterIP" && type != "ExternalName" && type != "LoadBalancer" && type != "NodePort")
    c.not_supported("spec.type", type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"});

  bool external = type == "LoadBalancer" || type == "NodePort";
  if (const Json* eips = find_member(spec, "externalIPs");
      eips && eips->is_array() && !eips->empty() && type == "ClusterIP")
    external = true;
  std::string etp = c.text(spec, "spec", "externalTrafficPolicy");
  if (!external) {
    if (!etp.empty())
      c.invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services");
  } else if (etp.empty()) {
    c.required("spec.externalTrafficPolicy");
  } else if (etp != "Cluster" && etp != "Local") {
    c.not_supported("spec.externalTrafficPolicy", etp, {"Cluster", "Local"});
  }
  if (find_member(spec, "internalTrafficPolicy")) {
    std::string itp = c.text(spec, "spec", "internalTrafficPolicy");
    if (itp != "Cluster" && itp != "Local") c.not_supported("spec.internalTrafficPolicy", itp, {"Cluster", "Local"});
  }
  if (find_member(spec, "ipFamilyPolicy")) {
    std::string policy = c.text(spec, "spec", "ipFamilyPolicy");
    if (policy != "SingleStack" && policy != "PreferDualStack" && policy != "RequireDualStack")
      c.not_supported("spec.ipFamilyPolicy", policy, {"PreferDualStack", "RequireDualStack", "SingleStack"});
  }
  if (const Json* families = c.array(spec, "spec", "ipFamilies"))
    for (std::size_t i = 0; i < families->size(); ++i) {
      const Json& f = (*families)[i];
      if (f != "IPv4" && f != "IPv6") c.not_supported(index("spec.ipFamilies", i), f, {"IPv4", "IPv6"});
    }

  if (old && type != "ExternalName") {
    const Json& ospec = object_or_empty(*old, "spec");
    std::vector<std::string> old_ips = cluster_ips(ospec);
    std::string otype = c.text(ospec, "spec", "type");
    if (otype != "ExternalName" && !old_ips.empty() && !ips.empty() && old_ips[0] != ips[0]) {
      Json list = Json::array();
      for (const auto& ip : ips) list.push_back(ip);
      c.invalid_text("spec.clusterIPs[0]", go_string_slice(&list), "may not change once set");
    }
  }
}

void endpoint_ports(Checker& c, const Json& subset, const std::string& base) {
  const Json* ports = c.array(subset, base, "ports");
  if (!ports) return;
  for (std::size_t i = 0; i < ports->size(); ++i) {
    std::string pp = index(child(base, "ports"), i);
    if (!c.element_object((*ports)[i], pp)) continue;
    const Json& port = (*ports)[i];
    std::string name = c.text(port, pp, "name");
    if (ports->size() > 1 && name.empty())
      c.required(child(pp, "name"));
    else if (!name.empty())
      for (auto& m : label_msgs(name)) c.invalid(child(pp, "name"), name, m);
    std::int64_t number = c.integer(port, pp, "port").value_or(0);
    if (number < 1 || number > 65535) c.invalid(child(pp, "port"), number, range_error(1, 65535));
    c.enumeration(port, pp, "protocol", {"SCTP", "TCP", "UDP"});
  }
}

void endpoints(Checker& c, const Json& ep) {
  const Json* subsets = c.array(ep, "", "subsets");
  if (!subsets) return;
  for (std::size_t i = 0; i < subsets->size(); ++i) {
    std::string sp = index("subsets", i);
    if (!c.element_object((*subsets)[i], sp)) continue;
    const Json& s = (*subsets)[i];
    for (const char* list : {"addresses", "notReadyAddresses"})
      if (const Json* addrs = c.array(s, sp, list))
        for (std::size_t j = 0; j < addrs->size(); ++j) {
          std::string ap = index(child(sp, list), j);
          if (!c.element_object((*addrs)[j], ap)) continue;
          std::string ip = c.text((*addrs)[j], ap, "ip");
          if (!is_ip(ip)) c.invalid(child(ap, "ip"), ip, kInvalidIP);
          std::string host = c.text((*addrs)[j], ap, "hostname");
          if (!host.empty())
            for (auto& m : label_msgs(host)) c.invalid(child(ap, "hostname"), host, m);
          std::string node = c.text((*addrs)[j], ap, "nodeName");
          if (!node.empty())
            for (auto& m : subdomain_msgs(node)) c.invalid(child(ap, "nodeName"), node, m);
        }
    endpoint_ports(c, s, sp);
  }
}

void endpoint_slice(Checker& c, const Json& slice, const Json* old) {
  std::string type = c.enumeration(slice, "", "addressType", {"FQDN", "IPv4", "IPv6"});
  if (const Json* eps = c.array(slice, "", "endpoints"))
    for (std::size_t i = 0; i < eps->size(); ++i) {
      std::string ep = index("endpoints", i);
      if (!c.element_object((*eps)[i], ep)) continue;
      const Json* addrs = c.array((*eps)[i], ep, "addresses");
      if (!addrs || addrs->empty()) {
        c.required(child(ep, "addresses"), "must contain at least 1 address");
        continue;
      }
      for (std::size_t j = 0; j < addrs->size(); ++j) {
        std::string ap = index(child(ep, "addresses"), j);
        if (!(*addrs)[j].is_string()) {
          c.wrong_type(ap, (*addrs)[j], "string");
          continue;
        }
        const std::string& a = (*addrs)[j].get_ref<const std::string&>();
        unsigned char buf[16];
        if (type == "IPv4" && inet_pton(AF_INET, a.c_str(), buf) != 1)
          c.invalid(ap, a, "must be a valid IPv4 address");
        else if (type == "IPv6" && inet_pton(AF_INET6, a.c_str(), buf) != 1)
          c.invalid(ap, a, "must be a valid IPv6 address");
        else if (type == "FQDN")
          for (auto& m : subdomain_msgs(a)) c.invalid(ap, a, m);
      }
    }
  if (const Json* ports = c.array(slice, "", "ports")) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < ports->size(); ++i) {
      std::string pp = index("ports", i);
      if (!c.element_object((*ports)[i], pp)) continue;
      const Json& port = (*ports)[i];
      std::string name = c.text(port, pp, "name");
      if (!name.empty())
        for (auto& m : label_msgs(name)) c.invalid(child(pp, "name"), name, m);
      if (!names.insert(name).second) c.duplicate(child(pp, "name"), name);
      std::string proto = c.text(port, pp, "protocol");
      if (proto != "TCP" && proto != "UDP" && proto != "SCTP")
        c.not_supported(child(pp, "protocol"), proto, {"SCTP", "TCP", "UDP"});
      if (auto number = c.integer(port, pp, "port"); number && (*number < 1 || *number > 65535))
        c.invalid(child(pp, "port"), *number, range_error(1, 65535));
    }
  }
  if (old) {
    const Json* o = find_member(*old, "addressType");
    if (o && o->is_string() && o->get<std::string>() != type) c.immutable("addressType", type);
  }
}

// ------------------------------------------------------------------------------------------------
// Configuration, namespaces, nodes and the rest

// Decoded length of base64 text, or nullopt with the offending offset when it is not base64.
std::optional<std::size_t> base64_length(std::string_view s, std::size_t& bad_at) {
  std::size_t n = 0, pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    bool ok = alnum(ch) || ch == '+' || ch == '/';
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (!ok || pad > 0) {
      bad_at = i;
      return std::nullopt;
    }
    ++n;
  }
  if ((n + pad) % 4 != 0 || pad > 2) {
    bad_at = s.size() - (s.size() % 4 == 0 ? 0 : s.size() % 4);
    return std::nullopt;
  }
  return (n + pad) / 4 * 3 - pad;
}

constexpr std::size_t kMaxSecretSize = 1024 * 1024;

void config_map(Checker& c, const Json& cm, const Json* old) {
  std::size_t total = 0;
  const Json* data = c.object(cm, "", "data");
  const Json* binary = c.object(cm, "", "binaryData");
  if (data)
    for (const auto& [k, v] : data->items()) {
      for (auto& m : config_key_msgs(k)) c.invalid(key("data", k), k, m);
      if (binary && binary->contains(k)) c.invalid(key("data", k), k, "duplicate of key present in binaryData");
      if (v.is_string())
        total += v.get_ref<const std::string&>().size();
      else if (!v.is_null())
        c.wrong_type(key("data", k), v, "string");
    }
  if (binary)
    for (const auto& [k, v] : binary->items()) {
      for (auto& m : config_key_msgs(k)) c.invalid(key("binaryData", k), k, m);
      std::size_t bad_at = 0;
      if (!v.is_string()) {
        if (!v.is_null()) c.wrong_type(key("binaryData", k), v, "string");
      } else if (auto len = base64_length(v.get_ref<const std::string&>(), bad_at)) {
        total += *len;
      } else {
        c.invalid(key("binaryData", k), "<value omitted>",
                  "illegal base64 data at input byte " + std::to_string(bad_at));
      }
    }
  if (total > kMaxSecretSize) c.too_long("", kMaxSecretSize);
  c.boolean(cm, "", "immutable");
  if (!old) return;
  const Json* was = find_member(*old, "immutable");
  if (was && was->is_boolean() && was->get<bool>()) {
    const Json* now = find_member(cm, "immutable");
    if (!now || *now != true) c.forbidden("immutable", "field is immutable when `immutable` is set");
    for (const char* f : {"data", "binaryData"}) {
      const Json* a = find_member(cm, f);
      const Json* b = find_member(*old, f);
      if (!same(a ? *a : Json(), b ? *b : Json())) c.forbidden(f, "field is immutable when `immutable` is set");
    }
  }
}

void secret(Checker& c, const Json& s, const Json* old) {
  std::size_t total = 0;
  const Json* data = c.object(s, "", "data");
  if (data)
    for (const auto& [k, v] : data->items()) {
      for (auto& m : config_key_msgs(k)) c.invalid(key("data", k), k, m);
      std::size_t bad_at = 0;
      if (!v.is_string()) {
        if (!v.is_null()) c.invalid(key("data", k), "<value omitted>", "must be of type string");
      } else if (auto len = base64_length(v.get_ref<const std::string&>(), bad_at)) {
        total += *len;
      } else {
        c.invalid(key("data", k), "<value omitted>", "illegal base64 data at input byte " + std::to_string(bad_at));
      }
    }
  if (total > kMaxSecretSize) c.too_long("data", kMaxSecretSize);
  auto has = [&](std::string_view k) { return data && data->contains(k); };
  std::string type = c.text(s, "", "type");
  if (type == "kubernetes.io/service-account-token") {
    const Json& meta = object_or_empty(s, "metadata");
    const Json& annotations = object_or_empty(meta, "annotations");
    const Json* sa = find_member(annotations, "kubernetes.io/service-account.name");
    if (!sa || !sa->is_string() || sa->get_ref<const std::string&>().empty())
      c.required("metadata.annotations[kubernetes.io/service-account.name]");
  } else if (type == "kubernetes.io/dockercfg") {
    if (!has(".dockercfg")) c.required("data[.dockercfg]");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    if (!has(".dockerconfigjson")) c.required("data[.dockerconfigjson]");
  } else if (type == "kubernetes.io/basic-auth") {
    if (!has("username") && !has("password")) {
      c.required("data[username]");
      c.required("data[password]");
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    const Json* key_data = data ? find_member(*data, "ssh-privatekey") : nullptr;
    if (!key_data || !key_data->is_string() || key_data->get_ref<const std::string&>().empty())
      c.required("data[ssh-privatekey]");
  } else if (type == "kubernetes.io/tls") {
    if (!has("tls.crt")) c.required("data[tls.crt]");
    if (!has("tls.key")) c.required("data[tls.key]");
  }
  c.boolean(s, "", "immutable");
  if (!old) return;
  std::string old_type = c.text(*old, "", "type");
  if (old_type != type) c.immutable("type", type);
  const Json* was = find_member(*old, "immutable");
  if (was && was->is_boolean() && was->get<bool>()) {
    const Json* now = find_member(s, "immutable");
    if (!now || *now != true) c.forbidden("immutable", "field is immutable when `immutable` is set");
    const Json* b = find_member(*old, "data");
    if (!same(data ? *data : Json(), b ? *b : Json()))
      c.forbidden("data", "field is immutable when `immutable` is set");
  }
}

void namespace_object(Checker& c, const Json& ns) {
  if (const Json* spec = c.object(ns, "", "spec")) c.finalizer_names(*spec, "spec", "finalizers");
}

void node(Checker& c, const Json& n, const Json* old) {
  const Json& spec = object_or_empty(n, "spec");
  if (const Json* taints = c.array(spec, "spec", "taints")) {
    std::set<std::pair<std::string, std::string>> seen;
    for (std::size_t i = 0; i < taints->size(); ++i) {
      std::string tp = index("spec.taints", i);
      if (!c.element_object((*taints)[i], tp)) continue;
      const Json& t = (*taints)[i];
      std::string k = c.text(t, tp, "key");
      for (auto& m : qualified_name_msgs(k)) c.invalid(child(tp, "key"), k, m);
      std::string value = c.text(t, tp, "value");
      auto msgs = label_value_msgs(value);
      if (!msgs.empty()) {
        std::string joined;
        for (auto& m : msgs) joined += (joined.empty() ? "" : ";") + m;
        c.invalid(child(tp, "value"), value, joined);
      }
      std::string effect = c.text(t, tp, "effect");
      if (effect.empty())
        c.required(child(tp, "effect"));
      else if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute")
        c.not_supported(child(tp, "effect"), effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
      if (!seen.insert({effect, k}).second) {
        c.add(Type::kDuplicate, tp, nullptr, "taints must be unique by key and effect pair",
              "core.Taint{Key:" + go_quote(k) + ", Value:" + go_quote(value) + ", Effect:" + go_quote(effect) +
                  ", TimeAdded:(*v1.Time)(nil)}");
      }
    }
  }
  std::vector<std::string> cidrs;
  if (const Json* list = c.array(spec, "spec", "podCIDRs")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Json& v = (*list)[i];
      std::string s = v.is_string() ? v.get<std::string>() : v.dump();
      if (!v.is_string() || !is_cidr(s))
        c.invalid(index("spec.podCIDRs", i), s, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
      cidrs.push_back(s);
    }
  }
  if (!old) return;
  const Json& ospec = object_or_empty(*old, "spec");
  if (const Json* list = find_member(ospec, "podCIDRs"); list && list->is_array() && !list->empty()) {
    bool changed = list->size() != cidrs.size();
    for (std::size_t i = 0; !changed && i < cidrs.size(); ++i) changed = (*list)[i] != cidrs[i];
    if (changed) c.forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid");
  }
  std::string old_provider = c.text(ospec, "spec", "providerID");
  if (!old_provider.empty() && old_provider != c.text(spec, "spec", "providerID"))
    c.forbidden("spec.providerID", "node updates may not change providerID except from \"\" to valid");
}

void lease(Checker& c, const Json& l) {
  const Json& spec = object_or_empty(l, "spec");
  if (auto d = c.integer(spec, "spec", "leaseDurationSeconds"); d && *d <= 0)
    c.invalid("spec.leaseDurationSeconds", *d, "must be greater than 0");
  if (auto t = c.integer(spec, "spec", "leaseTransitions"); t && *t < 0)
    c.invalid("spec.leaseTransitions", *t, kNegative);
  c.text(spec, "spec", "holderIdentity");
}

void priority_class(Checker& c, const Json& pc, const Json* old) {
  std::string name = c.text(object_or_empty(pc, "metadata"), "metadata", "name");
  std::int64_t value = c.integer(pc, "", "value").value_or(0);
  bool global = c.boolean(pc, "", "globalDefault").value_or(false);
  if (name.starts_with("system-")) {
    std::string err;
    if (name == "system-node-critical" || name == "system-cluster-critical") {
      std::int64_t expected = name == "system-node-critical" ? 2000001000 : 2000000000;
      if (value != expected)
        err = "value of " + name + " PriorityClass must be " + std::to_string(expected);
      else if (global)
        err = "globalDefault of " + name + " PriorityClass must be false";
    } else {
      err = name + " is not a known system priority class";
    }
    if (!err.empty())
      c.forbidden("metadata.name",
                  "priority class names with 'system-' prefix are reserved for system use only. error: " + err);
  } else if (value > 1000000000) {
    c.forbidden("value", "maximum allowed value of a user defined priority is 1000000000");
  }
  if (find_member(pc, "preemptionPolicy")) {
    std::string policy = c.text(pc, "", "preemptionPolicy");
    if (policy.empty())
      c.required("preemptionPolicy");
    else if (policy != "PreemptLowerPriority" && policy != "Never")
      c.not_supported("preemptionPolicy", policy, {"PreemptLowerPriority", "Never"});
  }
  if (!old) return;
  const Json* ov = find_member(*old, "value");
  const Json* nv = find_member(pc, "value");
  if (!same(ov ? *ov : Json(0), nv ? *nv : Json(0))) c.forbidden("value", "may not be changed in an update.");
  const Json* op = find_member(*old, "preemptionPolicy");
  const Json* np = find_member(pc, "preemptionPolicy");
  if ((op || np) && !(op && np && *op == *np)) c.immutable("preemptionPolicy", np ? *np : Json());
}

void event(Checker& c, const Json& e) {
  const Json& meta = object_or_empty(e, "metadata");
  const Json& involved = object_or_empty(e, "involvedObject");
  std::string ns = c.text(meta, "metadata", "namespace");
  std::string ins = c.text(involved, "involvedObject", "namespace");
  if (!find_member(e, "eventTime")) {
    if (ins.empty()) {
      if (!ns.empty() && ns != "default") c.invalid("involvedObject.namespace", ins, "does not match event.namespace");
    } else if (ns != ins) {
      c.invalid("involvedObject.namespace", ins, "does not match event.namespace");
    }
  }
  for (const char* f : {"type", "reason", "message", "reportingComponent", "reportingInstance"}) c.text(e, "", f);
  c.integer(e, "", "count");
}

void service_account(Checker& c, const Json& sa) {
  if (const Json* secrets = c.array(sa, "", "secrets"))
    for (std::size_t i = 0; i < secrets->size(); ++i) c.element_object((*secrets)[i], index("secrets", i));
  c.boolean(sa, "", "automountServiceAccountToken");
}

// ------------------------------------------------------------------------------------------------
// Dispatch

struct KindRule {
  std::string_view group, kind;
  bool namespaced;
  NameRule name;
};

constexpr KindRule kKinds[] = {
    {"", "Pod", true, NameRule::kSubdomain},
    {"", "Service", true, NameRule::kDns1035},
    {"", "Namespace", false, NameRule::kLabel},
    {"", "Node", false, NameRule::kSubdomain},
    {"", "ConfigMap", true, NameRule::kSubdomain},
    {"", "Secret", true, NameRule::kSubdomain},
    {"", "ServiceAccount", true, NameRule::kSubdomain},
    {"", "Endpoints", true, NameRule::kSubdomain},
    {"", "Event", true, NameRule::kSubdomain},
    {"apps", "Deployment", true, NameRule::kSubdomain},
    {"apps", "ReplicaSet", true, NameRule::kSubdomain},
    {"apps", "DaemonSet", true, NameRule::kSubdomain},
    {"apps", "StatefulSet", true, NameRule::kSubdomain},
    {"apps", "ControllerRevision", true, NameRule::kSubdomain},
    {"batch", "Job", true, NameRule::kSubdomain},
    {"batch", "CronJob", true, NameRule::kSubdomain},
    {"coordination.k8s.io", "Lease", true, NameRule::kSubdomain},
    {"scheduling.k8s.io", "PriorityClass", false, NameRule::kSubdomain},
    {"discovery.k8s.io", "EndpointSlice", true, NameRule::kSubdomain},
};

void validate_kind(Checker& c, std::string_view group, std::string_view kind, const Json& obj, const Json* old) {
  const KindRule* rule = nullptr;
  for (const auto& r : kKinds)
    if (r.group == group && r.kind == kind) rule = &r;
  c.object_meta(obj, rule ? rule->namespaced : false, rule ? rule->name : NameRule::kSubdomain);
  if (old) c.object_meta_update(obj, *old);
  if (!rule) return;

  if (group.empty()) {
    if (kind == "Pod") {
      const Json* spec = c.object(obj, "", "spec");
      pod_spec(c, spec ? *spec : empty_object(), "spec");
      if (!old) {
        const Json* eph = spec ? find_member(*spec, "ephemeralContainers") : nullptr;
        if (eph && eph->is_array() && !eph->empty()) c.forbidden("spec.ephemeralContainers", "cannot be set on create");
      } else {
        pod_update(c, obj, *old);
      }
    } else if (kind == "Service") {
      service(c, obj, old);
    } else if (kind == "Namespace") {
      namespace_object(c, obj);
    } else if (kind == "Node") {
      node(c, obj, old);
    } else if (kind == "ConfigMap") {
      config_map(c, obj, old);
    } else if (kind == "Secret") {
      secret(c, obj, old);
    } else if (kind == "ServiceAccount") {
      service_account(c, obj);
    } else if (kind == "Endpoints") {
      endpoints(c, obj);
    } else if (kind == "Event") {
      event(c, obj);
    }
  } else if (group == "apps") {
    if (kind == "Deployment")
      deployment(c, obj, old);
    else if (kind == "ReplicaSet")
      replica_set(c, obj, old);
    else if (kind == "DaemonSet")
      daemon_set(c, obj, old);
    else if (kind == "StatefulSet")
      stateful_set(c, obj, old);
    else if (kind == "ControllerRevision")
      controller_revision(c, obj, old);
  } else if (group == "batch") {
    if (kind == "Job")
      job(c, obj, old);
    else if (kind == "CronJob")
      cron_job(c, obj, old);
  } else if (kind == "Lease") {
    lease(c, obj);
  } else if (kind == "PriorityClass") {
    priority_class(c, obj, old);
  } else if (kind == "EndpointSlice") {
    endpoint_slice(c, obj, old);
  }
}

}  // namespace

std::vector<FieldError> validate(std::string_view group, std::string_view kind, const nlohmann::json& object,
                                 const nlohmann::json* old) {
  Checker c;
  if (!object.is_object()) {
    c.wrong_type("", object, "object");
    return std::move(c.errs);
  }
  try {
    // Kubernetes validates decoded objects, and decoding applies the defaults.
    Json obj = object;
    apply_defaults(group, kind, obj, old ? Operation::kUpdate : Operation::kCreate);
    validate_kind(c, group, kind, obj, old && old->is_object() ? old : nullptr);
  } catch (const std::exception& e) {
    c.invalid("", nullptr, std::string("internal error while validating: ") + e.what());
  }
  // Some checks look at the same field from two sides (a template's restartPolicy, say); report each once.
  std::vector<FieldError> out;
  std::set<std::string> seen;
  for (auto& e : c.errs)
    if (seen.insert(e.message()).second) out.push_back(std::move(e));
  return out;
}

}  // namespace skiff::kernel::api
