// What is specific to the memory backend; the shared contract is tests/conformance/store.
#include "memory_store.hpp"

#include <string>

#include <gtest/gtest.h>

#include "store_backend_harness.hpp"

namespace skiff::plugins::store::memory {
namespace {

using tests::store::Host;
using tests::store::LoadedModule;
using tests::store::TempDir;

TEST(MemoryStore, NothingSurvivesAReopen) {
  TempDir dir;
  Host host("store.memory", dir.path().string());
  {
    auto store = make_backend(host.context());
    ASSERT_TRUE(store) << store.status().message();
    ASSERT_TRUE((*store)->create("/a", "1"));
  }
  auto store = make_backend(host.context());
  ASSERT_TRUE(store);
  EXPECT_EQ(*(*store)->current_revision(), 0);
  EXPECT_EQ((*store)->get("/a").status().code(), plugin::Code::kNotFound);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // and it wrote nothing
}

TEST(MemoryStore, CompactionReleasesVersions) {
  TempDir dir;
  Host host("store.memory", dir.path().string());
  auto made = make_backend(host.context());
  ASSERT_TRUE(made);
  auto& store = **made;
  auto& versions = host.metrics().gauge("skiff_store_memory_versions", "", "");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store.create("/k/" + std::to_string(i), "v"));
  for (int round = 0; round < 9; ++round)
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store.update("/k/" + std::to_string(i), std::to_string(round), 0));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.erase("/k/" + std::to_string(i), 0));
  EXPECT_EQ(versions.value(), 105);
  ASSERT_TRUE(store.compact(*store.current_revision()).is_ok());
  EXPECT_EQ(versions.value(), 5);  // the five live keys, one version each; tombstones gone
}

TEST(MemoryStore, ManifestExportsTheBackend) {
  LoadedModule module(std::string(SKIFF_TEST_PLUGIN_DIR) + "/libskiff-store-memory.so");
  const plugin::Manifest* manifest = module.manifest();
  ASSERT_NE(manifest, nullptr) << module.error();
  EXPECT_EQ(manifest->header.magic, plugin::kManifestMagic);
  EXPECT_EQ(std::string_view(manifest->header.abi_tag), plugin::kAbiTag);
  EXPECT_EQ(std::string_view(manifest->header.plugin_name), kName);
  ASSERT_EQ(manifest->exports.size(), 1u);
  const plugin::Export& e = manifest->exports[0];
  EXPECT_EQ(std::string_view(e.role), plugin::store::Backend::kRole);
  EXPECT_EQ(std::string_view(e.name), kName);
  EXPECT_TRUE(e.options.empty());

  TempDir dir;
  Host host("store.memory", dir.path().string());
  auto factory = reinterpret_cast<plugin::Factory<plugin::store::Backend>>(e.factory);
  auto store = factory(host.context());
  ASSERT_TRUE(store) << store.status().message();
  EXPECT_TRUE((*store)->create("/via/module", "ok"));
}

}  // namespace
}  // namespace skiff::plugins::store::memory
