#include "layer_unpack.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>
#include <vector>

namespace skiff::plugins::runtime::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

struct ReaderDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriterDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using Reader = std::unique_ptr<archive, ReaderDeleter>;

plugin::Result<Reader> open_layer(const fs::path& layer) {
  Reader a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), layer.c_str(), 1 << 16) != ARCHIVE_OK)
    return plugin::invalid("open layer " + layer.string() + ": " + archive_error_string(a.get()));
  return a;
}

// The entry's path relative to the rootfs, cleaned: no leading "./" or "/", no "." parts; empty
// for the root itself. Fails on "..".
plugin::Result<std::string> clean_path(std::string_view raw) {
  std::string out;
  std::size_t i = 0;
  while (i <= raw.size()) {
    std::size_t j = raw.find('/', i);
    if (j == std::string_view::npos) j = raw.size();
    std::string_view part = raw.substr(i, j - i);
    if (part == "..") return plugin::invalid("layer entry '" + std::string(raw) + "' leaves the rootfs");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + std::string(part);
    i = j + 1;
  }
  return out;
}

// Pass 1: apply the whiteouts to what the lower layers left (before this layer's own files land).
plugin::Status apply_whiteouts(const fs::path& layer, const fs::path& rootfs) {
  auto a = open_layer(layer);
  if (!a) return a.status();
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
    auto path = clean_path(archive_entry_pathname(entry));
    if (!path) return path.status();
    fs::path p(*path);
    std::string base = p.filename().string();
    if (!base.starts_with(kWhiteout)) continue;
    std::error_code ec;
    fs::path dir = rootfs / p.parent_path();
    if (base == kOpaque) {
      // A symlinked directory is not followed: the whiteout applies to the directory itself.
      if (fs::is_directory(fs::symlink_status(dir, ec)))
        for (const auto& child : fs::directory_iterator(dir, ec)) fs::remove_all(child.path(), ec);
    } else {
      fs::remove_all(dir / base.substr(kWhiteout.size()), ec);
    }
  }
  if (r != ARCHIVE_EOF) return plugin::invalid("read layer " + layer.string() + ": " + archive_error_string(a->get()));
  return plugin::Status::ok();
}

// Pass 2: extract everything that is not a whiteout marker.
plugin::Status extract(const fs::path& layer, const fs::path& rootfs) {
  auto a = open_layer(layer);
  if (!a) return a.status();
  std::unique_ptr<archive, WriterDeleter> disk(archive_write_disk_new());
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                                 ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
                                                 ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  archive_write_disk_set_standard_lookup(disk.get());
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
    auto path = clean_path(archive_entry_pathname(entry));
    if (!path) return path.status();
    if (fs::path(*path).filename().string().starts_with(kWhiteout)) continue;
    archive_entry_set_pathname(entry, (rootfs / *path).c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      auto target = clean_path(link);
      if (!target) return target.status();
      archive_entry_set_hardlink(entry, (rootfs / *target).c_str());
    }
    // A directory replacing a non-directory (or the reverse) from a lower layer: the newer wins.
    std::error_code ec;
    auto existing = fs::symlink_status(rootfs / *path, ec);
    bool is_dir_entry = archive_entry_filetype(entry) == AE_IFDIR;
    if (fs::exists(existing) && fs::is_directory(existing) != is_dir_entry) fs::remove_all(rootfs / *path, ec);
    if (archive_write_header(disk.get(), entry) != ARCHIVE_OK)
      return plugin::invalid("extract '" + *path + "' from layer " + layer.string() + ": " +
                             archive_error_string(disk.get()));
    if (archive_entry_size(entry) > 0) {
      const void* buf = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      int rr;
      while ((rr = archive_read_data_block(a->get(), &buf, &size, &offset)) == ARCHIVE_OK)
        if (archive_write_data_block(disk.get(), buf, size, offset) != ARCHIVE_OK)
          return plugin::invalid("write '" + *path + "': " + archive_error_string(disk.get()));
      if (rr != ARCHIVE_EOF)
        return plugin::invalid("read '" + *path + "' from layer " + layer.string() + ": " +
                               archive_error_string(a->get()));
    }
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK)
      return plugin::invalid("finish '" + *path + "': " + archive_error_string(disk.get()));
  }
  if (r != ARCHIVE_EOF) return plugin::invalid("read layer " + layer.string() + ": " + archive_error_string(a->get()));
  return plugin::Status::ok();
}

}  // namespace

plugin::Status unpack_layer(const fs::path& layer, const fs::path& rootfs) {
  if (auto st = apply_whiteouts(layer, rootfs); !st) return st;
  return extract(layer, rootfs);
}

}  // namespace skiff::plugins::runtime::oci
