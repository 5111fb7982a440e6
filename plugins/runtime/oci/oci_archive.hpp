// Import of OCI image archives: a tar (optionally compressed) of an oci-layout directory
// (oci-layout, index.json, blobs/sha256/…), as `skopeo copy … oci-archive:`, `buildah push` or
// `docker buildx --output type=oci` write them.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "image_store.hpp"

namespace skiff::plugins::runtime::oci {

// Stores every blob of the archive (each verified against its digest) and names each image of
// index.json: `name` when given (for an archive of one image; a name without a tag takes the
// image's "org.opencontainers.image.ref.name" tag when that is a bare tag), else the
// "io.containerd.image.name" annotation, else "org.opencontainers.image.ref.name" when it is a
// full reference. An image with no name at all is refused. Each image is unpacked (its rootfs made)
// before this returns.
plugin::Result<std::vector<ImageRecord>> import_archive(ImageStore& store, const std::filesystem::path& archive,
                                                        std::string_view name = {});

}  // namespace skiff::plugins::runtime::oci
