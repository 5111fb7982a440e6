#include "kernel/api/patch.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <optional>
#include <utility>

namespace skiff::kernel::api {
namespace {

// Internal failures unwind to the public entry points, which turn them into a Status.
struct PatchFailure {
  Status status;
};

[[noreturn]] void fail_bad_request(std::string message) { throw PatchFailure{plugin::bad_request(std::move(message))}; }
[[noreturn]] void fail_invalid(std::string message) { throw PatchFailure{plugin::invalid(std::move(message))}; }

template <class F>
Result<Json> guarded(F&& f) {
  try {
    return f();
  } catch (const PatchFailure& e) {
    return e.status;
  } catch (const std::exception& e) {
    return plugin::bad_request(std::string("invalid patch: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 7386

Json merge_value(Json target, const Json& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = Json::object();
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
      continue;
    }
    auto it = target.find(key);
    target[key] = merge_value(it == target.end() ? Json() : std::move(*it), value);
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// RFC 6902

class JsonPatcher {
 public:
  explicit JsonPatcher(Json doc) : doc_(std::move(doc)) {}

  Json run(const Json& ops) {
    if (!ops.is_array()) fail_bad_request("json patch must be a JSON array of operations");
    for (std::size_t i = 0; i < ops.size(); ++i) apply_one(i, ops[i]);
    return std::move(doc_);
  }

 private:
  Json doc_;
  std::size_t index_ = 0;
  std::string op_;
  std::string path_;

  [[noreturn]] void fail(std::string why) const {
    std::string where = "json patch operation " + std::to_string(index_);
    if (!op_.empty()) where += " (" + op_ + (path_.empty() ? std::string() : " " + path_) + ")";
    fail_invalid(where + ": " + why);
  }
  [[noreturn]] void fail_format(std::string why) const {
    fail_bad_request("json patch operation " + std::to_string(index_) + ": " + why);
  }

  std::vector<std::string> parse_pointer(const std::string& pointer) const {
    std::vector<std::string> tokens;
    if (pointer.empty()) return tokens;
    if (pointer.front() != '/') fail_format("path " + dump_text(Json(pointer)) + " must be empty or start with \"/\"");
    std::string cur;
    for (std::size_t i = 1; i <= pointer.size(); ++i) {
      if (i == pointer.size() || pointer[i] == '/') {
        tokens.push_back(std::move(cur));
        cur.clear();
        continue;
      }
      char c = pointer[i];
      if (c == '~') {
        if (i + 1 < pointer.size() && pointer[i + 1] == '0')
          cur += '~';
        else if (i + 1 < pointer.size() && pointer[i + 1] == '1')
          cur += '/';
        else
          fail_format("path " + dump_text(Json(pointer)) + " has an invalid escape");
        ++i;
        continue;
      }
      cur += c;
    }
    return tokens;
  }

  // An array index token: digits without leading zeros ("-" is handled by the caller).
  std::size_t array_index(const std::string& token, std::size_t limit, const std::string& pointer) const {
    bool digits =
        !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || (token.size() > 1 && token[0] == '0') || token.size() > 18)
      fail("invalid array index " + dump_text(Json(token)) + " in " + dump_text(Json(pointer)));
    auto idx = static_cast<std::size_t>(std::stoull(token));
    if (idx > limit) fail("array index " + token + " is out of bounds in " + dump_text(Json(pointer)));
    return idx;
  }

  // The value at `tokens` (which must exist).
  Json& locate(const std::vector<std::string>& tokens, const std::string& pointer) {
    Json* cur = &doc_;
    for (const auto& t : tokens) {
      if (cur->is_object()) {
        auto it = cur->find(t);
        if (it == cur->end()) fail("the path " + dump_text(Json(pointer)) + " does not exist");
        cur = &*it;
      } else if (cur->is_array()) {
        if (t == "-") fail("the path " + dump_text(Json(pointer)) + " does not exist");
        std::size_t idx = array_index(t, cur->size(), pointer);
        if (idx >= cur->size()) fail("the path " + dump_text(Json(pointer)) + " does not exist");
        cur = &(*cur)[idx];
      } else {
        fail("the path " + dump_text(Json(pointer)) + " does not exist");
      }
    }
    return *cur;
  }

  void add(const std::vector<std::string>& tokens, Json value, const std::string& pointer) {
    if (tokens.empty()) {
      doc_ = std::move(value);
      return;
    }
    std::vector<std::string> parent_tokens(tokens.begin(), tokens.end() - 1);
    Json& parent = locate(parent_tokens, pointer);
    const std::string& last = tokens.back();
    if (parent.is_object()) {
      parent[last] = std::move(value);
    } else if (parent.is_array()) {
      if (last == "-") {
        parent.push_back(std::move(value));
      } else {
        std::size_t idx = array_index(last, parent.size(), pointer);
        parent.insert(parent.begin() + static_cast<std::ptrdiff_t>(idx), std::move(value));
      }
    } else {
      fail("the parent of " + dump_text(Json(pointer)) + " is neither an object nor an array");
    }
  }

  Json remove(const std::vector<std::string>& tokens, const std::string& pointer) {
    if (tokens.empty()) {
      Json out = std::move(doc_);
      doc_ = Json();
      return out;
    }
    std::vector<std::string> parent_tokens(tokens.begin(), tokens.end() - 1);
    Json& parent = locate(parent_tokens, pointer);
    const std::string& last = tokens.back();
    if (parent.is_object()) {
      auto it = parent.find(last);
      if (it == parent.end()) fail("the path " + dump_text(Json(pointer)) + " does not exist");
      Json out = std::move(*it);
      parent.erase(it);
      return out;
    }
    if (parent.is_array()) {
      if (last == "-") fail("the path " + dump_text(Json(pointer)) + " does not exist");
      std::size_t idx = array_index(last, parent.size(), pointer);
      if (idx >= parent.size()) fail("the path " + dump_text(Json(pointer)) + " does not exist");
      Json out = std::move(parent[idx]);
      parent.erase(idx);
      return out;
    }
    fail("the path " + dump_text(Json(pointer)) + " does not exist");
  }

  const Json& required(const Json& op, const char* member) const {
    auto it = op.find(member);
    if (it == op.end()) fail_format(std::string("missing \"") + member + "\"");
    return *it;
  }

  std::string pointer_member(const Json& op, const char* member) const {
    const Json& v = required(op, member);
    if (!v.is_string()) fail_format(std::string("\"") + member + "\" must be a string");
    return v.get<std::string>();
  }

  void apply_one(std::size_t index, const Json& op) {
    index_ = index;
    op_.clear();
    path_.clear();
    if (!op.is_object()) fail_format("must be a JSON object");
    const Json& kind = required(op, "op");
    if (!kind.is_string()) fail_format("\"op\" must be a string");
    op_ = kind.get<std::string>();
    path_ = pointer_member(op, "path");
    auto path = parse_pointer(path_);
    if (op_ == "add") {
      add(path, required(op, "value"), path_);
    } else if (op_ == "remove") {
      remove(path, path_);
    } else if (op_ == "replace") {
      const Json& value = required(op, "value");
      locate(path, path_) = value;
    } else if (op_ == "move") {
      std::string from_ptr = pointer_member(op, "from");
      auto from = parse_pointer(from_ptr);
      if (from.size() < path.size() && std::equal(from.begin(), from.end(), path.begin()))
        fail("cannot move " + dump_text(Json(from_ptr)) + " into one of its children");
      if (from == path) {
        locate(from, from_ptr);  // must exist; moving onto itself changes nothing
        return;
      }
      Json value = remove(from, from_ptr);
      add(path, std::move(value), path_);
    } else if (op_ == "copy") {
      std::string from_ptr = pointer_member(op, "from");
      Json value = locate(parse_pointer(from_ptr), from_ptr);
      add(path, std::move(value), path_);
    } else if (op_ == "test") {
      const Json& expected = required(op, "value");
      if (locate(path, path_) != expected) fail("test failed: the value at " + dump_text(Json(path_)) + " differs");
    } else {
      fail_format("unknown op " + dump_text(Json(op_)));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Strategic merge patch

constexpr std::string_view kDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

// What the schema says about one field.
struct Meta {
  const ValueType* type = nullptr;  // null: not described
  std::vector<std::string> strategies;
  std::string merge_key;

  bool has(std::string_view s) const { return std::find(strategies.begin(), strategies.end(), s) != strategies.end(); }
};

Meta field_meta(const ValueType* parent, const std::string& key) {
  Meta m;
  if (parent == nullptr) return m;
  if (parent->kind == ValueKind::kObject) {
    if (const FieldSchema* f = parent->object->field(key)) {
      m.type = f->type;
      m.strategies = f->patch_strategies;
      m.merge_key = f->patch_merge_key;
    }
  } else if (parent->kind == ValueKind::kMap) {
    m.type = parent->element;
  }
  return m;
}

const ValueType* element_of(const ValueType* list) {
  return list != nullptr && list->kind == ValueKind::kArray ? list->element : nullptr;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Drops `$patch` maps and every other `$` directive from a value that is taken over as is.
// Returns false when the value itself is a `$patch` map and must not be kept.
bool strip_directives(Json& v) {
  if (v.is_object()) {
    if (v.contains(kDirective)) return false;
    for (auto it = v.begin(); it != v.end();) {
      if (starts_with(it.key(), "$") || !strip_directives(it.value()))
        it = v.erase(it);
      else
        ++it;
    }
  } else if (v.is_array()) {
    Json out = Json::array();
    for (auto& item : v)
      if (strip_directives(item)) out.push_back(std::move(item));
    v = std::move(out);
  }
  return true;
}

void discard_nulls(Json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it.value().is_null()) {
        it = v.erase(it);
      } else {
        discard_nulls(it.value());
        ++it;
      }
    }
  } else if (v.is_array()) {
    for (auto& item : v) discard_nulls(item);
  }
}

// A value from the patch where the original has nothing to merge with.
bool take_patch_value(Json& v) {
  discard_nulls(v);
  return strip_directives(v);
}

std::string brief(const Json& v) {
  std::string s = dump_text(v);
  return s.size() > 200 ? s.substr(0, 200) + "..." : s;
}

// The value that identifies a list item: its merge key for maps, itself otherwise.
const Json* identity(const Json& item, const std::string& merge_key) {
  if (merge_key.empty()) return &item;
  if (!item.is_object()) return nullptr;
  auto it = item.find(merge_key);
  return it == item.end() ? nullptr : &*it;
}

std::ptrdiff_t index_in(const Json& list, const Json& item, const std::string& merge_key) {
  const Json* id = identity(item, merge_key);
  if (id == nullptr || !list.is_array()) return -1;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json* other = identity(list[i], merge_key);
    if (other != nullptr && *other == *id) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

void require_merge_key(const Json& item, const std::string& merge_key) {
  if (!item.is_object() || !item.contains(merge_key))
    fail_invalid("map: " + brief(item) + " does not contain declared merge key: " + merge_key);
}

// Sorts `items` by their position in `order`; items not found keep their relative order at the end.
// `$patch: delete` items (of map lists) go last, as upstream does.
Json sort_by_order(const Json& items, const Json& order, const std::string& merge_key) {
  std::vector<std::pair<std::ptrdiff_t, const Json*>> keyed;
  std::vector<const Json*> deletes;
  for (const auto& item : items) {
    if (!merge_key.empty()) {
      require_merge_key(item, merge_key);
      if (item.value(std::string(kDirective), Json()) == "delete") {
        deletes.push_back(&item);
        continue;
      }
    }
    auto idx = index_in(order, item, merge_key);
    keyed.emplace_back(idx < 0 ? std::numeric_limits<std::ptrdiff_t>::max() : idx, &item);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Json out = Json::array();
  for (const auto& [idx, item] : keyed) out.push_back(*item);
  for (const auto* item : deletes) out.push_back(*item);
  return out;
}

// Interleaves server-only items into the patch-ordered items: each server item goes before the
// first patch item that comes after it in the live list. Both inputs keep their relative order.
Json interleave(const Json& server_only, const Json& patch_items, const Json& live, const std::string& merge_key) {
  Json out = Json::array();
  std::size_t i = 0, j = 0;
  while (i < server_only.size() || j < patch_items.size()) {
    if (i >= server_only.size()) {
      out.push_back(patch_items[j++]);
    } else if (j >= patch_items.size()) {
      out.push_back(server_only[i++]);
    } else {
      auto li = index_in(live, server_only[i], merge_key);
      auto ri = index_in(live, patch_items[j], merge_key);
      if (li >= 0 && ri >= 0 && li < ri)
        out.push_back(server_only[i++]);
      else
        out.push_back(patch_items[j++]);
    }
  }
  return out;
}

// Splits `merged` into the items that appear in `by` and those that do not, then orders them.
Json normalize_order(const Json& merged, const Json& by, const Json& live, const std::string& merge_key) {
  Json in_patch = Json::array();
  Json server_only = Json::array();
  for (const auto& item : merged) {
    if (!merge_key.empty()) require_merge_key(item, merge_key);
    (index_in(by, item, merge_key) >= 0 ? in_patch : server_only).push_back(item);
  }
  return interleave(sort_by_order(server_only, live, merge_key), sort_by_order(in_patch, by, merge_key), live,
                    merge_key);
}

// Items of a list must be all maps or all scalars, and never lists.
bool list_of_maps(const Json& a, const Json& b) {
  std::optional<bool> maps;
  for (const Json* list : {&a, &b}) {
    for (const auto& item : *list) {
      if (item.is_array()) fail_invalid("lists of lists are not supported");
      if (item.is_null()) continue;
      bool is_map = item.is_object();
      if (maps && *maps != is_map) fail_invalid("list items must be all maps or all scalars: " + brief(*list));
      maps = is_map;
    }
  }
  return maps.value_or(false);
}

class StrategicMerger {
 public:
  Json merge_map(Json original, Json patch, const ValueType* type) {
    if (auto it = patch.find(kDirective); it != patch.end()) {
      if (*it == "replace") {
        patch.erase(std::string(kDirective));
        strip_directives(patch);
        return patch;
      }
      if (*it == "delete") return Json::object();
      if (*it != "merge") fail_bad_request("unknown patch type: " + brief(*it) + " in map: " + brief(patch));
      patch.erase(std::string(kDirective));
    }
    if (!original.is_object()) original = Json::object();
    apply_retain_keys(original, patch);
    apply_set_element_order(original, patch, type);

    for (auto& [raw_key, value] : patch.items()) {
      std::string key = raw_key;
      bool delete_list = false;
      if (starts_with(key, kDeleteFromPrimitiveList)) {
        key = key.substr(kDeleteFromPrimitiveList.size());
        if (key.empty()) fail_bad_request("invalid patch format of primitive list");
        delete_list = true;
      } else if (starts_with(key, "$")) {
        continue;  // directives handled above, or unknown ones, never stored
      }
      if (value.is_null()) {
        if (!delete_list) original.erase(key);
        continue;
      }
      auto it = original.find(key);
      if (it == original.end()) {
        if (!delete_list) {
          Json v = value;
          if (take_patch_value(v)) original[key] = std::move(v);
        }
        continue;
      }
      Meta meta = field_meta(type, key);
      if (it->is_object() && value.is_object()) {
        if (meta.has("replace"))
          *it = value;
        else
          *it = merge_map(std::move(*it), value, meta.type);
      } else if (it->is_array() && value.is_array()) {
        *it = merge_list_field(std::move(*it), value, meta, delete_list);
      } else if (!delete_list) {
        Json v = value;
        if (take_patch_value(v))
          *it = std::move(v);
        else
          original.erase(it);
      }
    }
    return original;
  }

 private:
  Json merge_list_field(Json original, const Json& patch, const Meta& meta, bool delete_list) {
    if (meta.has("merge") || delete_list)
      return merge_list(std::move(original), patch, element_of(meta.type), meta.merge_key, delete_list);
    return patch;  // replace
  }

  Json merge_list(Json original, Json patch, const ValueType* element, const std::string& merge_key, bool delete_list) {
    if (original.empty() && patch.empty()) return original;
    if (!list_of_maps(original, patch)) {
      if (delete_list) {
        Json out = Json::array();
        for (auto& v : original)
          if (std::find(patch.begin(), patch.end(), v) == patch.end()) out.push_back(std::move(v));
        return out;
      }
      Json merged = Json::array();
      for (const Json* list : {&original, &patch})
        for (const auto& v : *list)
          if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
      return normalize_order(merged, patch, original, "");
    }
    if (merge_key.empty()) fail_invalid("cannot merge lists without merge key");

    // Items carrying `$patch` first: deletions and whole-list replacement.
    Json plain = Json::array();
    bool replace = false;
    for (auto& item : patch) {
      auto d = item.find(kDirective);
      if (d == item.end()) {
        plain.push_back(std::move(item));
        continue;
      }
      if (*d == "delete") {
        require_merge_key(item, merge_key);
        const Json& id = item[merge_key];
        Json kept = Json::array();
        for (auto& o : original)
          if (!(o.is_object() && o.contains(merge_key) && o[merge_key] == id)) kept.push_back(std::move(o));
        original = std::move(kept);
      } else if (*d == "replace") {
        replace = true;
      } else if (*d == "merge") {
        fail_invalid("merging lists cannot yet be specified in the patch");
      } else {
        fail_bad_request("unknown patch type: " + brief(*d) + " in map: " + brief(item));
      }
    }
    if (replace) {
      original = std::move(plain);
      for (auto& item : original) take_patch_value(item);
      plain = Json::array();
    }
    // The server's order, before new items are appended: those sort ahead of server-only items.
    Json live = original;
    for (auto& item : plain) {
      require_merge_key(item, merge_key);
      auto idx = index_in(original, item, merge_key);
      if (idx >= 0) {
        auto& target = original[static_cast<std::size_t>(idx)];
        target = merge_map(std::move(target), item, element);
      } else {
        Json v = item;
        if (take_patch_value(v)) original.push_back(std::move(v));
      }
    }
    return normalize_order(original, plain, live, merge_key);
  }

  // $retainKeys: clears every key of the original that the list does not name.
  void apply_retain_keys(Json& original, Json& patch) {
    auto it = patch.find(kRetainKeys);
    if (it == patch.end()) return;
    Json keys = std::move(*it);
    patch.erase(it);
    if (!keys.is_array()) fail_bad_request("invalid patch format of retainKeys");
    auto named = [&keys](const std::string& k) { return std::find(keys.begin(), keys.end(), Json(k)) != keys.end(); };
    for (const auto& [k, v] : patch.items()) {
      if (v.is_null() || starts_with(k, "$")) continue;
      if (!named(k)) fail_bad_request("invalid patch format of retainKeys");
    }
    for (auto o = original.begin(); o != original.end();) {
      if (!named(o.key()))
        o = original.erase(o);
      else
        ++o;
    }
  }

  // $setElementOrder/<list>: merges that list now and orders the result by the directive.
  void apply_set_element_order(Json& original, Json& patch, const ValueType* type) {
    std::vector<std::string> directives;
    for (const auto& [k, v] : patch.items())
      if (starts_with(k, kSetElementOrder)) directives.push_back(k);
    for (const auto& directive : directives) {
      Json order = std::move(patch[directive]);
      patch.erase(directive);
      std::string key = directive.substr(kSetElementOrder.size());
      if (key.empty() || !order.is_array()) fail_bad_request("invalid patch format of setElementOrder list");
      auto o = original.find(key);
      auto p = patch.find(key);
      bool found_original = o != original.end() && !o->is_null();
      bool found_patch = p != patch.end() && !p->is_null();
      if (found_original && !o->is_array()) fail_invalid("expected a list at " + key + ", but received " + brief(*o));
      if (found_patch && !p->is_array()) fail_bad_request("invalid patch format of setElementOrder list");
      Meta meta = field_meta(type, key);
      if (found_patch) validate_order(*p, order, meta.merge_key);
      Json live = found_original ? *o : Json::array();
      Json merged;
      if (found_original && !found_patch) {
        merged = live;
      } else if (!found_original && found_patch) {
        merged = *p;
        strip_directives(merged);
      } else if (found_original && found_patch) {
        merged = merge_list_field(live, *p, meta, false);
      } else {
        continue;
      }
      original[key] = normalize_order(merged, order, live, meta.merge_key);
      patch.erase(key);
    }
  }

  // Every non-deleted patch item must appear in the order list, in the same relative order.
  void validate_order(const Json& patch_list, const Json& order, const std::string& merge_key) {
    if (patch_list.empty() || order.empty()) return;
    std::size_t pi = 0, oi = 0;
    std::vector<const Json*> items;
    for (const auto& item : patch_list)
      if (!item.is_object() || !item.contains(kDirective)) items.push_back(&item);
    while (pi < items.size() && oi < order.size()) {
      const Json* a = merge_key.empty() ? items[pi] : identity(*items[pi], merge_key);
      const Json* b = merge_key.empty() ? &order[oi] : identity(order[oi], merge_key);
      if (a == nullptr) require_merge_key(*items[pi], merge_key);
      if (b == nullptr) require_merge_key(order[oi], merge_key);
      if (*a == *b) ++pi;
      ++oi;
    }
    if (pi < items.size())
      fail_bad_request("the order in patch list " + brief(patch_list) + " doesn't match $setElementOrder list " +
                       brief(order));
  }
};

}  // namespace

Result<Json> merge_patch(const Json& target, const Json& patch) {
  return guarded([&]() -> Result<Json> { return merge_value(target, patch); });
}

Result<Json> json_patch(const Json& target, const Json& ops) {
  return guarded([&]() -> Result<Json> { return JsonPatcher(target).run(ops); });
}

Result<Json> strategic_merge_patch(const Json& target, const Json& patch, const TypeSchema* schema) {
  return guarded([&]() -> Result<Json> {
    if (!patch.is_object())
      return plugin::bad_request("invalid JSON document: a strategic merge patch is a JSON object");
    return StrategicMerger().merge_map(target, patch, schema == nullptr ? nullptr : schema->self);
  });
}

}  // namespace skiff::kernel::api
