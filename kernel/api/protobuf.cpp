#include "kernel/api/protobuf.hpp"

#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <vector>

#include "kernel/api/quantity.hpp"

namespace skiff::kernel::api {
namespace {

constexpr std::string_view kMagic("k8s\0", 4);
constexpr int kMaxDepth = 100;  // the schema is far shallower; this only bounds hostile input
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
// Go's zero time.Time as Unix seconds (0001-01-01T00:00:00Z): metav1.Time marshals it as null.
constexpr std::int64_t kGoZeroTimeUnix = -62'135'596'800;
// Beyond this many seconds from 1970 Go's time arithmetic wraps; such a body is refused.
constexpr std::int64_t kMaxTimeSeconds = 1'000'000'000'000'000;

std::string at_byte(std::size_t offset) { return " at byte " + std::to_string(offset); }

Status wire_error(std::string_view what, std::size_t offset) {
  return plugin::bad_request(std::string(what) + at_byte(offset));
}

// A reader or decoder failure, placed: "the protobuf body is malformed: <what> at byte N (in <path>)".
Status malformed(const Status& inner, std::string_view path) {
  std::string where = path.empty() ? "the object" : std::string(path);
  return plugin::bad_request("the protobuf body is malformed: " + inner.message() + " (in " + where + ")");
}

Status malformed(std::string_view what, std::size_t offset, std::string_view path) {
  return malformed(wire_error(what, offset), path);
}

std::string join(std::string_view path, std::string_view name) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += name;
  return out;
}

std::string_view wire_name(WireType w) {
  switch (w) {
    case WireType::kVarint: return "varint";
    case WireType::kFixed64: return "64-bit";
    case WireType::kLengthDelimited: return "length-delimited";
    case WireType::kStartGroup: return "start-group";
    case WireType::kEndGroup: return "end-group";
    case WireType::kFixed32: return "32-bit";
  }
  return "unknown";
}

// Go's encoding/json writes each byte that is not part of valid UTF-8 as U+FFFD.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) ok = false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
    if (ok &&
        ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// []byte in JSON: standard base64 with padding.
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 0x3Fu];
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 0x3Fu];
    out += kAlphabet[(n >> 12) & 0x3Fu];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 0x3Fu] : '=';
    out += '=';
  }
  return out;
}

// Proleptic Gregorian date of a day count from 1970-01-01 (the usual era-based conversion).
void civil_from_days(std::int64_t days, std::int64_t& year, int& month, int& day) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;                                    // [0, 146096]
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const std::int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

void append_padded(std::string& out, std::int64_t v, int width) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0) out += '-';
  for (int k = static_cast<int>(digits.size()); k < width; ++k) out += '0';
  out += digits;
}

bool is_packable(const ValueType& vt) {
  return vt.kind == ValueKind::kInteger || vt.kind == ValueKind::kBoolean || vt.kind == ValueKind::kNumber;
}

// The JSON of a zero value that Go's encoder always writes: structs (omitempty has no effect on them)
// and the types with their own MarshalJSON.
Json zero_struct_json(const ValueType& vt);

void finalize(const TypeSchema& t, Json& out);

// What Go writes for a field that was not on the wire, or nullopt when it writes nothing.
std::optional<Json> absent_field_json(const FieldSchema& f) {
  const ValueType& vt = *f.type;
  if (f.pointer) return f.omit_empty ? std::nullopt : std::optional<Json>(nullptr);
  switch (vt.kind) {
    case ValueKind::kObject:
    case ValueKind::kDateTime:
    case ValueKind::kQuantity:
    case ValueKind::kIntOrString:
    case ValueKind::kAny: return zero_struct_json(vt);
    case ValueKind::kString:
      if (vt.duration) return zero_struct_json(vt);
      return f.omit_empty ? std::nullopt : std::optional<Json>("");
    case ValueKind::kInteger: return f.omit_empty ? std::nullopt : std::optional<Json>(0);
    case ValueKind::kNumber: return f.omit_empty ? std::nullopt : std::optional<Json>(0.0);
    case ValueKind::kBoolean: return f.omit_empty ? std::nullopt : std::optional<Json>(false);
    case ValueKind::kBytes:
    case ValueKind::kArray:
    case ValueKind::kMap: return f.omit_empty ? std::nullopt : std::optional<Json>(nullptr);  // nil slice or map
  }
  return std::nullopt;
}

Json zero_struct_json(const ValueType& vt) {
  switch (vt.kind) {
    case ValueKind::kObject: {
      Json obj = Json::object();
      finalize(*vt.object, obj);
      return obj;
    }
    case ValueKind::kQuantity: return "0";
    case ValueKind::kIntOrString: return 0;
    case ValueKind::kString:
      if (vt.duration) return "0s";
      return "";
    case ValueKind::kInteger: return 0;
    case ValueKind::kNumber: return 0.0;
    case ValueKind::kBoolean: return false;
    case ValueKind::kBytes: return "";  // a map value: Go allocates an empty, non-nil slice
    case ValueKind::kDateTime:
    case ValueKind::kAny:
    case ValueKind::kArray:
    case ValueKind::kMap: return nullptr;
  }
  return nullptr;
}

// Adds what Go writes for every field that the wire did not set.
void finalize(const TypeSchema& t, Json& out) {
  for (const auto& f : t.fields) {
    if (f.json_only || out.contains(f.name)) continue;
    if (auto v = absent_field_json(f)) out[f.name] = std::move(*v);
  }
}

// Whether a decoded scalar is the zero value an omitempty tag drops.
bool is_empty_scalar(const ValueType& vt, const Json& v) {
  switch (vt.kind) {
    case ValueKind::kString: return !vt.duration && v.is_string() && v.get_ref<const std::string&>().empty();
    case ValueKind::kBytes: return v.is_string() && v.get_ref<const std::string&>().empty();
    case ValueKind::kInteger: return v.is_number_integer() && v.get<std::int64_t>() == 0;
    case ValueKind::kNumber: return v.is_number() && v.get<double>() == 0.0;
    case ValueKind::kBoolean: return v.is_boolean() && !v.get<bool>();
    default: return false;  // structs are never empty to Go's encoder
  }
}

class Decoder {
 public:
  // Decodes `data` into `out` (an object), merging into what earlier occurrences left, as Go's
  // generated Unmarshal does; the caller finalizes.
  Status message(const TypeSchema& t, std::string_view data, std::size_t base, const std::string& path, Json& out,
                 int depth) {
    if (depth > kMaxDepth) return malformed("messages nested too deeply", base, path);
    if (!out.is_object()) out = Json::object();
    WireReader reader(data, base);
    while (!reader.done()) {
      auto field = reader.next();
      if (!field) return malformed(field.status(), path);
      const WireField& f = *field;
      const FieldSchema* fs = t.proto_field(static_cast<std::int32_t>(f.number));
      if (fs == nullptr) {
        if (const TypeSchema* inl = t.proto_inline(static_cast<std::int32_t>(f.number))) {
          if (auto st = expect(f, WireType::kLengthDelimited, path, inl->name); !st) return st;
          if (auto st = message(*inl, f.bytes, f.payload_offset, path, out, depth + 1); !st) return st;
        }
        continue;  // unknown fields are skipped
      }
      if (auto st = field_value(*fs, f, join(path, fs->name), out, depth); !st) return st;
    }
    return Status::ok();
  }

 private:
  static Status expect(const WireField& f, WireType want, const std::string& path, std::string_view name) {
    if (f.wire == want) return Status::ok();
    return malformed("wrong wire type " + std::string(wire_name(f.wire)) + " for field " + std::string(name) +
                         " (number " + std::to_string(f.number) + ", want " + std::string(wire_name(want)) + ")",
                     f.offset, path);
  }

  Status field_value(const FieldSchema& fs, const WireField& f, const std::string& path, Json& out, int depth) {
    const ValueType& vt = *fs.type;
    if (vt.kind == ValueKind::kArray) return array_element(fs, f, path, out, depth);
    if (vt.kind == ValueKind::kMap) return map_entry(fs, f, path, out, depth);
    if (vt.kind == ValueKind::kObject) {
      if (auto st = expect(f, WireType::kLengthDelimited, path, fs.name); !st) return st;
      Json& sub = out[fs.name];
      if (auto st = message(*vt.object, f.bytes, f.payload_offset, path, sub, depth + 1); !st) return st;
      finalize(*vt.object, sub);
      return Status::ok();
    }
    auto v = scalar(vt, f, path, fs.name);
    if (!v) return v.status();
    if (!fs.pointer && fs.omit_empty && is_empty_scalar(vt, *v))
      out.erase(fs.name);
    else
      out[fs.name] = std::move(*v);
    return Status::ok();
  }

  Status array_element(const FieldSchema& fs, const WireField& f, const std::string& path, Json& out, int depth) {
    const ValueType& elem = *fs.type->element;
    // An empty packed run adds nothing: Go's slice stays nil.
    if (is_packable(elem) && f.wire == WireType::kLengthDelimited && f.bytes.empty()) return Status::ok();
    Json& arr = out[fs.name];
    if (!arr.is_array()) arr = Json::array();
    if (is_packable(elem) && f.wire == WireType::kLengthDelimited) {
      // A packed run of scalars.
      WireReader packed(f.bytes, f.payload_offset);
      while (!packed.done()) {
        WireField one;
        one.number = f.number;
        one.offset = packed.offset();
        one.wire = elem.kind == ValueKind::kNumber ? WireType::kFixed64 : WireType::kVarint;
        auto raw = elem.kind == ValueKind::kNumber ? packed.fixed(8) : packed.varint();
        if (!raw) return malformed(raw.status(), path);
        one.value = *raw;
        auto v = scalar(elem, one, path + "[" + std::to_string(arr.size()) + "]", fs.name);
        if (!v) return v.status();
        arr.push_back(std::move(*v));
      }
      return Status::ok();
    }
    std::string elem_path = path + "[" + std::to_string(arr.size()) + "]";
    if (elem.kind == ValueKind::kObject) {
      if (auto st = expect(f, WireType::kLengthDelimited, elem_path, fs.name); !st) return st;
      Json item = Json::object();
      if (auto st = message(*elem.object, f.bytes, f.payload_offset, elem_path, item, depth + 1); !st) return st;
      finalize(*elem.object, item);
      arr.push_back(std::move(item));
      return Status::ok();
    }
    auto v = scalar(elem, f, elem_path, fs.name);
    if (!v) return v.status();
    arr.push_back(std::move(*v));
    return Status::ok();
  }

  // A map entry message {1: key, 2: value}; a missing value is the element's zero value.
  Status map_entry(const FieldSchema& fs, const WireField& f, const std::string& path, Json& out, int depth) {
    if (auto st = expect(f, WireType::kLengthDelimited, path, fs.name); !st) return st;
    const ValueType& elem = *fs.type->element;
    std::string key;
    std::optional<WireField> value;
    WireReader entry(f.bytes, f.payload_offset);
    while (!entry.done()) {
      auto ef = entry.next();
      if (!ef) return malformed(ef.status(), path);
      if (ef->number == 1) {
        if (auto st = expect(*ef, WireType::kLengthDelimited, path, "key"); !st) return st;
        key = valid_utf8(ef->bytes);
      } else if (ef->number == 2) {
        value = *ef;
      }
    }
    Json& map = out[fs.name];
    if (!map.is_object()) map = Json::object();
    std::string entry_path = join(path, key);
    if (!value) {
      map[key] = zero_struct_json(elem);
      return Status::ok();
    }
    if (elem.kind == ValueKind::kObject) {
      if (auto st = expect(*value, WireType::kLengthDelimited, entry_path, "value"); !st) return st;
      Json item = Json::object();
      if (auto st = message(*elem.object, value->bytes, value->payload_offset, entry_path, item, depth + 1); !st)
        return st;
      finalize(*elem.object, item);
      map[key] = std::move(item);
      return Status::ok();
    }
    auto v = scalar(elem, *value, entry_path, "value");
    if (!v) return v.status();
    map[key] = std::move(*v);
    return Status::ok();
  }

  // A value that is not a struct of the schema: scalars and the types with their own encodings.
  Result<Json> scalar(const ValueType& vt, const WireField& f, const std::string& path, std::string_view name) {
    switch (vt.kind) {
      case ValueKind::kString:
        if (vt.duration) return duration(f, path, name);
        if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
        return Json(valid_utf8(f.bytes));
      case ValueKind::kInteger:
        if (auto st = expect(f, WireType::kVarint, path, name); !st) return st;
        if (vt.format == "int32") return Json(static_cast<std::int32_t>(static_cast<std::uint32_t>(f.value)));
        return Json(static_cast<std::int64_t>(f.value));
      case ValueKind::kBoolean:
        if (auto st = expect(f, WireType::kVarint, path, name); !st) return st;
        return Json(f.value != 0);
      case ValueKind::kNumber: {
        if (auto st = expect(f, WireType::kFixed64, path, name); !st) return st;
        double d = 0;
        static_assert(sizeof d == sizeof f.value);
        std::memcpy(&d, &f.value, sizeof d);
        if (!std::isfinite(d)) return malformed("a float64 that JSON cannot hold", f.offset, path);
        return Json(d);
      }
      case ValueKind::kBytes:
        if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
        return Json(base64(f.bytes));
      case ValueKind::kIntOrString: return int_or_string(f, path, name);
      case ValueKind::kQuantity: return quantity(f, path, name);
      case ValueKind::kDateTime: return timestamp(vt, f, path, name);
      case ValueKind::kAny: return raw_json(f, path, name);
      case ValueKind::kObject:
      case ValueKind::kArray:
      case ValueKind::kMap: break;
    }
    return malformed("a nested list or map, which no built-in kind has", f.offset, path);
  }

  // intstr.IntOrString {1: type, 2: intVal, 3: strVal}.
  Result<Json> int_or_string(const WireField& f, const std::string& path, std::string_view name) {
    if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
    std::int64_t type = 0;
    std::int32_t int_val = 0;
    std::string str_val;
    WireReader r(f.bytes, f.payload_offset);
    while (!r.done()) {
      auto g = r.next();
      if (!g) return malformed(g.status(), path);
      if (g->number == 1) {
        if (auto st = expect(*g, WireType::kVarint, path, "type"); !st) return st;
        type = static_cast<std::int64_t>(g->value);
      } else if (g->number == 2) {
        if (auto st = expect(*g, WireType::kVarint, path, "intVal"); !st) return st;
        int_val = static_cast<std::int32_t>(static_cast<std::uint32_t>(g->value));
      } else if (g->number == 3) {
        if (auto st = expect(*g, WireType::kLengthDelimited, path, "strVal"); !st) return st;
        str_val = valid_utf8(g->bytes);
      }
    }
    if (type == 0) return Json(int_val);
    if (type == 1) return Json(std::move(str_val));
    return malformed("IntOrString type " + std::to_string(type) + " is neither 0 (int) nor 1 (string)", f.offset, path);
  }

  // resource.Quantity {1: string}: parsed as ParseQuantity does and written in canonical form.
  Result<Json> quantity(const WireField& f, const std::string& path, std::string_view name) {
    if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
    Quantity q;
    WireReader r(f.bytes, f.payload_offset);
    while (!r.done()) {
      auto g = r.next();
      if (!g) return malformed(g.status(), path);
      if (g->number != 1) continue;
      if (auto st = expect(*g, WireType::kLengthDelimited, path, "string"); !st) return st;
      std::string error;
      auto parsed = Quantity::parse(g->bytes, &error);
      if (!parsed) {
        if (error.empty()) error = "not a quantity";
        return malformed("quantity " + dump_text(Json(valid_utf8(g->bytes))) + ": " + error, g->payload_offset, path);
      }
      q = *parsed;
    }
    return Json(q.to_string());
  }

  // metav1.Time / MicroTime {1: seconds, 2: nanos}; an empty message is the zero time.
  Result<Json> timestamp(const ValueType& vt, const WireField& f, const std::string& path, std::string_view name) {
    if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
    if (f.bytes.empty()) return Json(nullptr);
    std::int64_t seconds = 0;
    std::int32_t nanos = 0;
    WireReader r(f.bytes, f.payload_offset);
    while (!r.done()) {
      auto g = r.next();
      if (!g) return malformed(g.status(), path);
      if (g->number == 1) {
        if (auto st = expect(*g, WireType::kVarint, path, "seconds"); !st) return st;
        seconds = static_cast<std::int64_t>(g->value);
      } else if (g->number == 2) {
        if (auto st = expect(*g, WireType::kVarint, path, "nanos"); !st) return st;
        nanos = static_cast<std::int32_t>(static_cast<std::uint32_t>(g->value));
      }
    }
    auto t = go_time_json(seconds, nanos, vt.micro_time);
    if (!t) return malformed(t.status().message(), f.payload_offset, path);
    return t;
  }

  // metav1.Duration {1: int64 nanoseconds}.
  Result<Json> duration(const WireField& f, const std::string& path, std::string_view name) {
    if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
    std::int64_t nanos = 0;
    WireReader r(f.bytes, f.payload_offset);
    while (!r.done()) {
      auto g = r.next();
      if (!g) return malformed(g.status(), path);
      if (g->number != 1) continue;
      if (auto st = expect(*g, WireType::kVarint, path, "duration"); !st) return st;
      nanos = static_cast<std::int64_t>(g->value);
    }
    return Json(go_duration_string(nanos));
  }

  // runtime.RawExtension / metav1.FieldsV1 {1: raw}: the raw bytes are the JSON; none is null.
  Result<Json> raw_json(const WireField& f, const std::string& path, std::string_view name) {
    if (auto st = expect(f, WireType::kLengthDelimited, path, name); !st) return st;
    std::optional<WireField> raw;
    WireReader r(f.bytes, f.payload_offset);
    while (!r.done()) {
      auto g = r.next();
      if (!g) return malformed(g.status(), path);
      if (g->number != 1) continue;
      if (auto st = expect(*g, WireType::kLengthDelimited, path, "raw"); !st) return st;
      raw = *g;
    }
    if (!raw) return Json(nullptr);
    Json parsed = Json::parse(raw->bytes, nullptr, false);
    if (parsed.is_discarded())
      return malformed("raw bytes that are not JSON (Go cannot write them as JSON)", raw->payload_offset, path);
    return parsed;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// WireReader

Result<std::uint64_t> WireReader::varint() {
  const std::size_t start = pos_;
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return wire_error("truncated varint", base_ + start);
    auto b = static_cast<unsigned char>(data_[pos_++]);
    if (shift == 63 && b > 1) return wire_error("varint overflows 64 bits", base_ + start);
    v |= static_cast<std::uint64_t>(b & 0x7Fu) << shift;
    if ((b & 0x80u) == 0) return v;
  }
  return wire_error("varint overflows 64 bits", base_ + start);
}

Result<std::uint64_t> WireReader::fixed(std::size_t width) {
  if (data_.size() - pos_ < width)
    return wire_error("truncated " + std::to_string(width * 8) + "-bit value", base_ + pos_);
  std::uint64_t v = 0;
  for (std::size_t k = width; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(data_[pos_ + k]);
  pos_ += width;
  return v;
}

Result<WireField> WireReader::next() {
  WireField f;
  f.offset = base_ + pos_;
  auto tag = varint();
  if (!tag) return tag.status();
  const std::uint64_t number = *tag >> 3;
  const auto wire = static_cast<std::uint8_t>(*tag & 7u);
  if (number == 0 || number > 536'870'911)
    return wire_error("illegal field number " + std::to_string(number), f.offset);
  f.number = static_cast<std::uint32_t>(number);
  switch (wire) {
    case 0: {
      f.wire = WireType::kVarint;
      auto v = varint();
      if (!v) return v.status();
      f.value = *v;
      return f;
    }
    case 1:
    case 5: {
      f.wire = wire == 1 ? WireType::kFixed64 : WireType::kFixed32;
      auto v = fixed(wire == 1 ? 8 : 4);
      if (!v) return v.status();
      f.value = *v;
      return f;
    }
    case 2: {
      f.wire = WireType::kLengthDelimited;
      const std::size_t len_at = base_ + pos_;
      auto len = varint();
      if (!len) return len.status();
      if (*len > data_.size() - pos_)
        return wire_error("length " + std::to_string(*len) + " runs past the end of its message (" +
                              std::to_string(data_.size() - pos_) + " bytes left)",
                          len_at);
      f.payload_offset = base_ + pos_;
      f.bytes = data_.substr(pos_, static_cast<std::size_t>(*len));
      pos_ += static_cast<std::size_t>(*len);
      return f;
    }
    case 3: {
      f.wire = WireType::kStartGroup;
      f.payload_offset = base_ + pos_;
      auto g = group_body(f.number, f.offset);
      if (!g) return g.status();
      f.bytes = *g;
      return f;
    }
    case 4: return wire_error("end-group without a start-group", f.offset);
    default: break;
  }
  return wire_error("illegal wire type " + std::to_string(wire), f.offset);
}

Result<std::string_view> WireReader::group_body(std::uint32_t number, std::size_t start) {
  // Iterative: the nesting is only counted, never recursed on.
  const std::size_t body_start = pos_;
  std::size_t body_end = pos_;
  std::vector<std::uint32_t> open{number};
  while (!open.empty()) {
    body_end = pos_;
    if (done()) return wire_error("start-group without an end-group", start);
    const std::size_t at = base_ + pos_;
    auto tag = varint();
    if (!tag) return tag.status();
    const std::uint64_t n = *tag >> 3;
    const auto wire = static_cast<std::uint8_t>(*tag & 7u);
    if (n == 0 || n > 536'870'911) return wire_error("illegal field number " + std::to_string(n), at);
    switch (wire) {
      case 0:
        if (auto v = varint(); !v) return v.status();
        break;
      case 1:
      case 5:
        if (auto v = fixed(wire == 1 ? 8 : 4); !v) return v.status();
        break;
      case 2: {
        auto len = varint();
        if (!len) return len.status();
        if (*len > data_.size() - pos_) return wire_error("length runs past the end of its message", at);
        pos_ += static_cast<std::size_t>(*len);
        break;
      }
      case 3:
        if (open.size() >= static_cast<std::size_t>(kMaxDepth)) return wire_error("groups nested too deeply", at);
        open.push_back(static_cast<std::uint32_t>(n));
        break;
      case 4:
        if (open.back() != n) return wire_error("end-group for another group", at);
        open.pop_back();
        break;
      default: return wire_error("illegal wire type " + std::to_string(wire), at);
    }
  }
  return data_.substr(body_start, body_end - body_start);
}

// ---------------------------------------------------------------------------------------------
// Decoding

Result<ProtobufEnvelope> read_protobuf_envelope(std::string_view body) {
  if (body.empty()) return plugin::bad_request("the protobuf body is empty");
  if (body.size() < kMagic.size() || body.substr(0, kMagic.size()) != kMagic)
    return plugin::bad_request(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
  if (body.size() == kMagic.size()) return plugin::bad_request("the protobuf body is empty after its prefix");
  ProtobufEnvelope env;
  env.raw_offset = body.size();
  WireReader r(body.substr(kMagic.size()), kMagic.size());
  auto string_field = [](const WireField& f, std::string& into, std::string_view name) -> Status {
    if (f.wire != WireType::kLengthDelimited)
      return malformed("wrong wire type " + std::string(wire_name(f.wire)) + " for " + std::string(name), f.offset,
                       "the envelope");
    into = valid_utf8(f.bytes);
    return Status::ok();
  };
  while (!r.done()) {
    auto f = r.next();
    if (!f) return malformed(f.status(), "the envelope");
    switch (f->number) {
      case 1: {  // typeMeta
        if (f->wire != WireType::kLengthDelimited)
          return malformed("wrong wire type for typeMeta", f->offset, "the envelope");
        WireReader tm(f->bytes, f->payload_offset);
        while (!tm.done()) {
          auto g = tm.next();
          if (!g) return malformed(g.status(), "the envelope's typeMeta");
          Status st;
          if (g->number == 1) st = string_field(*g, env.api_version, "apiVersion");
          if (g->number == 2) st = string_field(*g, env.kind, "kind");
          if (!st) return st;
        }
        break;
      }
      case 2:
        if (f->wire != WireType::kLengthDelimited)
          return malformed("wrong wire type for raw", f->offset, "the envelope");
        env.raw = f->bytes;
        env.raw_offset = f->payload_offset;
        break;
      case 3:
        if (auto st = string_field(*f, env.content_encoding, "contentEncoding"); !st) return st;
        break;
      case 4:
        if (auto st = string_field(*f, env.content_type, "contentType"); !st) return st;
        break;
      default: break;
    }
  }
  return env;
}

Result<Json> decode_protobuf_message(const TypeSchema& schema, std::string_view data, std::size_t base_offset,
                                     std::string_view path) {
  try {
    Json out = Json::object();
    Decoder d;
    if (auto st = d.message(schema, data, base_offset, std::string(path), out, 0); !st) return st;
    finalize(schema, out);
    return out;
  } catch (const std::bad_alloc&) {
    return plugin::bad_request("the protobuf body is too large to decode");
  } catch (const std::exception& e) {
    return plugin::internal(std::string("decoding the protobuf body failed: ") + e.what());
  }
}

Result<Json> decode_protobuf_body(std::string_view body) {
  try {
    auto env = read_protobuf_envelope(body);
    if (!env) return env.status();
    if (env->kind.empty()) return plugin::bad_request("Object 'Kind' is missing in the protobuf body's envelope");
    if (env->api_version.empty())
      return plugin::bad_request("Object 'apiVersion' is missing in the protobuf body's envelope");
    std::string_view av = env->api_version;
    auto slash = av.find('/');
    std::string_view group = slash == std::string_view::npos ? std::string_view() : av.substr(0, slash);
    std::string_view version = slash == std::string_view::npos ? av : av.substr(slash + 1);
    const TypeSchema* schema = schema_for(group, version, env->kind);
    if (schema == nullptr)
      return Status(plugin::Code::kUnsupportedMediaType,
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json, application/yaml");
    auto obj = decode_protobuf_message(*schema, env->raw, env->raw_offset);
    if (!obj) return obj.status();
    (*obj)["apiVersion"] = env->api_version;
    (*obj)["kind"] = env->kind;
    return obj;
  } catch (const std::bad_alloc&) {
    return plugin::bad_request("the protobuf body is too large to decode");
  } catch (const std::exception& e) {
    return plugin::internal(std::string("decoding the protobuf body failed: ") + e.what());
  }
}

Result<Json> go_time_json(std::int64_t seconds, std::int64_t nanos, bool micro) {
  if (seconds > kMaxTimeSeconds || seconds < -kMaxTimeSeconds)
    return plugin::bad_request("timestamp seconds " + std::to_string(seconds) + " out of range");
  // Kubernetes keeps only whole seconds of a Time; a MicroTime's nanos are truncated toward zero.
  nanos = micro ? nanos - nanos % 1000 : 0;
  // time.Unix normalises the nanoseconds into [0, 1e9).
  seconds += nanos / kNanosPerSecond;
  nanos %= kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --seconds;
  }
  if (seconds == kGoZeroTimeUnix && nanos == 0) return Json(nullptr);
  std::int64_t days = seconds / 86400;
  std::int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t year = 0;
  int month = 0;
  int day = 0;
  civil_from_days(days, year, month, day);
  std::string out;
  append_padded(out, year, 4);  // as Go: at least 4 digits, a '-' before negative years
  out += '-';
  append_padded(out, month, 2);
  out += '-';
  append_padded(out, day, 2);
  out += 'T';
  append_padded(out, rem / 3600, 2);
  out += ':';
  append_padded(out, rem / 60 % 60, 2);
  out += ':';
  append_padded(out, rem % 60, 2);
  if (micro) {
    out += '.';
    append_padded(out, nanos / 1000, 6);
  }
  out += 'Z';
  return Json(std::move(out));
}

std::string go_duration_string(std::int64_t nanos) {
  if (nanos == 0) return "0s";
  const bool negative = nanos < 0;
  // The magnitude as unsigned, so that the most negative value does not overflow.
  std::uint64_t u = negative ? ~static_cast<std::uint64_t>(nanos) + 1 : static_cast<std::uint64_t>(nanos);
  // The digits of `frac` (the lowest `prec` decimal digits of a value) without trailing zeros.
  auto fraction = [](std::uint64_t frac, int prec) {
    if (frac == 0) return std::string();
    std::string digits(static_cast<std::size_t>(prec), '0');
    for (int k = prec - 1; k >= 0; --k, frac /= 10)
      digits[static_cast<std::size_t>(k)] = static_cast<char>('0' + frac % 10);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return "." + digits;
  };
  std::string out;
  if (u < 1'000'000'000) {
    if (u < 1'000) {
      out = std::to_string(u) + "ns";
    } else if (u < 1'000'000) {
      out = std::to_string(u / 1'000) + fraction(u % 1'000, 3) + "\xC2\xB5s";  // µs, U+00B5 as Go writes it
    } else {
      out = std::to_string(u / 1'000'000) + fraction(u % 1'000'000, 6) + "ms";
    }
  } else {
    out = fraction(u % 1'000'000'000, 9) + "s";
    u /= 1'000'000'000;
    out = std::to_string(u % 60) + out;
    u /= 60;
    if (u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return negative ? "-" + out : out;
}

}  // namespace skiff::kernel::api
