#include "kernel/store/selector.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <nlohmann/json.hpp>

#include "kernel/util/meta.hpp"

namespace skiff::kernel {
namespace {

// ---------------------------------------------------------------------------------------------
// Label keys and values (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue)

constexpr std::size_t kMaxNameLength = 63;
constexpr std::size_t kMaxValueLength = 63;

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool is_qualified_name_part(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

constexpr std::string_view kNameFormat =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

// Empty when `key` is a valid label key; otherwise why not.
std::string label_key_error(std::string_view key) {
  std::string_view name = key;
  std::size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos)
      return "a qualified name must be a name with an optional DNS subdomain prefix and '/' (e.g. "
             "'example.com/MyName'); it has more than one '/'";
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) return "prefix part must be non-empty";
    if (std::string err = dns1123_subdomain_error(prefix); !err.empty()) return "prefix part " + err;
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > kMaxNameLength) return "name part must be no more than 63 characters";
  if (!is_qualified_name_part(name)) return "name part " + std::string(kNameFormat);
  return {};
}

std::string label_value_error(std::string_view value) {
  if (value.size() > kMaxValueLength) return "must be no more than 63 characters";
  if (!value.empty() && !is_qualified_name_part(value))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
           "start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345', regex used for "
           "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  return {};
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Sorts and dedups the values, and checks them and the key against the operator, as NewRequirement does.
Status finish_requirement(LabelSelector::Requirement& r) {
  using Op = LabelSelector::Op;
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  switch (r.op) {
    case Op::kIn:
    case Op::kNotIn:
      if (r.values.empty()) return plugin::invalid("for 'in', 'notin' operators, values set can't be empty");
      break;
    case Op::kEquals:
    case Op::kNotEquals:
      if (r.values.size() != 1) return plugin::invalid("exact-match compatibility requires one single value");
      break;
    case Op::kExists:
    case Op::kDoesNotExist:
      if (!r.values.empty()) return plugin::invalid("values set must be empty for exists and does not exist");
      break;
  }
  if (std::string err = label_key_error(r.key); !err.empty())
    return plugin::invalid("invalid label key " + in_quotes(r.key) + ": " + err);
  for (const auto& v : r.values)
    if (std::string err = label_value_error(v); !err.empty())
      return plugin::invalid("invalid label value " + in_quotes(v) + " for key " + in_quotes(r.key) + ": " + err);
  return Status::ok();
}

void sort_by_key(std::vector<LabelSelector::Requirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
}

// ---------------------------------------------------------------------------------------------
// Label selector lexer and parser (the grammar of labels.Parse)

enum class Tok {
  kIdentifier,
  kDoesNotExist,  // !
  kEquals,        // =
  kDoubleEquals,  // ==
  kNotEquals,     // !=
  kGreaterThan,   // >  (Kubernetes' Gt; Skiff's selectors have no numeric operators)
  kLessThan,      // <
  kOpenPar,
  kClosePar,
  kComma,
  kEnd,
};

struct Token {
  Tok tok = Tok::kEnd;
  std::string_view text;
  std::size_t pos = 0;
};

bool is_special(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size()) {
      out.push_back({Tok::kEnd, {}, i});
      return out;
    }
    std::size_t start = i;
    char c = s[i];
    if (!is_special(c)) {
      while (i < s.size() && !is_space(s[i]) && !is_special(s[i])) ++i;
      out.push_back({Tok::kIdentifier, s.substr(start, i - start), start});
      continue;
    }
    bool next_eq = i + 1 < s.size() && s[i + 1] == '=';
    Tok tok = Tok::kEnd;
    std::size_t len = 1;
    switch (c) {
      case '!': tok = next_eq ? Tok::kNotEquals : Tok::kDoesNotExist; len = next_eq ? 2 : 1; break;
      case '=': tok = next_eq ? Tok::kDoubleEquals : Tok::kEquals; len = next_eq ? 2 : 1; break;
      case '>': tok = Tok::kGreaterThan; break;
      case '<': tok = Tok::kLessThan; break;
      case '(': tok = Tok::kOpenPar; break;
      case ')': tok = Tok::kClosePar; break;
      default: tok = Tok::kComma; break;
    }
    i += len;
    out.push_back({tok, s.substr(start, len), start});
  }
}

class LabelParser {
 public:
  explicit LabelParser(std::string_view text) : text_(text), tokens_(lex(text)) {}

  Result<std::vector<LabelSelector::Requirement>> parse() {
    std::vector<LabelSelector::Requirement> reqs;
    while (true) {
      const Token& t = peek();
      if (t.tok == Tok::kEnd) break;
      if (t.tok != Tok::kIdentifier && t.tok != Tok::kDoesNotExist)
        return error(t, "!, identifier, or end of string");
      auto r = requirement();
      if (!r) return r.status();
      reqs.push_back(std::move(r.value()));
      const Token& sep = next();
      if (sep.tok == Tok::kEnd) break;
      if (sep.tok != Tok::kComma) return error(sep, "',' or end of string");
      const Token& after = peek();
      if (after.tok != Tok::kIdentifier && after.tok != Tok::kDoesNotExist)
        return error(after, "identifier after ','");
    }
    sort_by_key(reqs);
    return reqs;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  Status error(const Token& t, std::string_view expected) const {
    std::string found = t.tok == Tok::kEnd ? "end of string" : "'" + std::string(t.text) + "'";
    return plugin::invalid("label selector " + in_quotes(text_) + ": at position " + std::to_string(t.pos) + ": found " +
                           found + ", expected: " + std::string(expected));
  }
  Status at(const Token& t, const Status& s) const {
    return plugin::invalid("label selector " + in_quotes(text_) + ": at position " + std::to_string(t.pos) + ": " +
                           s.message());
  }

  Result<LabelSelector::Requirement> requirement() {
    using Op = LabelSelector::Op;
    LabelSelector::Requirement r;
    const Token* start = &next();
    bool negated = false;
    if (start->tok == Tok::kDoesNotExist) {
      negated = true;
      start = &next();
    }
    if (start->tok != Tok::kIdentifier) return error(*start, "identifier");
    r.key = std::string(start->text);
    if (std::string err = label_key_error(r.key); !err.empty())
      return at(*start, plugin::invalid("invalid label key " + in_quotes(r.key) + ": " + err));

    Tok after = peek().tok;
    if (negated || after == Tok::kEnd || after == Tok::kComma) {
      // "!key" ends here; anything after it is reported by the caller as a missing ','.
      r.op = negated ? Op::kDoesNotExist : Op::kExists;
      return r;
    }

    const Token& op = next();
    bool set_op = false;
    if (op.tok == Tok::kIdentifier && op.text == "in") {
      r.op = Op::kIn;
      set_op = true;
    } else if (op.tok == Tok::kIdentifier && op.text == "notin") {
      r.op = Op::kNotIn;
      set_op = true;
    } else if (op.tok == Tok::kEquals || op.tok == Tok::kDoubleEquals) {
      r.op = Op::kEquals;
    } else if (op.tok == Tok::kNotEquals) {
      r.op = Op::kNotEquals;
    } else if (op.tok == Tok::kGreaterThan || op.tok == Tok::kLessThan) {
      return at(op, plugin::invalid("operator '" + std::string(op.text) +
                                    "' is not supported (use =, ==, !=, in or notin)"));
    } else {
      return error(op, "=, ==, !=, in, notin");
    }

    const Token& value_start = peek();
    if (set_op) {
      auto values = value_set();
      if (!values) return values.status();
      r.values = std::move(values.value());
    } else {
      // "key=" compares with the empty value.
      const Token& v = peek();
      if (v.tok == Tok::kIdentifier) {
        r.values = {std::string(next().text)};
      } else if (v.tok == Tok::kEnd || v.tok == Tok::kComma) {
        r.values = {""};
      } else {
        return error(v, "identifier");
      }
    }
    if (Status s = finish_requirement(r); !s) return at(value_start, s);
    return r;
  }

  // "(a,b,c)"; empty members are the empty value, so "()" and "(a,)" include "".
  Result<std::vector<std::string>> value_set() {
    const Token& open = next();
    if (open.tok != Tok::kOpenPar) return error(open, "'('");
    std::vector<std::string> values;
    bool expect_value = true;
    while (true) {
      const Token& t = next();
      switch (t.tok) {
        case Tok::kIdentifier:
          if (!expect_value) return error(t, "',' or ')'");
          values.emplace_back(t.text);
          expect_value = false;
          break;
        case Tok::kComma:
          if (expect_value) values.emplace_back();
          expect_value = true;
          break;
        case Tok::kClosePar:
          if (expect_value) values.emplace_back();
          return values;
        default:
          return error(t, expect_value ? "',', ')' or identifier" : "',' or ')'");
      }
    }
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

std::string_view op_text(LabelSelector::Op op) {
  switch (op) {
    case LabelSelector::Op::kEquals: return "=";
    case LabelSelector::Op::kNotEquals: return "!=";
    case LabelSelector::Op::kIn: return " in ";
    case LabelSelector::Op::kNotIn: return " notin ";
    case LabelSelector::Op::kExists:
    case LabelSelector::Op::kDoesNotExist: break;
  }
  return "";
}

const std::string* find_label(const StringPairs& labels, std::string_view key) {
  for (const auto& [k, v] : labels)
    if (k == key) return &v;
  return nullptr;
}

bool contains(const std::vector<std::string>& sorted, const std::string& v) {
  return std::binary_search(sorted.begin(), sorted.end(), v);
}

// ---------------------------------------------------------------------------------------------
// Field selectors (fields.ParseSelector): terms split on unescaped ',', the first operator in a term
// splits it, the right-hand side is unescaped (\\ \, \= \!).

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string escape_field_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == ',' || c == '=' || c == '!') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  auto reqs = LabelParser(text).parse();
  if (!reqs) return reqs.status();
  LabelSelector s;
  s.requirements_ = std::move(reqs.value());
  return s;
}

Result<LabelSelector> LabelSelector::from_json(const nlohmann::json& selector) {
  if (selector.is_null()) return LabelSelector{};
  if (!selector.is_object()) return plugin::invalid("label selector: expected an object");
  std::vector<Requirement> reqs;
  if (auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return plugin::invalid("label selector: matchLabels: expected an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return plugin::invalid("label selector: matchLabels." + k + ": expected a string");
      Requirement r{k, Op::kEquals, {v.get<std::string>()}};
      if (Status s = finish_requirement(r); !s) return s.with_context("label selector: matchLabels");
      reqs.push_back(std::move(r));
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array()) return plugin::invalid("label selector: matchExpressions: expected an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& e = (*it)[i];
      std::string where = "label selector: matchExpressions[" + std::to_string(i) + "]";
      if (!e.is_object()) return plugin::invalid(where + ": expected an object");
      Requirement r;
      auto key = e.find("key");
      if (key == e.end() || !key->is_string()) return plugin::invalid(where + ".key: expected a string");
      r.key = key->get<std::string>();
      auto op = e.find("operator");
      std::string op_name = op != e.end() && op->is_string() ? op->get<std::string>() : "";
      if (op_name == "In") r.op = Op::kIn;
      else if (op_name == "NotIn") r.op = Op::kNotIn;
      else if (op_name == "Exists") r.op = Op::kExists;
      else if (op_name == "DoesNotExist") r.op = Op::kDoesNotExist;
      else return plugin::invalid(where + ".operator: " + in_quotes(op_name) + " is not a valid label selector operator");
      if (auto values = e.find("values"); values != e.end() && !values->is_null()) {
        if (!values->is_array()) return plugin::invalid(where + ".values: expected an array of strings");
        for (const auto& v : *values) {
          if (!v.is_string()) return plugin::invalid(where + ".values: expected an array of strings");
          r.values.push_back(v.get<std::string>());
        }
      }
      if (Status s = finish_requirement(r); !s) return s.with_context(where);
      reqs.push_back(std::move(r));
    }
  }
  sort_by_key(reqs);
  LabelSelector s;
  s.requirements_ = std::move(reqs);
  return s;
}

bool LabelSelector::matches(const StringPairs& labels) const noexcept {
  for (const auto& r : requirements_) {
    const std::string* v = find_label(labels, r.key);
    bool ok = false;
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn: ok = v != nullptr && contains(r.values, *v); break;
      case Op::kNotEquals:
      case Op::kNotIn: ok = v == nullptr || !contains(r.values, *v); break;
      case Op::kExists: ok = v != nullptr; break;
      case Op::kDoesNotExist: ok = v == nullptr; break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string LabelSelector::to_string() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    if (r.op == Op::kDoesNotExist) out += '!';
    out += r.key;
    out += op_text(r.op);
    if (r.op == Op::kIn || r.op == Op::kNotIn) {
      out += '(';
      for (std::size_t i = 0; i < r.values.size(); ++i) {
        if (i > 0) out += ',';
        out += r.values[i];
      }
      out += ')';
    } else if (r.op == Op::kEquals || r.op == Op::kNotEquals) {
      out += r.values.front();
    }
  }
  return out;
}

Result<FieldSelector> FieldSelector::parse(std::string_view text) {
  auto fail = [&](std::size_t pos, const std::string& why) -> Status {
    return plugin::invalid("field selector " + in_quotes(text) + ": at position " + std::to_string(pos) + ": " + why);
  };
  std::vector<Requirement> reqs;
  std::size_t start = 0;
  while (start <= text.size()) {
    // A term runs to the next ',' that is not escaped.
    std::size_t end = start;
    bool escaped = false;
    for (; end < text.size(); ++end) {
      if (escaped) escaped = false;
      else if (text[end] == '\\') escaped = true;
      else if (text[end] == ',') break;
    }
    std::string_view term = text.substr(start, end - start);
    std::size_t term_pos = start;
    start = end + 1;
    if (trim(term).empty()) continue;

    // The first operator splits the term ("!=" and "==" win over "=" at the same place).
    std::size_t op_at = std::string_view::npos;
    std::size_t op_len = 0;
    bool equals = true;
    for (std::size_t i = 0; i < term.size(); ++i) {
      std::string_view rest = term.substr(i);
      if (rest.starts_with("!=")) {
        op_at = i, op_len = 2, equals = false;
      } else if (rest.starts_with("==")) {
        op_at = i, op_len = 2;
      } else if (rest.starts_with("=")) {
        op_at = i, op_len = 1;
      } else {
        continue;
      }
      break;
    }
    if (op_at == std::string_view::npos)
      return fail(term_pos, "can't understand '" + std::string(term) + "' (expected field=value, field==value or "
                                                                          "field!=value)");
    Requirement r;
    r.field = std::string(trim(term.substr(0, op_at)));
    r.equals = equals;
    if (r.field.empty()) return fail(term_pos, "missing field name in '" + std::string(term) + "'");
    std::string_view raw = trim(term.substr(op_at + op_len));
    std::size_t value_pos = term_pos + static_cast<std::size_t>(raw.data() - term.data());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\') {
        if (i + 1 == raw.size()) return fail(value_pos + i, "invalid escape sequence '\\' at the end of the value");
        char e = raw[++i];
        if (e != '\\' && e != ',' && e != '=' && e != '!')
          return fail(value_pos + i - 1, std::string("invalid escape sequence '\\") + e + "'");
        r.value += e;
      } else if (c == ',' || c == '=') {
        return fail(value_pos + i, std::string("unescaped '") + c + "' in the value of '" + r.field +
                                       "' (write \\" + c + ")");
      } else {
        r.value += c;
      }
    }
    reqs.push_back(std::move(r));
  }
  std::stable_sort(reqs.begin(), reqs.end(), [](const Requirement& a, const Requirement& b) {
    return std::tie(a.field, a.equals, a.value) < std::tie(b.field, b.equals, b.value);
  });
  FieldSelector s;
  s.requirements_ = std::move(reqs);
  return s;
}

bool FieldSelector::matches(const plugin::Object& object) const noexcept {
  static const std::string kEmpty;
  for (const auto& r : requirements_) {
    const std::string* v = nullptr;
    if (r.field == "metadata.name") v = &object.name;
    else if (r.field == "metadata.namespace") v = &object.ns;
    else v = object.field(r.field);
    if (v == nullptr) v = &kEmpty;
    if ((*v == r.value) != r.equals) return false;
  }
  return true;
}

std::string FieldSelector::to_string() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    out += r.field;
    out += r.equals ? "=" : "!=";
    out += escape_field_value(r.value);
  }
  return out;
}

}  // namespace skiff::kernel
