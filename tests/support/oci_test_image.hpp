// OCI image archives built by tests from Debian's busybox-static (no registry on the internet is
// reachable here): one or more layers of files, directories, symlinks and whiteouts, a config, a
// manifest and index.json in an oci-layout tarball, exactly what `skiff image import` reads.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace skiff::testing {

struct LayerEntry {
  enum class Type { kFile, kDir, kSymlink };
  std::string path;  // inside the image, no leading '/'
  Type type = Type::kFile;
  std::string content;  // file data, or the symlink target
  int mode = 0644;
};
using Layer = std::vector<LayerEntry>;

struct TestImage {
  std::vector<Layer> layers;
  std::vector<std::string> cmd = {"/bin/sh"};
  std::vector<std::string> env = {"PATH=/bin:/usr/bin"};
  std::string working_dir = "/";
  std::string ref_name;  // org.opencontainers.image.ref.name in index.json; empty: none
  bool gzip = true;
};

// /bin/busybox (from busybox-static) and /bin/<applet> symlinks for every applet it has, /www with
// an index.html saying `index_text`, and /tmp.
Layer busybox_layer(const std::string& index_text = "hello from skiff\n");

struct WrittenImage {
  std::string manifest_digest, config_digest;
  std::vector<std::string> layer_digests;
};

// Writes `image` as an OCI archive at `path`; throws std::runtime_error on failure.
WrittenImage write_oci_archive(const std::filesystem::path& path, const TestImage& image);

}  // namespace skiff::testing
