// What is specific to the sqlite backend (files, schema, config, group commit); the shared contract
// is tests/conformance/store.
#include "sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store_backend_harness.hpp"

namespace skiff::plugins::store::sqlite {
namespace {

using ::testing::HasSubstr;
using plugin::Code;
using tests::store::ConfigValues;
using tests::store::Host;
using tests::store::LoadedModule;
using tests::store::TempDir;

std::unique_ptr<Host> host_for(const TempDir& dir, const ConfigValues& values = {}) {
  return std::make_unique<Host>("store.sqlite", dir.path().string(), values, kOptions);
}

// Runs one statement on the file with a plain connection (behind the backend's back).
std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string out;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// ---- config ---------------------------------------------------------------------------------------

TEST(SqliteStoreConfig, DefaultsAndThePathUnderDataDir) {
  TempDir dir;
  auto host = host_for(dir);
  auto options = parse_options(host->context());
  ASSERT_TRUE(options) << options.status().message();
  EXPECT_EQ(options->path, dir.file("skiff.db"));
  EXPECT_TRUE(options->synchronous_full);
  EXPECT_EQ(options->busy_timeout_ms, 5000);
  EXPECT_EQ(options->cache_size_mib, 32);
  EXPECT_EQ(options->max_batch, 1000u);

  auto custom = host_for(dir, {{"path", dir.file("other.db")}, {"synchronous", "normal"}, {"max-batch", "64"}});
  options = parse_options(custom->context());
  ASSERT_TRUE(options);
  EXPECT_EQ(options->path, dir.file("other.db"));
  EXPECT_FALSE(options->synchronous_full);
  EXPECT_EQ(options->max_batch, 64u);
}

TEST(SqliteStoreConfig, BadValuesAreRefusedNamingTheKey) {
  TempDir dir;
  struct Case {
    ConfigValues values;
    std::string key;
  };
  const std::vector<Case> cases{
      {{{"synchronous", "sometimes"}}, "store.sqlite.synchronous"},
      {{{"synchronous", "FULL"}}, "store.sqlite.synchronous"},
      {{{"busy-timeout-ms", "-1"}}, "store.sqlite.busy-timeout-ms"},
      {{{"busy-timeout-ms", "5s"}}, "store.sqlite.busy-timeout-ms"},
      {{{"cache-size-mib", "0"}}, "store.sqlite.cache-size-mib"},
      {{{"max-batch", "0"}}, "store.sqlite.max-batch"},
      {{{"max-batch", "lots"}}, "store.sqlite.max-batch"},
  };
  for (const auto& c : cases) {
    auto host = host_for(dir, c.values);
    auto store = make_backend(host->context());
    ASSERT_FALSE(store) << c.key;
    EXPECT_EQ(store.status().code(), Code::kInvalid) << c.key;
    EXPECT_THAT(store.status().message(), HasSubstr(c.key));
  }
  Host no_data_dir("store.sqlite", "", {}, kOptions);
  auto store = make_backend(no_data_dir.context());
  ASSERT_FALSE(store);
  EXPECT_THAT(store.status().message(), HasSubstr("store.sqlite.path"));
}

// ---- files and schema -----------------------------------------------------------------------------

TEST(SqliteStoreFile, CreatesAWalDatabaseWithTheCurrentSchema) {
  TempDir dir;
  auto host = host_for(dir, {{"path", dir.file("nested/dir/store.db")}});
  auto store = make_backend(host->context());
  ASSERT_TRUE(store) << store.status().message();
  ASSERT_TRUE((*store)->create("/a", "1"));
  const std::string path = dir.file("nested/dir/store.db");
  EXPECT_EQ(raw_query(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(raw_query(path, "PRAGMA application_id"), std::to_string(kApplicationId));
  EXPECT_EQ(raw_query(path, "SELECT revision FROM meta"), "1");
}

TEST(SqliteStoreFile, ANewerSchemaIsRefusedNamingTheFile) {
  TempDir dir;
  auto host = host_for(dir);
  ASSERT_TRUE(make_backend(host->context()));
  raw_query(dir.file("skiff.db"), "PRAGMA user_version = " + std::to_string(kSchemaVersion + 1));
  auto store = make_backend(host->context());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.status().code(), Code::kInvalid);
  EXPECT_THAT(store.status().message(), HasSubstr(dir.file("skiff.db")));
  EXPECT_THAT(store.status().message(), HasSubstr("schema version " + std::to_string(kSchemaVersion + 1)));
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
}

TEST(SqliteStoreFile, ANonSqliteFileIsRefusedNamingTheFile) {
  TempDir dir;
  {
    std::ofstream garbage(dir.file("skiff.db"), std::ios::binary);
    for (int i = 0; i < 1000; ++i) garbage << "this is not a database, it is a text file " << i << '\n';
  }
  auto host = host_for(dir);
  auto store = make_backend(host->context());
  ASSERT_FALSE(store);
  EXPECT_THAT(store.status().message(), HasSubstr(dir.file("skiff.db")));
  EXPECT_THAT(store.status().message(), HasSubstr("not a SQLite database"));
}

TEST(SqliteStoreFile, AForeignSqliteDatabaseIsRefused) {
  TempDir dir;
  raw_query(dir.file("skiff.db"), "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
  auto host = host_for(dir);
  auto store = make_backend(host->context());
  ASSERT_FALSE(store);
  EXPECT_THAT(store.status().message(), HasSubstr(dir.file("skiff.db")));
  EXPECT_THAT(store.status().message(), HasSubstr("not a Skiff store"));
  EXPECT_EQ(raw_query(dir.file("skiff.db"), "SELECT count(*) FROM customers"), "0");  // untouched
}

TEST(SqliteStoreFile, AnEmptyFileBecomesAStore) {
  TempDir dir;
  { std::ofstream empty(dir.file("skiff.db")); }
  auto host = host_for(dir);
  auto store = make_backend(host->context());
  ASSERT_TRUE(store) << store.status().message();
  EXPECT_TRUE((*store)->create("/a", "1"));
}

TEST(SqliteStoreFile, ASecondStoreOnTheSameFileIsRefused) {
  TempDir dir;
  auto host = host_for(dir);
  {
    auto first = make_backend(host->context());
    ASSERT_TRUE(first) << first.status().message();
    auto second = make_backend(host->context());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.status().code(), Code::kUnavailable);
    EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  }
  EXPECT_TRUE(make_backend(host->context()));  // free again once the first is closed
}

// Acknowledged writes survive a process that dies without closing anything (no checkpoint, no
// destructor): WAL recovery plus the revision counter in the meta table.
TEST(SqliteStoreFile, AcknowledgedWritesSurviveAKilledProcess) {
  TempDir dir;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto host = host_for(dir);
    auto store = make_backend(host->context());
    if (!store) _exit(2);
    for (int i = 0; i < 100; ++i)
      if (!(*store)->create("/k/" + std::to_string(i), "v" + std::to_string(i))) _exit(3);
    if (!(*store)->erase("/k/99", 0)) _exit(4);
    _exit(0);  // no destructors: the WAL is left as a crash would leave it
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto host = host_for(dir);
  auto store = make_backend(host->context());
  ASSERT_TRUE(store) << store.status().message();
  EXPECT_EQ(*(*store)->current_revision(), 101);
  auto all = (*store)->range({"/k/", "", 0, 0});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->kvs.size(), 99u);
  EXPECT_EQ((*store)->get("/k/42")->value, "v42");
}

TEST(SqliteStoreFile, SynchronousNormalStillPersists) {
  TempDir dir;
  auto host = host_for(dir, {{"synchronous", "normal"}});
  {
    auto store = make_backend(host->context());
    ASSERT_TRUE(store) << store.status().message();
    ASSERT_TRUE((*store)->create("/a", "1"));
  }
  auto store = make_backend(host->context());
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->get("/a")->value, "1");
}

// ---- group commit ---------------------------------------------------------------------------------

TEST(SqliteStoreGroupCommit, ConcurrentWritersShareTransactions) {
  TempDir dir;
  auto host = host_for(dir);
  auto made = make_backend(host->context());
  ASSERT_TRUE(made) << made.status().message();
  auto& store = **made;
  constexpr int kThreads = 16;
  constexpr int kWrites = 100;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i)
        if (!store.create("/g/" + std::to_string(t) + "/" + std::to_string(i), "v")) errors.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  double writes = host->metrics().counter("skiff_store_sqlite_writes_total", "", "").value();
  double commits = host->metrics().counter("skiff_store_sqlite_commits_total", "", "").value();
  EXPECT_EQ(writes, kThreads * kWrites);
  EXPECT_LT(commits, writes / 2) << "group commit should put several writes in one transaction";
}

TEST(SqliteStoreGroupCommit, MaxBatchOfOneStillWorks) {
  TempDir dir;
  auto host = host_for(dir, {{"max-batch", "1"}});
  auto made = make_backend(host->context());
  ASSERT_TRUE(made) << made.status().message();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) (void)(*made)->create("/b/" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(*(*made)->current_revision(), 100);
  EXPECT_EQ(host->metrics().counter("skiff_store_sqlite_commits_total", "", "").value(), 100);
}

// Writes that fail their precondition inside a shared transaction fail alone.
TEST(SqliteStoreGroupCommit, AFailedPreconditionFailsOnlyThatWrite) {
  TempDir dir;
  auto host = host_for(dir);
  auto made = make_backend(host->context());
  ASSERT_TRUE(made);
  auto& store = **made;
  constexpr int kThreads = 16;
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 20; ++i) {
        // Everyone creates the shared key of round i; only one may win. Own keys always succeed.
        auto shared = store.create("/shared/" + std::to_string(i), std::to_string(t));
        (shared ? ok : refused).fetch_add(1);
        if (!shared) {
          EXPECT_EQ(shared.status().code(), Code::kAlreadyExists);
        }
        if (store.create("/own/" + std::to_string(t) + "/" + std::to_string(i), "v")) ok.fetch_add(1);
      }
    });
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 20 + kThreads * 20);
  EXPECT_EQ(refused.load(), (kThreads - 1) * 20);
  EXPECT_EQ(*store.current_revision(), 20 + kThreads * 20);
}

// Under steady concurrent writes the WAL must keep restarting from its beginning (checkpoints keep
// up), not grow until the forced checkpoint. The file keeps its largest size, so that is what we check.
TEST(SqliteStoreGroupCommit, TheWalStaysBoundedUnderSteadyWrites) {
  TempDir dir;
  auto host = host_for(dir, {{"synchronous", "normal"}});  // the WAL logic is the same, the test faster
  auto made = make_backend(host->context());
  ASSERT_TRUE(made) << made.status().message();
  const std::string value(4000, 'w');  // about one WAL frame per write
  constexpr int kThreads = 8;
  constexpr int kWrites = 2500;  // 20 000 writes: more than twice the restart threshold in frames
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i)
        if (!(*made)->create("/wal/" + std::to_string(t) + "/" + std::to_string(i), value)) errors.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  auto wal_bytes = std::filesystem::file_size(dir.file("skiff.db-wal"));
  EXPECT_LT(wal_bytes, 12000u * 4120u) << "the WAL grew to " << wal_bytes / 4120 << " frames";
}

TEST(SqliteStoreFile, ReadsAtPastRevisionsWorkAfterAReopen) {
  TempDir dir;
  auto host = host_for(dir);
  std::int64_t before_delete = 0;
  {
    auto store = make_backend(host->context());
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->create("/a", "1"));
    before_delete = *(*store)->update("/a", "2", 0);
    ASSERT_TRUE((*store)->erase("/a", 0));
    ASSERT_TRUE((*store)->create("/a", "3"));
  }
  auto store = make_backend(host->context());
  ASSERT_TRUE(store) << store.status().message();
  auto past = (*store)->range({"/a", "", before_delete, 0});
  ASSERT_TRUE(past);
  ASSERT_EQ(past->kvs.size(), 1u);
  EXPECT_EQ(past->kvs[0].value, "2");
  EXPECT_EQ(past->kvs[0].create_revision, 1);
  auto gone = (*store)->range({"/a", "", before_delete + 1, 0});
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->kvs.empty());
  EXPECT_EQ((*store)->get("/a")->value, "3");
  EXPECT_EQ(host->metrics().gauge("skiff_store_sqlite_index_versions", "", "").value(), 4);
}

// ---- the module -----------------------------------------------------------------------------------

TEST(SqliteStoreModule, ManifestExportsTheBackendAndItsOptions) {
  LoadedModule module(std::string(SKIFF_TEST_PLUGIN_DIR) + "/libskiff-store-sqlite.so");
  const plugin::Manifest* manifest = module.manifest();
  ASSERT_NE(manifest, nullptr) << module.error();
  EXPECT_EQ(manifest->header.magic, plugin::kManifestMagic);
  EXPECT_EQ(manifest->header.abi_major, plugin::kAbiMajor);
  EXPECT_EQ(std::string_view(manifest->header.abi_tag), plugin::kAbiTag);
  EXPECT_EQ(std::string_view(manifest->header.plugin_name), kName);
  ASSERT_EQ(manifest->exports.size(), 1u);
  const plugin::Export& e = manifest->exports[0];
  EXPECT_EQ(std::string_view(e.role), plugin::store::Backend::kRole);
  EXPECT_EQ(std::string_view(e.name), kName);
  ASSERT_EQ(e.options.size(), kOptions.size());
  for (std::size_t i = 0; i < kOptions.size(); ++i) EXPECT_STREQ(e.options[i].key, kOptions[i].key);

  TempDir dir;
  Host host("store.sqlite", dir.path().string(), {}, e.options);
  auto factory = reinterpret_cast<plugin::Factory<plugin::store::Backend>>(e.factory);
  auto store = factory(host.context());
  ASSERT_TRUE(store) << store.status().message();
  EXPECT_TRUE((*store)->create("/via/module", "ok"));
}

}  // namespace
}  // namespace skiff::plugins::store::sqlite
