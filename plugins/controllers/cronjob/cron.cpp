#include "cron.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <utility>

namespace skiff::plugins::controllers::cronjob {
namespace {

// ---- civil calendar (proleptic Gregorian, days since 1970-01-01) ----

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = floor_div(y, 400);
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = floor_div(z, 146097);
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

int days_in_month(std::int64_t y, int m) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Local seconds (since the epoch, on the wall clock) of a POSIX Mm.w.d rule in `year`.
std::int64_t rule_local(std::int64_t year, const TimeZone::Rule& r) {
  std::int64_t first = days_from_civil(year, r.month, 1);
  int first_wday = static_cast<int>(((first % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  int day = 1 + (r.weekday - first_wday + 7) % 7 + (r.week - 1) * 7;
  while (day > days_in_month(year, r.month)) day -= 7;
  return (first + day - 1) * 86400 + r.time;
}

// ---- TZif ----

std::int64_t be(const std::string& data, std::size_t pos, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[pos + static_cast<std::size_t>(i)]);
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// POSIX TZ pieces. Each returns false on a malformed part.
bool posix_name(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    auto close = s.find('>');
    if (close == std::string_view::npos) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  std::size_t n = 0;
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}
bool posix_time(std::string_view& s, std::int32_t& out) {  // [+-]h[:mm[:ss]]
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  std::int32_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    std::size_t n = 0;
    std::int32_t v = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
    if (n == 0) return false;
    parts[i] = v;
    s.remove_prefix(n);
    if (s.empty() || s[0] != ':' || i == 2) break;
    s.remove_prefix(1);
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}
bool posix_rule(std::string_view& s, TimeZone::Rule& r) {  // Mm.w.d[/time]
  if (s.empty() || s[0] != 'M') return false;  // the Jn and n forms are not used by tzdata
  s.remove_prefix(1);
  int values[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    std::size_t n = 0;
    int v = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
    if (n == 0) return false;
    values[i] = v;
    s.remove_prefix(n);
    if (i < 2) {
      if (s.empty() || s[0] != '.') return false;
      s.remove_prefix(1);
    }
  }
  r.month = values[0];
  r.week = values[1];
  r.weekday = values[2];
  if (r.month < 1 || r.month > 12 || r.week < 1 || r.week > 5 || r.weekday > 6) return false;
  r.time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!posix_time(s, r.time)) return false;
  }
  return true;
}

// ---- cron fields ----

struct Bounds {
  unsigned min, max;
  const std::array<std::string_view, 13>* names;  // index = value
};
constexpr std::array<std::string_view, 13> kMonths{"", "jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 13> kDays{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

plugin::Status number(std::string_view s, const Bounds& b, unsigned& out) {
  if (b.names != nullptr) {
    std::string lower(s);
    for (auto& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    for (unsigned v = 0; v < b.names->size(); ++v)
      if (!(*b.names)[v].empty() && (*b.names)[v] == lower) {
        out = v;
        return plugin::Status::ok();
      }
  }
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return plugin::invalid("failed to parse int from " + std::string(s));
  out = static_cast<unsigned>(std::stoul(std::string(s)));
  return plugin::Status::ok();
}

// One comma-separated part: "*", "?", "a", "a-b", each optionally "/step".
plugin::Status range(std::string_view expr, const Bounds& b, std::uint64_t& bits) {
  std::string_view body = expr, step_text;
  if (auto slash = expr.find('/'); slash != std::string_view::npos) {
    body = expr.substr(0, slash);
    step_text = expr.substr(slash + 1);
    if (step_text.find('/') != std::string_view::npos) return plugin::invalid("too many slashes: " + std::string(expr));
  }
  unsigned start = 0, end = 0, step = 1;
  std::uint64_t extra = 0;
  bool single = false;
  if (body == "*" || body == "?") {
    start = b.min;
    end = b.max;
    extra = kStarBit;
  } else {
    auto dash = body.find('-');
    if (auto s = number(body.substr(0, dash), b, start); !s) return s;
    if (dash == std::string_view::npos) {
      end = start;
      single = true;
    } else {
      std::string_view high = body.substr(dash + 1);
      if (high.find('-') != std::string_view::npos) return plugin::invalid("too many hyphens: " + std::string(expr));
      if (auto s = number(high, b, end); !s) return s;
    }
  }
  if (!step_text.empty() || expr.find('/') != std::string_view::npos) {
    if (auto s = number(step_text, Bounds{0, 0, nullptr}, step); !s) return s;
    if (single) end = b.max;  // "N/step" means N-max/step
    if (step > 1) extra = 0;
  }
  if (start < b.min || end > b.max || start > end)
    return plugin::invalid("range " + std::string(expr) + " is outside [" + std::to_string(b.min) + ", " +
                           std::to_string(b.max) + "] or reversed");
  if (step == 0) return plugin::invalid("step of range should be a positive number: " + std::string(expr));
  for (unsigned v = start; v <= end; v += step) bits |= 1ULL << v;
  bits |= extra;
  return plugin::Status::ok();
}

plugin::Status field(std::string_view text, const Bounds& b, std::uint64_t& bits) {
  bits = 0;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t comma = text.find(',', start);
    std::string_view part = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (auto s = range(part, b, bits); !s) return s;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return plugin::Status::ok();
}

bool day_matches(const Schedule& s, const Civil& c) {
  bool dom = (s.dom & (1ULL << c.day)) != 0;
  bool dow = (s.dow & (1ULL << c.weekday)) != 0;
  if ((s.dom & kStarBit) != 0 || (s.dow & kStarBit) != 0) return dom && dow;
  return dom || dow;
}

}  // namespace

// ---- TimeZone ----

plugin::Result<TimeZone> TimeZone::load(std::string_view name, std::string_view dir) {
  TimeZone zone;
  zone.name_ = std::string(name);
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return zone;
  // Names are relative paths inside the zoneinfo directory, as Go's LoadLocation requires.
  if (name.front() == '/' || name.find("..") != std::string_view::npos)
    return plugin::invalid("unknown time zone " + std::string(name));
  std::ifstream in(std::string(dir) + "/" + std::string(name), std::ios::binary);
  if (!in) return plugin::invalid("unknown time zone " + std::string(name));
  std::string data{std::istreambuf_iterator<char>(in), {}};
  auto bad = [&] { return plugin::invalid("time zone " + std::string(name) + ": not a TZif file"); };
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return bad();
  auto counts = [&](std::size_t at, std::array<std::int64_t, 6>& c) {
    if (data.size() < at + 44) return false;
    for (std::size_t i = 0; i < 6; ++i) c[i] = be(data, at + 20 + i * 4, 4);
    return std::all_of(c.begin(), c.end(), [](std::int64_t v) { return v >= 0; });
  };
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  std::array<std::int64_t, 6> c{};
  if (!counts(0, c)) return bad();
  std::size_t at = 44;
  int time_size = 4;
  if (data[4] >= '2') {  // skip the 32-bit block; read the 64-bit one
    at += static_cast<std::size_t>(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (!counts(at, c)) return bad();
    at += 44;
    time_size = 8;
  }
  const auto timecnt = static_cast<std::size_t>(c[3]), typecnt = static_cast<std::size_t>(c[4]);
  std::size_t need = timecnt * static_cast<std::size_t>(time_size + 1) + typecnt * 6 + static_cast<std::size_t>(c[5]) +
                     static_cast<std::size_t>(c[2]) * static_cast<std::size_t>(time_size + 4) +
                     static_cast<std::size_t>(c[1] + c[0]);
  if (typecnt == 0 || data.size() < at + need) return bad();
  std::vector<std::int32_t> type_offsets(typecnt);
  std::vector<bool> type_dst(typecnt);
  std::size_t types_at = at + timecnt * static_cast<std::size_t>(time_size + 1);
  for (std::size_t i = 0; i < typecnt; ++i) {
    type_offsets[i] = static_cast<std::int32_t>(be(data, types_at + i * 6, 4));
    type_dst[i] = data[types_at + i * 6 + 4] != 0;
  }
  for (std::size_t i = 0; i < timecnt; ++i) {
    auto type = static_cast<unsigned char>(data[at + timecnt * static_cast<std::size_t>(time_size) + i]);
    if (type >= typecnt) return bad();
    zone.transitions_.push_back(be(data, at + i * static_cast<std::size_t>(time_size), time_size));
    zone.offsets_.push_back(type_offsets[type]);
  }
  // Before the first transition: the first standard-time type (Go's lookupFirstZone, simplified).
  zone.initial_offset_ = type_offsets[0];
  for (std::size_t i = 0; i < typecnt; ++i)
    if (!type_dst[i]) {
      zone.initial_offset_ = type_offsets[i];
      break;
    }
  if (time_size == 8) {
    std::size_t footer = at + need;
    if (footer < data.size() && data[footer] == '\n') {
      std::size_t close = data.find('\n', footer + 1);
      if (close != std::string::npos) zone.footer_ = parse_posix(std::string_view(data).substr(footer + 1, close - footer - 1));
    }
  }
  return zone;
}

std::optional<TimeZone::Posix> TimeZone::parse_posix(std::string_view s) {
  Posix p;
  std::int32_t west = 0;
  if (!posix_name(s) || !posix_time(s, west)) return std::nullopt;
  p.std_offset = -west;
  if (s.empty()) return p;
  if (!posix_name(s)) return std::nullopt;
  p.has_dst = true;
  p.dst_offset = p.std_offset + 3600;
  if (!s.empty() && s[0] != ',') {
    if (!posix_time(s, west)) return std::nullopt;
    p.dst_offset = -west;
  }
  if (s.empty() || s[0] != ',') return std::nullopt;
  s.remove_prefix(1);
  if (!posix_rule(s, p.start) || s.empty() || s[0] != ',') return std::nullopt;
  s.remove_prefix(1);
  if (!posix_rule(s, p.end) || !s.empty()) return std::nullopt;
  return p;
}

std::int32_t TimeZone::offset_at(std::int64_t t) const noexcept {
  if (transitions_.empty() && !footer_) return initial_offset_;
  if (!transitions_.empty() && t < transitions_.front()) return initial_offset_;
  if (footer_ && (transitions_.empty() || t >= transitions_.back())) {
    const Posix& p = *footer_;
    if (!p.has_dst) return p.std_offset;
    std::int64_t year = 0;
    int m = 0, d = 0;
    civil_from_days(floor_div(t + p.std_offset, 86400), year, m, d);
    // The start rule's time is in standard time, the end rule's in daylight time.
    std::int64_t start = rule_local(year, p.start) - p.std_offset;
    std::int64_t end = rule_local(year, p.end) - p.dst_offset;
    bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
    return dst ? p.dst_offset : p.std_offset;
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  return offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

// ---- civil time in a zone ----

Civil to_civil(std::int64_t t, const TimeZone& zone) {
  std::int64_t local = t + zone.offset_at(t);
  std::int64_t days = floor_div(local, 86400);
  std::int64_t secs = local - days * 86400;
  Civil c;
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);
  return c;
}

std::int64_t from_civil(std::int64_t year, int month, int day, int hour, int minute, int second, const TimeZone& zone) {
  std::int64_t m0 = month - 1;
  year += floor_div(m0, 12);
  m0 -= floor_div(m0, 12) * 12;
  std::int64_t local = (days_from_civil(year, static_cast<int>(m0) + 1, 1) + day - 1) * 86400 +
                       static_cast<std::int64_t>(hour) * 3600 + minute * 60 + second;
  // Go: take the offset in force at `local` read as UTC; if `local - offset` falls outside that
  // offset's period, use the offset in force at `local - offset` instead.
  std::int32_t offset = zone.offset_at(local);
  std::int64_t utc = local - offset;
  if (zone.offset_at(utc) != offset) offset = zone.offset_at(utc);
  return local - offset;
}

std::string format_in_zone(std::int64_t t, const TimeZone& zone) {
  Civil c = to_civil(t, zone);
  std::int32_t offset = zone.offset_at(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(c.year), c.month, c.day,
                c.hour, c.minute, c.second);
  std::string out = buf;
  if (offset == 0) return out + "Z";
  std::int32_t a = offset < 0 ? -offset : offset;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
  return out + buf;
}

// ---- schedules ----

plugin::Result<Schedule> parse_schedule(std::string_view spec) {
  while (!spec.empty() && (spec.front() == ' ' || spec.front() == '\t')) spec.remove_prefix(1);
  while (!spec.empty() && (spec.back() == ' ' || spec.back() == '\t')) spec.remove_suffix(1);
  if (spec.empty()) return plugin::invalid("empty spec string");
  if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ="))
    return plugin::invalid("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  Schedule s;
  if (spec.front() == '@') {
    static const std::array<std::pair<std::string_view, std::string_view>, 7> kDescriptors{{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    for (const auto& [name, fields] : kDescriptors)
      if (spec == name) return parse_schedule(fields);
    return plugin::invalid("unsupported descriptor: " + std::string(spec));
  }
  std::vector<std::string_view> fields;
  for (std::size_t i = 0; i < spec.size();) {
    while (i < spec.size() && (spec[i] == ' ' || spec[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < spec.size() && spec[i] != ' ' && spec[i] != '\t') ++i;
    if (i > start) fields.push_back(spec.substr(start, i - start));
  }
  if (fields.size() != 5)
    return plugin::invalid("expected exactly 5 fields, found " + std::to_string(fields.size()) + ": " + std::string(spec));
  const Bounds bounds[5] = {{0, 59, nullptr}, {0, 23, nullptr}, {1, 31, nullptr}, {1, 12, &kMonths}, {0, 6, &kDays}};
  std::uint64_t* targets[5] = {&s.minute, &s.hour, &s.dom, &s.month, &s.dow};
  for (std::size_t i = 0; i < 5; ++i)
    if (auto st = field(fields[i], bounds[i], *targets[i]); !st) return st;
  s.second = 1;
  return s;
}

// robfig/cron v3 SpecSchedule.Next, on whole seconds.
std::optional<std::int64_t> next_after(const Schedule& s, const TimeZone& zone, std::int64_t from) {
  std::int64_t t = from + 1;
  bool added = false;
  const std::int64_t year_limit = to_civil(t, zone).year + 5;
  auto bit = [](std::uint64_t bits, int v) { return (bits & (1ULL << v)) != 0; };
wrap:
  Civil c = to_civil(t, zone);
  if (c.year > year_limit) return std::nullopt;
  while (!bit(s.month, c.month)) {
    if (!added) {
      added = true;
      t = from_civil(c.year, c.month, 1, 0, 0, 0, zone);
      c = to_civil(t, zone);
    }
    t = from_civil(c.year, c.month + 1, c.day, c.hour, c.minute, c.second, zone);
    c = to_civil(t, zone);
    if (c.month == 1) goto wrap;
  }
  while (!day_matches(s, c)) {
    if (!added) {
      added = true;
      t = from_civil(c.year, c.month, c.day, 0, 0, 0, zone);
      c = to_civil(t, zone);
    }
    t = from_civil(c.year, c.month, c.day + 1, c.hour, c.minute, c.second, zone);
    c = to_civil(t, zone);
    // A transition at midnight can leave the day at 23:00 or 01:00: back to its midnight.
    if (c.hour != 0) {
      t += c.hour > 12 ? static_cast<std::int64_t>(24 - c.hour) * 3600 : -static_cast<std::int64_t>(c.hour) * 3600;
      c = to_civil(t, zone);
    }
    if (c.day == 1) goto wrap;
  }
  while (!bit(s.hour, c.hour)) {
    if (!added) {
      added = true;
      t = from_civil(c.year, c.month, c.day, c.hour, 0, 0, zone);
    }
    t += 3600;
    c = to_civil(t, zone);
    if (c.hour == 0) goto wrap;
  }
  while (!bit(s.minute, c.minute)) {
    if (!added) {
      added = true;
      t -= ((t % 60) + 60) % 60;
    }
    t += 60;
    c = to_civil(t, zone);
    if (c.minute == 0) goto wrap;
  }
  while (!bit(s.second, c.second)) {
    if (!added) added = true;
    t += 1;
    c = to_civil(t, zone);
    if (c.second == 0) goto wrap;
  }
  return t;
}

}  // namespace skiff::plugins::controllers::cronjob
