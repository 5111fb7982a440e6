#include "oci_archive.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "reference.hpp"

namespace skiff::plugins::runtime::oci {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct ReaderDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// A tag alone ("1.36", "latest"), as OCI's ref.name annotation usually holds.
bool bare_tag(std::string_view s) {
  return !s.empty() && s.find('/') == std::string_view::npos && s.find(':') == std::string_view::npos &&
         s.find('@') == std::string_view::npos;
}

}  // namespace

plugin::Result<std::vector<ImageRecord>> import_archive(ImageStore& store, const fs::path& path,
                                                        std::string_view name) {
  const std::string where = "import " + path.string();
  std::unique_ptr<archive, ReaderDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return plugin::invalid(where + ": " + archive_error_string(a.get()));
  std::string index_text;
  bool layout = false;
  archive_entry* entry = nullptr;
  int r;
  std::vector<char> buf(1 << 16);
  while ((r = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
    std::string entry_path = archive_entry_pathname(entry);
    if (entry_path.starts_with("./")) entry_path.erase(0, 2);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    if (entry_path == "oci-layout") {
      layout = true;
      continue;
    }
    if (entry_path == "index.json") {
      la_ssize_t n;
      while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) index_text.append(buf.data(), n);
      continue;
    }
    if (!entry_path.starts_with("blobs/sha256/")) continue;
    std::string expected = "sha256:" + entry_path.substr(13);
    if (!valid_digest(expected)) return plugin::invalid(where + ": blob file name '" + entry_path + "' is not a digest");
    if (store.has_blob(expected)) continue;  // content-addressed: already there (verified when read)
    fs::path tmp = store.temp_path();
    Sha256 hash;
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      la_ssize_t n;
      while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) {
        hash.update(buf.data(), static_cast<std::size_t>(n));
        out.write(buf.data(), n);
      }
      if (n < 0) {
        std::error_code ec;
        fs::remove(tmp, ec);
        return plugin::invalid(where + ": read " + entry_path + ": " + archive_error_string(a.get()));
      }
      if (!out) return plugin::internal(where + ": write " + tmp.string() + " failed");
    }
    if (auto st = store.adopt_blob(expected, hash.digest(), tmp); !st) return st.with_context(where);
  }
  if (r != ARCHIVE_EOF) return plugin::invalid(where + ": " + archive_error_string(a.get()));
  if (!layout) return plugin::invalid(where + ": not an OCI image archive (no oci-layout file)");
  Json index = Json::parse(index_text, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
    return plugin::invalid(where + ": index.json is missing or has no manifests list");
  const Json& manifests = index["manifests"];
  if (!name.empty() && manifests.size() != 1)
    return plugin::invalid(where + ": a name can be given only to an archive of one image (this one has " +
                           std::to_string(manifests.size()) + ")");
  std::vector<ImageRecord> out;
  for (const auto& m : manifests) {
    std::string digest = m.is_object() ? m.value("digest", "") : "";
    Json annotations = m.is_object() ? m.value("annotations", Json::object()) : Json::object();
    std::string ref_name = annotations.value("org.opencontainers.image.ref.name", "");
    std::string containerd_name = annotations.value("io.containerd.image.name", "");
    std::string reference;
    if (!name.empty()) {
      reference = std::string(name);
      auto parsed = parse_reference(reference);
      if (!parsed) return parsed.status().with_context(where);
      bool has_tag = reference.rfind(':') != std::string::npos &&
                     reference.rfind(':') > (reference.rfind('/') == std::string::npos ? 0 : reference.rfind('/'));
      if (!has_tag && bare_tag(ref_name)) reference += ":" + ref_name;
    } else if (!containerd_name.empty()) {
      reference = containerd_name;
    } else if (!ref_name.empty() && !bare_tag(ref_name)) {
      reference = ref_name;
    } else {
      return plugin::invalid(where + ": image " + digest + " has no name in the archive; give one (--name)");
    }
    auto image = store.tag(reference, digest);
    if (!image) return image.status().with_context(where);
    // Unpacked now, as containerd unpacks on import: a container's start is then only a mount.
    if (auto root = store.rootfs(*image); !root) return root.status().with_context(where);
    out.push_back(std::move(*image));
  }
  return out;
}

}  // namespace skiff::plugins::runtime::oci
