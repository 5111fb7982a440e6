// Informers: list + watch into a cache, handlers, indexes, resync, and recovery from expired or ended
// watches — against the real ObjectStore over the memory backend, and against a scripted source.
#include "kernel/reconcile/informer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "tests/unit/memory_object_store.hpp"

namespace skiff::kernel {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using skiff::testing::data_of;
using skiff::testing::eventually;
using skiff::testing::MemoryObjectStore;

std::string v_of(const ObjectPtr& o) {
  json d = data_of(*o);
  return d.is_object() && d.contains("v") ? d["v"].get<std::string>() : "";
}

// Records handler calls as readable lines: "add ns/name v=1", "update ns/name v=1->v=2", "delete ns/name".
// Tests declare it (and anything else a handler touches) before the informer, whose thread may call
// handlers until the informer is destroyed.
class Recorder {
 public:
  EventHandlers handlers() {
    EventHandlers h;
    h.on_add = [this](const ObjectPtr& o) { record("add " + o->key() + " v=" + v_of(o)); };
    h.on_update = [this](const ObjectPtr& old_o, const ObjectPtr& new_o) {
      record((old_o == new_o ? "resync " : "update ") + new_o->key() + " v=" + v_of(old_o) + "->v=" + v_of(new_o));
    };
    h.on_delete = [this](const ObjectPtr& o) { record("delete " + o->key()); };
    return h;
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return lines_.size() >= n; });
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }
  std::size_t count_prefix(std::string_view prefix) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) { return l.starts_with(prefix); }));
  }

 private:
  void record(std::string line) {
    {
      std::lock_guard lock(mutex_);
      lines_.push_back(std::move(line));
    }
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

using Lines = std::vector<std::string>;

// ---- against the real object store ----------------------------------------------------------

class InformerStoreTest : public ::testing::Test {
 protected:
  MemoryObjectStore env;
  ObjectStore& store = env.store();
};

TEST_F(InformerStoreTest, InitialListIsDeliveredAsAddsBeforeSync) {
  env.put_configmap("default", "a", {{"v", "1"}});
  env.put_configmap("default", "b", {{"v", "1"}});
  env.put_configmap("kube-system", "c", {{"v", "1"}});
  Recorder rec;
  Informer informer(store, env.configmaps());
  informer.add_handlers(rec.handlers());
  EXPECT_FALSE(informer.has_synced());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  EXPECT_TRUE(informer.has_synced());
  // Everything listed reached the handlers by the time has_synced() is true.
  EXPECT_EQ(rec.lines(), (Lines{"add default/a v=1", "add default/b v=1", "add kube-system/c v=1"}));
  EXPECT_EQ(informer.size(), 3u);
  ASSERT_NE(informer.get("default", "a"), nullptr);
  EXPECT_EQ(informer.get("default/a"), informer.get("default", "a"));
  EXPECT_EQ(informer.get("default", "zzz"), nullptr);
  EXPECT_EQ(informer.last_resource_version(), store.current_revision());
}

TEST_F(InformerStoreTest, WatchDeliversAddUpdateDeleteInOrder) {
  Recorder rec;
  Informer informer(store, env.configmaps());
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  env.put_configmap("default", "a", {{"v", "1"}});
  env.put_configmap("default", "a", {{"v", "2"}});
  env.put_configmap("default", "b", {{"v", "1"}});
  env.delete_configmap("default", "a");
  ASSERT_TRUE(rec.wait_for(4));
  EXPECT_EQ(rec.lines(),
            (Lines{"add default/a v=1", "update default/a v=1->v=2", "add default/b v=1", "delete default/a"}));
  EXPECT_EQ(informer.get("default", "a"), nullptr);
  ASSERT_NE(informer.get("default", "b"), nullptr);
  EXPECT_EQ(informer.size(), 1u);
}

TEST_F(InformerStoreTest, CachedObjectsAreImmutableSnapshots) {
  env.put_configmap("default", "a", {{"v", "1"}});
  Recorder rec;
  Informer informer(store, env.configmaps());
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  ObjectPtr before = informer.get("default", "a");
  static_assert(std::is_const_v<std::remove_reference_t<decltype(*before)>>, "cache reads are read-only");
  env.put_configmap("default", "a", {{"v", "2"}});
  ASSERT_TRUE(rec.wait_for(2));
  EXPECT_EQ(v_of(before), "1") << "a snapshot held by a reader never changes under it";
  EXPECT_EQ(v_of(informer.get("default", "a")), "2");
}

TEST_F(InformerStoreTest, NamespaceLabelAndCustomIndexes) {
  env.put_configmap("default", "web", {{"v", "1"}}, {{"app", "web"}, {"tier", "fe"}});
  env.put_configmap("default", "db", {{"v", "1"}}, {{"app", "db"}, {"tier", "be"}});
  env.put_configmap("other", "web", {{"v", "1"}}, {{"app", "web"}});
  Recorder rec;
  Informer informer(store, env.configmaps());
  ASSERT_TRUE(informer
                  .add_indexer("by-app",
                               [](const Object& o) {
                                 const std::string* app = o.label("app");
                                 return app ? std::vector<std::string>{*app} : std::vector<std::string>{};
                               })
                  .is_ok());
  EXPECT_EQ(informer.add_indexer("by-app", [](const Object&) { return std::vector<std::string>{}; }).code(),
            plugin::Code::kAlreadyExists);
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));

  auto keys = [](const std::vector<ObjectPtr>& objects) {
    Lines out;
    for (const auto& o : objects) out.push_back(o->key());
    return out;
  };
  EXPECT_EQ(keys(informer.list()), (Lines{"default/db", "default/web", "other/web"}));
  EXPECT_EQ(keys(informer.list("default")), (Lines{"default/db", "default/web"}));
  EXPECT_EQ(keys(informer.list("nowhere")), Lines{});
  EXPECT_EQ(keys(informer.list("", LabelSelector::parse("app=web").value())), (Lines{"default/web", "other/web"}));
  EXPECT_EQ(keys(informer.list("default", LabelSelector::parse("tier notin (fe)").value())), Lines{"default/db"});
  EXPECT_EQ(keys(informer.list("", LabelSelector::parse("!tier").value())), Lines{"other/web"});
  EXPECT_EQ(keys(informer.by_index("by-app", "web").value()), (Lines{"default/web", "other/web"}));
  EXPECT_EQ(keys(informer.by_index("by-app", "none").value()), Lines{});
  EXPECT_EQ(informer.by_index("nope", "web").status().code(), plugin::Code::kNotFound);

  // An index added later covers what is cached already.
  ASSERT_TRUE(informer
                  .add_indexer("by-v",
                               [](const Object& o) {
                                 return std::vector<std::string>{v_of(std::make_shared<const Object>(o))};
                               })
                  .is_ok());
  EXPECT_EQ(keys(informer.by_index("by-v", "1").value()), (Lines{"default/db", "default/web", "other/web"}));

  // Indexes follow updates and deletes.
  env.put_configmap("default", "db", {{"v", "2"}}, {{"app", "web"}});
  env.delete_configmap("other", "web");
  ASSERT_TRUE(rec.wait_for(5));
  EXPECT_EQ(keys(informer.by_index("by-app", "web").value()), (Lines{"default/db", "default/web"}));
  EXPECT_EQ(keys(informer.by_index("by-app", "db").value()), Lines{});
  EXPECT_EQ(keys(informer.by_index("by-v", "2").value()), Lines{"default/db"});
  EXPECT_EQ(keys(informer.list("other")), Lines{});
}

TEST_F(InformerStoreTest, LateHandlersGetTheCacheAsAddsAndRemovedHandlersStop) {
  env.put_configmap("default", "a", {{"v", "1"}});
  Recorder late;
  Recorder other;
  Informer informer(store, env.configmaps());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  auto id = informer.add_handlers(late.handlers());
  EXPECT_EQ(late.lines(), Lines{"add default/a v=1"});
  informer.add_handlers(other.handlers());
  informer.remove_handlers(id);
  env.put_configmap("default", "b", {{"v", "1"}});
  ASSERT_TRUE(other.wait_for(2));
  EXPECT_EQ(late.lines(), Lines{"add default/a v=1"});
}

TEST_F(InformerStoreTest, ResyncRedeliversEveryObjectAsAnUpdate) {
  env.put_configmap("default", "a", {{"v", "1"}});
  env.put_configmap("default", "b", {{"v", "1"}});
  InformerOptions options;
  options.resync_period = 20ms;
  Recorder rec;
  Informer informer(store, env.configmaps(), options);
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  ASSERT_TRUE(eventually([&] { return rec.count_prefix("resync default/b") >= 2; }));
  EXPECT_GE(rec.count_prefix("resync default/a v=1->v=1"), 2u);
}

TEST_F(InformerStoreTest, NoResyncWhenThePeriodIsZero) {
  env.put_configmap("default", "a", {{"v", "1"}});
  Recorder rec;
  Informer informer(store, env.configmaps());
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rec.lines(), Lines{"add default/a v=1"});
}

// A watcher that falls behind the store's event window gets kExpired; the informer lists again and
// turns the difference into the right events: one update per changed object (not one per missed
// write), a delete for what vanished, an add for what appeared, nothing for what did not change.
TEST(InformerExpiry, RelistAfterExpiredWatchDiffsAgainstTheCache) {
  ObjectStoreOptions small;
  small.watch_window = 8;
  MemoryObjectStore env(small);
  env.put_configmap("default", "changed", {{"v", "1"}});
  env.put_configmap("default", "gone", {{"v", "1"}});
  env.put_configmap("default", "same", {{"v", "1"}});
  env.put_configmap("default", "busy", {{"v", "0"}});

  std::mutex m;
  std::condition_variable cv;
  bool blocked = false, release = false;
  Recorder rec;
  Informer informer(env.store(), env.configmaps());
  EventHandlers gate;
  gate.on_add = [&](const ObjectPtr& o) {
    if (o->name != "gate") return;
    std::unique_lock lock(m);
    blocked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  informer.add_handlers(gate);
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  rec.take();

  // Hold the informer's thread inside a handler while more writes than the window holds happen.
  env.put_configmap("default", "gate", {{"v", "1"}});
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return blocked; }));
  }
  env.put_configmap("default", "changed", {{"v", "2"}});
  env.delete_configmap("default", "gone");
  env.put_configmap("default", "new", {{"v", "1"}});
  for (int i = 1; i <= 20; ++i) env.put_configmap("default", "busy", {{"v", std::to_string(i)}});
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();

  ASSERT_TRUE(eventually([&] { return informer.size() == 5 && v_of(informer.get("default/busy")) == "20"; }));
  ASSERT_TRUE(rec.wait_for(5));
  Lines lines = rec.lines();
  std::sort(lines.begin() + 1, lines.end());
  EXPECT_EQ(lines, (Lines{"add default/gate v=1", "add default/new v=1", "delete default/gone",
                          "update default/busy v=0->v=20", "update default/changed v=1->v=2"}));
  // The cache matches the store exactly.
  auto listed = env.store().list(env.configmaps(), {});
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->items.size(), informer.size());
  for (const auto& o : listed->items) {
    ASSERT_NE(informer.get(o->key()), nullptr) << o->key();
    EXPECT_EQ(informer.get(o->key())->resource_version, o->resource_version) << o->key();
  }
}

TEST_F(InformerStoreTest, StopIsPromptAndFinal) {
  Recorder rec;
  Informer informer(store, env.configmaps());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  auto t0 = std::chrono::steady_clock::now();
  informer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  informer.start();  // does nothing after stop
  informer.add_handlers(rec.handlers());
  env.put_configmap("default", "a", {{"v", "1"}});
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rec.lines(), Lines{});
}

TEST_F(InformerStoreTest, SharedFactoryGivesOneInformerPerResource) {
  SharedInformerFactory factory(store);
  auto a = factory.informer_for({"", "v1", "configmaps"});
  auto b = factory.informer_for({"", "v1", "configmaps"});
  auto c = factory.informer_for({"apps", "v1", "deployments"});
  ASSERT_TRUE(a.is_ok() && b.is_ok() && c.is_ok());
  EXPECT_EQ(a.value(), b.value());
  EXPECT_NE(a.value(), c.value());
  auto bad = factory.informer_for({"", "v1", "widgets"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), plugin::Code::kNotFound);
  EXPECT_NE(bad.status().message().find("widgets"), std::string::npos);
  EXPECT_EQ(factory.informers().size(), 2u);
  EXPECT_FALSE(a.value()->started());
  factory.start();
  EXPECT_TRUE(a.value()->wait_for_sync(10s));
  EXPECT_TRUE(c.value()->wait_for_sync(10s));
}

// ---- against a scripted source --------------------------------------------------------------

ObjectPtr make_object(const std::string& ns, const std::string& name, const std::string& uid, std::int64_t rv,
                      const std::string& v) {
  auto o = std::make_shared<Object>();
  o->ns = ns;
  o->name = name;
  o->uid = uid;
  o->resource_version = rv;
  o->json = json{{"metadata", {{"name", name}, {"namespace", ns}, {"uid", uid}}}, {"data", {{"v", v}}}}.dump();
  return o;
}

// A watch that hands out its scripted events, then ends if told to.
class ScriptedWatch final : public Watch {
 public:
  ScriptedWatch(std::vector<WatchEvent> events, bool end) : events_(events.begin(), events.end()), end_(end) {}
  std::vector<WatchEvent> poll(std::size_t max) override {
    std::lock_guard lock(mutex_);
    std::vector<WatchEvent> out;
    while (!events_.empty() && out.size() < max) {
      out.push_back(events_.front());
      events_.pop_front();
    }
    if (events_.empty() && end_) done_ = true;
    return out;
  }
  std::vector<WatchEvent> wait(std::size_t max, std::chrono::milliseconds) override { return poll(max); }
  void set_notify(std::function<void()>) override {}
  bool done() const override {
    std::lock_guard lock(mutex_);
    return done_;
  }
  void stop() override {
    std::lock_guard lock(mutex_);
    done_ = true;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<WatchEvent> events_;
  bool end_;
  bool done_ = false;
};

// Each list() / watch() call takes the next scripted answer; once the script runs out, lists fail
// with kUnavailable and watches stay open and quiet.
class ScriptedSource final : public ListerWatcher {
 public:
  struct WatchScript {
    std::vector<WatchEvent> events;
    bool end = true;
    std::optional<Status> fail;
  };
  std::deque<Result<ListResult>> lists;
  std::deque<WatchScript> watches;
  std::atomic<int> list_calls{0};
  std::vector<std::int64_t> watched_from;
  std::mutex mutex;

  Result<ListResult> list() override {
    std::lock_guard lock(mutex);
    ++list_calls;
    if (lists.empty()) return plugin::unavailable("script over");
    auto r = std::move(lists.front());
    lists.pop_front();
    return r;
  }
  Result<std::unique_ptr<Watch>> watch(std::int64_t resource_version) override {
    std::lock_guard lock(mutex);
    watched_from.push_back(resource_version);
    if (watches.empty()) return std::unique_ptr<Watch>(std::make_unique<ScriptedWatch>(std::vector<WatchEvent>{}, false));
    auto w = std::move(watches.front());
    watches.pop_front();
    if (w.fail) return *w.fail;
    return std::unique_ptr<Watch>(std::make_unique<ScriptedWatch>(std::move(w.events), w.end));
  }
  std::string describe() const override { return "scripted"; }
};

ListResult list_of(std::vector<ObjectPtr> items, std::int64_t rv) { return ListResult{std::move(items), rv, ""}; }

InformerOptions fast_retries() {
  InformerOptions o;
  o.relist_backoff = 1ms;
  o.relist_backoff_max = 2ms;
  return o;
}

TEST(InformerScripted, WatchThatEndsIsFollowedByARelistAndADiff) {
  auto source = std::make_unique<ScriptedSource>();
  ScriptedSource& s = *source;
  s.lists.push_back(list_of({make_object("ns", "a", "u-a", 1, "1"), make_object("ns", "b", "u-b", 1, "1"),
                            make_object("ns", "c", "u-c", 1, "1")},
                           1));
  s.watches.push_back({{WatchEvent{WatchEventType::kModified, make_object("ns", "a", "u-a", 2, "2"), 2, {}}}, true});
  // While nobody watched: a changed again, b went away, c was deleted and created again (new uid), d appeared.
  s.lists.push_back(list_of({make_object("ns", "a", "u-a", 5, "3"), make_object("ns", "c", "u-c2", 4, "1"),
                            make_object("ns", "d", "u-d", 3, "1")},
                           5));
  Recorder rec;
  Informer informer(std::move(source), fast_retries());
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(rec.wait_for(9));
  EXPECT_EQ(rec.lines(), (Lines{"add ns/a v=1", "add ns/b v=1", "add ns/c v=1", "update ns/a v=1->v=2",
                                "update ns/a v=2->v=3", "delete ns/c", "add ns/c v=1", "add ns/d v=1",
                                "delete ns/b"}))
      << "the relist's diff: updates and re-creations in key order, then deletes";
  informer.stop();
  EXPECT_EQ(informer.get("ns/c")->uid, "u-c2");
  std::lock_guard lock(s.mutex);
  EXPECT_EQ(s.watched_from, (std::vector<std::int64_t>{1, 5})) << "each watch starts at its list's resourceVersion";
}

TEST(InformerScripted, ExpiredErrorEventAndFailedListsAreRetried) {
  auto source = std::make_unique<ScriptedSource>();
  ScriptedSource& s = *source;
  s.lists.push_back(plugin::unavailable("backend down"));
  s.lists.push_back(list_of({make_object("ns", "a", "u-a", 1, "1")}, 1));
  s.watches.push_back({{WatchEvent{WatchEventType::kError, nullptr, 0, plugin::expired("too old")}}, true});
  s.lists.push_back(plugin::unavailable("backend down again"));
  s.lists.push_back(list_of({make_object("ns", "a", "u-a", 7, "2")}, 7));
  s.watches.push_back({{}, false, plugin::internal("watch refused")});
  s.lists.push_back(list_of({make_object("ns", "a", "u-a", 8, "3")}, 8));
  Recorder rec;
  Informer informer(std::move(source), fast_retries());
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  ASSERT_TRUE(rec.wait_for(3));
  informer.stop();
  EXPECT_EQ(rec.lines(), (Lines{"add ns/a v=1", "update ns/a v=1->v=2", "update ns/a v=2->v=3"}));
  EXPECT_EQ(s.list_calls.load(), 5);
}

TEST(InformerScripted, HandlerThatThrowsDoesNotStopTheInformer) {
  auto source = std::make_unique<ScriptedSource>();
  source->lists.push_back(list_of({make_object("ns", "a", "u-a", 1, "1"), make_object("ns", "b", "u-b", 1, "1")}, 1));
  Recorder rec;
  Informer informer(std::move(source), fast_retries());
  EventHandlers thrower;
  thrower.on_add = [](const ObjectPtr&) { throw std::runtime_error("boom"); };
  informer.add_handlers(thrower);
  informer.add_handlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  EXPECT_EQ(rec.lines(), (Lines{"add ns/a v=1", "add ns/b v=1"}));
}

}  // namespace
}  // namespace skiff::kernel
