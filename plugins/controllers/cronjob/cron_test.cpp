// Cron schedules and time zones, table-driven: next_after() against hand-checked answers, including
// the DST behaviour of robfig/cron (Kubernetes' parser): a time inside a spring-forward gap is
// skipped that day, a time inside a fall-back overlap runs twice.
#include <gtest/gtest.h>

#include <fstream>

#include "cron.hpp"
#include "skiff/plugin/time.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

using namespace plugins::controllers::cronjob;

std::int64_t at(const char* rfc3339) {
  auto t = plugin::parse_rfc3339(rfc3339);
  if (!t) throw std::runtime_error(std::string("bad time in test: ") + rfc3339);
  return *t / 1000;
}

TimeZone zone(const char* name) {
  auto z = TimeZone::load(name);
  if (!z) throw std::runtime_error(z.status().message());
  return *z;
}

struct NextCase {
  const char* spec;
  const char* tz;
  const char* from;
  const char* want;  // format_in_zone of the answer; "" = none within five years
};

TEST(CronNext, Table) {
  const NextCase cases[] = {
      {"* * * * *", "UTC", "2026-11-18T11:06:40Z", "2026-11-18T11:07:00Z"},
      {"*/5 * * * *", "UTC", "2026-11-18T11:06:40Z", "2026-11-18T11:10:00Z"},
      {"*/5 * * * *", "UTC", "2026-11-18T11:10:00Z", "2026-11-18T11:15:00Z"},
      {"0 9 * * 1-5", "UTC", "2026-11-21T10:00:00Z", "2026-11-23T09:00:00Z"},  // Saturday → Monday
      {"0 0 1 JAN *", "UTC", "2026-11-18T11:06:40Z", "2027-01-01T00:00:00Z"},
      {"30 4 1,15 * *", "UTC", "2026-11-18T11:06:40Z", "2026-12-01T04:30:00Z"},
      {"0 12 * * SUN", "UTC", "2026-11-23T00:00:00Z", "2026-11-29T12:00:00Z"},
      {"0 12 * * sun", "UTC", "2026-11-23T00:00:00Z", "2026-11-29T12:00:00Z"},
      {"@hourly", "UTC", "2026-11-18T11:06:40Z", "2026-11-18T12:00:00Z"},
      {"@daily", "UTC", "2026-11-18T11:06:40Z", "2026-11-19T00:00:00Z"},
      {"@midnight", "UTC", "2026-11-18T11:06:40Z", "2026-11-19T00:00:00Z"},
      {"@weekly", "UTC", "2026-11-18T11:06:40Z", "2026-11-22T00:00:00Z"},
      {"@monthly", "UTC", "2026-11-18T11:06:40Z", "2026-12-01T00:00:00Z"},
      {"@yearly", "UTC", "2026-11-18T11:06:40Z", "2027-01-01T00:00:00Z"},
      {"@annually", "UTC", "2026-11-18T11:06:40Z", "2027-01-01T00:00:00Z"},
      // Day-of-month and day-of-week both restricted: either matches (the 13th, or any Friday).
      {"0 0 13 * FRI", "UTC", "2026-11-18T11:06:40Z", "2026-11-20T00:00:00Z"},
      // "?" is a star: then both must match, and "?" matches every day.
      {"0 0 13 * ?", "UTC", "2026-11-18T11:06:40Z", "2026-12-13T00:00:00Z"},
      {"15-45/15 * * * *", "UTC", "2026-11-18T11:06:40Z", "2026-11-18T11:15:00Z"},
      {"15-45/15 * * * *", "UTC", "2026-11-18T11:45:00Z", "2026-11-18T12:15:00Z"},
      {"5/20 * * * *", "UTC", "2026-11-18T11:06:40Z", "2026-11-18T11:25:00Z"},  // N/step = N-59/step
      {"0 0 * jan-mar/2 *", "UTC", "2026-11-18T11:06:40Z", "2027-01-01T00:00:00Z"},
      {"0 0 29 2 *", "UTC", "2026-11-18T11:06:40Z", "2028-02-29T00:00:00Z"},
      {"0 0 30 2 *", "UTC", "2026-11-18T11:06:40Z", ""},
      {"0 22 * * 6,0", "UTC", "2026-11-18T11:06:40Z", "2026-11-21T22:00:00Z"},
      // Time zones.
      {"0 9 * * *", "America/New_York", "2026-11-18T11:06:40Z", "2026-11-18T09:00:00-05:00"},
      {"0 9 * * *", "America/New_York", "2026-07-01T12:00:00Z", "2026-07-01T09:00:00-04:00"},
      {"0 9 * * *", "America/New_York", "2026-07-01T13:00:00Z", "2026-07-02T09:00:00-04:00"},
      {"0 9 * * *", "Asia/Kolkata", "2026-11-18T11:06:40Z", "2026-11-19T09:00:00+05:30"},
      {"@daily", "Asia/Kolkata", "2026-11-18T11:06:40Z", "2026-11-19T00:00:00+05:30"},
      {"0 0 * * *", "Europe/London", "2026-11-18T11:06:40Z", "2026-11-19T00:00:00Z"},
      // Spring forward, New York 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist that day.
      {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-09T02:30:00-04:00"},
      {"0 3 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T03:00:00-04:00"},
      {"*/30 * * * *", "America/New_York", "2026-03-08T06:45:00Z", "2026-03-08T03:00:00-04:00"},
      // Berlin 2026-03-29 02:00 CET → 03:00 CEST.
      {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T02:30:00+02:00"},
      // Fall back, New York 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice, and runs twice.
      {"30 1 * * *", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T01:30:00-04:00"},
      {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T01:30:00-05:00"},
      {"30 1 * * *", "America/New_York", "2026-11-01T06:30:00Z", "2026-11-02T01:30:00-05:00"},
      // After the last transition of the file: the POSIX footer rule decides.
      {"0 12 4 7 *", "America/New_York", "2040-01-01T00:00:00Z", "2040-07-04T12:00:00-04:00"},
      {"0 12 25 12 *", "America/New_York", "2040-01-01T00:00:00Z", "2040-12-25T12:00:00-05:00"},
      {"0 12 15 1 *", "Australia/Sydney", "2040-01-01T00:00:00Z", "2040-01-15T12:00:00+11:00"},
      {"0 12 15 7 *", "Australia/Sydney", "2040-01-01T00:00:00Z", "2040-07-15T12:00:00+10:00"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.spec) + " in " + c.tz + " after " + c.from);
    auto schedule = parse_schedule(c.spec);
    ASSERT_TRUE(schedule.is_ok()) << schedule.status().message();
    TimeZone z = zone(c.tz);
    auto next = next_after(*schedule, z, at(c.from));
    EXPECT_EQ(next ? format_in_zone(*next, z) : std::string(), c.want);
  }
}

// Zones whose transitions fall at midnight (the day loop's DST correction) or on half hours: every
// answer is later than the question and matches the schedule on that zone's wall clock.
TEST(CronNext, AlwaysMovesForwardAndMatches) {
  for (const char* tz : {"America/Santiago", "America/Asuncion", "Asia/Beirut", "America/Havana",
                         "Australia/Lord_Howe", "America/New_York", "Europe/Berlin", "UTC"}) {
    TimeZone z = zone(tz);
    for (const char* spec : {"0 0 * * *", "30 0 * * *", "0 * * * *", "*/7 1-3 * * *", "0 0 1 * *", "15 23 * * 0"}) {
      SCOPED_TRACE(std::string(spec) + " in " + tz);
      auto schedule = parse_schedule(spec);
      ASSERT_TRUE(schedule.is_ok());
      std::int64_t t = at("2026-01-01T00:00:00Z");
      const std::int64_t end = at("2028-01-01T00:00:00Z");
      for (int n = 0; n < 2000 && t < end; ++n) {
        auto next = next_after(*schedule, z, t);
        ASSERT_TRUE(next.has_value());
        ASSERT_GT(*next, t);
        Civil c = to_civil(*next, z);
        EXPECT_EQ(c.second, 0);
        EXPECT_NE(schedule->minute & (1ULL << c.minute), 0u) << format_in_zone(*next, z);
        EXPECT_NE(schedule->hour & (1ULL << c.hour), 0u) << format_in_zone(*next, z);
        t = *next;
      }
    }
  }
}

TEST(CronParse, RefusesWhatKubernetesRefuses) {
  for (const char* bad : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                          "* * * * 7", "CRON_TZ=UTC * * * * *", "TZ=Europe/Berlin 0 9 * * *", "@every 5m", "@often",
                          "1-2-3 * * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *", "*/5/2 * * * *", "-1 * * * *"}) {
    SCOPED_TRACE(bad);
    auto parsed = parse_schedule(bad);
    EXPECT_FALSE(parsed.is_ok());
    EXPECT_EQ(parsed.status().code(), plugin::Code::kInvalid);
  }
  auto tz = parse_schedule("CRON_TZ=UTC * * * * *");
  EXPECT_NE(tz.status().message().find("use timeZone field instead"), std::string::npos) << tz.status().message();
}

TEST(CronParse, BitsOfFields) {
  auto s = parse_schedule("1,3-5 */6 ? feb-apr mon-wed");
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->minute, (1ULL << 1) | (1ULL << 3) | (1ULL << 4) | (1ULL << 5));
  EXPECT_EQ(s->hour, (1ULL << 0) | (1ULL << 6) | (1ULL << 12) | (1ULL << 18)) << "a step > 1 drops the star bit";
  EXPECT_NE(s->dom & kStarBit, 0u);
  EXPECT_EQ(s->month, (1ULL << 2) | (1ULL << 3) | (1ULL << 4));
  EXPECT_EQ(s->dow, (1ULL << 1) | (1ULL << 2) | (1ULL << 3));
}

TEST(TimeZones, LoadsIanaNamesAndRefusesOthers) {
  EXPECT_EQ(zone("UTC").offset_at(at("2026-07-01T00:00:00Z")), 0);
  EXPECT_EQ(zone("America/New_York").offset_at(at("2026-07-01T00:00:00Z")), -4 * 3600);
  EXPECT_EQ(zone("America/New_York").offset_at(at("2026-12-01T00:00:00Z")), -5 * 3600);
  // The exact instants of the 2026 transitions.
  EXPECT_EQ(zone("America/New_York").offset_at(at("2026-03-08T06:59:59Z")), -5 * 3600);
  EXPECT_EQ(zone("America/New_York").offset_at(at("2026-03-08T07:00:00Z")), -4 * 3600);
  EXPECT_EQ(zone("Asia/Kolkata").offset_at(at("2026-07-01T00:00:00Z")), 19800);
  for (const char* bad : {"Nowhere/City", "../../etc/passwd", "/etc/localtime"}) {
    auto z = TimeZone::load(bad);
    EXPECT_FALSE(z.is_ok()) << bad;
  }
  TempDir dir;
  std::ofstream(dir.path() / "Fake") << "not a tzif file at all, long enough to have a header....";
  auto fake = TimeZone::load("Fake", dir.str());
  ASSERT_FALSE(fake.is_ok());
  EXPECT_NE(fake.status().message().find("not a TZif file"), std::string::npos);
}

// A TZif file with no transitions at all, only the footer rule, must agree with the full New York
// file hour by hour (its transitions run to 2037).
TEST(TimeZones, FooterRuleAgreesWithTheTransitionTable) {
  auto header = [](std::uint32_t typecnt, std::uint32_t charcnt) {
    std::string h = "TZif2" + std::string(15, '\0');
    for (std::uint32_t v : {0u, 0u, 0u, 0u, typecnt, charcnt})
      for (int shift : {24, 16, 8, 0}) h += static_cast<char>((v >> shift) & 0xff);
    return h;
  };
  // One type: UTC-5, not DST, abbreviation "EST".
  std::string type = {'\xff', '\xff', '\xb9', '\xb0', '\0', '\0'};
  std::string block = header(1, 4) + type + std::string("EST\0", 4);
  TempDir dir;
  std::ofstream(dir.path() / "FooterOnly", std::ios::binary) << block << block << "\nEST5EDT,M3.2.0,M11.1.0\n";
  auto footer_only = TimeZone::load("FooterOnly", dir.str());
  ASSERT_TRUE(footer_only.is_ok()) << footer_only.status().message();
  TimeZone full = zone("America/New_York");
  for (std::int64_t t = at("2030-01-01T00:00:00Z"); t < at("2037-01-01T00:00:00Z"); t += 3600)
    ASSERT_EQ(footer_only->offset_at(t), full.offset_at(t)) << t;
}

TEST(TimeZones, PosixFooterRules) {
  auto ny = TimeZone::parse_posix("EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(ny);
  EXPECT_EQ(ny->std_offset, -18000);
  EXPECT_EQ(ny->dst_offset, -14400);
  EXPECT_EQ(ny->start.month, 3);
  EXPECT_EQ(ny->start.week, 2);
  EXPECT_EQ(ny->end.time, 7200);
  auto tehran = TimeZone::parse_posix("<+0330>-3:30");
  ASSERT_TRUE(tehran);
  EXPECT_FALSE(tehran->has_dst);
  EXPECT_EQ(tehran->std_offset, 12600);
  auto sydney = TimeZone::parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
  ASSERT_TRUE(sydney);
  EXPECT_EQ(sydney->dst_offset, 11 * 3600);
  EXPECT_EQ(sydney->end.time, 3 * 3600);
  EXPECT_FALSE(TimeZone::parse_posix("E5"));
  EXPECT_FALSE(TimeZone::parse_posix("EST5EDT,M13.1.0,M11.1.0"));
}

TEST(CivilTime, GoStyleNormalisation) {
  TimeZone utc;
  EXPECT_EQ(from_civil(2026, 13, 1, 0, 0, 0, utc), at("2027-01-01T00:00:00Z"));
  EXPECT_EQ(from_civil(2026, 3, 0, 0, 0, 0, utc), at("2026-02-28T00:00:00Z"));
  // A wall time in the New York gap resolves as Go's time.Date resolves it (02:30 → 01:30 EST).
  EXPECT_EQ(format_in_zone(from_civil(2026, 3, 8, 2, 30, 0, zone("America/New_York")), zone("America/New_York")),
            "2026-03-08T01:30:00-05:00");
  Civil c = to_civil(at("2026-11-23T12:00:00Z"), utc);
  EXPECT_EQ(c.weekday, 1);
  EXPECT_EQ(c.day, 23);
}

}  // namespace
}  // namespace skiff::testing
