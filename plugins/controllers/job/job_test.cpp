// The Job controller on the in-process control plane. No kubelet exists: the tests play it by
// writing pod phases through the API, and move the FakeClock for deadlines and TTLs.
#include <gtest/gtest.h>

#include <set>

#include "job.hpp"
#include "tests/controllers/batch_test_support.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
namespace job = plugins::controllers::job;
const plugin::ResourceId kJobs{"batch", "v1", "jobs"};
const plugin::ResourceId kPods{"", "v1", "pods"};

json job_object(const std::string& name, json spec_extra = json::object()) {
  json pod_spec = {{"restartPolicy", "Never"}, {"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}};
  json spec = {{"template", {{"metadata", {{"labels", {{"app", name}}}}}, {"spec", pod_spec}}}};
  spec.update(spec_extra);
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", spec}};
}

class JobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Deadlines and TTLs are judged on the fake clock; the cap makes the controller look again soon.
    cp_.run("job", std::make_shared<job::JobController>(job::Options{.max_requeue_ms = 50}));
  }

  std::vector<json> pods_of(const std::string& job_name) {
    std::vector<json> out;
    for (auto& p : cp_.list(kPods, "default"))
      if (p["metadata"]["labels"].value("batch.kubernetes.io/job-name", "") == job_name) out.push_back(p);
    return out;
  }
  std::vector<json> running_pods(const std::string& job_name) {
    std::vector<json> out;
    for (auto& p : pods_of(job_name))
      if (!p.contains("status") || !p["status"].contains("phase") || p["status"]["phase"] == "Pending")
        if (!p["metadata"].contains("deletionTimestamp")) out.push_back(p);
    return out;
  }
  json job_status(const std::string& name) { return cp_.get(kJobs, "default", name).value("status", json::object()); }
  static bool has_condition(const json& status, const std::string& type, const std::string& reason = "") {
    for (const auto& c : status.value("conditions", json::array()))
      if (c["type"] == type && c["status"] == "True" && (reason.empty() || c["reason"] == reason)) return true;
    return false;
  }
  // The kubelet's part: a pod ends with `phase`.
  void finish(const json& pod, const std::string& phase) {
    ASSERT_TRUE(write_status(cp_, kPods, "default", pod["metadata"]["name"], [&](json& p) { p["status"]["phase"] = phase; }));
  }
  std::size_t events(const std::string& reason) { return count_events(cp_, reason); }

  ControlPlane cp_;
};

TEST_F(JobTest, CreatesPodsFromTheTemplateWithLabelsOwnerAndTrackingFinalizer) {
  auto created = cp_.create(kJobs, job_object("pi", {{"completions", 3}, {"parallelism", 2}}));
  ASSERT_TRUE(created);
  ASSERT_TRUE(eventually([&] { return pods_of("pi").size() == 2 && job_status("pi").value("active", 0) == 2; }));
  for (const auto& pod : pods_of("pi")) {
    const json& meta = pod["metadata"];
    EXPECT_EQ(meta["generateName"], "pi-");
    EXPECT_EQ(meta["labels"]["app"], "pi");
    EXPECT_EQ(meta["labels"]["job-name"], "pi");
    EXPECT_EQ(meta["labels"]["batch.kubernetes.io/job-name"], "pi");
    EXPECT_EQ(meta["labels"]["controller-uid"], created->uid);
    EXPECT_EQ(meta["labels"]["batch.kubernetes.io/controller-uid"], created->uid);
    ASSERT_EQ(meta["ownerReferences"].size(), 1u);
    EXPECT_EQ(meta["ownerReferences"][0]["kind"], "Job");
    EXPECT_EQ(meta["ownerReferences"][0]["uid"], created->uid);
    EXPECT_EQ(meta["ownerReferences"][0]["controller"], true);
    EXPECT_EQ(meta["ownerReferences"][0]["blockOwnerDeletion"], true);
    EXPECT_EQ(meta["finalizers"], json::array({"batch.kubernetes.io/job-tracking"}));
    EXPECT_EQ(pod["spec"]["containers"][0]["image"], "busybox");
  }
  json status = job_status("pi");
  EXPECT_TRUE(status.contains("startTime"));
  EXPECT_EQ(status["ready"], 0);
  EXPECT_EQ(status["uncountedTerminatedPods"], json::object());
  EXPECT_TRUE(eventually([&] { return events("SuccessfulCreate") == 2; }));
}

TEST_F(JobTest, RunsToCompletionsWithParallelismAndCountsEachPodOnce) {
  cp_.create(kJobs, job_object("work", {{"completions", 5}, {"parallelism", 2}}));
  std::size_t max_running = 0;
  for (int round = 0; round < 10 && !has_condition(job_status("work"), "Complete"); ++round) {
    ASSERT_TRUE(eventually([&] {
      return !running_pods("work").empty() || has_condition(job_status("work"), "Complete");
    })) << job_status("work").dump();
    auto running = running_pods("work");
    max_running = std::max(max_running, running.size());
    if (!running.empty()) finish(running.front(), "Succeeded");
    ASSERT_TRUE(eventually([&] {
      json s = job_status("work");
      return s.value("succeeded", 0) == round + 1 || has_condition(s, "Complete");
    })) << job_status("work").dump();
  }
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("work"), "Complete", "CompletionsReached"); }));
  json status = job_status("work");
  EXPECT_EQ(status["succeeded"], 5);
  EXPECT_FALSE(status.contains("failed"));
  EXPECT_FALSE(status.contains("active"));
  EXPECT_TRUE(has_condition(status, "SuccessCriteriaMet"));
  EXPECT_TRUE(status.contains("completionTime"));
  EXPECT_EQ(max_running, 2u) << "never more than parallelism pods at once";
  EXPECT_EQ(pods_of("work").size(), 5u) << "exactly one pod per completion";
  for (const auto& pod : pods_of("work")) EXPECT_FALSE(pod["metadata"].contains("finalizers")) << pod.dump();
  EXPECT_TRUE(eventually([&] { return events("Completed") == 1; }));
}

TEST_F(JobTest, RemainingCompletionsLimitActivePods) {
  cp_.create(kJobs, job_object("tail", {{"completions", 3}, {"parallelism", 5}}));
  ASSERT_TRUE(eventually([&] { return running_pods("tail").size() == 3; }));
  finish(running_pods("tail").front(), "Succeeded");
  ASSERT_TRUE(eventually([&] { return job_status("tail").value("succeeded", 0) == 1; }));
  // min(parallelism 5, remaining 2) = 2: the two still running, no new one.
  EXPECT_EQ(running_pods("tail").size(), 2u);
  EXPECT_EQ(pods_of("tail").size(), 3u);
}

TEST_F(JobTest, WithoutCompletionsTheFirstSuccessStopsNewPods) {
  cp_.create(kJobs, job_object("queue", {{"parallelism", 2}}));
  ASSERT_TRUE(eventually([&] { return running_pods("queue").size() == 2; }));
  auto running = running_pods("queue");
  finish(running[0], "Succeeded");
  ASSERT_TRUE(eventually([&] { return job_status("queue").value("succeeded", 0) == 1; }));
  EXPECT_FALSE(has_condition(job_status("queue"), "Complete")) << "one pod still runs";
  EXPECT_EQ(pods_of("queue").size(), 2u);
  finish(running[1], "Succeeded");
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("queue"), "Complete"); }));
  EXPECT_EQ(job_status("queue")["succeeded"], 2);
  EXPECT_EQ(pods_of("queue").size(), 2u);
}

TEST_F(JobTest, FailedPodsAreReplacedUntilBackoffLimitThenTheJobFails) {
  cp_.create(kJobs, job_object("flaky", {{"backoffLimit", 1}}));
  ASSERT_TRUE(eventually([&] { return running_pods("flaky").size() == 1; }));
  finish(running_pods("flaky").front(), "Failed");
  ASSERT_TRUE(eventually([&] { return job_status("flaky").value("failed", 0) == 1 && running_pods("flaky").size() == 1; }));
  EXPECT_FALSE(has_condition(job_status("flaky"), "Failed")) << "1 failure is within backoffLimit 1";
  finish(running_pods("flaky").front(), "Failed");
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("flaky"), "Failed", "BackoffLimitExceeded"); }))
      << job_status("flaky").dump();
  json status = job_status("flaky");
  EXPECT_EQ(status["failed"], 2);
  EXPECT_TRUE(has_condition(status, "FailureTarget", "BackoffLimitExceeded"));
  EXPECT_FALSE(status.contains("completionTime"));
  EXPECT_EQ(pods_of("flaky").size(), 2u) << "no pod after the limit";
  EXPECT_TRUE(eventually([&] { return events("BackoffLimitExceeded") == 1; }));
}

TEST_F(JobTest, BackoffLimitExceededDeletesActivePodsAndCountsThem) {
  cp_.create(kJobs, job_object("fast-fail", {{"completions", 4}, {"parallelism", 3}, {"backoffLimit", 0}}));
  ASSERT_TRUE(eventually([&] { return running_pods("fast-fail").size() == 3; }));
  finish(running_pods("fast-fail").front(), "Failed");
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("fast-fail"), "Failed", "BackoffLimitExceeded"); }))
      << job_status("fast-fail").dump();
  // The two pods it deleted went through their finalizer and count as failed, as in Kubernetes.
  EXPECT_EQ(job_status("fast-fail")["failed"], 3);
  EXPECT_TRUE(eventually([&] { return pods_of("fast-fail").size() == 1; })) << "deleted pods are gone";
}

TEST_F(JobTest, ADeletedPodCountsAsFailedOnceAndIsReplaced) {
  cp_.create(kJobs, job_object("victim", {{"completions", 1}}));
  ASSERT_TRUE(eventually([&] { return running_pods("victim").size() == 1; }));
  std::string first = running_pods("victim").front()["metadata"]["name"];
  ASSERT_TRUE(cp_.client().remove(kPods, "default", first, {}).is_ok());
  ASSERT_TRUE(eventually([&] {
    auto running = running_pods("victim");
    return job_status("victim").value("failed", 0) == 1 && running.size() == 1 && running[0]["metadata"]["name"] != first;
  })) << job_status("victim").dump();
  EXPECT_TRUE(cp_.get(kPods, "default", first).is_null()) << "its finalizer was released";
  finish(running_pods("victim").front(), "Succeeded");
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("victim"), "Complete"); }));
  EXPECT_EQ(job_status("victim")["failed"], 1);
  EXPECT_EQ(job_status("victim")["succeeded"], 1);
}

TEST_F(JobTest, ActiveDeadlineFailsTheJobOnTheClock) {
  cp_.create(kJobs, job_object("slow", {{"activeDeadlineSeconds", 30}, {"parallelism", 2}, {"completions", 2}}));
  ASSERT_TRUE(eventually([&] { return running_pods("slow").size() == 2; }));
  cp_.clock().advance_ms(29'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(has_condition(job_status("slow"), "Failed")) << "not before the deadline";
  cp_.clock().advance_ms(2'000);
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("slow"), "Failed", "DeadlineExceeded"); }))
      << job_status("slow").dump();
  EXPECT_TRUE(eventually([&] { return pods_of("slow").empty(); })) << "active pods are deleted";
  EXPECT_EQ(job_status("slow")["failed"], 2);
}

TEST_F(JobTest, TtlAfterFinishedDeletesTheJob) {
  cp_.create(kJobs, job_object("short-lived", {{"ttlSecondsAfterFinished", 60}}));
  ASSERT_TRUE(eventually([&] { return running_pods("short-lived").size() == 1; }));
  finish(running_pods("short-lived").front(), "Succeeded");
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("short-lived"), "Complete"); }));
  cp_.clock().advance_ms(59'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(cp_.get(kJobs, "default", "short-lived").is_object()) << "kept until the TTL";
  cp_.clock().advance_ms(2'000);
  EXPECT_TRUE(eventually([&] { return cp_.get(kJobs, "default", "short-lived").is_null(); }));
}

TEST_F(JobTest, SuspendDeletesPodsWithoutCountingThemAndResumeRestarts) {
  cp_.create(kJobs, job_object("paused", {{"suspend", true}}));
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("paused"), "Suspended", "JobSuspended"); }));
  EXPECT_TRUE(pods_of("paused").empty());
  EXPECT_FALSE(job_status("paused").contains("startTime"));
  json j = cp_.get(kJobs, "default", "paused");
  j["spec"]["suspend"] = false;
  ASSERT_TRUE(cp_.client().update(kJobs, j.dump()).is_ok());
  ASSERT_TRUE(eventually([&] { return running_pods("paused").size() == 1; }));
  // The pod exists before the status write that records startTime lands (it may retry on a conflict).
  EXPECT_TRUE(eventually([&] { return job_status("paused").contains("startTime"); })) << job_status("paused").dump();
  j = cp_.get(kJobs, "default", "paused");
  j["spec"]["suspend"] = true;
  ASSERT_TRUE(cp_.client().update(kJobs, j.dump()).is_ok());
  ASSERT_TRUE(eventually([&] { return pods_of("paused").empty() && has_condition(job_status("paused"), "Suspended"); }))
      << job_status("paused").dump();
  EXPECT_FALSE(job_status("paused").contains("failed")) << "suspension is not a failure";
}

TEST_F(JobTest, DeletingTheJobReleasesItsPods) {
  cp_.create(kJobs, job_object("gone", {{"parallelism", 2}, {"completions", 2}}));
  ASSERT_TRUE(eventually([&] { return running_pods("gone").size() == 2; }));
  ASSERT_TRUE(cp_.client().remove(kJobs, "default", "gone", {.propagation = plugin::Propagation::kOrphan}).is_ok());
  ASSERT_TRUE(eventually([&] {
    auto pods = pods_of("gone");
    return pods.size() == 2 && std::none_of(pods.begin(), pods.end(),
                                            [](const json& p) { return p["metadata"].contains("finalizers"); });
  }));
}

TEST_F(JobTest, IndexedJobsGiveEachPodItsIndexAndCompleteEveryIndex) {
  cp_.create(kJobs, job_object("idx", {{"completions", 3}, {"parallelism", 2}, {"completionMode", "Indexed"}}));
  auto index_of = [](const json& pod) {
    return pod["metadata"]["annotations"].value("batch.kubernetes.io/job-completion-index", "");
  };
  auto running_indexes = [&] {
    std::multiset<std::string> out;
    for (const auto& p : running_pods("idx")) out.insert(index_of(p));
    return out;
  };
  auto running_with = [&](const std::string& index) {
    for (const auto& p : running_pods("idx"))
      if (index_of(p) == index) return p;
    return json();
  };
  ASSERT_TRUE(eventually([&] { return running_indexes() == std::multiset<std::string>{"0", "1"}; }));
  json pod = running_with("1");
  EXPECT_EQ(pod["metadata"]["generateName"], "idx-1-");
  EXPECT_EQ(pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"], "1");
  EXPECT_EQ(pod["spec"]["hostname"], "idx-1");
  ASSERT_EQ(pod["spec"]["containers"][0]["env"].size(), 1u);
  EXPECT_EQ(pod["spec"]["containers"][0]["env"][0]["name"], "JOB_COMPLETION_INDEX");
  EXPECT_EQ(pod["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.annotations['batch.kubernetes.io/job-completion-index']");

  finish(pod, "Succeeded");
  ASSERT_TRUE(eventually([&] { return running_indexes() == std::multiset<std::string>{"0", "2"}; }));
  EXPECT_EQ(job_status("idx")["completedIndexes"], "1");
  EXPECT_TRUE(eventually([&] { return job_status("idx").value("succeeded", 0) == 1; })) << job_status("idx").dump();
  finish(running_with("0"), "Failed");
  ASSERT_TRUE(eventually([&] {
    return running_indexes() == std::multiset<std::string>{"0", "2"} && job_status("idx").value("failed", 0) == 1;
  })) << "a failed index is retried";
  finish(running_with("2"), "Succeeded");
  ASSERT_TRUE(eventually([&] { return job_status("idx").value("completedIndexes", "") == "1-2"; }));
  finish(running_with("0"), "Succeeded");
  ASSERT_TRUE(eventually([&] { return has_condition(job_status("idx"), "Complete"); })) << job_status("idx").dump();
  EXPECT_EQ(job_status("idx")["completedIndexes"], "0-2");
  EXPECT_EQ(job_status("idx")["succeeded"], 3);
  EXPECT_EQ(job_status("idx")["failed"], 1);
  EXPECT_EQ(pods_of("idx").size(), 4u);
}

TEST(JobOptions, BadValueNamesTheKey) {
  TestPluginContext context("controller.job", {{"max-requeue-ms", "soon"}}, "/tmp");
  auto parsed = job::parse_options(context.context());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("controller.job.max-requeue-ms"), std::string::npos)
      << parsed.status().message();
}

}  // namespace
}  // namespace skiff::testing
