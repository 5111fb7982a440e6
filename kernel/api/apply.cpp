#include "kernel/api/apply.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "kernel/util/meta.hpp"

// Where this is simpler than structured-merge-diff:
//  * Pruning: a field this manager applied before and no longer applies is removed unless some
//    manager owns it or something below it; such a subtree is then kept whole (upstream removes
//    the parts nobody owns and adds back the owned ones).
//  * Update entries: a struct-typed field is never owned as a node of its own ("." appears on
//    maps, list items and emptied values only), as if every struct were a non-pointer Go field.
//  * No version conversion (one version per kind), no unions, no cap on the number of Update
//    managers, no "kubectl-client-side-apply" upgrade path.
//  * managedFields that cannot be parsed are treated as empty.

namespace skiff::kernel::api {
namespace {

using Path = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Field sets

struct FieldSet {
  bool member = false;
  std::map<std::string, FieldSet> children;  // by serialized path element ("f:name", "k:{…}", "v:…")

  bool empty() const { return !member && children.empty(); }

  void insert(const Path& p, std::size_t i = 0) {
    if (i == p.size()) {
      member = true;
      return;
    }
    children[p[i]].insert(p, i + 1);
  }

  void merge(const FieldSet& o) {
    member = member || o.member;
    for (const auto& [k, c] : o.children) children[k].merge(c);
  }

  void subtract(const FieldSet& o) {
    if (o.member) member = false;
    for (const auto& [k, c] : o.children) {
      auto it = children.find(k);
      if (it == children.end()) continue;
      it->second.subtract(c);
      if (it->second.empty()) children.erase(it);
    }
  }

  FieldSet intersect(const FieldSet& o) const {
    FieldSet r;
    r.member = member && o.member;
    for (const auto& [k, c] : children) {
      auto it = o.children.find(k);
      if (it == o.children.end()) continue;
      FieldSet x = c.intersect(it->second);
      if (!x.empty()) r.children.emplace(k, std::move(x));
    }
    return r;
  }

  const FieldSet* find(const Path& p) const {
    const FieldSet* cur = this;
    for (const auto& pe : p) {
      auto it = cur->children.find(pe);
      if (it == cur->children.end()) return nullptr;
      cur = &it->second;
    }
    return cur;
  }

  // Whether the node at `p`, or anything below it, is owned.
  bool owns_at_or_below(const Path& p) const {
    const FieldSet* n = find(p);
    return n != nullptr && !n->empty();
  }

  // Drops membership of the node at `p` only, keeping what is below it.
  void unmark(const Path& p, std::size_t i = 0) {
    if (i == p.size()) {
      member = false;
      return;
    }
    auto it = children.find(p[i]);
    if (it == children.end()) return;
    it->second.unmark(p, i + 1);
    if (it->second.empty()) children.erase(it);
  }

  void for_each_member(const std::function<void(const Path&)>& fn) const {
    Path p;
    walk(p, fn);
  }

  Json to_json() const {
    Json out = Json::object();
    for (const auto& [k, c] : children) {
      Json v = c.to_json();
      if (c.member && !c.children.empty()) v["."] = Json::object();
      out[k] = std::move(v);
    }
    return out;
  }

  static std::optional<FieldSet> from_json(const Json& j) {
    if (!j.is_object()) return std::nullopt;
    FieldSet s;
    for (const auto& [k, v] : j.items()) {
      if (k == ".") {
        s.member = true;
        continue;
      }
      auto child = from_json(v);
      if (!child) return std::nullopt;
      if (v.empty()) child->member = true;
      auto pe = normalize_pe(k);
      if (!pe) return std::nullopt;
      s.children[*pe].merge(*child);
    }
    return s;
  }

 private:
  void walk(Path& p, const std::function<void(const Path&)>& fn) const {
    if (member) fn(p);
    for (const auto& [k, c] : children) {
      p.push_back(k);
      c.walk(p, fn);
      p.pop_back();
    }
  }

  // Re-serializes k: and v: elements so that equal keys compare equal whatever their spacing.
  static std::optional<std::string> normalize_pe(const std::string& pe) {
    if (pe.size() < 2 || pe[1] != ':') return std::nullopt;
    char t = pe[0];
    if (t == 'f' || t == 'i') return pe;
    if (t != 'k' && t != 'v') return std::nullopt;
    Json v = Json::parse(pe.substr(2), nullptr, false);
    if (v.is_discarded() || (t == 'k' && !v.is_object())) return std::nullopt;
    return pe.substr(0, 2) + dump_text(v);
  }
};

std::string field_pe(std::string_view name) { return "f:" + std::string(name); }

// `.spec.template.spec.containers[name="nginx"].image`, as fieldpath.Path prints.
std::string path_string(const Path& p) {
  std::string out;
  for (const auto& pe : p) {
    std::string_view body = std::string_view(pe).substr(2);
    switch (pe[0]) {
      case 'f':
        out += "." + std::string(body);
        break;
      case 'k': {
        Json key = Json::parse(body, nullptr, false);
        out += "[";
        bool first = true;
        if (key.is_object()) {
          for (const auto& [k, v] : key.items()) {
            if (!first) out += ",";
            first = false;
            out += k + "=" + dump_text(v);
          }
        }
        out += "]";
        break;
      }
      case 'v':
        out += "[=" + std::string(body) + "]";
        break;
      default:
        out += "[" + std::string(body) + "]";
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// How a value merges and is owned, from its schema (or deduced from the value without one).

enum class Node : std::uint8_t { kScalar, kStruct, kMap, kAtomic, kSet, kAssoc };

bool deduced(const ValueType* vt) { return vt == nullptr || vt->kind == ValueKind::kAny; }

Node node_of(const ValueType* vt, const Json& v) {
  if (deduced(vt)) return v.is_object() ? Node::kMap : v.is_array() ? Node::kAtomic : Node::kScalar;
  switch (vt->kind) {
    case ValueKind::kObject:
      return vt->object->atomic ? Node::kAtomic : Node::kStruct;
    case ValueKind::kMap:
      return vt->map_atomic ? Node::kAtomic : Node::kMap;
    case ValueKind::kArray:
      return vt->list_type == ListType::kSet   ? Node::kSet
             : vt->list_type == ListType::kMap ? Node::kAssoc
                                               : Node::kAtomic;
    default:
      return Node::kScalar;
  }
}

const ValueType* child_type(const ValueType* vt, const std::string& key) {
  if (deduced(vt)) return nullptr;
  if (vt->kind == ValueKind::kObject) {
    const FieldSchema* f = vt->object->field(key);
    return f == nullptr ? nullptr : f->type;
  }
  if (vt->kind == ValueKind::kMap) return vt->element;
  return nullptr;
}

const ValueType* element_type(const ValueType* vt) {
  return !deduced(vt) && vt->kind == ValueKind::kArray ? vt->element : nullptr;
}

// The path element of a list item; empty with `why` set when it has none.
std::string item_pe(const ValueType* list, Node kind, const Json& item, std::string* why = nullptr) {
  if (kind == Node::kSet) return "v:" + dump_text(item);
  if (!item.is_object()) {
    if (why != nullptr) *why = "associative list item is not an object";
    return {};
  }
  const ValueType* elem = element_type(list);
  Json key = Json::object();
  for (const auto& k : list->list_map_keys) {
    auto it = item.find(k);
    if (it != item.end() && !it->is_null()) {
      key[k] = *it;
      continue;
    }
    const FieldSchema* f = elem != nullptr && elem->kind == ValueKind::kObject ? elem->object->field(k) : nullptr;
    if (f != nullptr && !f->default_value.is_null()) {
      key[k] = f->default_value;
      continue;
    }
    if (why != nullptr)
      *why = "associative list with keys has an element that omits key field " + dump_text(Json(k)) +
             " (and doesn't have default value)";
    return {};
  }
  return "k:" + dump_text(key);
}

bool empty_container(const Json* v) {
  return v == nullptr || v->is_null() || ((v->is_object() || v->is_array()) && v->empty());
}

Json without_nulls(Json v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it->is_null()) {
        it = v.erase(it);
      } else {
        *it = without_nulls(std::move(*it));
        ++it;
      }
    }
  } else if (v.is_array()) {
    for (auto& item : v) item = without_nulls(std::move(item));
  }
  return v;
}

const Json* member_of(const Json* obj, const std::string& key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() || it->is_null() ? nullptr : &*it;
}

std::string json_kind(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::array:
      return "list";
    case Json::value_t::object:
      return "map";
    case Json::value_t::null:
      return "null";
    default:
      return "numeric";
  }
}

// The scalar check server-side apply makes; empty when `v` fits.
std::string scalar_mismatch(const ValueType& vt, const Json& v) {
  switch (vt.kind) {
    case ValueKind::kString:
    case ValueKind::kDateTime:
    case ValueKind::kBytes:
      return v.is_string() ? "" : "expected string, got " + json_kind(v);
    case ValueKind::kInteger:
    case ValueKind::kNumber:
      return v.is_number() ? "" : "expected numeric (int or float), got " + json_kind(v);
    case ValueKind::kBoolean:
      return v.is_boolean() ? "" : "expected boolean, got " + json_kind(v);
    case ValueKind::kIntOrString:
    case ValueKind::kQuantity:
      return v.is_string() || v.is_number() ? "" : "expected string or numeric, got " + json_kind(v);
    default:
      return "";
  }
}

// ---------------------------------------------------------------------------------------------
// The set of fields a configuration specifies (typed.ToFieldSet), with validation.

struct FieldSetBuilder {
  bool validate = true;
  FieldSet set;
  std::vector<std::string> errors;
  Path path;

  void error(const std::string& message) { errors.push_back(path_string(path) + ": " + message); }

  void value(const Json& v, const ValueType* vt) {
    if (v.is_null()) return;
    Node kind = node_of(vt, v);
    if (validate && !deduced(vt)) {
      bool wants_map =
          kind == Node::kStruct || kind == Node::kMap || (kind == Node::kAtomic && vt->kind != ValueKind::kArray);
      bool wants_list =
          kind == Node::kSet || kind == Node::kAssoc || (kind == Node::kAtomic && vt->kind == ValueKind::kArray);
      std::string mismatch = wants_map    ? (v.is_object() ? "" : "expected map, got " + json_kind(v))
                             : wants_list ? (v.is_array() ? "" : "expected list, got " + json_kind(v))
                                          : scalar_mismatch(*vt, v);
      if (!mismatch.empty()) {
        error(mismatch);
        return;
      }
    }
    switch (kind) {
      case Node::kScalar:
      case Node::kAtomic:
        set.insert(path);
        return;
      case Node::kStruct:
      case Node::kMap:
        if (!v.is_object()) {
          set.insert(path);
          return;
        }
        for (const auto& [k, c] : v.items()) {
          const ValueType* ct = child_type(vt, k);
          if (kind == Node::kStruct && ct == nullptr) {
            path.push_back(field_pe(k));
            if (validate) error("field not declared in schema");
            path.pop_back();
            continue;
          }
          path.push_back(field_pe(k));
          value(c, ct);
          if (kind == Node::kMap || c.is_null() || (c.is_object() && c.empty())) set.insert(path);
          path.pop_back();
        }
        return;
      case Node::kSet:
      case Node::kAssoc: {
        if (!v.is_array()) {
          set.insert(path);
          return;
        }
        std::set<std::string> seen;
        for (std::size_t i = 0; i < v.size(); ++i) {
          std::string why;
          std::string pe = item_pe(vt, kind, v[i], &why);
          if (pe.empty()) {
            error("element " + std::to_string(i) + ": " + why);
            continue;
          }
          if (!seen.insert(pe).second) {
            if (validate) error("duplicate entries for key " + path_string({pe}));
            continue;
          }
          path.push_back(pe);
          if (kind == Node::kAssoc) value(v[i], element_type(vt));
          set.insert(path);
          path.pop_back();
        }
        return;
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Merging an applied configuration into the live object (typed.Merge: the configuration wins).

Json merge_values(const Json* live, const Json& applied, const ValueType* vt);

Json merge_lists(const Json& live, const Json& applied, const ValueType* vt, Node kind) {
  auto pe_of = [&](const Json& item) { return item_pe(vt, kind, item); };
  std::map<std::string, const Json*> live_items;
  for (const auto& item : live) {
    auto pe = pe_of(item);
    if (!pe.empty()) live_items.emplace(pe, &item);
  }
  std::map<std::string, const Json*> applied_items;
  for (const auto& item : applied) {
    auto pe = pe_of(item);
    if (!pe.empty()) applied_items.emplace(pe, &item);
  }
  Json out = Json::array();
  std::set<std::string> emitted;
  std::size_t next = 0;
  auto emit_applied = [&](const Json& item) {
    auto pe = pe_of(item);
    if (pe.empty() || !emitted.insert(pe).second) return std::string();
    auto l = live_items.find(pe);
    out.push_back(kind == Node::kAssoc
                      ? merge_values(l == live_items.end() ? nullptr : l->second, item, element_type(vt))
                      : item);
    return pe;
  };
  // Live items keep their places; applied items come in the applied order, each shared item
  // pulling the applied items before it along.
  for (const auto& item : live) {
    auto pe = pe_of(item);
    if (pe.empty() || applied_items.count(pe) == 0) {
      out.push_back(item);
      continue;
    }
    if (emitted.count(pe) != 0) continue;
    while (next < applied.size()) {
      if (emit_applied(applied[next++]) == pe) break;
    }
  }
  while (next < applied.size()) emit_applied(applied[next++]);
  return out;
}

Json merge_values(const Json* live, const Json& applied, const ValueType* vt) {
  if (live == nullptr || live->is_null()) return without_nulls(applied);
  switch (node_of(vt, applied)) {
    case Node::kScalar:
    case Node::kAtomic:
      return without_nulls(applied);
    case Node::kStruct:
    case Node::kMap: {
      if (!live->is_object() || !applied.is_object()) return without_nulls(applied);
      Json out = *live;
      for (const auto& [k, c] : applied.items()) {
        if (c.is_null()) {
          out.erase(k);
          continue;
        }
        out[k] = merge_values(member_of(live, k), c, child_type(vt, k));
      }
      return out;
    }
    case Node::kSet:
    case Node::kAssoc:
      if (!live->is_array() || !applied.is_array()) return without_nulls(applied);
      return merge_lists(*live, applied, vt, node_of(vt, applied));
  }
  return applied;
}

// Removes the value at `p` (typed.RemoveItems for one path); containers emptied on the way go too.
bool remove_path(Json& node, const Path& p, std::size_t i, const ValueType* vt) {
  const std::string& pe = p[i];
  bool last = i + 1 == p.size();
  if (pe[0] == 'f') {
    if (!node.is_object()) return false;
    std::string key = pe.substr(2);
    auto it = node.find(key);
    if (it == node.end()) return false;
    if (last) {
      node.erase(it);
      return true;
    }
    bool removed = remove_path(*it, p, i + 1, child_type(vt, key));
    if (removed && empty_container(&*it)) node.erase(key);
    return removed;
  }
  if (!node.is_array()) return false;
  Node kind = pe[0] == 'v' ? Node::kSet : Node::kAssoc;
  if (kind == Node::kAssoc && (deduced(vt) || vt->kind != ValueKind::kArray)) return false;
  for (std::size_t j = 0; j < node.size(); ++j) {
    if (item_pe(vt, kind, node[j]) != pe) continue;
    if (last) {
      node.erase(j);
      return true;
    }
    bool removed = remove_path(node[j], p, i + 1, element_type(vt));
    if (removed && empty_container(&node[j])) node.erase(j);
    return removed;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Comparing two versions of an object (typed.Compare).

struct Comparison {
  FieldSet added, modified, removed;
};

void compare(const Json* l, const Json* r, const ValueType* vt, Path& path, Comparison& c, bool list_item) {
  if (l != nullptr && l->is_null()) l = nullptr;
  if (r != nullptr && r->is_null()) r = nullptr;
  if (l == nullptr && r == nullptr) return;
  Node kind = node_of(vt, r != nullptr ? *r : *l);
  bool containers_match = true;
  if (l != nullptr && r != nullptr) {
    bool maps = kind == Node::kStruct || kind == Node::kMap;
    bool lists = kind == Node::kSet || kind == Node::kAssoc;
    containers_match = (!maps || (l->is_object() && r->is_object())) && (!lists || (l->is_array() && r->is_array()));
  }
  bool leaf =
      kind == Node::kScalar || kind == Node::kAtomic || !containers_match || (empty_container(l) && empty_container(r));
  if (leaf) {
    if (path.empty()) return;
    if (l == nullptr)
      c.added.insert(path);
    else if (r == nullptr)
      c.removed.insert(path);
    else if (*l != *r)
      c.modified.insert(path);
    return;
  }
  if (kind == Node::kStruct || kind == Node::kMap) {
    if (l == nullptr || r == nullptr) {
      // One side only (every member of a create): its own members, already sorted and unique, with
      // no set of keys built and no lookups.
      const Json* side = l != nullptr ? l : r;
      if (side->is_object())
        for (const auto& [k, v] : side->items()) {
          path.push_back(field_pe(k));
          compare(l != nullptr ? &v : nullptr, r != nullptr ? &v : nullptr, child_type(vt, k), path, c, false);
          path.pop_back();
        }
    } else {
      std::set<std::string> keys;
      for (const Json* side : {l, r})
        if (side->is_object())
          for (const auto& [k, v] : side->items()) keys.insert(k);
      for (const auto& k : keys) {
        path.push_back(field_pe(k));
        compare(member_of(l, k), member_of(r, k), child_type(vt, k), path, c, false);
        path.pop_back();
      }
    }
  } else {
    std::map<std::string, std::pair<const Json*, const Json*>> items;
    if (l != nullptr && l->is_array())
      for (const auto& item : *l)
        if (auto pe = item_pe(vt, kind, item); !pe.empty()) items[pe].first = &item;
    if (r != nullptr && r->is_array())
      for (const auto& item : *r)
        if (auto pe = item_pe(vt, kind, item); !pe.empty()) items[pe].second = &item;
    for (const auto& [pe, sides] : items) {
      path.push_back(pe);
      compare(sides.first, sides.second, element_type(vt), path, c, true);
      path.pop_back();
    }
  }
  // A struct is always there in Go, so only maps, lists and list items come and go themselves.
  if (path.empty() || (kind == Node::kStruct && !list_item)) return;
  if (l == nullptr)
    c.added.insert(path);
  else if (r == nullptr)
    c.removed.insert(path);
}

Comparison compare_objects(const Json& before, const Json& after, const ValueType* root) {
  Comparison c;
  Path path;
  compare(&before, &after, root, path, c, false);
  return c;
}

// ---------------------------------------------------------------------------------------------
// managedFields entries

struct Entry {
  std::string manager;
  std::string operation;  // "Apply" or "Update"
  std::string api_version;
  std::string subresource;
  std::optional<std::string> time;
  FieldSet fields;

  // Kubernetes' manager identifier: Apply entries are one manager whatever their apiVersion.
  std::string identity() const {
    std::string id = "{\"manager\":" + dump_text(Json(manager)) + ",\"operation\":" + dump_text(Json(operation));
    if (operation != "Apply" && !api_version.empty()) id += ",\"apiVersion\":" + dump_text(Json(api_version));
    if (!subresource.empty()) id += ",\"subresource\":" + dump_text(Json(subresource));
    return id + "}";
  }

  // How conflict messages name the manager.
  std::string printed() const {
    std::string out = dump_text(Json(manager));
    if (!subresource.empty()) out += " with subresource " + dump_text(Json(subresource));
    if (operation == "Update") out += " using " + api_version;
    return out;
  }
};

std::string string_member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// nullopt when absent or not understood; an empty vector when the list is empty (a reset).
std::optional<std::vector<Entry>> parse_entries(const Json& object) {
  if (!object.is_object()) return std::nullopt;
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return std::nullopt;
  auto mf = md->find("managedFields");
  if (mf == md->end() || !mf->is_array()) return std::nullopt;
  std::vector<Entry> out;
  if (mf->size() == 1 && mf->front().is_object() && mf->front().empty()) return out;  // [{}] resets too
  for (const auto& e : *mf) {
    if (!e.is_object()) return std::nullopt;
    Entry entry;
    entry.manager = string_member(e, "manager");
    entry.operation = string_member(e, "operation");
    entry.api_version = string_member(e, "apiVersion");
    entry.subresource = string_member(e, "subresource");
    if (auto t = string_member(e, "time"); !t.empty()) entry.time = t;
    if (entry.operation != "Apply" && entry.operation != "Update") return std::nullopt;
    auto fields = e.find("fieldsV1");
    if (fields != e.end()) {
      auto set = FieldSet::from_json(*fields);
      if (!set) return std::nullopt;
      entry.fields = std::move(*set);
    }
    auto dup = std::find_if(out.begin(), out.end(), [&](const Entry& x) { return x.identity() == entry.identity(); });
    if (dup != out.end())
      dup->fields.merge(entry.fields);
    else
      out.push_back(std::move(entry));
  }
  return out;
}

void write_entries(Json& object, std::vector<Entry> entries) {
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const Entry& e) { return e.fields.empty(); }),
                entries.end());
  auto seconds = [](const Entry& e) -> std::int64_t {
    if (!e.time) return 0;
    auto ms = parse_rfc3339(*e.time);
    return ms ? *ms / 1000 : 0;
  };
  std::stable_sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    if (a.operation != b.operation) return a.operation < b.operation;
    if (seconds(a) != seconds(b)) return seconds(a) < seconds(b);
    if (a.manager != b.manager) return a.manager < b.manager;
    if (a.api_version != b.api_version) return a.api_version < b.api_version;
    return a.subresource < b.subresource;
  });
  if (!object.is_object()) return;
  if (entries.empty() && !object.contains("metadata")) return;
  Json& md = object["metadata"];
  if (!md.is_object()) md = Json::object();
  if (entries.empty()) {
    md.erase("managedFields");
    return;
  }
  Json list = Json::array();
  for (const auto& e : entries) {
    Json j = Json::object();
    j["manager"] = e.manager;
    j["operation"] = e.operation;
    j["apiVersion"] = e.api_version;
    if (e.time) j["time"] = *e.time;
    j["fieldsType"] = "FieldsV1";
    j["fieldsV1"] = e.fields.to_json();
    if (!e.subresource.empty()) j["subresource"] = e.subresource;
    list.push_back(std::move(j));
  }
  md["managedFields"] = std::move(list);
}

// Fields nobody owns: type and object metadata the server sets (stripmeta.go).
void strip_meta(FieldSet& s, const FieldManagerOptions& options) {
  static const std::vector<Path> kStrip = {
      {"f:apiVersion"},
      {"f:kind"},
      {"f:metadata"},
      {"f:metadata", "f:name"},
      {"f:metadata", "f:namespace"},
      {"f:metadata", "f:creationTimestamp"},
      {"f:metadata", "f:selfLink"},
      {"f:metadata", "f:uid"},
      {"f:metadata", "f:clusterName"},
      {"f:metadata", "f:generation"},
      {"f:metadata", "f:managedFields"},
      {"f:metadata", "f:resourceVersion"},
  };
  for (const auto& p : kStrip) s.unmark(p);
  for (const auto& f : options.ignored_fields) s.children.erase(field_pe(f));
}

// Changes to reset fields concern no manager (the comparison is filtered, as upstream does).
void drop_ignored(Comparison& c, const FieldManagerOptions& options) {
  for (const auto& f : options.ignored_fields)
    for (FieldSet* s : {&c.added, &c.modified, &c.removed}) s->children.erase(field_pe(f));
}

Json without_managed_fields(const Json& object) {
  Json out = object.is_object() ? object : Json::object();
  if (auto md = out.find("metadata"); md != out.end() && md->is_object()) md->erase("managedFields");
  return out;
}

const ValueType* root_type(const Json& a, const Json* b) {
  const TypeSchema* s = schema_for_object(a);
  if (s == nullptr && b != nullptr) s = schema_for_object(*b);
  return s == nullptr ? nullptr : s->self;
}

// "default/nginx; apps/v1, Kind=Deployment", as the apiserver names the object in apply errors.
std::string object_gvknn(const Json& applied) {
  const Json* md = member_of(&applied, "metadata");
  std::string ns = md != nullptr ? string_member(*md, "namespace") : "";
  std::string name = md != nullptr ? string_member(*md, "name") : "";
  std::string api_version = string_member(applied, "apiVersion");
  if (api_version.find('/') == std::string::npos) api_version = "/" + api_version;
  return ns + "/" + name + "; " + api_version + ", Kind=" + string_member(applied, "kind");
}

std::string conflict_message(const std::vector<std::pair<const Entry*, Path>>& conflicts) {
  if (conflicts.size() == 1)
    return "Apply failed with 1 conflict: conflict with " + conflicts[0].first->printed() + ": " +
           path_string(conflicts[0].second);
  std::map<std::string, std::pair<const Entry*, std::vector<std::string>>> by_manager;
  for (const auto& [entry, path] : conflicts) {
    auto& slot = by_manager[entry->identity()];
    slot.first = entry;
    slot.second.push_back(path_string(path));
  }
  std::string out = "Apply failed with " + std::to_string(conflicts.size()) + " conflicts: ";
  bool first = true;
  for (const auto& [id, slot] : by_manager) {
    if (!first) out += "\n";
    first = false;
    out += "conflicts with " + slot.first->printed() + ":";
    for (const auto& p : slot.second) out += "\n- " + p;
  }
  return out;
}

Result<ApplyResult> apply_impl(const Json* live, const Json& applied, std::string_view manager, bool force,
                               std::int64_t now_ms, const FieldManagerOptions& options) {
  if (!applied.is_object()) return plugin::bad_request("error decoding YAML: the apply configuration is not an object");
  if (const Json* md = member_of(&applied, "metadata"); md != nullptr && member_of(md, "managedFields") != nullptr)
    return plugin::bad_request("metadata.managedFields must be nil");
  if (live != nullptr) {
    std::string expected = string_member(*live, "apiVersion");
    std::string specified = string_member(applied, "apiVersion");
    if (!expected.empty() && specified != expected)
      return plugin::bad_request("Incorrect version specified in apply patch. Specified patch version: " + specified +
                                 ", expected: " + expected);
  }
  const ValueType* root = root_type(applied, live);

  FieldSetBuilder builder;
  builder.value(applied, root);
  if (!builder.errors.empty()) {
    std::string detail = builder.errors.size() == 1 ? builder.errors[0] : "errors:";
    if (builder.errors.size() > 1)
      for (const auto& e : builder.errors) detail += "\n  " + e;
    return plugin::bad_request("failed to create typed patch object (" + object_gvknn(applied) + "): " + detail);
  }
  FieldSet applied_set = std::move(builder.set);
  strip_meta(applied_set, options);

  Json live_clean = without_managed_fields(live != nullptr ? *live : Json::object());
  std::vector<Entry> entries =
      live != nullptr ? parse_entries(*live).value_or(std::vector<Entry>{}) : std::vector<Entry>{};

  Entry self;
  self.manager = std::string(manager);
  self.operation = "Apply";
  self.subresource = options.subresource;
  const std::string self_id = self.identity();
  auto mine = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.identity() == self_id; });
  FieldSet last_set;
  if (mine != entries.end()) {
    last_set = mine->fields;
    self.time = mine->time;
    entries.erase(mine);
  }
  self.api_version = string_member(applied, "apiVersion");
  self.fields = applied_set;

  Json merged = merge_values(&live_clean, applied, root);

  // Prune what this manager stopped applying, unless someone (itself included) still owns it.
  FieldSet dropped = last_set;
  dropped.subtract(applied_set);
  dropped.for_each_member([&](const Path& p) {
    if (p.empty() || self.fields.owns_at_or_below(p)) return;
    for (const auto& e : entries)
      if (e.fields.owns_at_or_below(p)) return;
    remove_path(merged, p, 0, root);
  });

  Comparison cmp = compare_objects(live_clean, merged, root);
  drop_ignored(cmp, options);
  // Added is the larger side (all of it, on a create): moved, not copied.
  FieldSet changed = std::move(cmp.added);
  changed.merge(cmp.modified);
  std::vector<std::pair<const Entry*, Path>> conflicts;
  std::vector<FieldSet> taken(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    taken[i] = entries[i].fields.intersect(changed);
    taken[i].for_each_member([&](const Path& p) { conflicts.emplace_back(&entries[i], p); });
  }
  if (!conflicts.empty() && !force) return plugin::conflict(conflict_message(conflicts));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    entries[i].fields.subtract(taken[i]);
    entries[i].fields.subtract(cmp.removed);
  }

  if (merged != live_clean || !self.time) self.time = format_rfc3339(now_ms);
  entries.push_back(std::move(self));
  write_entries(merged, std::move(entries));

  ApplyResult result;
  result.created = live == nullptr;
  result.changed = live == nullptr || merged != *live;
  result.object = std::move(merged);
  return result;
}

void record_update_impl(Json& object, const Json* old, std::string_view manager, std::int64_t now_ms,
                        const FieldManagerOptions& options) {
  if (!object.is_object()) return;
  const ValueType* root = root_type(object, old);
  std::optional<std::vector<Entry>> sent = parse_entries(object);
  std::vector<Entry> entries =
      sent ? std::move(*sent)
           : (old != nullptr ? parse_entries(*old).value_or(std::vector<Entry>{}) : std::vector<Entry>{});

  Json before = without_managed_fields(old != nullptr ? *old : Json::object());
  // The object is compared without its managedFields, which are moved aside (and back, should the
  // comparison throw) rather than copying the whole object.
  struct SetAside {
    Json* meta = nullptr;
    Json entries;
    ~SetAside() {
      if (meta != nullptr) (*meta)["managedFields"] = std::move(entries);
    }
  } aside;
  if (auto md = object.find("metadata"); md != object.end() && md->is_object())
    if (auto mf = md->find("managedFields"); mf != md->end()) {
      aside.entries = std::move(*mf);
      md->erase(mf);
      aside.meta = &*md;
    }
  Comparison cmp = compare_objects(before, object, root);
  drop_ignored(cmp, options);
  // Added is the larger side (all of it, on a create): moved, not copied.
  FieldSet changed = std::move(cmp.added);
  changed.merge(cmp.modified);
  strip_meta(changed, options);

  Entry self;
  self.manager = std::string(manager);
  self.operation = "Update";
  self.api_version = string_member(object, "apiVersion");
  self.subresource = options.subresource;
  const std::string self_id = self.identity();
  for (auto it = entries.begin(); it != entries.end();) {
    if (it->identity() == self_id) {
      self.fields = std::move(it->fields);
      self.time = it->time;
      it = entries.erase(it);
      continue;
    }
    it->fields.subtract(changed);
    it->fields.subtract(cmp.removed);
    ++it;
  }
  self.fields.subtract(cmp.removed);
  if (!changed.empty()) self.time = format_rfc3339(now_ms);
  if (self.fields.empty())
    self.fields = std::move(changed);  // a manager's first write (every create): no copy
  else
    self.fields.merge(changed);
  strip_meta(self.fields, options);
  entries.push_back(std::move(self));
  write_entries(object, std::move(entries));
  aside.meta = nullptr;  // replaced by what write_entries wrote
}

}  // namespace

Result<ApplyResult> server_side_apply(const Json* live, const Json& applied, std::string_view manager, bool force,
                                      std::int64_t now_ms, const FieldManagerOptions& options) {
  try {
    return apply_impl(live, applied, manager, force, now_ms, options);
  } catch (const std::exception& e) {
    return plugin::internal(std::string("server-side apply failed: ") + e.what());
  }
}

void record_update(Json& object, const Json* old, std::string_view manager, std::int64_t now_ms,
                   const FieldManagerOptions& options) {
  try {
    record_update_impl(object, old, manager, now_ms, options);
  } catch (const std::exception&) {
    // Ownership bookkeeping never fails a write; the entries keep what the object had.
  }
}

Result<Json> fields_v1_of(const Json& object) {
  try {
    FieldSetBuilder builder;
    builder.validate = false;
    builder.value(object, root_type(object, nullptr));
    strip_meta(builder.set, {});
    return builder.set.to_json();
  } catch (const std::exception& e) {
    return plugin::internal(e.what());
  }
}

}  // namespace skiff::kernel::api
