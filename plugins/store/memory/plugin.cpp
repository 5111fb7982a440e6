// The manifest of libskiff-store-memory.so: nothing but what the loader reads.
#include <array>

#include "memory_store.hpp"
#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/store.hpp"

namespace {

const skiff::plugin::Manifest* skiff_store_memory_manifest() noexcept {
  namespace memory = skiff::plugins::store::memory;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::store::Backend>(
      memory::kName.data(), "In-memory MVCC key-value store; nothing survives a restart", &memory::make_backend)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("memory", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_store_memory_manifest)
