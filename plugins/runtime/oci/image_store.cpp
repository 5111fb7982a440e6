#include "image_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "digest.hpp"
#include "layer_unpack.hpp"
#include "reference.hpp"

namespace skiff::plugins::runtime::oci {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// flock() on <root>/lock for the lifetime of the object: the CLI and skiffd may write at once.
class StoreLock {
 public:
  explicit StoreLock(const fs::path& root) {
    fd_ = ::open((root / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~StoreLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  int fd_ = -1;
};

plugin::Status write_file_atomically(const fs::path& path, std::string_view data) {
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return plugin::internal("write " + tmp.string() + " failed");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return plugin::internal("rename " + tmp.string() + " → " + path.string() + ": " + ec.message());
  return plugin::Status::ok();
}

plugin::Result<std::string> hash_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return plugin::not_found("cannot open " + path.string());
  Sha256 h;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return h.digest();
}

std::vector<std::string> string_list(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

ImageStore::ImageStore(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_ / "blobs" / "sha256", ec);
  fs::create_directories(root_ / "rootfs", ec);
  fs::create_directories(root_ / "tmp", ec);
}

fs::path ImageStore::blob_path(std::string_view digest) const {
  return root_ / "blobs" / "sha256" / std::string(digest_hex(digest));
}

fs::path ImageStore::temp_path() const {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return root_ / "tmp" / (std::to_string(::getpid()) + "-" + std::to_string(rng()));
}

bool ImageStore::has_blob(std::string_view digest) const {
  std::error_code ec;
  return valid_digest(digest) && fs::exists(blob_path(digest), ec);
}

plugin::Result<std::string> ImageStore::put_blob(std::string_view expected, std::string_view data) {
  if (!valid_digest(expected)) return plugin::invalid("blob digest '" + std::string(expected) + "' is not sha256:<hex>");
  std::string actual = sha256_digest(data);
  if (actual != expected)
    return plugin::invalid("blob " + std::string(expected) + " is corrupted: its content hashes to " + actual);
  fs::path tmp = temp_path();
  if (auto st = write_file_atomically(tmp, data); !st) return st;
  if (auto st = adopt_blob(expected, actual, tmp); !st) return st;
  return std::string(expected);
}

plugin::Status ImageStore::adopt_blob(std::string_view expected, std::string_view actual, const fs::path& tmp) {
  std::error_code ec;
  if (!valid_digest(expected) || actual != expected) {
    fs::remove(tmp, ec);
    return plugin::invalid("blob " + std::string(expected) + " is corrupted: its content hashes to " +
                           std::string(actual));
  }
  fs::rename(tmp, blob_path(expected), ec);
  if (ec) return plugin::internal("store blob " + std::string(expected) + ": " + ec.message());
  return plugin::Status::ok();
}

plugin::Result<fs::path> ImageStore::verified_blob_path(std::string_view digest) const {
  if (!valid_digest(digest)) return plugin::invalid("blob digest '" + std::string(digest) + "' is not sha256:<hex>");
  fs::path path = blob_path(digest);
  auto actual = hash_file(path);
  if (!actual) return plugin::not_found("blob " + std::string(digest) + " is not in the image store " + root_.string());
  if (*actual != digest)
    return plugin::invalid("blob " + std::string(digest) + " is corrupted: its content hashes to " + *actual +
                           " (" + path.string() + "); remove the image and import or pull it again");
  return path;
}

plugin::Result<std::string> ImageStore::read_blob(std::string_view digest) const {
  if (!valid_digest(digest)) return plugin::invalid("blob digest '" + std::string(digest) + "' is not sha256:<hex>");
  std::ifstream in(blob_path(digest), std::ios::binary);
  if (!in) return plugin::not_found("blob " + std::string(digest) + " is not in the image store " + root_.string());
  std::ostringstream data;
  data << in.rdbuf();
  std::string content = std::move(data).str();
  std::string actual = sha256_digest(content);
  if (actual != digest)
    return plugin::invalid("blob " + std::string(digest) + " is corrupted: its content hashes to " + actual +
                           " (" + blob_path(digest).string() + "); remove the image and import or pull it again");
  return content;
}

plugin::Result<ImageRecord> ImageStore::resolve(std::string_view manifest_digest) const {
  auto text = read_blob(manifest_digest);
  if (!text) return text.status();
  Json manifest = Json::parse(*text, nullptr, false);
  if (!manifest.is_object()) return plugin::invalid("manifest " + std::string(manifest_digest) + " is not JSON");
  std::string media = manifest.value("mediaType", "");
  if (media == kMediaOciIndex || media == kMediaDockerList || (media.empty() && manifest.contains("manifests"))) {
    // An index: the linux/amd64 entry (or the only one without a platform).
    const Json* chosen = nullptr;
    for (const auto& m : manifest.value("manifests", Json::array())) {
      if (!m.is_object()) continue;
      const Json platform = m.value("platform", Json::object());
      if (platform.value("os", "linux") == "linux" && platform.value("architecture", "amd64") == "amd64") {
        chosen = &m;
        break;
      }
    }
    if (chosen == nullptr)
      return plugin::not_found("index " + std::string(manifest_digest) + " has no linux/amd64 manifest");
    return resolve(chosen->value("digest", ""));
  }
  if (!media.empty() && media != kMediaOciManifest && media != kMediaDockerManifest)
    return plugin::invalid("manifest " + std::string(manifest_digest) + ": unsupported media type " + media);
  ImageRecord image;
  image.manifest_digest = std::string(manifest_digest);
  image.config_digest = manifest.value("config", Json::object()).value("digest", "");
  if (!has_blob(image.config_digest))
    return plugin::not_found("manifest " + std::string(manifest_digest) + ": config blob '" + image.config_digest +
                             "' is not stored");
  image.size_bytes += manifest["config"].value("size", std::uint64_t{0});
  for (const auto& layer : manifest.value("layers", Json::array())) {
    std::string d = layer.is_object() ? layer.value("digest", "") : "";
    if (!has_blob(d))
      return plugin::not_found("manifest " + std::string(manifest_digest) + ": layer blob '" + d + "' is not stored");
    image.layers.push_back(d);
    image.size_bytes += layer.value("size", std::uint64_t{0});
  }
  return image;
}

plugin::Result<std::vector<std::pair<std::string, std::string>>> ImageStore::read_references() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(root_ / "references.json");
  if (!in) return out;
  Json j = Json::parse(in, nullptr, false);
  if (!j.is_object()) return plugin::internal((root_ / "references.json").string() + " is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_string()) out.emplace_back(it.key(), it.value().get<std::string>());
  return out;
}

plugin::Status ImageStore::write_references(const std::vector<std::pair<std::string, std::string>>& refs) const {
  Json j = Json::object();
  for (const auto& [ref, digest] : refs) j[ref] = digest;
  return write_file_atomically(root_ / "references.json", j.dump(2));
}

plugin::Result<ImageRecord> ImageStore::tag(std::string_view reference, std::string_view manifest_digest) {
  auto ref = parse_reference(reference);
  if (!ref) return ref.status();
  auto image = resolve(manifest_digest);
  if (!image) return image.status().with_context("image " + ref->str());
  image->reference = ref->str();
  StoreLock lock(root_);
  auto refs = read_references();
  if (!refs) return refs.status();
  std::erase_if(*refs, [&](const auto& r) { return r.first == image->reference; });
  refs->emplace_back(image->reference, image->manifest_digest);
  if (auto st = write_references(*refs); !st) return st;
  return image;
}

plugin::Result<std::vector<ImageRecord>> ImageStore::list() const {
  auto refs = read_references();
  if (!refs) return refs.status();
  std::vector<ImageRecord> out;
  for (const auto& [ref, digest] : *refs) {
    auto image = resolve(digest);
    if (!image) continue;  // a half-collected image is not listed
    image->reference = ref;
    out.push_back(std::move(*image));
  }
  return out;
}

plugin::Result<std::optional<ImageRecord>> ImageStore::find(std::string_view reference_or_id) const {
  auto all = list();
  if (!all) return all.status();
  std::string wanted(reference_or_id);
  if (!valid_digest(reference_or_id)) {
    auto ref = parse_reference(reference_or_id);
    if (!ref) return ref.status();
    wanted = ref->str();
    if (!ref->digest.empty()) {
      // name@digest: any stored image whose manifest has that digest.
      for (auto& image : *all)
        if (image.manifest_digest == ref->digest) return std::optional<ImageRecord>(std::move(image));
      return std::optional<ImageRecord>{};
    }
  }
  for (auto& image : *all)
    if (image.reference == wanted || image.config_digest == wanted) return std::optional<ImageRecord>(std::move(image));
  return std::optional<ImageRecord>{};
}

plugin::Result<ImageConfig> ImageStore::config(const ImageRecord& image) const {
  auto text = read_blob(image.config_digest);
  if (!text) return text.status();
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return plugin::invalid("image config " + image.config_digest + " is not JSON");
  ImageConfig out;
  const Json c = j.value("config", Json::object());
  if (!c.is_object()) return out;
  out.entrypoint = string_list(c.value("Entrypoint", Json::array()));
  out.cmd = string_list(c.value("Cmd", Json::array()));
  out.env = string_list(c.value("Env", Json::array()));
  if (c.contains("WorkingDir") && c["WorkingDir"].is_string()) out.working_dir = c["WorkingDir"];
  if (c.contains("User") && c["User"].is_string()) out.user = c["User"];
  return out;
}

plugin::Result<fs::path> ImageStore::rootfs(const ImageRecord& image) {
  if (!valid_digest(image.config_digest)) return plugin::invalid("image id '" + image.config_digest + "' is not a digest");
  fs::path target = root_ / "rootfs" / std::string(digest_hex(image.config_digest));
  std::error_code ec;
  if (fs::exists(target, ec)) return target;
  StoreLock lock(root_);
  if (fs::exists(target, ec)) return target;  // another process unpacked it meanwhile
  // Unpack into a temp dir and rename, so a rootfs either exists whole or not at all.
  fs::path tmp = temp_path();
  fs::create_directories(tmp, ec);
  for (const auto& layer : image.layers) {
    auto path = verified_blob_path(layer);
    if (!path) {
      fs::remove_all(tmp, ec);
      return path.status().with_context("unpack image " + image.reference);
    }
    if (auto st = unpack_layer(*path, tmp); !st) {
      fs::remove_all(tmp, ec);
      return st.with_context("unpack layer " + layer + " of image " + image.reference);
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return plugin::internal("move unpacked rootfs into " + target.string() + ": " + ec.message());
  }
  return target;
}

plugin::Status ImageStore::remove(std::string_view reference_or_id) {
  auto image = find(reference_or_id);
  if (!image) return image.status();
  if (!*image) return plugin::not_found("image " + std::string(reference_or_id) + " is not in the store");
  {
    StoreLock lock(root_);
    auto refs = read_references();
    if (!refs) return refs.status();
    // Every name of the same image goes (removal by id), or just this name (removal by reference).
    bool by_id = (*image)->config_digest == reference_or_id;
    std::vector<std::pair<std::string, std::string>> kept;
    for (auto& r : *refs) {
      auto resolved = resolve(r.second);
      bool same = by_id ? resolved && resolved->config_digest == (*image)->config_digest : r.first == (*image)->reference;
      if (!same) kept.push_back(std::move(r));
    }
    if (auto st = write_references(kept); !st) return st;
  }
  auto removed = collect_garbage();
  return removed ? plugin::Status::ok() : removed.status();
}

plugin::Result<std::size_t> ImageStore::collect_garbage(const std::vector<std::string>& in_use) {
  StoreLock lock(root_);
  auto refs = read_references();
  if (!refs) return refs.status();
  std::set<std::string> keep_blobs, keep_rootfs;
  for (const auto& id : in_use)
    if (valid_digest(id)) keep_rootfs.insert(std::string(digest_hex(id)));
  for (const auto& [ref, digest] : *refs) {
    keep_blobs.insert(digest);
    // An index keeps the platform manifest it resolves to, and that one its blobs.
    auto text = read_blob(digest);
    if (text) {
      Json j = Json::parse(*text, nullptr, false);
      if (j.is_object())
        for (const auto& m : j.value("manifests", Json::array()))
          if (m.is_object()) keep_blobs.insert(m.value("digest", ""));
    }
    auto image = resolve(digest);
    if (!image) continue;
    keep_blobs.insert(image->manifest_digest);
    keep_blobs.insert(image->config_digest);
    keep_blobs.insert(image->layers.begin(), image->layers.end());
    keep_rootfs.insert(std::string(digest_hex(image->config_digest)));
  }
  // An in-use image without a name keeps its unpacked rootfs (the container's lower layer), not its blobs.
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "blobs" / "sha256", ec)) {
    std::string digest = "sha256:" + entry.path().filename().string();
    if (keep_blobs.contains(digest)) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  for (const auto& entry : fs::directory_iterator(root_ / "rootfs", ec)) {
    if (keep_rootfs.contains(entry.path().filename().string())) continue;
    fs::remove_all(entry.path(), ec);
    ++removed;
  }
  return removed;
}

}  // namespace skiff::plugins::runtime::oci
