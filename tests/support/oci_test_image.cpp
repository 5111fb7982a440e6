#include "tests/support/oci_test_image.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "digest.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;
using skiff::plugins::runtime::oci::sha256_digest;

la_ssize_t append_to_string(archive*, void* target, const void* buf, size_t size) {
  static_cast<std::string*>(target)->append(static_cast<const char*>(buf), size);
  return static_cast<la_ssize_t>(size);
}

void check(archive* a, int rc, const std::string& what) {
  if (rc < ARCHIVE_OK) throw std::runtime_error(what + ": " + archive_error_string(a));
}

// A tar of `entries` (pax format), or the same data gzip-compressed when `gzip`.
std::string make_tar(const std::vector<LayerEntry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open2(a, &out, nullptr, append_to_string, nullptr, nullptr), "open tar");
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_perm(entry, static_cast<mode_t>(e.mode));
    if (e.type == LayerEntry::Type::kDir) {
      archive_entry_set_filetype(entry, AE_IFDIR);
      archive_entry_set_perm(entry, 0755);
    } else if (e.type == LayerEntry::Type::kSymlink) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, e.content.c_str());
      archive_entry_set_perm(entry, 0777);
    } else {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    }
    check(a, archive_write_header(a, entry), "tar header " + e.path);
    if (e.type == LayerEntry::Type::kFile && !e.content.empty())
      if (archive_write_data(a, e.content.data(), e.content.size()) < 0)
        throw std::runtime_error("tar data " + e.path + ": " + archive_error_string(a));
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string gzip(const std::string& data) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  check(a, archive_write_open2(a, &out, nullptr, append_to_string, nullptr, nullptr), "open gzip");
  archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
  check(a, archive_write_header(a, entry), "gzip header");
  if (archive_write_data(a, data.data(), data.size()) < 0) throw std::runtime_error("gzip data");
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + " (is busybox-static installed?)");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Layer busybox_layer(const std::string& index_text) {
  Layer layer;
  layer.push_back({"bin", LayerEntry::Type::kDir, "", 0755});
  layer.push_back({"bin/busybox", LayerEntry::Type::kFile, read_file("/bin/busybox"), 0755});
  FILE* list = ::popen("/bin/busybox --list", "r");
  if (list == nullptr) throw std::runtime_error("cannot run /bin/busybox --list");
  char line[256];
  while (std::fgets(line, sizeof line, list) != nullptr) {
    std::string applet(line);
    while (!applet.empty() && (applet.back() == '\n' || applet.back() == '\r')) applet.pop_back();
    if (!applet.empty() && applet != "busybox") layer.push_back({"bin/" + applet, LayerEntry::Type::kSymlink, "busybox"});
  }
  ::pclose(list);
  layer.push_back({"www", LayerEntry::Type::kDir, "", 0755});
  layer.push_back({"www/index.html", LayerEntry::Type::kFile, index_text, 0644});
  layer.push_back({"tmp", LayerEntry::Type::kDir, "", 01777});
  layer.push_back({"etc", LayerEntry::Type::kDir, "", 0755});
  layer.push_back({"etc/passwd", LayerEntry::Type::kFile, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"});
  layer.push_back({"etc/group", LayerEntry::Type::kFile, "root:x:0:\nnogroup:x:65534:\n"});
  return layer;
}

WrittenImage write_oci_archive(const std::filesystem::path& path, const TestImage& image) {
  WrittenImage written;
  std::vector<std::pair<std::string, std::string>> blobs;  // digest → content
  Json layers = Json::array(), diff_ids = Json::array();
  for (const auto& layer : image.layers) {
    std::string tar = make_tar(layer);
    diff_ids.push_back(sha256_digest(tar));
    std::string blob = image.gzip ? gzip(tar) : tar;
    std::string digest = sha256_digest(blob);
    layers.push_back({{"mediaType", image.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                               : "application/vnd.oci.image.layer.v1.tar"},
                      {"digest", digest},
                      {"size", blob.size()}});
    written.layer_digests.push_back(digest);
    blobs.emplace_back(digest, std::move(blob));
  }
  Json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"config", {{"Cmd", image.cmd}, {"Env", image.env}, {"WorkingDir", image.working_dir}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  std::string config_text = config.dump();
  written.config_digest = sha256_digest(config_text);
  blobs.emplace_back(written.config_digest, config_text);
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                               {"digest", written.config_digest},
                               {"size", config_text.size()}}},
                   {"layers", layers}};
  std::string manifest_text = manifest.dump();
  written.manifest_digest = sha256_digest(manifest_text);
  blobs.emplace_back(written.manifest_digest, manifest_text);
  Json descriptor = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"digest", written.manifest_digest},
                     {"size", manifest_text.size()}};
  if (!image.ref_name.empty()) descriptor["annotations"] = {{"org.opencontainers.image.ref.name", image.ref_name}};
  Json index = {{"schemaVersion", 2}, {"manifests", Json::array({descriptor})}};

  std::vector<LayerEntry> outer = {{"oci-layout", LayerEntry::Type::kFile, R"({"imageLayoutVersion":"1.0.0"})"},
                                   {"index.json", LayerEntry::Type::kFile, index.dump()},
                                   {"blobs", LayerEntry::Type::kDir},
                                   {"blobs/sha256", LayerEntry::Type::kDir}};
  for (auto& [digest, content] : blobs)
    outer.push_back({"blobs/sha256/" + digest.substr(7), LayerEntry::Type::kFile, std::move(content)});
  std::string archive_text = make_tar(outer);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(archive_text.data(), static_cast<std::streamsize>(archive_text.size()));
  if (!out) throw std::runtime_error("write " + path.string());
  return written;
}

}  // namespace skiff::testing
