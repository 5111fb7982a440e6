// The manifest of libskiff-store-sqlite.so: nothing but what the loader reads.
#include <array>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/store.hpp"
#include "sqlite_store.hpp"

namespace {

const skiff::plugin::Manifest* skiff_store_sqlite_manifest() noexcept {
  namespace sqlite = skiff::plugins::store::sqlite;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::store::Backend>(
      sqlite::kName.data(), "Embedded SQLite store (WAL, fsync per group commit); Skiff's default",
      &sqlite::make_backend, sqlite::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("sqlite", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_store_sqlite_manifest)
