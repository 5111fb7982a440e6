// The backends the conformance suite runs. A new skiff.store.v1 backend adds one entry here and
// links its logic library in CMakeLists.txt.
#include "memory_store.hpp"
#include "sqlite_store.hpp"
#include "store_backend_harness.hpp"

namespace skiff::tests::store {

const std::vector<BackendKind>& all_backends() {
  namespace memory = plugins::store::memory;
  namespace sqlite = plugins::store::sqlite;
  static const std::vector<BackendKind> backends{
      {std::string(memory::kName), false,
       [](const std::string& dir) { return std::make_unique<Host>("store.memory", dir); }, &memory::make_backend},
      // Defaults, so the durable path (synchronous=full, group commit) is what gets tested.
      {std::string(sqlite::kName), true,
       [](const std::string& dir) { return std::make_unique<Host>("store.sqlite", dir, ConfigValues{}, sqlite::kOptions); },
       &sqlite::make_backend},
  };
  return backends;
}

}  // namespace skiff::tests::store
