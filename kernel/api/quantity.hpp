// Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G", "1e3"), as resource.Quantity parses,
// compares and prints them (k8s.io/apimachinery/pkg/api/resource).
//
// A quantity is held exactly in units of 10^-9 (nano), in 128 bits: every value Kubernetes accepts in
// practice fits (up to about 1.7e29 units); finer fractions are rounded up to 1n, as Kubernetes does.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::kernel::api {

class Quantity {
 public:
  // How the quantity was written; the canonical text keeps the family.
  enum class Format : std::uint8_t { kDecimalSI, kBinarySI, kDecimalExponent };

  Quantity() = default;
  static Quantity from_milli(std::int64_t milli, Format format = Format::kDecimalSI);
  static Quantity from_value(std::int64_t value, Format format = Format::kDecimalSI);

  // nullopt on bad syntax; `error` (if given) then gets Kubernetes' message, for example
  // "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".
  static std::optional<Quantity> parse(std::string_view text, std::string* error = nullptr);
  // A JSON quantity: a string, or a number as Kubernetes also accepts ("cpu: 1").
  static std::optional<Quantity> from_json(const nlohmann::json& value, std::string* error = nullptr);

  // Rounded up to a whole unit / a whole thousandth, as Value() and MilliValue() do; saturating.
  std::int64_t value() const noexcept;
  std::int64_t milli_value() const noexcept;

  int compare(const Quantity& other) const noexcept;  // <0, 0, >0
  bool is_zero() const noexcept { return nanos_ == 0; }
  bool is_negative() const noexcept { return nanos_ < 0; }
  Format format() const noexcept { return format_; }

  Quantity& operator+=(const Quantity& other) noexcept;
  friend Quantity operator+(Quantity a, const Quantity& b) noexcept { return a += b; }
  friend bool operator==(const Quantity& a, const Quantity& b) noexcept { return a.compare(b) == 0; }
  friend bool operator<(const Quantity& a, const Quantity& b) noexcept { return a.compare(b) < 0; }

  // Canonical text, as Quantity.String() prints it: "500m", "1Gi", "1536Mi", "1e3", "0".
  std::string to_string() const;

 private:
  __extension__ using Int128 = __int128;  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet
  Int128 nanos_ = 0;
  Format format_ = Format::kDecimalSI;
};

// The same as Quantity::parse, under the name the scheduler looks for.
inline std::optional<Quantity> parse_quantity(std::string_view text) { return Quantity::parse(text); }

}  // namespace skiff::kernel::api
