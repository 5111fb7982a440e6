// The skiff.store.v1 conformance suite: what the kernel relies on from any store backend. Every
// backend in all_backends() runs every test; a test that needs persistence skips non-persistent ones.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "skiff/plugin/store.hpp"
#include "store_backend_harness.hpp"

namespace skiff::tests::store {
namespace {

using plugin::Code;
using plugin::store::Backend;
using plugin::store::Event;
using plugin::store::EventType;
using plugin::store::KeyValue;
using plugin::store::RangeRequest;
using plugin::store::RangeResponse;

class StoreConformance : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { open(); }
  void TearDown() override { close(); }

  void open() {
    host_ = GetParam().host(dir_.path().string());
    auto backend = GetParam().open(host_->context());
    ASSERT_TRUE(backend) << backend.status().message();
    store_ = std::move(*backend);
  }
  void close() {
    store_.reset();
    host_.reset();
  }
  void reopen() {
    close();
    open();
  }
  bool persistent() const { return GetParam().persistent; }

  Backend& store() { return *store_; }
  std::int64_t revision() {
    auto r = store_->current_revision();
    EXPECT_TRUE(r) << r.status().message();
    return r ? *r : -1;
  }
  std::int64_t create(std::string_view key, std::string_view value) {
    auto r = store_->create(key, value);
    EXPECT_TRUE(r) << "create " << key << ": " << r.status().message();
    return r ? *r : -1;
  }
  std::int64_t update(std::string_view key, std::string_view value, std::int64_t expected = 0) {
    auto r = store_->update(key, value, expected);
    EXPECT_TRUE(r) << "update " << key << ": " << r.status().message();
    return r ? *r : -1;
  }
  std::int64_t erase(std::string_view key, std::int64_t expected = 0) {
    auto r = store_->erase(key, expected);
    EXPECT_TRUE(r) << "erase " << key << ": " << r.status().message();
    return r ? *r : -1;
  }
  RangeResponse range(std::string_view prefix, std::int64_t at = 0, std::size_t limit = 0,
                      std::string_view start_after = {}) {
    auto r = store_->range(RangeRequest{prefix, start_after, at, limit});
    EXPECT_TRUE(r) << "range " << prefix << " at " << at << ": " << r.status().message();
    return r ? *r : RangeResponse{};
  }
  static std::vector<std::string> keys(const RangeResponse& r) {
    std::vector<std::string> out;
    for (const auto& kv : r.kvs) out.push_back(kv.key);
    return out;
  }
  std::vector<Event> history(std::int64_t after, std::size_t limit = 0) {
    auto r = store_->history(after, limit);
    EXPECT_TRUE(r) << "history after " << after << ": " << r.status().message();
    return r ? *r : std::vector<Event>{};
  }

  TempDir dir_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<Backend> store_;
};

// ---- CRUD and preconditions -----------------------------------------------------------------------

TEST_P(StoreConformance, CreateGetUpdateErase) {
  std::int64_t r1 = create("/core/pods/default/web-0", "v1");
  auto got = store().get("/core/pods/default/web-0");
  ASSERT_TRUE(got) << got.status().message();
  EXPECT_EQ(got->key, "/core/pods/default/web-0");
  EXPECT_EQ(got->value, "v1");
  EXPECT_EQ(got->create_revision, r1);
  EXPECT_EQ(got->mod_revision, r1);

  std::int64_t r2 = update("/core/pods/default/web-0", "v2", r1);
  EXPECT_EQ(r2, r1 + 1);
  got = store().get("/core/pods/default/web-0");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->create_revision, r1);
  EXPECT_EQ(got->mod_revision, r2);

  std::int64_t r3 = erase("/core/pods/default/web-0", r2);
  EXPECT_EQ(r3, r2 + 1);
  EXPECT_EQ(store().get("/core/pods/default/web-0").status().code(), Code::kNotFound);
  EXPECT_TRUE(range("/core/").kvs.empty());
}

TEST_P(StoreConformance, CreateOfAnExistingKeyIsAlreadyExists) {
  std::int64_t r1 = create("/a", "1");
  auto again = store().create("/a", "2");
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << again.status().message();
  EXPECT_EQ(store().get("/a")->value, "1");

  // A deleted key can be created again: a new incarnation with a new create_revision.
  erase("/a");
  std::int64_t r3 = create("/a", "3");
  auto got = store().get("/a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->create_revision, r3);
  EXPECT_GT(r3, r1);
}

TEST_P(StoreConformance, StaleExpectedModRevisionIsConflict) {
  std::int64_t r1 = create("/a", "1");
  std::int64_t r2 = update("/a", "2", r1);
  auto stale_update = store().update("/a", "x", r1);
  EXPECT_EQ(stale_update.status().code(), Code::kConflict) << stale_update.status().message();
  auto stale_erase = store().erase("/a", r1);
  EXPECT_EQ(stale_erase.status().code(), Code::kConflict) << stale_erase.status().message();
  EXPECT_EQ(store().get("/a")->value, "2");
  // expected_mod_revision 0 means "whatever it is".
  update("/a", "3", 0);
  EXPECT_EQ(store().get("/a")->value, "3");
  erase("/a", r2 + 1);
}

TEST_P(StoreConformance, MissingKeyIsNotFound) {
  EXPECT_EQ(store().get("/nope").status().code(), Code::kNotFound);
  EXPECT_EQ(store().update("/nope", "v", 0).status().code(), Code::kNotFound);
  EXPECT_EQ(store().erase("/nope", 0).status().code(), Code::kNotFound);
  create("/gone", "v");
  erase("/gone");
  EXPECT_EQ(store().get("/gone").status().code(), Code::kNotFound);
  EXPECT_EQ(store().update("/gone", "v", 0).status().code(), Code::kNotFound);
  EXPECT_EQ(store().erase("/gone", 0).status().code(), Code::kNotFound);
}

TEST_P(StoreConformance, RevisionRisesByOnePerSuccessfulWriteOnly) {
  EXPECT_EQ(revision(), 0);
  EXPECT_EQ(create("/a", "1"), 1);
  EXPECT_EQ(revision(), 1);
  EXPECT_FALSE(store().create("/a", "again"));
  EXPECT_FALSE(store().update("/a", "x", 99));
  EXPECT_FALSE(store().erase("/missing", 0));
  EXPECT_FALSE(store().update("/missing", "x", 0));
  EXPECT_EQ(revision(), 1);
  EXPECT_EQ(update("/a", "2"), 2);
  EXPECT_EQ(create("/b", "1"), 3);
  EXPECT_EQ(erase("/a"), 4);
  EXPECT_EQ(revision(), 4);
}

TEST_P(StoreConformance, EmptyKeyIsInvalid) {
  EXPECT_EQ(store().create("", "v").status().code(), Code::kInvalid);
  EXPECT_EQ(revision(), 0);
}

TEST_P(StoreConformance, BinaryKeysAndValuesRoundTrip) {
  const std::string key("/bin/\0\xff\x01", 8);
  const std::string value("\0\0\xfe\n{}\"", 8);
  create(key, value);
  create("/bin/empty", "");
  auto got = store().get(key);
  ASSERT_TRUE(got) << got.status().message();
  EXPECT_EQ(got->key, key);
  EXPECT_EQ(got->value, value);
  auto empty = store().get("/bin/empty");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->value, "");
  auto all = range("/bin/");
  ASSERT_EQ(all.kvs.size(), 2u);
  EXPECT_EQ(all.kvs[0].key, key);  // "\0" sorts before "e"
  EXPECT_EQ(all.kvs[0].value, value);
}

// ---- range ----------------------------------------------------------------------------------------

TEST_P(StoreConformance, RangeByPrefixStartAfterLimitAndMore) {
  for (const char* k : {"/a/3", "/a/1", "/a/5", "/a/2", "/a/4", "/ab", "/b/1", "/a"}) create(k, std::string("v") + k);

  EXPECT_EQ(keys(range("/a/")), (std::vector<std::string>{"/a/1", "/a/2", "/a/3", "/a/4", "/a/5"}));
  EXPECT_EQ(keys(range("")).size(), 8u);
  EXPECT_EQ(keys(range("/a")), (std::vector<std::string>{"/a", "/a/1", "/a/2", "/a/3", "/a/4", "/a/5", "/ab"}));
  EXPECT_TRUE(range("/c").kvs.empty());

  auto page = range("/a/", 0, 2);
  EXPECT_EQ(keys(page), (std::vector<std::string>{"/a/1", "/a/2"}));
  EXPECT_TRUE(page.more);
  EXPECT_EQ(page.revision, revision());
  EXPECT_EQ(page.kvs[0].value, "v/a/1");

  EXPECT_EQ(keys(range("/a/", 0, 2, "/a/2")), (std::vector<std::string>{"/a/3", "/a/4"}));
  auto last = range("/a/", 0, 2, "/a/4");
  EXPECT_EQ(keys(last), (std::vector<std::string>{"/a/5"}));
  EXPECT_FALSE(last.more);
  // A limit that exactly fits is not "more".
  EXPECT_FALSE(range("/a/", 0, 5).more);
  // start_after outside the prefix: before it means from the start, after it means nothing.
  EXPECT_EQ(keys(range("/a/", 0, 0, "/")).size(), 5u);
  EXPECT_TRUE(range("/a/", 0, 0, "/b").kvs.empty());
  // start_after need not be an existing key.
  EXPECT_EQ(keys(range("/a/", 0, 0, "/a/25")), (std::vector<std::string>{"/a/3", "/a/4", "/a/5"}));

  // Paging through everything with start_after = the last key of the previous page.
  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    auto p = range("", 0, 3, after);
    for (auto& kv : p.kvs) paged.push_back(kv.key);
    if (!p.more) break;
    after = p.kvs.back().key;
  }
  EXPECT_EQ(paged, keys(range("")));
}

TEST_P(StoreConformance, RangePrefixEndingInFfBytes) {
  const std::string prefix("/x\xff\xff", 4);
  create(prefix + "a", "1");
  create(prefix, "2");
  create("/x\xfe", "3");
  create("/y", "4");
  EXPECT_EQ(keys(range(prefix)), (std::vector<std::string>{prefix, prefix + "a"}));
  EXPECT_EQ(keys(range("/x")).size(), 3u);
  EXPECT_EQ(keys(range(std::string("\xff", 1))).size(), 0u);
}

TEST_P(StoreConformance, RangeAtAPastRevisionSeesThePast) {
  std::int64_t r1 = create("/p/a", "a1");
  create("/p/b", "b1");
  std::int64_t r_before = update("/p/a", "a2");
  // After r_before: b is deleted, a changes again, c appears, d comes and goes.
  erase("/p/b");
  update("/p/a", "a3");
  create("/p/c", "c1");
  create("/p/d", "d1");
  erase("/p/d");

  auto past = range("/p/", r_before);
  EXPECT_EQ(past.revision, r_before);
  ASSERT_EQ(keys(past), (std::vector<std::string>{"/p/a", "/p/b"}));
  EXPECT_EQ(past.kvs[0].value, "a2");
  EXPECT_EQ(past.kvs[0].create_revision, r1);
  EXPECT_EQ(past.kvs[0].mod_revision, r_before);
  EXPECT_EQ(past.kvs[1].value, "b1");

  auto first = range("/p/", r1);
  ASSERT_EQ(keys(first), (std::vector<std::string>{"/p/a"}));
  EXPECT_EQ(first.kvs[0].value, "a1");

  auto now = range("/p/");
  ASSERT_EQ(keys(now), (std::vector<std::string>{"/p/a", "/p/c"}));
  EXPECT_EQ(now.kvs[0].value, "a3");

  // Paging at a past revision with a limit.
  auto page = range("/p/", r_before, 1);
  EXPECT_EQ(keys(page), (std::vector<std::string>{"/p/a"}));
  EXPECT_TRUE(page.more);
  auto rest = range("/p/", r_before, 1, "/p/a");
  EXPECT_EQ(keys(rest), (std::vector<std::string>{"/p/b"}));
  EXPECT_FALSE(rest.more);
}

TEST_P(StoreConformance, RangeAtPastRevisionsAcrossARecreatedKey) {
  std::int64_t r1 = create("/k", "first");
  std::int64_t r2 = update("/k", "first-2");
  std::int64_t r3 = erase("/k");
  std::int64_t r4 = create("/other", "x");
  std::int64_t r5 = create("/k", "second");
  std::int64_t r6 = update("/k", "second-2");
  auto value_at = [&](std::int64_t at) {
    auto r = range("/k", at);
    return r.kvs.empty() ? std::string("<absent>") : r.kvs[0].value + "@" + std::to_string(r.kvs[0].create_revision);
  };
  EXPECT_EQ(value_at(r1), "first@" + std::to_string(r1));
  EXPECT_EQ(value_at(r2), "first-2@" + std::to_string(r1));
  EXPECT_EQ(value_at(r3), "<absent>");
  EXPECT_EQ(value_at(r4), "<absent>");
  EXPECT_EQ(value_at(r5), "second@" + std::to_string(r5));
  EXPECT_EQ(value_at(r6), "second-2@" + std::to_string(r5));
  // Compacting across the delete keeps what reads at and after the compacted revision see.
  ASSERT_TRUE(store().compact(r4).is_ok());
  EXPECT_EQ(value_at(r4), "<absent>");
  EXPECT_EQ(value_at(r5), "second@" + std::to_string(r5));
  auto events = history(r4);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].prev_mod_revision, 0);  // a re-creation, not an update of the deleted key
  EXPECT_EQ(events[0].prev_value, "");
  EXPECT_EQ(events[1].prev_value, "second");
}

TEST_P(StoreConformance, LatestReadsNeverFailWhileCompactingUnderWrites) {
  constexpr int kKeys = 50;
  for (int i = 0; i < kKeys; ++i) create("/z/" + std::to_string(i), "0");
  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::atomic<int> write_errors{0};
  std::thread writer([&] {
    for (int round = 1; round <= 40; ++round)
      for (int i = 0; i < kKeys; ++i)
        if (!store().update("/z/" + std::to_string(i), std::to_string(round), 0)) write_errors.fetch_add(1);
    stop = true;
  });
  std::thread compactor([&] {
    while (!stop) {
      auto rev = store().current_revision();
      if (rev && !store().compact(*rev).is_ok()) write_errors.fetch_add(1);
      std::this_thread::yield();
    }
  });
  int reads = 0;
  while (!stop) {
    auto all = store().range(RangeRequest{"/z/", "", 0, 0});
    if (!all || all->kvs.size() != kKeys) read_errors.fetch_add(1);
    auto one = store().get("/z/7");
    if (!one) read_errors.fetch_add(1);
    ++reads;
  }
  writer.join();
  compactor.join();
  EXPECT_EQ(write_errors.load(), 0);
  EXPECT_EQ(read_errors.load(), 0) << "out of " << reads << " reads";
  EXPECT_EQ(range("/z/").kvs.size(), static_cast<std::size_t>(kKeys));
}

TEST_P(StoreConformance, PagesAtAFixedRevisionStayConsistentUnderWrites) {
  for (int i = 0; i < 20; ++i) create("/l/" + std::to_string(100 + i), "v0");
  std::int64_t at = revision();
  auto expected = keys(range("/l/"));
  std::vector<std::string> seen;
  std::string after;
  for (int i = 0;; ++i) {
    // Writes between pages: new keys, deletes and updates, none of which the pages may show.
    create("/l/" + std::to_string(200 + i), "new");
    (void)store().erase("/l/" + std::to_string(119 - i), 0);
    auto p = range("/l/", at, 3, after);
    for (const auto& kv : p.kvs) {
      seen.push_back(kv.key);
      EXPECT_EQ(kv.value, "v0");
    }
    if (!p.more) break;
    after = p.kvs.back().key;
  }
  EXPECT_EQ(seen, expected);
}

TEST_P(StoreConformance, RangeAtAFutureOrNegativeRevisionIsInvalid) {
  create("/a", "1");
  EXPECT_EQ(store().range(RangeRequest{"/", "", revision() + 1, 0}).status().code(), Code::kInvalid);
  EXPECT_EQ(store().range(RangeRequest{"/", "", -1, 0}).status().code(), Code::kInvalid);
}

// ---- compaction -----------------------------------------------------------------------------------

TEST_P(StoreConformance, RangeAtACompactedRevisionIsExpired) {
  std::int64_t r1 = create("/a", "1");
  create("/b", "1");
  std::int64_t r3 = update("/a", "2");
  erase("/b");
  create("/c", "1");
  ASSERT_TRUE(store().compact(r3).is_ok());
  EXPECT_EQ(store().compacted_revision(), r3);

  auto old = store().range(RangeRequest{"/", "", r1, 0});
  EXPECT_EQ(old.status().code(), Code::kExpired) << old.status().message();
  // The compacted revision itself is still readable: compaction keeps the state as of then.
  auto at = range("/", r3);
  ASSERT_EQ(keys(at), (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(at.kvs[0].value, "2");
  EXPECT_EQ(keys(range("/")), (std::vector<std::string>{"/a", "/c"}));
}

TEST_P(StoreConformance, CompactionKeepsTheLatestStateAndTheRevision) {
  create("/keep", "1");
  update("/keep", "2");
  std::int64_t created = create("/old", "x");
  create("/gone", "1");
  std::int64_t last = erase("/gone");  // the newest revision is a delete
  ASSERT_TRUE(store().compact(last).is_ok());
  EXPECT_EQ(revision(), last);
  auto now = range("/");
  ASSERT_EQ(keys(now), (std::vector<std::string>{"/keep", "/old"}));
  EXPECT_EQ(now.kvs[0].value, "2");
  EXPECT_EQ(now.kvs[1].create_revision, created);
  EXPECT_EQ(store().get("/gone").status().code(), Code::kNotFound);
  EXPECT_EQ(create("/next", "1"), last + 1);
  // Compacting again at or below the compacted revision is a no-op; beyond the current one is invalid.
  EXPECT_TRUE(store().compact(last).is_ok());
  EXPECT_TRUE(store().compact(1).is_ok());
  EXPECT_EQ(store().compacted_revision(), last);
  EXPECT_EQ(store().compact(revision() + 1).code(), Code::kInvalid);
}

TEST_P(StoreConformance, CompactionOfManyRevisions) {
  // Enough to span several compaction transactions in chunking backends.
  for (int i = 0; i < 300; ++i) create("/k/" + std::to_string(i), "v");
  for (int round = 0; round < 60; ++round)
    for (int i = 0; i < 300; i += 7) update("/k/" + std::to_string(i), "r" + std::to_string(round));
  for (int i = 0; i < 300; i += 3) erase("/k/" + std::to_string(i));
  std::int64_t mid = revision() - 50;
  auto before = range("/k/", mid);
  auto latest = range("/k/");
  ASSERT_TRUE(store().compact(mid).is_ok());
  auto after = range("/k/", mid);
  ASSERT_EQ(keys(after), keys(before));
  for (std::size_t i = 0; i < after.kvs.size(); ++i) {
    EXPECT_EQ(after.kvs[i].value, before.kvs[i].value);
    EXPECT_EQ(after.kvs[i].mod_revision, before.kvs[i].mod_revision);
  }
  EXPECT_EQ(keys(range("/k/")), keys(latest));
  auto events = history(mid);
  EXPECT_EQ(events.size(), 50u);
  for (const auto& e : events)
    if (e.type == EventType::kDelete) {
      EXPECT_FALSE(e.kv.value.empty()) << "delete at " << e.kv.mod_revision;
    }
}

// ---- history --------------------------------------------------------------------------------------

TEST_P(StoreConformance, HistoryAfterARevisionInOrder) {
  std::int64_t r1 = create("/h", "1");
  std::int64_t r2 = update("/h", "2");
  std::int64_t r3 = erase("/h");
  std::int64_t r4 = create("/h", "3");
  std::int64_t r5 = create("/i", "x");

  auto all = history(0);
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].kv.mod_revision, static_cast<std::int64_t>(i + 1));

  EXPECT_EQ(all[0].type, EventType::kPut);
  EXPECT_EQ(all[0].kv.value, "1");
  EXPECT_EQ(all[0].kv.create_revision, r1);
  EXPECT_EQ(all[0].prev_mod_revision, 0);
  EXPECT_EQ(all[0].prev_value, "");

  EXPECT_EQ(all[1].type, EventType::kPut);
  EXPECT_EQ(all[1].kv.value, "2");
  EXPECT_EQ(all[1].kv.create_revision, r1);
  EXPECT_EQ(all[1].prev_value, "1");
  EXPECT_EQ(all[1].prev_mod_revision, r1);

  EXPECT_EQ(all[2].type, EventType::kDelete);
  EXPECT_EQ(all[2].kv.key, "/h");
  EXPECT_EQ(all[2].kv.value, "2");  // the last value
  EXPECT_EQ(all[2].kv.mod_revision, r3);
  EXPECT_EQ(all[2].kv.create_revision, r1);
  EXPECT_EQ(all[2].prev_value, "2");
  EXPECT_EQ(all[2].prev_mod_revision, r2);

  EXPECT_EQ(all[3].type, EventType::kPut);
  EXPECT_EQ(all[3].kv.create_revision, r4);  // a new incarnation
  EXPECT_EQ(all[3].prev_mod_revision, 0);
  EXPECT_EQ(all[3].prev_value, "");
  EXPECT_EQ(all[4].kv.key, "/i");
  EXPECT_EQ(all[4].kv.mod_revision, r5);

  auto tail = history(r2);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].kv.mod_revision, r3);
  auto limited = history(r1, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].kv.mod_revision, r2);
  EXPECT_EQ(limited[1].kv.mod_revision, r3);
  EXPECT_TRUE(history(r5).empty());
}

TEST_P(StoreConformance, HistoryAfterACompactedRevisionIsExpired) {
  create("/a", "1");
  std::int64_t r2 = update("/a", "2");
  std::int64_t r3 = update("/a", "3");
  update("/a", "4");
  ASSERT_TRUE(store().compact(r3).is_ok());
  auto old = store().history(r2, 0);
  EXPECT_EQ(old.status().code(), Code::kExpired) << old.status().message();
  auto ok = history(r3);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].prev_value, "3");  // the state at the compacted revision is still there
  EXPECT_EQ(ok[0].prev_mod_revision, r3);
}

// ---- watch ----------------------------------------------------------------------------------------

TEST_P(StoreConformance, WatchCatchesUpThenFollows) {
  create("/w/a", "1");
  std::int64_t r2 = create("/w/b", "1");
  update("/w/a", "2");
  RecordingSink sink;
  ASSERT_TRUE(store().watch(r2 - 1, &sink).is_ok());
  update("/w/b", "2");
  erase("/w/a");
  store().unwatch();
  create("/w/c", "after unwatch");

  auto events = sink.events();
  ASSERT_EQ(events.size(), 4u);
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].kv.mod_revision, r2 + static_cast<std::int64_t>(i));
  EXPECT_EQ(events[0].kv.key, "/w/b");
  EXPECT_EQ(events[3].type, EventType::kDelete);
  EXPECT_EQ(events[3].kv.value, "2");
}

TEST_P(StoreConformance, WatchDeliversBeforeTheWriteReturns) {
  RecordingSink sink;
  ASSERT_TRUE(store().watch(0, &sink).is_ok());
  for (int i = 0; i < 20; ++i) {
    std::int64_t rev = create("/d/" + std::to_string(i), "v");
    EXPECT_EQ(sink.last_revision(), rev);
  }
  store().unwatch();
}

TEST_P(StoreConformance, WatchUnderConcurrentWritersSeesEveryRevisionOnceInOrder) {
  create("/pre", "before the watch");
  RecordingSink sink;
  ASSERT_TRUE(store().watch(0, &sink).is_ok());
  constexpr int kThreads = 8;
  constexpr int kWrites = 500;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        std::string key = "/c/" + std::to_string(t) + "/" + std::to_string(i % 50);
        auto r = i < 50 ? store().create(key, "v") : store().update(key, std::to_string(i), 0);
        if (!r) errors.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  store().unwatch();

  EXPECT_EQ(errors.load(), 0);
  auto events = sink.events();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kWrites + 1));
  for (std::size_t i = 0; i < events.size(); ++i)
    ASSERT_EQ(events[i].kv.mod_revision, static_cast<std::int64_t>(i + 1)) << "event #" << i;
  EXPECT_EQ(revision(), kThreads * kWrites + 1);
  // Each update's prev_mod_revision is the key's previous event.
  std::map<std::string, std::int64_t> last;
  for (const auto& e : events) {
    auto it = last.find(e.kv.key);
    EXPECT_EQ(e.prev_mod_revision, it == last.end() ? 0 : it->second) << e.kv.key;
    last[e.kv.key] = e.kv.mod_revision;
  }
}

TEST_P(StoreConformance, WatchRules) {
  create("/a", "1");
  std::int64_t r2 = update("/a", "2");
  update("/a", "3");
  RecordingSink sink;
  EXPECT_EQ(store().watch(0, nullptr).code(), Code::kInvalid);
  EXPECT_EQ(store().watch(revision() + 1, &sink).code(), Code::kInvalid);
  ASSERT_TRUE(store().compact(r2).is_ok());
  EXPECT_EQ(store().watch(r2 - 1, &sink).code(), Code::kExpired);
  ASSERT_TRUE(store().watch(r2, &sink).is_ok());
  RecordingSink second;
  EXPECT_EQ(store().watch(r2, &second).code(), Code::kInvalid);  // one sink at a time
  store().unwatch();
  EXPECT_EQ(sink.size(), 1u);
  // After unwatch a new watch may start, from where the first left off.
  update("/a", "4");
  ASSERT_TRUE(store().watch(sink.last_revision(), &second).is_ok());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second.events()[0].kv.value, "4");
  store().unwatch();
}

// The sink may read the store (it must not write): reads from on_events must not deadlock and must
// already see the write being delivered.
class ReadingSink final : public plugin::store::EventSink {
 public:
  explicit ReadingSink(Backend& store) : store_(store) {}
  void on_events(std::span<const Event> events) noexcept override {
    for (const auto& e : events) {
      auto got = store_.get(e.kv.key);
      if (e.type == EventType::kPut && (!got || got->mod_revision < e.kv.mod_revision)) ++stale;
      ++seen;
    }
  }
  Backend& store_;
  std::atomic<int> seen{0};
  std::atomic<int> stale{0};
};

TEST_P(StoreConformance, SinkMayReadTheStore) {
  ReadingSink sink(store());
  ASSERT_TRUE(store().watch(0, &sink).is_ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) (void)store().create("/r/" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  for (auto& th : threads) th.join();
  store().unwatch();
  EXPECT_EQ(sink.seen.load(), 200);
  EXPECT_EQ(sink.stale.load(), 0);
}

// ---- concurrency ----------------------------------------------------------------------------------

TEST_P(StoreConformance, ManyConcurrentWritersWithZeroErrors) {
  constexpr int kThreads = 16;
  constexpr int kKeys = 40;
  create("/counter", "0");
  std::atomic<int> errors{0};
  std::atomic<int> increments{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        std::string key = "/m/" + std::to_string(t) + "/" + std::to_string(i);
        auto c = store().create(key, "v");
        if (!c) { errors.fetch_add(1); continue; }
        auto u = store().update(key, "w", *c);
        if (!u) { errors.fetch_add(1); continue; }
        if (i % 2 == 0 && !store().erase(key, *u)) errors.fetch_add(1);
        // A compare-and-swap increment of a shared key: conflicts are normal answers, retried.
        for (int attempt = 0; attempt < 1000; ++attempt) {
          auto cur = store().get("/counter");
          if (!cur) { errors.fetch_add(1); break; }
          auto next = store().update("/counter", std::to_string(std::stoi(cur->value) + 1), cur->mod_revision);
          if (next) { increments.fetch_add(1); break; }
          if (next.status().code() != Code::kConflict) { errors.fetch_add(1); break; }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(increments.load(), kThreads * kKeys);
  EXPECT_EQ(store().get("/counter")->value, std::to_string(kThreads * kKeys));
  EXPECT_EQ(range("/m/").kvs.size(), static_cast<std::size_t>(kThreads * kKeys / 2));
  // 1 create of the counter, then per key: create, update, maybe erase, one increment.
  EXPECT_EQ(revision(), 1 + kThreads * kKeys * 3 + kThreads * kKeys / 2);
}

TEST_P(StoreConformance, RacingCreatesOfOneKeyHaveOneWinner) {
  constexpr int kThreads = 16;
  std::atomic<int> won{0};
  std::atomic<int> exists{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto r = store().create("/race", std::to_string(t));
      if (r) won.fetch_add(1);
      else if (r.status().code() == Code::kAlreadyExists) exists.fetch_add(1);
      else other.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(revision(), 1);
}

// ---- restart --------------------------------------------------------------------------------------

// Restart recovery: only for backends that persist (memory keeps nothing across a restart by design,
// so it is not instantiated here rather than skipped).
class PersistentStoreConformance : public StoreConformance {};

std::vector<BackendKind> persistent_backends() {
  std::vector<BackendKind> out;
  for (const auto& b : all_backends())
    if (b.persistent) out.push_back(b);
  return out;
}

TEST_P(PersistentStoreConformance, RestartKeepsEverything) {
  create("/s/a", "1");
  std::int64_t rb = create("/s/b", "1");
  update("/s/a", "2");
  create("/s/c", std::string("bin\0ary", 7));
  std::int64_t compact_at = update("/s/b", "2", rb);
  erase("/s/c");
  ASSERT_TRUE(store().compact(compact_at).is_ok());
  auto before = range("/");
  std::int64_t rev = revision();
  auto events = history(compact_at);

  reopen();
  EXPECT_EQ(revision(), rev);
  EXPECT_EQ(store().compacted_revision(), compact_at);
  auto after = range("/");
  ASSERT_EQ(after.kvs.size(), before.kvs.size());
  for (std::size_t i = 0; i < after.kvs.size(); ++i) {
    EXPECT_EQ(after.kvs[i].key, before.kvs[i].key);
    EXPECT_EQ(after.kvs[i].value, before.kvs[i].value);
    EXPECT_EQ(after.kvs[i].create_revision, before.kvs[i].create_revision);
    EXPECT_EQ(after.kvs[i].mod_revision, before.kvs[i].mod_revision);
  }
  auto replay = history(compact_at);
  ASSERT_EQ(replay.size(), events.size());
  EXPECT_EQ(replay.back().type, EventType::kDelete);
  EXPECT_EQ(replay.back().kv.value, std::string("bin\0ary", 7));
  EXPECT_EQ(store().range(RangeRequest{"/", "", compact_at - 1, 0}).status().code(), Code::kExpired);
  EXPECT_EQ(create("/s/d", "new"), rev + 1);
}

TEST_P(PersistentStoreConformance, RestartAfterCompactingATrailingDeleteKeepsTheCounter) {
  create("/t", "1");
  create("/u", "1");
  erase("/u");
  std::int64_t last = erase("/t");  // the newest revisions are deletes; compaction drops their rows
  ASSERT_TRUE(store().compact(last).is_ok());
  reopen();
  EXPECT_EQ(revision(), last);
  EXPECT_EQ(store().compacted_revision(), last);
  EXPECT_TRUE(range("/").kvs.empty());
  EXPECT_EQ(create("/t", "again"), last + 1);
}

TEST_P(PersistentStoreConformance, RestartWithAWatchActiveAndConcurrentWrites) {
  RecordingSink sink;
  ASSERT_TRUE(store().watch(0, &sink).is_ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) (void)store().create("/x/" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  for (auto& th : threads) th.join();
  store().unwatch();
  reopen();
  EXPECT_EQ(revision(), 800);
  EXPECT_EQ(range("/x/").kvs.size(), 800u);
  RecordingSink replay;
  ASSERT_TRUE(store().watch(0, &replay).is_ok());
  store().unwatch();
  auto a = sink.events();
  auto b = replay.events();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kv.key, b[i].kv.key);
    EXPECT_EQ(a[i].kv.mod_revision, b[i].kv.mod_revision);
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreConformance, ::testing::ValuesIn(all_backends()),
                         [](const ::testing::TestParamInfo<BackendKind>& param) { return param.param.name; });
INSTANTIATE_TEST_SUITE_P(PersistentBackends, PersistentStoreConformance, ::testing::ValuesIn(persistent_backends()),
                         [](const ::testing::TestParamInfo<BackendKind>& param) { return param.param.name; });

}  // namespace
}  // namespace skiff::tests::store
