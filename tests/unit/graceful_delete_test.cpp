// Graceful pod deletion as the API applies it (Kubernetes' pod strategy and BeforeDelete): a DELETE
// of a pod bound to a node that has not finished marks it (deletionTimestamp = now + grace,
// deletionGracePeriodSeconds = grace) instead of removing it; the grace comes from DeleteOptions
// (body or query) or spec.terminationGracePeriodSeconds; grace 0, an unbound pod or a finished one
// go at once; a second DELETE may only shorten the grace. No agent runs here, so a marked pod stays
// Terminating, exactly as in Kubernetes without a kubelet: the test plays the agent's final DELETE.
#include <gtest/gtest.h>

#include "kernel/util/meta.hpp"
#include "tests/support/control_plane.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
const plugin::ResourceId kPods{"", "v1", "pods"};

json pod(const std::string& name, const std::string& node = "node-1") {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", "default"}}},
            {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  if (!node.empty()) p["spec"]["nodeName"] = node;
  return p;
}

class GracefulDelete : public ::testing::Test {
 protected:
  // A DELETE as kubectl sends it: DeleteOptions in the body, or options in the query.
  kernel::api::HttpResponse del(const std::string& name, const json& options = json::object(),
                                std::multimap<std::string, std::string> query = {}) {
    kernel::api::HttpRequest req;
    req.method = "DELETE";
    req.path = "/api/v1/namespaces/default/pods/" + name;
    req.query = std::move(query);
    if (!options.empty()) {
      json body = options;
      body["kind"] = "DeleteOptions";
      body["apiVersion"] = "v1";
      req.headers["content-type"] = "application/json";
      req.body = body.dump();
    }
    return cp.api().handle(req);
  }
  json meta_of(const std::string& name) {
    json p = cp.get(kPods, "default", name);
    return p.is_object() ? p["metadata"] : json();
  }
  std::string in_seconds(std::int64_t s) { return kernel::format_rfc3339(cp.clock().now_ms() + s * 1000); }

  ControlPlane cp;
};

TEST_F(GracefulDelete, BoundPodIsMarkedWithTheGraceOfItsSpec) {
  json p = pod("spec-grace");
  p["spec"]["terminationGracePeriodSeconds"] = 45;
  cp.create(kPods, p);
  auto r = del("spec-grace");
  ASSERT_EQ(r.status, 200) << r.body;
  json returned = json::parse(r.body);
  EXPECT_EQ(returned["kind"], "Pod") << "the response is the pod as it now stands";
  EXPECT_EQ(returned["metadata"]["deletionTimestamp"], in_seconds(45));
  json meta = meta_of("spec-grace");
  ASSERT_TRUE(meta.is_object()) << "a bound pod stays until its node stops it";
  EXPECT_EQ(meta["deletionTimestamp"], in_seconds(45));
  EXPECT_EQ(meta["deletionGracePeriodSeconds"], 45);
}

TEST_F(GracefulDelete, DefaultGraceIsThirtySeconds) {
  cp.create(kPods, pod("default-grace"));
  ASSERT_EQ(del("default-grace").status, 200);
  EXPECT_EQ(meta_of("default-grace")["deletionGracePeriodSeconds"], 30);
  EXPECT_EQ(meta_of("default-grace")["deletionTimestamp"], in_seconds(30));
}

TEST_F(GracefulDelete, GraceFromDeleteOptionsInTheBodyOrTheQuery) {
  cp.create(kPods, pod("body"));
  cp.create(kPods, pod("query"));
  ASSERT_EQ(del("body", {{"gracePeriodSeconds", 7}}).status, 200);
  ASSERT_EQ(del("query", json::object(), {{"gracePeriodSeconds", "5"}}).status, 200);
  EXPECT_EQ(meta_of("body")["deletionGracePeriodSeconds"], 7);
  EXPECT_EQ(meta_of("body")["deletionTimestamp"], in_seconds(7));
  EXPECT_EQ(meta_of("query")["deletionGracePeriodSeconds"], 5);
}

TEST_F(GracefulDelete, GraceZeroDeletesAtOnceEvenATerminatingPod) {
  cp.create(kPods, pod("force"));
  auto r = del("force", {{"gracePeriodSeconds", 0}});  // kubectl delete --grace-period=0 --force
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(cp.get(kPods, "default", "force").is_null());

  cp.create(kPods, pod("terminating"));
  ASSERT_EQ(del("terminating").status, 200);
  ASSERT_TRUE(meta_of("terminating").contains("deletionTimestamp"));
  ASSERT_EQ(del("terminating", {{"gracePeriodSeconds", 0}}).status, 200);
  EXPECT_TRUE(cp.get(kPods, "default", "terminating").is_null());
}

TEST_F(GracefulDelete, UnboundAndFinishedPodsGoAtOnce) {
  cp.create(kPods, pod("unbound", ""));
  ASSERT_EQ(del("unbound", {{"gracePeriodSeconds", 60}}).status, 200);
  EXPECT_TRUE(cp.get(kPods, "default", "unbound").is_null()) << "no node runs it: nothing to wait for";

  auto done = cp.create(kPods, pod("done"));
  json j = json::parse(done->json);
  j["status"]["phase"] = "Succeeded";
  ASSERT_TRUE(cp.client().update_status(kPods, j.dump()).is_ok());
  ASSERT_EQ(del("done").status, 200);
  EXPECT_TRUE(cp.get(kPods, "default", "done").is_null()) << "its containers are done already";
}

TEST_F(GracefulDelete, ASecondDeleteMayShortenTheGraceNeverLengthenIt) {
  cp.create(kPods, pod("shorten"));
  ASSERT_EQ(del("shorten", {{"gracePeriodSeconds", 60}}).status, 200);
  const std::string first_deadline = in_seconds(60);
  cp.clock().advance_ms(5'000);
  // Longer or equal: nothing changes, not even the resourceVersion.
  std::string rv = meta_of("shorten")["resourceVersion"];
  ASSERT_EQ(del("shorten", {{"gracePeriodSeconds", 90}}).status, 200);
  ASSERT_EQ(del("shorten").status, 200);  // the spec's 30 is not a request to shorten
  EXPECT_EQ(meta_of("shorten")["resourceVersion"], rv);
  EXPECT_EQ(meta_of("shorten")["deletionTimestamp"], first_deadline);
  EXPECT_EQ(meta_of("shorten")["deletionGracePeriodSeconds"], 60);
  // Shorter: the deadline moves closer by the difference (60 → 10: 50 s earlier).
  ASSERT_EQ(del("shorten", {{"gracePeriodSeconds", 10}}).status, 200);
  EXPECT_EQ(meta_of("shorten")["deletionGracePeriodSeconds"], 10);
  EXPECT_EQ(meta_of("shorten")["deletionTimestamp"], in_seconds(10 - 5));
}

TEST_F(GracefulDelete, WatchSeesModifiedWithTheDeadlineThenDeleted) {
  auto created = cp.create(kPods, pod("watched"));
  const kernel::ResourceType* type = cp.registry().find(kPods);
  kernel::WatchOptions wo;
  wo.ns = "default";
  wo.resource_version = created->resource_version;
  auto watch = cp.store().watch(*type, wo);
  ASSERT_TRUE(watch.is_ok());
  ASSERT_EQ(del("watched").status, 200);
  // The node agent's last word: grace 0 with the pod's uid as precondition.
  auto gone = cp.api_client()
                  .remove_with_grace(kPods, "default", "watched", {.precondition_uid = created->uid}, 0);
  ASSERT_TRUE(gone.is_ok()) << gone.status().message();
  std::vector<kernel::WatchEvent> events;
  ASSERT_TRUE(eventually([&] {
    for (auto& e : (*watch)->poll(16)) events.push_back(std::move(e));
    return events.size() >= 2;
  }));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, kernel::WatchEventType::kModified);
  EXPECT_EQ(json::parse(events[0].object->json)["metadata"]["deletionTimestamp"], in_seconds(30));
  EXPECT_EQ(events[1].type, kernel::WatchEventType::kDeleted);
  (*watch)->stop();
}

TEST_F(GracefulDelete, UidPreconditionOfTheFinalDeleteProtectsANewPodOfTheSameName) {
  auto old = cp.create(kPods, pod("reused"));
  auto forced = cp.api_client().remove_with_grace(kPods, "default", "reused", {}, 0);
  ASSERT_TRUE(forced.is_ok());
  cp.create(kPods, pod("reused"));
  auto stale = cp.api_client()
                   .remove_with_grace(kPods, "default", "reused", {.precondition_uid = old->uid}, 0);
  EXPECT_EQ(stale.status().code(), plugin::Code::kConflict) << stale.status().message();
  EXPECT_TRUE(cp.get(kPods, "default", "reused").is_object());
}

TEST_F(GracefulDelete, WritesToATerminatingPodDoNotDeleteIt) {
  // The store deletes an object being deleted when its last finalizer goes, but not while a
  // graceful deletion is pending: the agent's status writes must not end it early.
  cp.create(kPods, pod("status-writes"));
  ASSERT_EQ(del("status-writes").status, 200);
  json j = cp.get(kPods, "default", "status-writes");
  j["status"]["phase"] = "Running";
  ASSERT_TRUE(cp.client().update_status(kPods, j.dump()).is_ok());
  j = cp.get(kPods, "default", "status-writes");
  j["metadata"]["labels"]["touched"] = "yes";
  ASSERT_TRUE(cp.client().update(kPods, j.dump()).is_ok());
  EXPECT_TRUE(cp.get(kPods, "default", "status-writes").is_object());
}

TEST_F(GracefulDelete, FinalizersStillHoldTheObject) {
  json p = pod("held");
  p["metadata"]["finalizers"] = {"example.com/hold"};
  cp.create(kPods, p);
  ASSERT_EQ(del("held").status, 200);
  EXPECT_EQ(meta_of("held")["deletionGracePeriodSeconds"], 30);
  // Grace 0 (the agent is done): still held by the finalizer, now with nothing pending.
  ASSERT_EQ(del("held", {{"gracePeriodSeconds", 0}}).status, 200);
  json meta = meta_of("held");
  ASSERT_TRUE(meta.is_object());
  EXPECT_EQ(meta["deletionGracePeriodSeconds"], 0);
  EXPECT_EQ(meta["deletionTimestamp"], in_seconds(0)) << "the deadline moved to now";
  // The finalizer's owner lets go: the pod goes.
  json j = cp.get(kPods, "default", "held");
  j["metadata"]["finalizers"] = json::array();
  ASSERT_TRUE(cp.client().update(kPods, j.dump()).is_ok());
  EXPECT_TRUE(cp.get(kPods, "default", "held").is_null());
}

TEST_F(GracefulDelete, BadGracePeriodIsRefusedAndDeletesNothing) {
  cp.create(kPods, pod("bad"));
  auto r = del("bad", json::object(), {{"gracePeriodSeconds", "soon"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("gracePeriodSeconds: Invalid value: \\\"soon\\\""), std::string::npos) << r.body;
  r = del("bad", {{"gracePeriodSeconds", "10"}});
  EXPECT_EQ(r.status, 400) << "a string is not an integer";
  EXPECT_FALSE(meta_of("bad").contains("deletionTimestamp"));
}

TEST_F(GracefulDelete, NegativeGraceMeansOneSecond) {
  cp.create(kPods, pod("negative"));
  ASSERT_EQ(del("negative", {{"gracePeriodSeconds", -5}}).status, 200);
  EXPECT_EQ(meta_of("negative")["deletionGracePeriodSeconds"], 1);
}

TEST_F(GracefulDelete, DeleteCollectionMarksBoundPodsAndRemovesUnboundOnes) {
  cp.create(kPods, pod("coll-bound"));
  cp.create(kPods, pod("coll-unbound", ""));
  kernel::api::HttpRequest req;
  req.method = "DELETE";
  req.path = "/api/v1/namespaces/default/pods";
  auto r = cp.api().handle(req);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(meta_of("coll-bound")["deletionGracePeriodSeconds"], 30);
  EXPECT_TRUE(cp.get(kPods, "default", "coll-unbound").is_null());
}

}  // namespace
}  // namespace skiff::testing
