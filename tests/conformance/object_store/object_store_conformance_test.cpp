// Kubernetes object semantics of kernel::ObjectStore, run against every store backend: metadata,
// conflicts, finalizers, selectors, paging at one resourceVersion, watch from a resourceVersion,
// slow watchers, compaction and restart recovery.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "kernel/log/logger.hpp"
#include "kernel/store/compactor.hpp"
#include "kernel/store/object_store.hpp"
#include "memory_store.hpp"
#include "sqlite_store.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::kernel {
namespace {

using plugin::Code;
using testing::FakeClock;
using testing::TempDir;
using testing::TestPluginContext;

struct BackendCase {
  std::string name;
  bool persistent;
};

class ObjectStoreTest : public ::testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override { open(); }
  void TearDown() override { close(); }

  void open(ObjectStoreOptions options = {}) {
    const auto& param = GetParam();
    ctx_ = std::make_unique<TestPluginContext>(
        "store." + param.name,
        std::map<std::string, std::string, std::less<>>{{"path", (dir_.path() / "skiff.db").string()},
                                                        {"synchronous", "normal"},
                                                        {"busy-timeout-ms", "5000"},
                                                        {"cache-size-mib", "16"},
                                                        {"max-batch", "256"}},
        dir_.str());
    auto context = ctx_->context();
    plugin::Result<std::unique_ptr<plugin::store::Backend>> backend =
        param.name == "sqlite" ? plugins::store::sqlite::make_backend(context)
                               : plugins::store::memory::make_backend(context);
    ASSERT_TRUE(backend.is_ok()) << backend.status().message();
    store_ = std::make_unique<ObjectStore>(std::shared_ptr<plugin::store::Backend>(std::move(*backend)), registry_,
                                           clock_, options);
    auto st = store_->start();
    ASSERT_TRUE(st.is_ok()) << st.message();
  }
  void close() { store_.reset(); }

  const ResourceType& pods() { return *registry_.find("", "v1", "pods"); }
  const ResourceType& nodes() { return *registry_.find("", "v1", "nodes"); }
  const ResourceType& configmaps() { return *registry_.find("", "v1", "configmaps"); }
  const ResourceType& deployments() { return *registry_.find("apps", "v1", "deployments"); }

  static Json pod(const std::string& name, Json labels = Json::object(), const std::string& node = "",
                  const std::string& phase = "") {
    Json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
              {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
    if (!node.empty()) p["spec"]["nodeName"] = node;
    if (!phase.empty()) p["status"]["phase"] = phase;
    return p;
  }

  ObjectPtr must_create(const ResourceType& type, const std::string& ns, Json obj) {
    auto r = store_->create(type, ns, std::move(obj));
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? *r : nullptr;
  }

  static std::vector<std::string> names(const std::vector<ObjectPtr>& items) {
    std::vector<std::string> out;
    for (const auto& o : items) out.push_back(o->key());
    return out;
  }

  std::vector<WatchEvent> drain(Watch& w, std::size_t want, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::vector<WatchEvent> out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto evs = w.wait(want - out.size(), std::chrono::milliseconds(100));
      out.insert(out.end(), evs.begin(), evs.end());
      if (w.done()) break;
    }
    return out;
  }

  TempDir dir_{"skiff-objstore"};
  FakeClock clock_;
  ResourceRegistry registry_ = ResourceRegistry::builtin();
  std::unique_ptr<TestPluginContext> ctx_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(ObjectStoreTest, CreateSetsServerOwnedMetadata) {
  auto obj = must_create(pods(), "default", pod("web"));
  ASSERT_TRUE(obj);
  Json j = Json::parse(obj->json);
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["kind"], "Pod");
  EXPECT_EQ(j["metadata"]["namespace"], "default");
  EXPECT_EQ(j["metadata"]["generation"], 1);
  EXPECT_EQ(j["metadata"]["creationTimestamp"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(j["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_EQ(j["metadata"]["resourceVersion"], std::to_string(obj->resource_version));
  EXPECT_EQ(obj->uid, j["metadata"]["uid"]);

  auto got = store_->get(pods(), "default", "web");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ((*got)->json, obj->json);

  auto again = store_->create(pods(), "default", pod("web"));
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "pods \"web\" already exists");

  auto missing = store_->get(pods(), "default", "nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "pods \"nope\" not found");
}

TEST_P(ObjectStoreTest, ResourceVersionIsOneClusterWideCounter) {
  auto a = must_create(pods(), "default", pod("a"));
  auto n = must_create(nodes(), "", Json{{"metadata", {{"name", "n1"}}}});
  auto b = must_create(pods(), "kube-system", pod("b"));
  EXPECT_LT(a->resource_version, n->resource_version);
  EXPECT_LT(n->resource_version, b->resource_version);
  EXPECT_EQ(store_->current_revision(), b->resource_version);
  EXPECT_EQ(n->ns, "");  // cluster-scoped
}

TEST_P(ObjectStoreTest, InvalidObjectsAreRefusedAndWriteNothing) {
  auto rev = store_->current_revision();
  auto bad_name = store_->create(pods(), "default", pod("Not_Valid"));
  ASSERT_EQ(bad_name.status().code(), Code::kInvalid);
  EXPECT_NE(bad_name.status().message().find("metadata.name: Invalid value: \"Not_Valid\""), std::string::npos)
      << bad_name.status().message();
  auto no_name = store_->create(pods(), "default", Json{{"metadata", Json::object()}});
  EXPECT_EQ(no_name.status().code(), Code::kInvalid);
  Json with_rv = pod("x");
  with_rv["metadata"]["resourceVersion"] = "5";
  EXPECT_EQ(store_->create(pods(), "default", with_rv).status().code(), Code::kInvalid);
  Json wrong_kind = pod("x");
  wrong_kind["kind"] = "Service";
  EXPECT_EQ(store_->create(pods(), "default", wrong_kind).status().code(), Code::kBadRequest);
  Json other_ns = pod("x");
  other_ns["metadata"]["namespace"] = "other";
  EXPECT_EQ(store_->create(pods(), "default", other_ns).status().code(), Code::kBadRequest);
  EXPECT_EQ(store_->create(pods(), "default", Json::array()).status().code(), Code::kBadRequest);
  Json weird = pod("x");
  weird["metadata"]["name"] = 42;  // wrong type: refused, not thrown
  EXPECT_FALSE(store_->create(pods(), "default", weird).is_ok());
  EXPECT_EQ(store_->current_revision(), rev);
  EXPECT_TRUE(store_->list(pods(), {}).value().items.empty());
}

TEST_P(ObjectStoreTest, GenerateNameMakesUniqueNames) {
  Json p = pod("");
  p["metadata"].erase("name");
  p["metadata"]["generateName"] = "web-";
  auto a = must_create(pods(), "default", p);
  auto b = must_create(pods(), "default", p);
  EXPECT_EQ(a->name.rfind("web-", 0), 0u);
  EXPECT_EQ(a->name.size(), 9u);
  EXPECT_NE(a->name, b->name);
}

TEST_P(ObjectStoreTest, UpdateWithStaleResourceVersionConflicts) {
  auto v1 = must_create(configmaps(), "default", Json{{"metadata", {{"name", "cm"}}}, {"data", {{"a", "1"}}}});
  Json edit = Json::parse(v1->json);
  edit["data"]["a"] = "2";
  auto v2 = store_->update(configmaps(), edit);
  ASSERT_TRUE(v2.is_ok()) << v2.status().message();
  EXPECT_GT((*v2)->resource_version, v1->resource_version);

  edit["data"]["a"] = "3";  // still carries v1's resourceVersion
  auto stale = store_->update(configmaps(), edit);
  ASSERT_EQ(stale.status().code(), Code::kConflict);
  EXPECT_EQ(stale.status().message(),
            "Operation cannot be fulfilled on configmaps \"cm\": the object has been modified; please apply your "
            "changes to the latest version and try again");

  edit["metadata"].erase("resourceVersion");  // unconditional update
  auto forced = store_->update(configmaps(), edit);
  ASSERT_TRUE(forced.is_ok());
  EXPECT_EQ(Json::parse((*forced)->json)["data"]["a"], "3");
  EXPECT_EQ(Json::parse((*forced)->json)["metadata"]["uid"], v1->uid);

  Json missing = edit;
  missing["metadata"]["name"] = "nope";
  EXPECT_EQ(store_->update(configmaps(), missing).status().code(), Code::kNotFound);
}

TEST_P(ObjectStoreTest, NoOpUpdateWritesNothing) {
  auto v1 = must_create(configmaps(), "default", Json{{"metadata", {{"name", "cm"}}}, {"data", {{"a", "1"}}}});
  auto same = store_->update(configmaps(), Json::parse(v1->json));
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ((*same)->resource_version, v1->resource_version);
  EXPECT_EQ(store_->current_revision(), v1->resource_version);
}

// The no-op check compares the encoded object less its resourceVersion: it holds across revisions of
// any length, for status writes and unconditional updates, and a one-byte change is still a write.
TEST_P(ObjectStoreTest, NoOpCheckIgnoresOnlyTheResourceVersion) {
  for (int i = 0; i < 12; ++i)  // the configmap's revision gets more digits than a fresh store's first ones
    must_create(configmaps(), "default", Json{{"metadata", {{"name", "filler-" + std::to_string(i)}}}});
  auto v1 = must_create(deployments(), "default",
                        Json{{"metadata", {{"name", "web"}}}, {"spec", {{"replicas", 1}}}, {"status", {{"replicas", 0}}}});
  Json same = Json::parse(v1->json);
  same["metadata"].erase("resourceVersion");  // unconditional
  auto unconditional = store_->update(deployments(), same);
  ASSERT_TRUE(unconditional.is_ok()) << unconditional.status().message();
  EXPECT_EQ((*unconditional)->resource_version, v1->resource_version);
  auto status = store_->update(deployments(), Json::parse(v1->json), UpdateOptions{.status = true});
  ASSERT_TRUE(status.is_ok()) << status.status().message();
  EXPECT_EQ((*status)->resource_version, v1->resource_version);
  EXPECT_EQ(store_->current_revision(), v1->resource_version);

  Json changed = Json::parse(v1->json);
  changed["status"]["replicas"] = 1;
  auto v2 = store_->update(deployments(), changed, UpdateOptions{.status = true});
  ASSERT_TRUE(v2.is_ok()) << v2.status().message();
  EXPECT_GT((*v2)->resource_version, v1->resource_version);
  EXPECT_EQ(Json::parse((*v2)->json)["status"]["replicas"], 1);
}

TEST_P(ObjectStoreTest, GenerationBumpsOnSpecChangesOnly) {
  Json d = {{"metadata", {{"name", "web"}}}, {"spec", {{"replicas", 1}}}};
  auto v1 = must_create(deployments(), "default", d);
  Json j = Json::parse(v1->json);
  j["metadata"]["labels"] = {{"a", "b"}};
  auto v2 = store_->update(deployments(), j).value();
  EXPECT_EQ(Json::parse(v2->json)["metadata"]["generation"], 1);
  j = Json::parse(v2->json);
  j["spec"]["replicas"] = 3;
  auto v3 = store_->update(deployments(), j).value();
  EXPECT_EQ(Json::parse(v3->json)["metadata"]["generation"], 2);
  // generation cannot be set by the client
  j = Json::parse(v3->json);
  j["metadata"]["generation"] = 99;
  auto v4 = store_->update(deployments(), j).value();
  EXPECT_EQ(Json::parse(v4->json)["metadata"]["generation"], 2);
}

TEST_P(ObjectStoreTest, StatusSubresourceSeparatesSpecAndStatus) {
  auto v1 = must_create(deployments(), "default", Json{{"metadata", {{"name", "web"}}}, {"spec", {{"replicas", 1}}}});
  Json j = Json::parse(v1->json);
  j["status"] = {{"replicas", 1}};
  j["spec"]["replicas"] = 5;  // ignored by a status write
  auto v2 = store_->update(deployments(), j, UpdateOptions{.status = true}).value();
  Json s = Json::parse(v2->json);
  EXPECT_EQ(s["status"]["replicas"], 1);
  EXPECT_EQ(s["spec"]["replicas"], 1);
  EXPECT_EQ(s["metadata"]["generation"], 1);

  j = s;
  j["status"] = {{"replicas", 7}};  // ignored by a main-resource write
  j["spec"]["replicas"] = 2;
  auto v3 = store_->update(deployments(), j).value();
  Json m = Json::parse(v3->json);
  EXPECT_EQ(m["status"]["replicas"], 1);
  EXPECT_EQ(m["spec"]["replicas"], 2);
  EXPECT_EQ(m["metadata"]["generation"], 2);
}

TEST_P(ObjectStoreTest, FinalizersDeferDeletion) {
  Json cm = {{"metadata", {{"name", "cm"}, {"finalizers", {"example.com/a", "example.com/b"}}}}};
  auto v1 = must_create(configmaps(), "default", cm);
  auto del = store_->remove(configmaps(), "default", "cm").value();
  EXPECT_FALSE(del.deleted);
  EXPECT_TRUE(del.object->deleting);
  EXPECT_EQ(Json::parse(del.object->json)["metadata"]["deletionTimestamp"], "2026-11-18T11:06:40Z");
  // Deleting again changes nothing.
  auto again = store_->remove(configmaps(), "default", "cm").value();
  EXPECT_EQ(again.object->resource_version, del.object->resource_version);

  Json j = Json::parse(del.object->json);
  j["metadata"]["finalizers"] = {"example.com/a", "example.com/c"};
  auto add = store_->update(configmaps(), j);
  EXPECT_EQ(add.status().code(), Code::kInvalid) << add.status().message();

  j["metadata"]["finalizers"] = {"example.com/b"};
  auto one_left = store_->update(configmaps(), j).value();
  EXPECT_TRUE(one_left->deleting);
  EXPECT_TRUE(store_->get(configmaps(), "default", "cm").is_ok());

  j = Json::parse(one_left->json);
  j["metadata"]["finalizers"] = Json::array();
  auto gone = store_->update(configmaps(), j);
  ASSERT_TRUE(gone.is_ok()) << gone.status().message();
  EXPECT_EQ(store_->get(configmaps(), "default", "cm").status().code(), Code::kNotFound);
}

TEST_P(ObjectStoreTest, DeletePreconditions) {
  auto v1 = must_create(configmaps(), "default", Json{{"metadata", {{"name", "cm"}}}});
  EXPECT_EQ(store_->remove(configmaps(), "default", "cm", DeleteOptions{.precondition_uid = "other"}).status().code(),
            Code::kConflict);
  EXPECT_EQ(store_->remove(configmaps(), "default", "cm", DeleteOptions{.precondition_resource_version = v1->resource_version + 100})
                .status()
                .code(),
            Code::kConflict);
  auto ok = store_->remove(configmaps(), "default", "cm", DeleteOptions{.precondition_uid = v1->uid});
  ASSERT_TRUE(ok.is_ok());
  EXPECT_TRUE(ok->deleted);
  EXPECT_GT(ok->object->resource_version, v1->resource_version);
  EXPECT_EQ(store_->remove(configmaps(), "default", "cm").status().code(), Code::kNotFound);
}

TEST_P(ObjectStoreTest, ListFiltersByNamespaceAndSelectors) {
  must_create(pods(), "default", pod("a", {{"app", "web"}, {"tier", "front"}}, "n1", "Running"));
  must_create(pods(), "default", pod("b", {{"app", "web"}, {"tier", "back"}}, "n2", "Pending"));
  must_create(pods(), "default", pod("c", {{"app", "db"}}, "n1", "Running"));
  must_create(pods(), "other", pod("d", {{"app", "web"}}, "n1", "Running"));
  auto list = [&](ListOptions o) {
    auto r = store_->list(pods(), o);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return names(r.is_ok() ? r->items : std::vector<ObjectPtr>{});
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({}), (V{"default/a", "default/b", "default/c", "other/d"}));
  EXPECT_EQ(list({.ns = "default"}), (V{"default/a", "default/b", "default/c"}));
  EXPECT_EQ(list({.label_selector = "app=web"}), (V{"default/a", "default/b", "other/d"}));
  EXPECT_EQ(list({.label_selector = "app!=web"}), (V{"default/c"}));
  EXPECT_EQ(list({.label_selector = "tier in (front,back),app=web"}), (V{"default/a", "default/b"}));
  EXPECT_EQ(list({.label_selector = "tier notin (front)"}), (V{"default/b", "default/c", "other/d"}));
  EXPECT_EQ(list({.label_selector = "tier"}), (V{"default/a", "default/b"}));
  EXPECT_EQ(list({.label_selector = "!tier"}), (V{"default/c", "other/d"}));
  EXPECT_EQ(list({.field_selector = "spec.nodeName=n1"}), (V{"default/a", "default/c", "other/d"}));
  EXPECT_EQ(list({.field_selector = "status.phase!=Running"}), (V{"default/b"}));
  EXPECT_EQ(list({.field_selector = "metadata.name=c"}), (V{"default/c"}));
  EXPECT_EQ(list({.field_selector = "metadata.namespace=other"}), (V{"other/d"}));
  EXPECT_EQ(list({.ns = "default", .label_selector = "app=web", .field_selector = "spec.nodeName=n2"}), (V{"default/b"}));

  auto bad = store_->list(pods(), {.label_selector = "app in (web"});
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_NE(bad.status().message().find("labelSelector"), std::string::npos);
}

TEST_P(ObjectStoreTest, PagingIsConsistentAtOneResourceVersion) {
  for (int i = 0; i < 10; ++i) must_create(pods(), "default", pod("p" + std::to_string(i), {{"app", "web"}}));
  auto first = store_->list(pods(), {.limit = 3}).value();
  ASSERT_EQ(names(first.items), (std::vector<std::string>{"default/p0", "default/p1", "default/p2"}));
  ASSERT_FALSE(first.continue_token.empty());
  std::int64_t snapshot = first.resource_version;

  // Changes after the first page must not show up in later pages.
  ASSERT_TRUE(store_->remove(pods(), "default", "p5").is_ok());
  must_create(pods(), "default", pod("p35"));
  Json p7 = Json::parse(store_->get(pods(), "default", "p7").value()->json);
  p7["metadata"]["labels"]["changed"] = "yes";
  ASSERT_TRUE(store_->update(pods(), p7).is_ok());

  std::vector<std::string> all = names(first.items);
  std::string token = first.continue_token;
  int pages = 1;
  while (!token.empty()) {
    auto page = store_->list(pods(), {.limit = 3, .continue_token = token});
    ASSERT_TRUE(page.is_ok()) << page.status().message();
    EXPECT_EQ(page->resource_version, snapshot);
    for (const auto& o : page->items) {
      all.push_back(o->key());
      if (o->name == "p7") {
        EXPECT_EQ(o->label("changed"), nullptr);
      }
    }
    token = page->continue_token;
    ASSERT_LT(++pages, 10);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"default/p0", "default/p1", "default/p2", "default/p3", "default/p4",
                                           "default/p5", "default/p6", "default/p7", "default/p8", "default/p9"}));

  // Paging with a selector fills each page with matches.
  auto sel = store_->list(pods(), {.label_selector = "app=web", .limit = 4}).value();
  EXPECT_EQ(sel.items.size(), 4u);
  auto sel2 = store_->list(pods(), {.label_selector = "app=web", .limit = 4, .continue_token = sel.continue_token}).value();
  EXPECT_EQ(names(sel2.items), (std::vector<std::string>{"default/p4", "default/p6", "default/p7", "default/p8"}));

  EXPECT_EQ(store_->list(pods(), {.limit = 3, .continue_token = "garbage!"}).status().code(), Code::kBadRequest);
}

TEST_P(ObjectStoreTest, CompactedContinueTokenIsExpired) {
  for (int i = 0; i < 5; ++i) must_create(pods(), "default", pod("p" + std::to_string(i)));
  auto first = store_->list(pods(), {.limit = 2}).value();
  must_create(pods(), "default", pod("late"));
  ASSERT_TRUE(store_->compact(store_->current_revision()).is_ok());
  auto page = store_->list(pods(), {.limit = 2, .continue_token = first.continue_token});
  ASSERT_EQ(page.status().code(), Code::kExpired);
  EXPECT_NE(page.status().message().find("continue parameter is too old"), std::string::npos);
}

TEST_P(ObjectStoreTest, WatchFromResourceVersionDeliversEveryChangeInOrderOnce) {
  auto a = must_create(pods(), "default", pod("a"));
  auto w = store_->watch(pods(), {.resource_version = a->resource_version}).value();
  auto b = must_create(pods(), "default", pod("b"));
  Json aj = Json::parse(a->json);
  aj["metadata"]["labels"]["x"] = "y";
  auto a2 = store_->update(pods(), aj).value();
  ASSERT_TRUE(store_->remove(pods(), "default", "b").is_ok());
  must_create(configmaps(), "default", Json{{"metadata", {{"name", "not-a-pod"}}}});

  auto evs = drain(*w, 3);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].type, WatchEventType::kAdded);
  EXPECT_EQ(evs[0].object->name, "b");
  EXPECT_EQ(evs[1].type, WatchEventType::kModified);
  EXPECT_EQ(evs[1].object->resource_version, a2->resource_version);
  EXPECT_EQ(evs[2].type, WatchEventType::kDeleted);
  EXPECT_EQ(evs[2].object->name, "b");
  EXPECT_GT(evs[2].revision, evs[1].revision);
  EXPECT_TRUE(w->poll(10).empty());  // nothing more, nothing twice
}

TEST_P(ObjectStoreTest, WatchWithoutResourceVersionStartsWithCurrentState) {
  must_create(pods(), "default", pod("a", {{"app", "web"}}));
  must_create(pods(), "default", pod("b", {{"app", "db"}}));
  auto w = store_->watch(pods(), {.label_selector = "app=web"}).value();
  must_create(pods(), "default", pod("c", {{"app", "web"}}));
  auto evs = drain(*w, 2);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].object->name, "a");
  EXPECT_EQ(evs[1].object->name, "c");
}

TEST_P(ObjectStoreTest, WatchSelectorTransitionsBecomeAddedAndDeleted) {
  auto a = must_create(pods(), "default", pod("a", {{"app", "db"}}));
  auto w = store_->watch(pods(), {.label_selector = "app=web", .resource_version = a->resource_version}).value();
  Json j = Json::parse(a->json);
  j["metadata"]["labels"]["app"] = "web";  // starts matching
  auto v2 = store_->update(pods(), j).value();
  j = Json::parse(v2->json);
  j["metadata"]["labels"]["app"] = "cache";  // stops matching
  store_->update(pods(), j).value();
  auto evs = drain(*w, 2);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, WatchEventType::kAdded);
  EXPECT_EQ(evs[1].type, WatchEventType::kDeleted);
}

TEST_P(ObjectStoreTest, WatchFromTooOldResourceVersionIsExpired) {
  close();
  open(ObjectStoreOptions{.watch_window = 4});
  for (int i = 0; i < 10; ++i) must_create(pods(), "default", pod("p" + std::to_string(i)));
  auto w = store_->watch(pods(), {.resource_version = 1}).value();
  auto evs = drain(*w, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, WatchEventType::kError);
  EXPECT_EQ(evs[0].error.code(), Code::kExpired);
  EXPECT_NE(evs[0].error.message().find("too old resource version"), std::string::npos);
  EXPECT_TRUE(w->done());
}

TEST_P(ObjectStoreTest, SlowWatcherIsExpiredWithoutBlockingWriters) {
  close();
  open(ObjectStoreOptions{.watch_window = 16});
  auto slow = store_->watch(pods(), {.resource_version = store_->current_revision()}).value();
  auto fast = store_->watch(pods(), {.resource_version = store_->current_revision()}).value();
  std::size_t fast_seen = 0;
  for (int i = 0; i < 100; ++i) {
    must_create(pods(), "default", pod("p" + std::to_string(i)));  // never blocks on the slow watcher
    fast_seen += fast->poll(0).size();
  }
  EXPECT_EQ(fast_seen, 100u);
  auto evs = slow->poll(0);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, WatchEventType::kError);
  EXPECT_EQ(evs[0].error.code(), Code::kExpired);
}

TEST_P(ObjectStoreTest, BookmarksReportProgress) {
  auto w = store_->watch(pods(), {.label_selector = "app=none",
                                  .resource_version = store_->current_revision(),
                                  .bookmarks = true,
                                  .bookmark_interval = std::chrono::milliseconds(0)})
               .value();
  auto p = must_create(pods(), "default", pod("a", {{"app", "web"}}));
  auto evs = drain(*w, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, WatchEventType::kBookmark);
  EXPECT_EQ(evs[0].revision, p->resource_version);
}

TEST_P(ObjectStoreTest, ConcurrentWritersAndManyWatchersSeeEveryEventOnce) {
  constexpr int kThreads = 8, kPerThread = 100, kWatchers = 20;
  std::vector<std::unique_ptr<Watch>> watchers;
  for (int i = 0; i < kWatchers; ++i)
    watchers.push_back(store_->watch(pods(), {.resource_version = store_->current_revision()}).value());
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        if (!store_->create(pods(), "default", pod("t" + std::to_string(t) + "-" + std::to_string(i))).is_ok()) ++errors;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (auto& w : watchers) {
    auto evs = drain(*w, kThreads * kPerThread);
    ASSERT_EQ(evs.size(), static_cast<std::size_t>(kThreads * kPerThread));
    std::set<std::string> seen;
    std::int64_t last = 0;
    for (const auto& e : evs) {
      EXPECT_GT(e.revision, last);
      last = e.revision;
      seen.insert(e.object->name);
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
  }
}

TEST_P(ObjectStoreTest, UpdateWithRetriesOnConflict) {
  must_create(configmaps(), "default", Json{{"metadata", {{"name", "counter"}}}, {"data", {{"n", "0"}}}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = store_->update_with(configmaps(), "default", "counter", [](Json& j) {
          j["data"]["n"] = std::to_string(std::stoi(j["data"]["n"].get<std::string>()) + 1);
          return plugin::Status::ok();
        });
        EXPECT_TRUE(r.is_ok()) << r.status().message();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(Json::parse(store_->get(configmaps(), "default", "counter").value()->json)["data"]["n"], "100");
}

// Only for backends that persist (the memory backend keeps nothing across restarts by design).
class PersistentObjectStoreTest : public ObjectStoreTest {};

TEST_P(PersistentObjectStoreTest, RestartRecoversEveryObjectAndTheCounter) {
  auto a = must_create(pods(), "default", pod("a", {{"app", "web"}}));
  auto n = must_create(nodes(), "", Json{{"metadata", {{"name", "n1"}}}});
  ASSERT_TRUE(store_->remove(pods(), "default", "a").is_ok());
  auto b = must_create(pods(), "default", pod("b"));
  std::int64_t rev = store_->current_revision();
  close();
  open();
  EXPECT_EQ(store_->current_revision(), rev);
  EXPECT_EQ(store_->get(pods(), "default", "a").status().code(), Code::kNotFound);
  auto b2 = store_->get(pods(), "default", "b").value();
  EXPECT_EQ(b2->json, b->json);
  EXPECT_EQ(store_->get(nodes(), "", "n1").value()->uid, n->uid);
  auto c = must_create(pods(), "default", pod("c"));
  EXPECT_EQ(c->resource_version, rev + 1);
  // A watch from a resourceVersion the previous process handed out resumes: the new process
  // replayed the backend's recent history into its watch rings (as etcd would serve it).
  auto w = store_->watch(pods(), {.resource_version = a->resource_version}).value();
  auto evs = drain(*w, 3);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].type, WatchEventType::kDeleted);
  EXPECT_EQ(evs[0].object->name, "a");
  EXPECT_EQ(evs[1].type, WatchEventType::kAdded);
  EXPECT_EQ(evs[1].object->name, "b");
  EXPECT_EQ(evs[2].type, WatchEventType::kAdded);
  EXPECT_EQ(evs[2].object->name, "c");
  // A label-selected watch sees the same history through its filter (the replay keeps each
  // event's previous object): a's deletion matches app=web, b and c do not.
  auto web = store_->watch(pods(), {.label_selector = "app=web", .resource_version = a->resource_version}).value();
  evs = drain(*web, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, WatchEventType::kDeleted);
  EXPECT_EQ(evs[0].object->name, "a");
}

TEST_P(PersistentObjectStoreTest, AfterARestartAWatchOlderThanTheReplayedWindowIsExpired) {
  close();
  open(ObjectStoreOptions{.watch_window = 3});
  auto first = must_create(pods(), "default", pod("p0"));
  for (int i = 1; i < 8; ++i) must_create(pods(), "default", pod("p" + std::to_string(i)));
  close();
  open(ObjectStoreOptions{.watch_window = 3});  // replays the last 3 revisions only
  auto old = store_->watch(pods(), {.resource_version = first->resource_version}).value();
  auto evs = drain(*old, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].error.code(), Code::kExpired);
  auto recent = store_->watch(pods(), {.resource_version = store_->current_revision() - 2}).value();
  evs = drain(*recent, 2);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].object->name, "p6");
  EXPECT_EQ(evs[1].object->name, "p7");
  EXPECT_EQ(store_->list(pods(), {}).value().items.size(), 8u);
}

// The kernel's periodic compaction (kube-apiserver's --etcd-compaction-interval): each tick compacts
// to what the previous tick saw, so one interval of history always stays. Ticks are called directly.
TEST_P(PersistentObjectStoreTest, CompactionKeepsOneIntervalOfHistory) {
  StructuredLogger logger("test", 2, plugin::LogLevel::kError);
  MetricsRegistry metrics;
  Compactor compactor(*store_, std::chrono::hours(1), logger, metrics);
  auto a = must_create(pods(), "default", pod("a"));
  EXPECT_EQ(compactor.tick(), 0);  // the first tick only notes the revision
  auto b = must_create(pods(), "default", pod("b"));
  EXPECT_EQ(compactor.tick(), a->resource_version);  // what the first tick saw
  EXPECT_EQ(compactor.tick(), b->resource_version);
  EXPECT_EQ(compactor.tick(), 0);  // nothing written since: nothing to do
  must_create(pods(), "default", pod("c"));
  EXPECT_NE(metrics.expose().find("skiff_store_compactions_total 2"), std::string::npos) << metrics.expose();

  // After a restart, history at or below b is gone: a watch from a is expired, one from b resumes.
  close();
  open();
  auto old = store_->watch(pods(), {.resource_version = a->resource_version}).value();
  auto evs = drain(*old, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].error.code(), Code::kExpired);
  auto recent = store_->watch(pods(), {.resource_version = b->resource_version}).value();
  evs = drain(*recent, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].object->name, "c");
}

INSTANTIATE_TEST_SUITE_P(Backends, ObjectStoreTest,
                         ::testing::Values(BackendCase{"memory", false}, BackendCase{"sqlite", true}),
                         [](const auto& p) { return p.param.name; });
INSTANTIATE_TEST_SUITE_P(Backends, PersistentObjectStoreTest, ::testing::Values(BackendCase{"sqlite", true}),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace skiff::kernel
