// bench_store: write throughput of the skiff.store.v1 backends under concurrent writers.
//
// Each benchmark creates ~1 KiB values under distinct keys from 1, 16 and 100 writer threads against
// a fresh store, and reports writes/s (items_per_second, wall-clock) and the number of failed writes
// (errors, must be 0). The "peer" is plain SQLite used the common way — one connection, one INSERT
// per autocommit transaction, same WAL + synchronous=FULL durability — so the gain from group commit
// can be read as a ratio. Files go to $SKIFF_BENCH_DIR, else /var/tmp, else the working directory,
// skipping tmpfs (where fsync costs nothing and the numbers would flatter).
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/statfs.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "kernel/config/config_section.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"
#include "memory_store.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/store.hpp"
#include "sqlite_store.hpp"

namespace {

using namespace skiff;

constexpr std::size_t kValueSize = 1024;
constexpr long kTmpfsMagic = 0x01021994;

bool on_tmpfs(const std::string& dir) {
  struct statfs fs {};
  return statfs(dir.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kTmpfsMagic;
}

// Where the databases go: a real disk, so fsync is measured.
std::string bench_base_dir() {
  if (const char* env = std::getenv("SKIFF_BENCH_DIR"); env != nullptr && *env != '\0') return env;
  if (std::filesystem::is_directory("/var/tmp") && !on_tmpfs("/var/tmp")) return "/var/tmp";
  return std::filesystem::current_path().string();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = bench_base_dir() + "/skiff-bench-store-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror(("mkdtemp " + pattern).c_str());
      std::abort();
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// A Skiff backend with the host services its context needs.
class SkiffTarget {
 public:
  using Factory = plugin::Result<std::unique_ptr<plugin::store::Backend>> (*)(const plugin::PluginContext&) noexcept;

  SkiffTarget(std::string section, Factory factory, std::span<const plugin::OptionSpec> options)
      : logger_("bench", 2, plugin::LogLevel::kWarn),
        config_(kernel::MapConfigSection::with_defaults(std::move(section), options, {})),
        context_{logger_, metrics_, config_, dir_.path()} {
    auto made = factory(context_);
    if (!made) {
      std::fprintf(stderr, "bench_store: cannot open backend: %s\n", made.status().message().c_str());
      std::abort();
    }
    store_ = std::move(*made);
  }
  bool create(std::string_view key, std::string_view value) { return store_->create(key, value).is_ok(); }
  void report(benchmark::State& state) {
    double writes = metrics_.counter("skiff_store_sqlite_writes_total", "", "").value();
    double commits = metrics_.counter("skiff_store_sqlite_commits_total", "", "").value();
    if (commits > 0) state.counters["writes_per_commit"] = writes / commits;
  }

 private:
  TempDir dir_;
  kernel::StructuredLogger logger_;
  kernel::MetricsRegistry metrics_;
  kernel::MapConfigSection config_;
  plugin::PluginContext context_;
  std::unique_ptr<plugin::store::Backend> store_;
};

struct MemoryTarget : SkiffTarget {
  MemoryTarget() : SkiffTarget("store.memory", &plugins::store::memory::make_backend, {}) {}
};

// Defaults: synchronous=full, so every acknowledged write has been fsynced.
struct SqliteTarget : SkiffTarget {
  SqliteTarget()
      : SkiffTarget("store.sqlite", &plugins::store::sqlite::make_backend, plugins::store::sqlite::kOptions) {}
};

// The peer: plain SQLite, one shared connection, each INSERT its own (autocommit) transaction.
class PeerAutocommitTarget {
 public:
  PeerAutocommitTarget() {
    std::string path = dir_.path() + "/peer.db";
    check(sqlite3_open(path.c_str(), &db_), "open");
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
    exec("CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL)");
    check(sqlite3_prepare_v2(db_, "INSERT INTO kv (key, value) VALUES (?1, ?2)", -1, &insert_, nullptr), "prepare");
  }
  PeerAutocommitTarget(const PeerAutocommitTarget&) = delete;
  PeerAutocommitTarget& operator=(const PeerAutocommitTarget&) = delete;
  ~PeerAutocommitTarget() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  bool create(std::string_view key, std::string_view value) {
    std::lock_guard lock(mu_);
    sqlite3_bind_blob64(insert_, 1, key.data(), key.size(), SQLITE_STATIC);
    sqlite3_bind_blob64(insert_, 2, value.data(), value.size(), SQLITE_STATIC);
    int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    return rc == SQLITE_DONE;
  }
  void report(benchmark::State&) {}

 private:
  void exec(const char* sql) { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql); }
  void check(int rc, const char* what) {
    if (rc != SQLITE_OK) {
      std::fprintf(stderr, "bench_store: peer %s: %s\n", what, sqlite3_errmsg(db_));
      std::abort();
    }
  }
  TempDir dir_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

// One run: thread 0 opens a fresh store before the timed loop and closes it after; the library's
// start and stop barriers order that against the other threads.
template <class Target>
void BM_Create(benchmark::State& state) {
  static Target* target = nullptr;
  if (state.thread_index() == 0) target = new Target();
  const std::string value(kValueSize, 'v');
  char key[64] = "/bench/";
  char* const tail = key + 7;
  char* end = std::to_chars(tail, key + sizeof key, state.thread_index()).ptr;
  *end++ = '/';
  std::int64_t errors = 0;
  std::uint64_t i = 0;
  for (auto _ : state) {
    char* key_end = std::to_chars(end, key + sizeof key, i++).ptr;
    if (!target->create(std::string_view(key, static_cast<std::size_t>(key_end - key)), value)) ++errors;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kValueSize));
  state.counters["errors"] = benchmark::Counter(static_cast<double>(errors));
  if (state.thread_index() == 0) {
    target->report(state);
    delete target;
    target = nullptr;
  }
}

#define SKIFF_STORE_BENCH(target, min_time)                                                          \
  BENCHMARK_TEMPLATE(BM_Create, target)->Name(#target "/create")->UseRealTime()->MinTime(min_time)-> \
      Threads(1)->Threads(16)->Threads(100)

SKIFF_STORE_BENCH(MemoryTarget, 0.5);
SKIFF_STORE_BENCH(SqliteTarget, 2.0);
SKIFF_STORE_BENCH(PeerAutocommitTarget, 2.0);

}  // namespace

BENCHMARK_MAIN();
