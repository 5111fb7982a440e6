// Kubernetes' protobuf request bodies (Content-Type: application/vnd.kubernetes.protobuf), which
// kubectl's typed-client commands send (`create namespace|configmap|secret|deployment|service|job|
// cronjob|serviceaccount|priorityclass`). They are decoded into the JSON that Kubernetes' own JSON
// encoding gives the same object, so the handler treats them exactly like JSON bodies.
//
// Body layout: the magic "k8s\0", then a runtime.Unknown message {1: typeMeta {1: apiVersion,
// 2: kind}, 2: raw (the object's message), 3: contentEncoding, 4: contentType}. The object's message
// is read with the field numbers of schema.hpp's table; the JSON follows Go's encoder over the Go
// types: omitempty drops zero scalars, nil slices and maps; pointers that are present are written even
// when zero; structs are always written (metav1.Time zero → null, Quantity zero → "0", IntOrString
// zero → 0); fields without omitempty are written as their zero value (or null).
//
// Nothing here throws; malformed input is a kBadRequest naming the byte offset (from the start of the
// body) and the field path in the strict decoder's format ("spec.template.spec.containers[0].ports").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kernel/api/schema.hpp"

namespace skiff::kernel::api {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

// Protobuf wire types.
enum class WireType : std::uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,  // deprecated groups: only ever skipped
  kEndGroup = 4,
  kFixed32 = 5,
};

// One field as it appears on the wire.
struct WireField {
  std::uint32_t number = 0;
  WireType wire = WireType::kVarint;
  std::uint64_t value = 0;         // kVarint, kFixed64, kFixed32 (little-endian bits)
  std::string_view bytes;          // kLengthDelimited: the payload; kStartGroup: the group's fields
  std::size_t offset = 0;          // of the tag, in the whole body
  std::size_t payload_offset = 0;  // of `bytes`, in the whole body
};

// Reads the fields of one message in order. A group (deprecated wire types 3 and 4; Kubernetes has
// none) is returned whole as one kStartGroup field, for the caller to skip. Errors say "at byte N"
// with N counted from the start of the body.
class WireReader {
 public:
  // `base_offset`: where `message` starts in the body.
  explicit WireReader(std::string_view message, std::size_t base_offset = 0) noexcept
      : data_(message), base_(base_offset) {}

  bool done() const noexcept { return pos_ >= data_.size(); }
  std::size_t offset() const noexcept { return base_ + pos_; }  // of the next byte to read
  Result<WireField> next();

  // Bare values, for the payload of a packed repeated field.
  Result<std::uint64_t> varint();
  Result<std::uint64_t> fixed(std::size_t width);  // 8 or 4 little-endian bytes

 private:
  Result<std::string_view> group_body(std::uint32_t number, std::size_t start);

  std::string_view data_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
};

// The runtime.Unknown envelope of a body.
struct ProtobufEnvelope {
  std::string api_version;     // "apps/v1"
  std::string kind;            // "Deployment"
  std::string_view raw;        // the object's message
  std::size_t raw_offset = 0;  // where `raw` starts in the body
  std::string content_encoding;
  std::string content_type;
};
Result<ProtobufEnvelope> read_protobuf_envelope(std::string_view body);

// The message `data` (of type `schema`) as Go's JSON encoder writes the decoded Go struct. Top-level
// TypeMeta fields (JSON-only) are not set. `base_offset` and `path` place `data` in the body for errors.
Result<Json> decode_protobuf_message(const TypeSchema& schema, std::string_view data, std::size_t base_offset = 0,
                                     std::string_view path = {});

// The whole body: the object with apiVersion and kind from the envelope. kUnsupportedMediaType when
// the envelope names a kind without a schema (Kubernetes' 415 wording); kBadRequest when malformed.
Result<Json> decode_protobuf_body(std::string_view body);

// Formatting as the Go types marshal to JSON, exposed for tests.
// metav1.Time (whole seconds: Kubernetes drops the nanos) and metav1.MicroTime (nanos truncated to
// microseconds, 6 fraction digits), from a protobuf Timestamp; Go's zero time is null. kBadRequest
// beyond about ±31 million years, where Go's own arithmetic would overflow.
Result<Json> go_time_json(std::int64_t seconds, std::int64_t nanos, bool micro);
// time.Duration.String(): "0s", "1.5s", "1h0m0s", "300ms", "1µs", "-2m3s".
std::string go_duration_string(std::int64_t nanos);

}  // namespace skiff::kernel::api
