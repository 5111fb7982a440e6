// The CronJob controller on the in-process control plane, under a FakeClock the tests move across
// schedule times. No Job controller runs: the tests finish Jobs by writing their status.
#include <gtest/gtest.h>

#include <set>

#include "cronjob.hpp"
#include "skiff/plugin/time.hpp"
#include "tests/controllers/batch_test_support.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
namespace cronjob = plugins::controllers::cronjob;
const plugin::ResourceId kCronJobs{"batch", "v1", "cronjobs"};
const plugin::ResourceId kJobs{"batch", "v1", "jobs"};

std::int64_t at_ms(const char* rfc3339) { return *plugin::parse_rfc3339(rfc3339); }
std::string job_name(const std::string& cj, const char* scheduled) {
  return cj + "-" + std::to_string(at_ms(scheduled) / 60000);
}

json cronjob_object(const std::string& name, const std::string& schedule, json spec_extra = json::object()) {
  json pod_spec = {{"restartPolicy", "Never"}, {"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}};
  json spec = {{"schedule", schedule},
               {"jobTemplate",
                {{"metadata", {{"labels", {{"team", "batch"}}}}},
                 {"spec", {{"backoffLimit", 2}, {"template", {{"spec", pod_spec}}}}}}}};
  spec.update(spec_extra);
  return {{"apiVersion", "batch/v1"},
          {"kind", "CronJob"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", spec}};
}

class CronJobTest : public ::testing::Test {
 protected:
  // The FakeClock starts at 2026-11-18T11:06:40Z; CronJobs created now have that creationTimestamp.
  void SetUp() override {
    cp_.run("cronjob", std::make_shared<cronjob::CronJobController>(cronjob::Options{.max_requeue_ms = 20}));
  }

  std::set<std::string> jobs() {
    std::set<std::string> out;
    for (auto& j : cp_.list(kJobs, "default")) out.insert(j["metadata"]["name"].get<std::string>());
    return out;
  }
  // Moves the clock and lets the controller look (a requeue is at most 20 ms away).
  void set_clock(const char* rfc3339) {
    cp_.clock().set_ms(at_ms(rfc3339));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  json status(const std::string& name) { return cp_.get(kCronJobs, "default", name).value("status", json::object()); }
  std::set<std::string> active(const std::string& name) {
    std::set<std::string> out;
    for (auto& ref : status(name).value("active", json::array())) out.insert(ref["name"].get<std::string>());
    return out;
  }
  // The Job controller's part: the Job ends.
  void finish_job(const std::string& name, const std::string& type, const char* when) {
    ASSERT_TRUE(write_status(cp_, kJobs, "default", name, [&](json& j) {
      j["status"]["startTime"] = j["metadata"]["creationTimestamp"];
      j["status"]["conditions"] = json::array({{{"type", type}, {"status", "True"}}});
      if (type == "Complete") j["status"]["completionTime"] = when;
    }));
  }
  std::size_t events(const std::string& reason) { return count_events(cp_, reason); }

  ControlPlane cp_;
};

TEST_F(CronJobTest, FiresOnItsScheduleUnderAFakeClock) {
  auto created = cp_.create(kCronJobs, cronjob_object("tick", "*/5 * * * *"));
  ASSERT_TRUE(created);
  set_clock("2026-11-18T11:09:59Z");
  EXPECT_TRUE(jobs().empty()) << "nothing is due before 11:10";
  set_clock("2026-11-18T11:10:00Z");
  const std::string first = job_name("tick", "2026-11-18T11:10:00Z");
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{first}; })) << ::testing::PrintToString(jobs());
  json job = cp_.get(kJobs, "default", first);
  EXPECT_EQ(job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"], "2026-11-18T11:10:00Z");
  EXPECT_EQ(job["metadata"]["labels"]["team"], "batch");
  ASSERT_EQ(job["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["uid"], created->uid);
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(job["spec"]["backoffLimit"], 2);
  ASSERT_TRUE(eventually([&] { return active("tick") == std::set<std::string>{first}; }));
  EXPECT_EQ(status("tick")["lastScheduleTime"], "2026-11-18T11:10:00Z");

  set_clock("2026-11-18T11:14:59Z");
  EXPECT_EQ(jobs().size(), 1u);
  set_clock("2026-11-18T11:15:00Z");
  const std::string second = job_name("tick", "2026-11-18T11:15:00Z");
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{first, second}; }));
  ASSERT_TRUE(eventually([&] { return active("tick") == std::set<std::string>{first, second}; })) << "Allow";
  EXPECT_EQ(status("tick")["lastScheduleTime"], "2026-11-18T11:15:00Z");
  EXPECT_TRUE(eventually([&] { return events("SuccessfulCreate") == 2; }));

  finish_job(first, "Complete", "2026-11-18T11:16:00Z");
  ASSERT_TRUE(eventually([&] { return active("tick") == std::set<std::string>{second}; }));
  EXPECT_EQ(status("tick")["lastSuccessfulTime"], "2026-11-18T11:16:00Z");
  EXPECT_EQ(jobs().size(), 2u) << "within successfulJobsHistoryLimit 3";
}

TEST_F(CronJobTest, ForbidWaitsForTheActiveJobThenRunsTheMissedTime) {
  cp_.create(kCronJobs, cronjob_object("single", "*/5 * * * *", {{"concurrencyPolicy", "Forbid"}}));
  set_clock("2026-11-18T11:10:00Z");
  const std::string first = job_name("single", "2026-11-18T11:10:00Z");
  ASSERT_TRUE(eventually([&] { return jobs().size() == 1; }));
  set_clock("2026-11-18T11:15:30Z");
  ASSERT_TRUE(eventually([&] { return events("JobAlreadyActive") >= 1; }));
  EXPECT_EQ(jobs(), std::set<std::string>{first});
  finish_job(first, "Complete", "2026-11-18T11:16:00Z");
  const std::string late = job_name("single", "2026-11-18T11:15:00Z");
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{first, late}; }))
      << ::testing::PrintToString(jobs());
  ASSERT_TRUE(eventually([&] { return active("single") == std::set<std::string>{late}; }));
}

TEST_F(CronJobTest, ReplaceDeletesTheActiveJob) {
  cp_.create(kCronJobs, cronjob_object("swap", "*/5 * * * *", {{"concurrencyPolicy", "Replace"}}));
  set_clock("2026-11-18T11:10:00Z");
  ASSERT_TRUE(eventually([&] { return jobs().size() == 1; }));
  set_clock("2026-11-18T11:15:00Z");
  const std::string second = job_name("swap", "2026-11-18T11:15:00Z");
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{second}; })) << ::testing::PrintToString(jobs());
  ASSERT_TRUE(eventually([&] { return active("swap") == std::set<std::string>{second}; }));
  EXPECT_TRUE(eventually([&] { return events("SuccessfulDelete") == 1; }));
}

TEST_F(CronJobTest, HistoryLimitsKeepTheNewestFinishedJobs) {
  cp_.create(kCronJobs, cronjob_object("hist", "* * * * *",
                                       {{"successfulJobsHistoryLimit", 2}, {"failedJobsHistoryLimit", 1}}));
  const char* minutes[] = {"2026-11-18T11:07:00Z", "2026-11-18T11:08:00Z", "2026-11-18T11:09:00Z",
                           "2026-11-18T11:10:00Z", "2026-11-18T11:11:00Z", "2026-11-18T11:12:00Z"};
  for (int i = 0; i < 6; ++i) {
    set_clock(minutes[i]);
    std::string name = job_name("hist", minutes[i]);
    ASSERT_TRUE(eventually([&] { return cp_.get(kJobs, "default", name).is_object(); })) << name;
    // Two failures first, then four successes; start times follow the minutes.
    finish_job(name, i < 2 ? "Failed" : "Complete", minutes[i]);
  }
  std::set<std::string> want = {job_name("hist", minutes[1]), job_name("hist", minutes[4]), job_name("hist", minutes[5])};
  ASSERT_TRUE(eventually([&] { return jobs() == want; })) << ::testing::PrintToString(jobs());
  // The status write follows the deletions.
  EXPECT_TRUE(eventually([&] {
    return active("hist").empty() && status("hist").value("lastSuccessfulTime", "") == std::string(minutes[5]);
  })) << status("hist").dump();
}

TEST_F(CronJobTest, OnlyTheMostRecentMissedTimeRunsAndTooManyIsAWarning) {
  cp_.create(kCronJobs, cronjob_object("late", "* * * * *"));
  set_clock("2026-11-18T14:06:30Z");  // 180 minutes missed
  ASSERT_TRUE(eventually([&] { return jobs().size() == 1; }));
  EXPECT_EQ(jobs(), std::set<std::string>{job_name("late", "2026-11-18T14:06:00Z")});
  EXPECT_TRUE(eventually([&] { return events("TooManyMissedTimes") >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(jobs().size(), 1u) << "no backlog";
}

TEST_F(CronJobTest, AFewMissedTimesAreNoWarning) {
  cp_.create(kCronJobs, cronjob_object("few", "* * * * *"));
  set_clock("2026-11-18T11:30:10Z");  // 24 minutes missed
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{job_name("few", "2026-11-18T11:30:00Z")}; }));
  EXPECT_EQ(events("TooManyMissedTimes"), 0u);
}

TEST_F(CronJobTest, StartingDeadlineSkipsTimesTooLateToStart) {
  cp_.create(kCronJobs, cronjob_object("strict", "0 * * * *", {{"startingDeadlineSeconds", 60}}));
  set_clock("2026-11-18T12:05:00Z");
  EXPECT_TRUE(jobs().empty()) << "12:00 is more than 60 s ago";
  set_clock("2026-11-18T13:00:30Z");
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{job_name("strict", "2026-11-18T13:00:00Z")}; }));
}

TEST_F(CronJobTest, TimeZoneDecidesTheWallClock) {
  cp_.create(kCronJobs, cronjob_object("ny", "0 9 * * *", {{"timeZone", "America/New_York"}}));
  set_clock("2026-11-18T13:59:59Z");
  EXPECT_TRUE(jobs().empty()) << "08:59:59 in New York";
  set_clock("2026-11-18T14:00:00Z");
  const std::string name = job_name("ny", "2026-11-18T14:00:00Z");
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{name}; })) << ::testing::PrintToString(jobs());
  EXPECT_EQ(cp_.get(kJobs, "default", name)["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
            "2026-11-18T09:00:00-05:00");
  EXPECT_TRUE(eventually([&] { return status("ny").value("lastScheduleTime", "") == "2026-11-18T14:00:00Z"; }))
      << status("ny").dump();
}

TEST_F(CronJobTest, SuspendedCreatesNothingUntilResumed) {
  cp_.create(kCronJobs, cronjob_object("held", "*/5 * * * *", {{"suspend", true}}));
  set_clock("2026-11-18T11:10:30Z");
  EXPECT_TRUE(jobs().empty());
  json cj = cp_.get(kCronJobs, "default", "held");
  cj["spec"]["suspend"] = false;
  ASSERT_TRUE(cp_.client().update(kCronJobs, cj.dump()).is_ok());
  ASSERT_TRUE(eventually([&] { return jobs() == std::set<std::string>{job_name("held", "2026-11-18T11:10:00Z")}; }));
}

TEST(CronJobOptions, BadValuesNameTheKey) {
  TestPluginContext bad_cap("controller.cronjob", {{"max-requeue-ms", "-5"}, {"zoneinfo-dir", "/usr/share/zoneinfo"}}, "/tmp");
  auto parsed = cronjob::parse_options(bad_cap.context());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("controller.cronjob.max-requeue-ms"), std::string::npos);
  TestPluginContext bad_dir("controller.cronjob", {{"max-requeue-ms", "0"}, {"zoneinfo-dir", ""}}, "/tmp");
  parsed = cronjob::parse_options(bad_dir.context());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("controller.cronjob.zoneinfo-dir"), std::string::npos);
}

}  // namespace
}  // namespace skiff::testing
