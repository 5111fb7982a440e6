// The Job controller plugin inside the real skiffd, driven by the real kubectl. No kubelet runs, so
// the test plays it: it marks the Job's pod Succeeded through the API's status subresource.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;

TEST(BatchE2E, KubectlCreateJobRunsAPodAndWaitSeesTheJobComplete) {
  Cluster c(true);
  ASSERT_TRUE(c.ready()) << c.log();
  EXPECT_TRUE(c.log_contains("controller=job")) << c.log();
  EXPECT_TRUE(c.log_contains("controller=cronjob")) << c.log();
  auto created = c.kubectl({"create", "job", "pi", "--image=busybox"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out, "job.batch/pi created\n");

  std::string pod;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = c.kubectl({"get", "pods", "-l", "batch.kubernetes.io/job-name=pi", "-o", "json"});
        if (r.exit_code != 0) return false;
        Json list = Json::parse(r.out, nullptr, false);
        if (!list.is_object() || list["items"].size() != 1) return false;
        pod = list["items"][0]["metadata"]["name"];
        return true;
      },
      std::chrono::seconds(30)))
      << c.log();
  EXPECT_EQ(pod.rfind("pi-", 0), 0u) << pod;

  // The kubelet's part.
  auto patched = c.kubectl({"patch", "pod", pod, "--subresource=status", "--type=merge", "-p",
                            R"({"status":{"phase":"Succeeded"}})"});
  ASSERT_EQ(patched.exit_code, 0) << patched.err;

  auto waited = c.kubectl({"wait", "--for=condition=complete", "job/pi", "--timeout=60s"},
                          {}, std::chrono::seconds(90));
  ASSERT_EQ(waited.exit_code, 0) << waited.err << waited.out;
  EXPECT_EQ(waited.out, "job.batch/pi condition met\n");

  auto job = c.kubectl({"get", "job", "pi", "-o", "json"});
  ASSERT_EQ(job.exit_code, 0) << job.err;
  Json j = Json::parse(job.out);
  EXPECT_EQ(j["status"]["succeeded"], 1);
  EXPECT_TRUE(j["status"].contains("completionTime"));
  auto described = c.kubectl({"describe", "job", "pi"});
  EXPECT_NE(described.out.find("SuccessfulCreate"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("Completed"), std::string::npos) << described.out;
}

// Real time: the schedule fires at the next full minute, so this waits up to a minute and a bit.
TEST(BatchE2E, KubectlCreateCronJobGetsAJobAndItsPod) {
  Cluster c(true);
  ASSERT_TRUE(c.ready()) << c.log();
  auto created = c.kubectl({"create", "cronjob", "tick", "--image=busybox", "--schedule=* * * * *"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string job;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = c.kubectl({"get", "jobs", "-o", "json"});
        Json list = Json::parse(r.out, nullptr, false);
        if (r.exit_code != 0 || !list.is_object() || list["items"].empty()) return false;
        job = list["items"][0]["metadata"]["name"];
        return true;
      },
      std::chrono::seconds(75)))
      << c.log();
  EXPECT_EQ(job.rfind("tick-", 0), 0u) << job;
  auto cj = c.kubectl({"get", "cronjob", "tick", "-o", "json"});
  ASSERT_EQ(cj.exit_code, 0) << cj.err;
  Json status = Json::parse(cj.out)["status"];
  EXPECT_TRUE(status.contains("lastScheduleTime")) << status.dump();
  ASSERT_TRUE(eventually([&] {
    auto r = c.kubectl({"get", "pods", "-l", "batch.kubernetes.io/job-name=" + job, "-o", "name"});
    return r.exit_code == 0 && r.out.rfind("pod/" + job + "-", 0) == 0;
  })) << "the Job controller runs the CronJob's Job";
}

}  // namespace
}  // namespace skiff::testing
