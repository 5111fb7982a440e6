#include "kernel/api/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <regex>
#include <sstream>

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

// YAML 1.2 core schema resolution of a plain (unquoted) scalar.
Json resolve_plain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kOct(R"(0o[0-7]+)");
  static const std::regex kHex(R"(0x[0-9a-fA-F]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  try {
    if (std::regex_match(s, kInt)) return std::stoll(s);
    if (std::regex_match(s, kOct)) return std::stoll(s.substr(2), nullptr, 8);
    if (std::regex_match(s, kHex)) return std::stoll(s.substr(2), nullptr, 16);
    if (std::regex_match(s, kFloat)) return std::stod(s);
  } catch (const std::out_of_range&) {
    return s;  // too large for a number: keep the text
  }
  if (s == ".inf" || s == ".Inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
  return s;
}

Json convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar:
      // A quoted or explicitly tagged string has tag "!" or "tag:yaml.org,2002:str".
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return node.Scalar();
      return resolve_plain(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : node) arr.push_back(convert(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) obj[kv.first.as<std::string>()] = convert(kv.second);
      return obj;
    }
  }
  return nullptr;
}

std::string position(const YAML::Exception& e, int line_offset) {
  return "yaml: line " + std::to_string(e.mark.line + 1 + line_offset) + ", column " +
         std::to_string(e.mark.column + 1) + ": " + e.msg;
}

}  // namespace

plugin::Result<Json> yaml_to_json(std::string_view text) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    return convert(node);
  } catch (const YAML::Exception& e) {
    return plugin::bad_request(position(e, 0));
  }
}

plugin::Result<std::vector<YamlDocument>> yaml_documents(std::string_view text) {
  std::vector<YamlDocument> out;
  try {
    std::string s(text);
    std::vector<YAML::Node> nodes = YAML::LoadAll(s);
    // yaml-cpp does not report where each document starts; recover it from the "---" separators.
    std::vector<int> starts{1};
    int line = 1;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n') {
        ++line;
        if (s.compare(i + 1, 3, "---") == 0) starts.push_back(line + 1);
      }
    }
    if (s.rfind("---", 0) == 0) starts[0] = 2;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].IsNull()) continue;
      out.push_back({convert(nodes[i]), i < starts.size() ? starts[i] : starts.back()});
    }
  } catch (const YAML::Exception& e) {
    return plugin::bad_request(position(e, 0));
  }
  return out;
}

namespace {

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  Json resolved = resolve_plain(s);
  if (!resolved.is_string()) return true;  // would read back as null, bool or number
  static const std::string kSpecialStart = "-?:,[]{}#&*!|>'\"%@`~ ";
  if (kSpecialStart.find(s.front()) != std::string::npos || s.back() == ' ' || s.back() == ':') return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  for (char c : s)
    if (c == '\n' || c == '\t' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void emit_scalar(std::ostringstream& out, const Json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (needs_quotes(s)) {
      out << Json(s).dump();  // a JSON string is a valid double-quoted YAML scalar
    } else {
      out << s;
    }
  } else if (v.is_null()) {
    out << "null";
  } else {
    out << v.dump();
  }
}

void emit(std::ostringstream& out, const Json& v, int indent, bool in_sequence);

void emit_object(std::ostringstream& out, const Json& v, int indent, bool first_inline) {
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!(first && first_inline)) out << std::string(static_cast<std::size_t>(indent), ' ');
    first = false;
    std::string key = it.key();
    if (needs_quotes(key)) {
      out << Json(key).dump();
    } else {
      out << key;
    }
    out << ":";
    const Json& child = it.value();
    if (child.is_object() && !child.empty()) {
      out << "\n";
      emit_object(out, child, indent + 2, false);
    } else if (child.is_array() && !child.empty()) {
      out << "\n";
      emit(out, child, indent, false);
    } else {
      out << " ";
      if (child.is_object()) {
        out << "{}";
      } else if (child.is_array()) {
        out << "[]";
      } else {
        emit_scalar(out, child);
      }
      out << "\n";
    }
  }
}

void emit(std::ostringstream& out, const Json& v, int indent, bool /*in_sequence*/) {
  if (v.is_object()) {
    if (v.empty()) {
      out << std::string(static_cast<std::size_t>(indent), ' ') << "{}\n";
      return;
    }
    emit_object(out, v, indent, false);
  } else if (v.is_array()) {
    for (const auto& item : v) {
      out << std::string(static_cast<std::size_t>(indent), ' ') << "- ";
      if (item.is_object() && !item.empty()) {
        emit_object(out, item, indent + 2, true);
      } else if (item.is_array() && !item.empty()) {
        out << "\n";
        emit(out, item, indent + 2, true);
      } else if (item.is_object()) {
        out << "{}\n";
      } else if (item.is_array()) {
        out << "[]\n";
      } else {
        emit_scalar(out, item);
        out << "\n";
      }
    }
  } else {
    out << std::string(static_cast<std::size_t>(indent), ' ');
    emit_scalar(out, v);
    out << "\n";
  }
}

}  // namespace

std::string json_to_yaml(const Json& value) {
  std::ostringstream out;
  emit(out, value, 0, false);
  return out.str();
}

}  // namespace skiff::kernel::api
