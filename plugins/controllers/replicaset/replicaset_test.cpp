// The ReplicaSet controller against the in-process control plane: the pods it creates (template,
// generateName, controller reference), adoption and release, slow-start batches that stop at the
// first error, the scale-down order, status counts and the requeue for minReadySeconds.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "replicaset.hpp"
#include "tests/controllers/workloads_support.hpp"

namespace skiff::testing::workloads {
namespace {

using plugins::controllers::ReplicaSetController;
using plugins::controllers::ReplicaSetOptions;

const json kWeb = {{"app", "web"}};

std::vector<json> rs_pods(ControlPlane& cp, const std::string& rs_name) {
  json rs = cp.get(kReplicaSets, "default", rs_name);
  return rs.is_null() ? std::vector<json>{} : owned(cp, kPods, rs["metadata"]["uid"]);
}

TEST(ReplicaSetController, CreatesPodsFromTheTemplateWithItsControllerReference) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("replicaset", std::make_shared<ReplicaSetController>());
  cp.create(kReplicaSets, replicaset("web", 3, kWeb));
  ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == 3; }));
  json rs = cp.get(kReplicaSets, "default", "web");
  for (const auto& pod : rs_pods(cp, "web")) {
    EXPECT_EQ(pod["metadata"]["generateName"], "web-");
    EXPECT_EQ(pod["metadata"]["name"].get<std::string>().rfind("web-", 0), 0u);
    EXPECT_EQ(pod["metadata"]["labels"], kWeb);
    EXPECT_EQ(pod["spec"]["containers"][0]["image"], "nginx:1.25");
    const json& ref = pod["metadata"]["ownerReferences"][0];
    EXPECT_EQ(ref["apiVersion"], "apps/v1");
    EXPECT_EQ(ref["kind"], "ReplicaSet");
    EXPECT_EQ(ref["name"], "web");
    EXPECT_EQ(ref["uid"], rs["metadata"]["uid"]);
    EXPECT_EQ(ref["controller"], true);
    EXPECT_EQ(ref["blockOwnerDeletion"], true);
  }
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kReplicaSets, "default", "web")["status"];
    return s.value("replicas", -1) == 3 && s.value("fullyLabeledReplicas", -1) == 3 && s.value("readyReplicas", -1) == 0 &&
           s.value("availableReplicas", -1) == 0 && s.value("observedGeneration", -1) == 1;
  })) << cp.get(kReplicaSets, "default", "web")["status"].dump();
  auto created = events(cp, "SuccessfulCreate");
  ASSERT_EQ(created.size(), 3u);
  EXPECT_EQ(created[0]["involvedObject"]["kind"], "ReplicaSet");
  EXPECT_EQ(created[0]["message"].get<std::string>().rfind("Created pod: web-", 0), 0u);
  // No more than asked for, even after further events.
  cp.clock().advance_ms(1000);
  EXPECT_EQ(play_kubelet(cp), 3);
  ASSERT_TRUE(eventually([&] { return cp.get(kReplicaSets, "default", "web")["status"].value("readyReplicas", 0) == 3; }));
  EXPECT_EQ(rs_pods(cp, "web").size(), 3u);
  EXPECT_EQ(cp.get(kReplicaSets, "default", "web")["status"]["availableReplicas"], 3);
}

TEST(ReplicaSetController, ReplacesADeletedPod) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("replicaset", std::make_shared<ReplicaSetController>());
  cp.create(kReplicaSets, replicaset("web", 2, kWeb));
  ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == 2; }));
  std::string gone = rs_pods(cp, "web")[0]["metadata"]["name"];
  ASSERT_TRUE(cp.client().remove(kPods, "default", gone, {}).is_ok());
  ASSERT_TRUE(eventually([&] {
    auto pods = rs_pods(cp, "web");
    return pods.size() == 2 && pods[0]["metadata"]["name"] != gone && pods[1]["metadata"]["name"] != gone;
  }));
}

TEST(ReplicaSetController, AdoptsMatchingOrphansAndReleasesPodsThatNoLongerMatch) {
  ControlPlane cp;
  cp.create(kPods, {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", "orphan"}, {"namespace", "default"}, {"labels", kWeb}}},
                    {"spec", pod_template(kWeb)["spec"]}});
  cp.create(kPods, {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", "stranger"}, {"namespace", "default"}, {"labels", {{"app", "db"}}}}},
                    {"spec", pod_template(kWeb)["spec"]}});
  run_kubelet_deletions(cp);
  cp.run("replicaset", std::make_shared<ReplicaSetController>());
  cp.create(kReplicaSets, replicaset("web", 2, kWeb));
  ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == 2; }));
  json rs = cp.get(kReplicaSets, "default", "web");
  EXPECT_TRUE(owned_by(cp.get(kPods, "default", "orphan"), rs["metadata"]["uid"])) << "the orphan is adopted";
  EXPECT_FALSE(cp.get(kPods, "default", "stranger")["metadata"].contains("ownerReferences"));
  EXPECT_TRUE(eventually([&] { return events(cp, "SuccessfulCreate").size() == 1; })) << "one pod created, the orphan counted";

  // Relabel the adopted pod: released (no controller reference) and replaced.
  json orphan = cp.get(kPods, "default", "orphan");
  orphan["metadata"]["labels"] = {{"app", "debug"}};
  ASSERT_TRUE(cp.client().update(kPods, orphan.dump()).is_ok());
  ASSERT_TRUE(eventually([&] {
    return !cp.get(kPods, "default", "orphan")["metadata"].contains("ownerReferences") && rs_pods(cp, "web").size() == 2;
  }));
  EXPECT_TRUE(cp.get(kPods, "default", "orphan").is_object()) << "released, not deleted";
}

TEST(ReplicaSetController, ScaleDownDeletesUnscheduledThenPendingThenNotReadyThenNewest) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("replicaset", std::make_shared<ReplicaSetController>());
  cp.create(kReplicaSets, replicaset("web", 5, kWeb));
  ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == 5; }));
  std::vector<std::string> names;
  for (const auto& p : rs_pods(cp, "web")) names.push_back(p["metadata"]["name"]);
  // names[0]: unscheduled; [1]: bound, Pending; [2]: Running not ready; [3] ready older; [4] ready newer.
  const std::int64_t t0 = cp.clock().now_ms();
  for (int i = 1; i < 5; ++i) ASSERT_TRUE(bind_pod(cp, names[i], "node-1"));
  ASSERT_TRUE(set_pod_state(cp, names[1], "Pending", false, t0));
  ASSERT_TRUE(set_pod_state(cp, names[2], "Running", false, t0));
  ASSERT_TRUE(set_pod_state(cp, names[3], "Running", true, t0 - 60'000));
  ASSERT_TRUE(set_pod_state(cp, names[4], "Running", true, t0 - 1'000));
  ASSERT_TRUE(eventually([&] { return cp.get(kReplicaSets, "default", "web")["status"].value("readyReplicas", 0) == 2; }));
  for (int keep = 4; keep >= 1; --keep) {
    SCOPED_TRACE("scale to " + std::to_string(keep));
    ASSERT_TRUE(edit(cp, kReplicaSets, "web", [&](json& rs) { rs["spec"]["replicas"] = keep; }));
    ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == static_cast<std::size_t>(keep); }));
    // The two ready pods: the one ready for the shorter time goes first.
    const std::string& victim = names[keep == 1 ? 4 : static_cast<std::size_t>(4 - keep)];
    EXPECT_TRUE(cp.get(kPods, "default", victim).is_null()) << victim << " should have gone first";
  }
  EXPECT_TRUE(cp.get(kPods, "default", names[3]).is_object()) << "the pod ready the longest stays";
  // The event follows the delete: wait for it rather than race it.
  EXPECT_TRUE(eventually([&] { return events(cp, "SuccessfulDelete").size() == 4; })) << events(cp, "SuccessfulDelete").size();
  ASSERT_TRUE(eventually([&] {
    json s = cp.get(kReplicaSets, "default", "web")["status"];
    return s.value("replicas", -1) == 1 && s.value("observedGeneration", -1) == 5;
  })) << cp.get(kReplicaSets, "default", "web")["status"].dump();
}

TEST(ReplicaSetController, AvailableAfterMinReadySecondsThroughARequeue) {
  ControlPlane cp;
  run_kubelet_deletions(cp);
  cp.run("replicaset", std::make_shared<ReplicaSetController>(ReplicaSetOptions{.max_requeue_ms = 20}));
  json rs = replicaset("web", 2, kWeb);
  rs["spec"]["minReadySeconds"] = 10;
  cp.create(kReplicaSets, rs);
  ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == 2; }));
  EXPECT_EQ(play_kubelet(cp), 2);
  ASSERT_TRUE(eventually([&] { return cp.get(kReplicaSets, "default", "web")["status"].value("readyReplicas", 0) == 2; }));
  EXPECT_EQ(cp.get(kReplicaSets, "default", "web")["status"]["availableReplicas"], 0);
  cp.clock().advance_ms(9'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several requeues at 20 ms: still not available
  EXPECT_EQ(cp.get(kReplicaSets, "default", "web")["status"]["availableReplicas"], 0);
  cp.clock().advance_ms(1'000);
  // No pod or ReplicaSet changes now: only the controller's own requeue can notice.
  ASSERT_TRUE(eventually([&] { return cp.get(kReplicaSets, "default", "web")["status"].value("availableReplicas", 0) == 2; }));
}

// A client that fails pod creates while `failing` is set and counts create calls.
class FlakyClient final : public plugin::Client {
 public:
  explicit FlakyClient(plugin::Client& inner) : inner_(inner) {}
  std::atomic<bool> failing{false};
  std::atomic<int> creates{0};
  std::atomic<int> allow{0};  // creates that still succeed once failing is set
  plugin::Result<plugin::ObjectPtr> create(const plugin::ResourceId& r, std::string_view ns, std::string_view j) noexcept override {
    if (r == kPods) {
      ++creates;
      if (failing && allow-- <= 0) return plugin::Status(plugin::Code::kUnavailable, "injected failure");
    }
    return inner_.create(r, ns, j);
  }
  plugin::Result<plugin::ObjectPtr> update(const plugin::ResourceId& r, std::string_view j) noexcept override { return inner_.update(r, j); }
  plugin::Result<plugin::ObjectPtr> update_status(const plugin::ResourceId& r, std::string_view j) noexcept override {
    return inner_.update_status(r, j);
  }
  plugin::Result<plugin::ObjectPtr> remove(const plugin::ResourceId& r, std::string_view ns, std::string_view n,
                                           const plugin::DeleteOptions& o) noexcept override {
    return inner_.remove(r, ns, n, o);
  }
  plugin::Result<plugin::ObjectPtr> create_subresource(const plugin::ResourceId& r, std::string_view ns, std::string_view n,
                                                       std::string_view s, std::string_view j) noexcept override {
    return inner_.create_subresource(r, ns, n, s, j);
  }
  plugin::Result<std::vector<plugin::ObjectPtr>> list(const plugin::ResourceId& r, const plugin::ListFilter& f) noexcept override {
    return inner_.list(r, f);
  }

 private:
  plugin::Client& inner_;
};

// Records how many creates each reconcile made.
class CountingController final : public plugin::controller::Controller {
 public:
  CountingController(std::shared_ptr<plugin::controller::Controller> inner, FlakyClient& client)
      : inner_(std::move(inner)), client_(client) {}
  std::vector<plugin::controller::WatchSpec> watches() const noexcept override { return inner_->watches(); }
  void bind(const plugin::controller::Host& host) noexcept override { inner_->bind(host); }
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& s, const plugin::Object& o) noexcept override {
    return inner_->map_event(s, o);
  }
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override {
    int before = client_.creates;
    auto r = inner_->reconcile(key);
    std::lock_guard lock(mutex);
    per_call.push_back(client_.creates - before);
    return r;
  }
  std::mutex mutex;
  std::vector<int> per_call;

 private:
  std::shared_ptr<plugin::controller::Controller> inner_;
  FlakyClient& client_;
};

TEST(ReplicaSetController, CreatesInSlowStartBatchesAndStopsAtTheFirstError) {
  ControlPlane cp;
  FlakyClient flaky(cp.client());
  flaky.allow = 3;  // batches 1 and 2 succeed, the first create of the batch of 4 fails
  flaky.failing = true;
  auto counting = std::make_shared<CountingController>(std::make_shared<ReplicaSetController>(), flaky);
  kernel::StructuredLogger logger{"test", 2, plugin::LogLevel::kError};
  kernel::ControllerRunner runner("replicaset", counting, flaky, cp.informers(), cp.metrics(), logger, cp.clock());
  ASSERT_TRUE(runner.start().is_ok());
  cp.create(kReplicaSets, replicaset("web", 10, kWeb));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(counting->mutex);
    return counting->per_call.size() >= 4;
  }));
  {
    std::lock_guard lock(counting->mutex);
    EXPECT_EQ(counting->per_call[0], 4) << "1 + 2 succeed, then one failure ends the pass";
    for (std::size_t i = 1; i < counting->per_call.size(); ++i)
      EXPECT_LE(counting->per_call[i], 1) << "a retry starts again with a batch of 1, which fails";
  }
  EXPECT_EQ(rs_pods(cp, "web").size(), 3u);
  EXPECT_FALSE(events(cp, "FailedCreate").empty());
  EXPECT_EQ(events(cp, "FailedCreate")[0]["type"], "Warning");
  flaky.failing = false;
  ASSERT_TRUE(eventually([&] { return rs_pods(cp, "web").size() == 10; }, std::chrono::seconds(30)));
  runner.stop();
}

}  // namespace
}  // namespace skiff::testing::workloads
