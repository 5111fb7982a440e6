// Cron schedules as Kubernetes' CronJob controller reads them (robfig/cron v3 ParseStandard and
// SpecSchedule.Next), and IANA time zones read from TZif files (GCC 12's libstdc++ has no
// std::chrono::tzdb).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::controllers::cronjob {

// A zone: offsets from UTC by instant. UTC when default-constructed.
class TimeZone {
 public:
  TimeZone() = default;
  // "UTC" / "Etc/UTC" work without files; anything else is read from `<dir>/<name>` (TZif v1-v4,
  // with the POSIX TZ footer for instants after the last transition). kInvalid names the zone.
  static plugin::Result<TimeZone> load(std::string_view name, std::string_view dir = "/usr/share/zoneinfo");

  const std::string& name() const noexcept { return name_; }
  // Seconds east of UTC at `unix_seconds`.
  std::int32_t offset_at(std::int64_t unix_seconds) const noexcept;

  // The POSIX TZ rule of a footer ("EST5EDT,M3.2.0,M11.1.0").
  struct Rule {
    int month = 0, week = 0, weekday = 0;  // Mm.w.d
    std::int32_t time = 7200;              // seconds after local midnight
  };
  struct Posix {
    std::int32_t std_offset = 0;  // seconds east of UTC
    std::int32_t dst_offset = 0;
    bool has_dst = false;
    Rule start, end;
  };
  static std::optional<Posix> parse_posix(std::string_view text);

 private:
  std::string name_ = "UTC";
  std::vector<std::int64_t> transitions_;  // ascending
  std::vector<std::int32_t> offsets_;      // offset from transitions_[i] on
  std::int32_t initial_offset_ = 0;        // before the first transition
  std::optional<Posix> footer_;
};

// A wall-clock time in a zone.
struct Civil {
  std::int64_t year = 1970;
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int weekday = 4;  // 0 = Sunday
};
Civil to_civil(std::int64_t unix_seconds, const TimeZone& zone);
// Go's time.Date: out-of-range fields normalise (month 13 is January of the next year, day 0 the last
// of the previous month); a wall time that a transition skips or repeats resolves as Go resolves it.
std::int64_t from_civil(std::int64_t year, int month, int day, int hour, int minute, int second, const TimeZone& zone);

// One bit per allowed value, bit 63 = the field was "*" or "?" (robfig's starBit: day-of-month and
// day-of-week are ANDed when either is a star, ORed otherwise).
struct Schedule {
  std::uint64_t second = 1, minute = 0, hour = 0, dom = 0, month = 0, dow = 0;
};
inline constexpr std::uint64_t kStarBit = 1ULL << 63;

// Five fields (minute hour day-of-month month day-of-week: numbers, ranges a-b, steps /n, lists,
// JAN-DEC, SUN-SAT, "*", "?") or @yearly @annually @monthly @weekly @daily @midnight @hourly.
// TZ= / CRON_TZ= prefixes are refused (Kubernetes wants spec.timeZone); so is @every.
plugin::Result<Schedule> parse_schedule(std::string_view spec);

// The first activation strictly after `unix_seconds`, judged on the wall clock of `zone`; nullopt if
// none within five years (for example "0 0 30 2 *").
std::optional<std::int64_t> next_after(const Schedule& schedule, const TimeZone& zone, std::int64_t unix_seconds);

// RFC 3339 with the zone's offset at that instant ("2026-11-23T09:00:00-05:00"; "Z" for UTC+0).
std::string format_in_zone(std::int64_t unix_seconds, const TimeZone& zone);

}  // namespace skiff::plugins::controllers::cronjob
