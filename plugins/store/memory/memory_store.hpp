// The in-memory skiff.store.v1 backend: full MVCC (history, reads at past revisions, compaction,
// watch) with nothing on disk. For tests, demos and single-shot runs; a restart forgets everything.
#pragma once

#include <memory>
#include <string_view>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/status.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::plugins::store::memory {

inline constexpr std::string_view kName = "memory";

// The factory the manifest exports. Reads no config keys.
plugin::Result<std::unique_ptr<plugin::store::Backend>> make_backend(const plugin::PluginContext& context) noexcept;

}  // namespace skiff::plugins::store::memory
