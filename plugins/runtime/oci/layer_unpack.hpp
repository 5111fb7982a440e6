// Applies one image layer (a tar, possibly gzip/zstd compressed) onto a directory, as the OCI image
// spec describes: ".wh.<name>" deletes <name> from the layers below, ".wh..wh..opq" empties its
// directory of what the layers below put there, everything else is extracted with owners, modes,
// times and links. Paths that would leave the directory ("..", absolute links followed) are refused.
#pragma once

#include <filesystem>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::runtime::oci {

plugin::Status unpack_layer(const std::filesystem::path& layer, const std::filesystem::path& rootfs);

}  // namespace skiff::plugins::runtime::oci
