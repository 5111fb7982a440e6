// The node's OCI image store: content-addressed blobs, the references (names) that point at
// manifests, and each image's layers unpacked once into a read-only rootfs that containers overlay.
//
// Layout under the store root (<data-dir>/images for skiffd and the skiff CLI alike):
//   blobs/sha256/<hex>           every blob, named by the SHA-256 of its content
//   references.json              {"docker.io/library/busybox:latest": "sha256:<manifest>", …}
//   rootfs/<config hex>/         the unpacked layers of one image (written once, then only read)
//   lock                         flock()ed around every change, so the CLI and a running skiffd can
//                                both write
// Every blob is verified against its digest when it is written and when it is read: a corrupted
// blob is refused with an error that names its digest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::runtime::oci {

inline constexpr std::string_view kMediaOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kMediaDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";

// One named image: the reference it was imported or pulled as and what it resolves to.
struct ImageRecord {
  std::string reference;        // normalised ("docker.io/library/busybox:latest")
  std::string manifest_digest;  // the platform manifest (an index is resolved at import/pull)
  std::string config_digest;    // the image id
  std::vector<std::string> layers;  // layer blob digests, bottom first
  std::uint64_t size_bytes = 0;     // config + layers, as stored
};

// What a container needs from the image config (the "config" object of the OCI image config).
struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user;
};

class ImageStore {
 public:
  explicit ImageStore(std::filesystem::path root);
  const std::filesystem::path& root() const noexcept { return root_; }

  // Stores `data` as blob `expected` (refused, naming both digests, when the content hashes to
  // something else). Returns the digest.
  plugin::Result<std::string> put_blob(std::string_view expected, std::string_view data);
  // Moves the file `tmp` (already hashed by the caller to `actual`) into place as blob `expected`.
  plugin::Status adopt_blob(std::string_view expected, std::string_view actual, const std::filesystem::path& tmp);
  bool has_blob(std::string_view digest) const;
  // The content of a blob, verified.
  plugin::Result<std::string> read_blob(std::string_view digest) const;
  // Verifies a (possibly large) blob by streaming it; the path of the verified file.
  plugin::Result<std::filesystem::path> verified_blob_path(std::string_view digest) const;
  // A temp file in the store (same file system as blobs/, so a rename moves it into place).
  std::filesystem::path temp_path() const;

  // Resolves a manifest or index blob to the linux/amd64 image manifest and records `reference`
  // (any form parse_reference accepts) as pointing at it. Config and layers must already be stored.
  plugin::Result<ImageRecord> tag(std::string_view reference, std::string_view manifest_digest);
  // A record for a manifest digest without naming it (the caller decides).
  plugin::Result<ImageRecord> resolve(std::string_view manifest_digest) const;

  plugin::Result<std::vector<ImageRecord>> list() const;
  // By reference (normalised first), by image id ("sha256:<config>"), or by reference@digest.
  plugin::Result<std::optional<ImageRecord>> find(std::string_view reference_or_id) const;
  plugin::Result<ImageConfig> config(const ImageRecord& image) const;
  // The image's layers unpacked (whiteouts applied) into rootfs/<config hex>; made by import and pull, else on first use.
  plugin::Result<std::filesystem::path> rootfs(const ImageRecord& image);
  // Drops every reference to the image (by reference or id), then garbage-collects.
  plugin::Status remove(std::string_view reference_or_id);
  // Deletes blobs and unpacked rootfs no reference needs any more. `in_use` image ids are kept
  // even without a reference (a running container's image). Returns the number of files removed.
  plugin::Result<std::size_t> collect_garbage(const std::vector<std::string>& in_use = {});

 private:
  std::filesystem::path blob_path(std::string_view digest) const;
  plugin::Result<std::vector<std::pair<std::string, std::string>>> read_references() const;
  plugin::Status write_references(const std::vector<std::pair<std::string, std::string>>& refs) const;

  std::filesystem::path root_;
};

}  // namespace skiff::plugins::runtime::oci
