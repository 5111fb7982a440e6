#include "kernel/api/quantity.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

namespace skiff::kernel::api {
namespace {

__extension__ using Int128 = __int128;

constexpr std::string_view kFormatWrong =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr std::string_view kSuffixWrong = "unable to parse quantity's suffix";
constexpr std::string_view kTooLarge = "quantity is too large";

// Beyond this the next digit could overflow 128 bits.
constexpr Int128 kDigitLimit = static_cast<Int128>(1000000000000000000LL) * static_cast<Int128>(1000000000000000000LL);
constexpr Int128 kNano = 1000000000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Int128 pow10(int n) {
  Int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// a * b, false on overflow (both non-negative).
bool mul(Int128 a, Int128 b, Int128& out) {
  if (a != 0 && b > (std::numeric_limits<Int128>::max)() / a) return false;
  out = a * b;
  return true;
}

Int128 ceil_div(Int128 a, Int128 b) { return a / b + (a % b != 0 ? 1 : 0); }  // a >= 0, b > 0

struct Parts {
  bool positive = true;
  std::string_view num, denom, suffix;
};

// The grammar of resource.parseQuantityString: sign, digits, optional '.' digits, suffix letters,
// optional signed exponent digits. Anything left over is a format error.
bool split(std::string_view s, Parts& p) {
  std::size_t pos = 0;
  const std::size_t end = s.size();
  if (pos < end && (s[0] == '-' || s[0] == '+')) {
    p.positive = s[0] != '-';
    ++pos;
  }
  while (pos < end && s[pos] == '0') ++pos;
  if (pos >= end) {
    p.num = "0";
    return true;
  }
  std::size_t start = pos;
  while (pos < end && is_digit(s[pos])) ++pos;
  p.num = s.substr(start, pos - start);
  if (p.num.empty()) p.num = "0";
  if (pos < end && s[pos] == '.') {
    ++pos;
    start = pos;
    while (pos < end && is_digit(s[pos])) ++pos;
    p.denom = s.substr(start, pos - start);
  }
  const std::size_t suffix_start = pos;
  while (pos < end && std::string_view("eEinumkKMGTP").find(s[pos]) != std::string_view::npos) ++pos;
  if (pos < end && (s[pos] == '-' || s[pos] == '+')) ++pos;
  while (pos < end && is_digit(s[pos])) ++pos;
  if (pos != end) return false;
  p.suffix = s.substr(suffix_start);
  return true;
}

// base 10 or 2, exponent, format.
bool interpret_suffix(std::string_view suffix, int& base, int& exponent, Quantity::Format& format) {
  static constexpr std::pair<std::string_view, int> kDecimal[] = {{"", 0},  {"n", -9}, {"u", -6}, {"m", -3}, {"k", 3},
                                                                  {"M", 6}, {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  static constexpr std::pair<std::string_view, int> kBinary[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                                 {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  for (const auto& [s, e] : kDecimal)
    if (suffix == s) {
      base = 10, exponent = e, format = Quantity::Format::kDecimalSI;
      return true;
    }
  for (const auto& [s, e] : kBinary)
    if (suffix == s) {
      base = 2, exponent = e, format = Quantity::Format::kBinarySI;
      return true;
    }
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::string_view digits = suffix.substr(1);
    bool negative = false;
    if (digits[0] == '-' || digits[0] == '+') {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (digits.empty() || digits.size() > 6) return false;
    int e = 0;
    for (char c : digits) {
      if (!is_digit(c)) return false;
      e = e * 10 + (c - '0');
    }
    base = 10, exponent = negative ? -e : e, format = Quantity::Format::kDecimalExponent;
    return true;
  }
  return false;
}

std::string int128_text(Int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  std::string out;
  while (v != 0) {
    int digit = static_cast<int>(v % 10);
    out += static_cast<char>('0' + (digit < 0 ? -digit : digit));
    v /= 10;
  }
  if (negative) out += '-';
  std::reverse(out.begin(), out.end());
  return out;
}

std::int64_t saturate(Int128 v) {
  if (v > std::numeric_limits<std::int64_t>::max()) return std::numeric_limits<std::int64_t>::max();
  if (v < std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(v);
}

// Rounds toward +infinity: ceil(v / d) for any sign of v, d > 0.
Int128 ceil_signed(Int128 v, Int128 d) {
  Int128 q = v / d;
  if (v % d != 0 && v > 0) ++q;
  return q;
}

void set_error(std::string* error, std::string_view message) {
  if (error) *error = std::string(message);
}

}  // namespace

Quantity Quantity::from_milli(std::int64_t milli, Format format) {
  Quantity q;
  q.nanos_ = static_cast<Int128>(milli) * 1000000;
  q.format_ = format;
  return q;
}

Quantity Quantity::from_value(std::int64_t value, Format format) {
  Quantity q;
  q.nanos_ = static_cast<Int128>(value) * kNano;
  q.format_ = format;
  return q;
}

std::optional<Quantity> Quantity::parse(std::string_view text, std::string* error) {
  if (text.empty()) {
    set_error(error, kFormatWrong);
    return std::nullopt;
  }
  Parts parts;
  if (!split(text, parts)) {
    set_error(error, kFormatWrong);
    return std::nullopt;
  }
  int base = 10, exponent = 0;
  Format format = Format::kDecimalSI;
  if (!interpret_suffix(parts.suffix, base, exponent, format)) {
    set_error(error, kSuffixWrong);
    return std::nullopt;
  }

  // digits = mantissa * 10^-scale; digits past 128-bit precision only matter for rounding up.
  Int128 digits = 0;
  int scale = 0;
  bool inexact = false;
  for (char c : parts.num) {
    if (digits >= kDigitLimit) {
      set_error(error, kTooLarge);
      return std::nullopt;
    }
    digits = digits * 10 + (c - '0');
  }
  for (char c : parts.denom) {
    if (digits >= kDigitLimit) {
      if (c != '0') inexact = true;
      continue;
    }
    digits = digits * 10 + (c - '0');
    ++scale;
  }

  Int128 nanos = 0;
  if (base == 10) {
    int p = exponent + 9 - scale;  // nanos = digits * 10^p
    if (p >= 0) {
      if (p > 38 || !mul(digits, pow10(p), nanos)) {
        if (digits != 0) {
          set_error(error, kTooLarge);
          return std::nullopt;
        }
        nanos = 0;
      }
      if (inexact) ++nanos;
    } else {
      nanos = -p > 38 ? (digits != 0 ? 1 : 0) : ceil_div(digits, pow10(-p));
      if (inexact && nanos == 0) nanos = 1;
    }
  } else {
    Int128 scaled = 0;  // digits * 2^exponent, then to nanos
    if (!mul(digits, static_cast<Int128>(1) << exponent, scaled)) {
      set_error(error, kTooLarge);
      return std::nullopt;
    }
    int p = 9 - scale;
    if (p >= 0) {
      if (!mul(scaled, pow10(p), nanos)) {
        set_error(error, kTooLarge);
        return std::nullopt;
      }
    } else {
      nanos = -p > 38 ? (scaled != 0 ? 1 : 0) : ceil_div(scaled, pow10(-p));
    }
    if (inexact && nanos == 0) nanos = 1;
  }

  Quantity q;
  q.nanos_ = parts.positive ? nanos : -nanos;
  q.format_ = format;
  return q;
}

std::optional<Quantity> Quantity::from_json(const nlohmann::json& value, std::string* error) {
  if (value.is_string()) return parse(value.get_ref<const std::string&>(), error);
  if (value.is_number_integer()) return parse(value.dump(), error);
  if (value.is_number_float()) return parse(value.dump(), error);
  set_error(error, kFormatWrong);
  return std::nullopt;
}

std::int64_t Quantity::value() const noexcept { return saturate(ceil_signed(nanos_, kNano)); }

std::int64_t Quantity::milli_value() const noexcept { return saturate(ceil_signed(nanos_, 1000000)); }

int Quantity::compare(const Quantity& other) const noexcept {
  if (nanos_ < other.nanos_) return -1;
  if (nanos_ > other.nanos_) return 1;
  return 0;
}

Quantity& Quantity::operator+=(const Quantity& other) noexcept {
  nanos_ += other.nanos_;
  return *this;
}

std::string Quantity::to_string() const {
  if (nanos_ == 0) return "0";
  const Int128 magnitude = nanos_ < 0 ? -nanos_ : nanos_;
  const std::string sign = nanos_ < 0 ? "-" : "";

  if (format_ == Format::kBinarySI && magnitude % kNano == 0 && magnitude / kNano >= 1024) {
    static constexpr std::string_view kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    Int128 v = magnitude / kNano;
    std::size_t i = 0;
    while (i + 1 < std::size(kSuffixes) && v % 1024 == 0) {
      v /= 1024;
      ++i;
    }
    return sign + int128_text(v) + std::string(kSuffixes[i]);
  }

  // Decimal: the largest exponent (a multiple of 3) that leaves a whole mantissa.
  static constexpr std::pair<int, std::string_view> kSI[] = {{18, "E"}, {15, "P"}, {12, "T"}, {9, "G"},  {6, "M"},
                                                             {3, "k"},  {0, ""},   {-3, "m"}, {-6, "u"}, {-9, "n"}};
  for (const auto& [e, suffix] : kSI) {
    Int128 unit = pow10(e + 9);
    if (magnitude % unit != 0) continue;
    std::string mantissa = int128_text(magnitude / unit);
    if (format_ == Format::kDecimalExponent) return sign + mantissa + (e == 0 ? "" : "e" + std::to_string(e));
    return sign + mantissa + std::string(suffix);
  }
  return sign + int128_text(magnitude) + "n";
}

}  // namespace skiff::kernel::api
