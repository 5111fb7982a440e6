#include "agent/pod_volumes.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kernel/api/quantity.hpp"

namespace skiff::agent {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string text(const Json& j, const char* key) {
  const Json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory that is the root of a mount (the tmpfs of a secret or memory emptyDir).
bool mount_point(const fs::path& dir) {
  struct stat self{}, parent{};
  if (::stat(dir.c_str(), &self) != 0 || ::stat(dir.parent_path().c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

plugin::Status mount_tmpfs(const fs::path& dir, const std::string& options) {
  if (mount_point(dir)) return plugin::Status::ok();
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
    return plugin::internal("mount a tmpfs on " + dir.string() + ": " + std::strerror(errno));
  return plugin::Status::ok();
}

// The mount points under `root` (this process's mount namespace), deepest first.
std::vector<std::string> mounts_under(const fs::path& root) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  const std::string prefix = root.string() + "/";
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, source_root, point;
    if (!(fields >> id >> parent >> device >> source_root >> point)) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    std::string decoded;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += point[i];
      }
    }
    if (decoded == root.string() || decoded.starts_with(prefix)) out.push_back(decoded);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

struct ProjectedFile {
  std::string path;  // relative to the volume
  std::string content;
  fs::perms mode;
};

// What a configMap or secret volume should hold, by the kubelet's rules; nullopt when the object is
// missing and the volume is optional (an empty directory).
plugin::Result<std::vector<ProjectedFile>> projected_files(const Json& source, bool secret, const std::string& ns,
                                                           const ObjectLookup& lookup) {
  const std::string name = text(source, secret ? "secretName" : "name");
  const bool optional = member(source, "optional").is_boolean() && member(source, "optional").get<bool>();
  const Json& default_mode_json = member(source, "defaultMode");
  const int default_mode = default_mode_json.is_number_integer() ? default_mode_json.get<int>() : 0644;
  plugin::ObjectPtr object = lookup ? lookup(secret ? kSecrets : kConfigMaps, ns, name) : nullptr;
  std::vector<ProjectedFile> files;
  if (!object || object->deleting) {
    if (optional) return files;
    return plugin::not_found(std::string(secret ? "secret" : "configmap") + " \"" + name + "\" not found");
  }
  Json j = Json::parse(object->json, nullptr, /*allow_exceptions=*/false);
  // The bytes of `key`: a ConfigMap's data or binaryData (base64), a Secret's data (base64).
  auto value = [&](const std::string& key) -> plugin::Result<std::optional<std::string>> {
    if (const Json& v = member(member(j, "data"), key.c_str()); v.is_string()) {
      if (!secret) return std::optional<std::string>(v.get<std::string>());
      auto decoded = decode_base64(v.get<std::string>());
      if (!decoded) return decoded.status().with_context("key " + key + " of secret " + name);
      return std::optional<std::string>(std::move(*decoded));
    }
    if (const Json& v = member(member(j, "binaryData"), key.c_str()); !secret && v.is_string()) {
      auto decoded = decode_base64(v.get<std::string>());
      if (!decoded) return decoded.status().with_context("binaryData key " + key + " of configmap " + name);
      return std::optional<std::string>(std::move(*decoded));
    }
    return std::optional<std::string>{};
  };
  const Json& items = member(source, "items");
  if (items.is_array() && !items.empty()) {
    for (const auto& item : items) {
      const std::string key = text(item, "key");
      auto v = value(key);
      if (!v) return v.status();
      if (!*v) {
        if (optional) continue;
        return plugin::not_found(secret ? "secret references non-existent secret key: " + key
                                        : "configmap references non-existent config key: " + key);
      }
      const Json& mode = member(item, "mode");
      files.push_back({text(item, "path"), std::move(**v),
                       static_cast<fs::perms>(mode.is_number_integer() ? mode.get<int>() : default_mode)});
    }
    return files;
  }
  for (const char* field : {"data", "binaryData"}) {
    if (secret && std::string_view(field) == "binaryData") continue;
    for (const auto& [key, unused] : member(j, field).items()) {
      auto v = value(key);
      if (!v) return v.status();
      if (*v) files.push_back({key, std::move(**v), static_cast<fs::perms>(default_mode)});
    }
  }
  return files;
}

// Makes `dir` hold exactly `files`: changed ones are replaced whole (rename), others removed.
plugin::Status write_files(const fs::path& dir, const std::vector<ProjectedFile>& files) {
  std::set<fs::path> wanted;
  for (const auto& f : files) {
    fs::path target = dir / f.path;
    wanted.insert(target);
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return plugin::internal("create " + target.parent_path().string() + ": " + ec.message());
    auto status = fs::symlink_status(target, ec);
    if (!ec && fs::is_regular_file(status) && (status.permissions() & fs::perms::mask) == f.mode &&
        read_file(target) == f.content)
      continue;
    fs::path tmp = target;
    tmp += ".skiff-tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << f.content;
      if (!out) return plugin::internal("write " + tmp.string() + " failed");
    }
    fs::permissions(tmp, f.mode, fs::perm_options::replace, ec);
    if (!ec) fs::rename(tmp, target, ec);
    if (ec) return plugin::internal("write " + target.string() + ": " + ec.message());
  }
  std::error_code ec;
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory() && !wanted.contains(it->path())) stale.push_back(it->path());
  for (const auto& p : stale) fs::remove(p, ec);
  return plugin::Status::ok();
}

// hostPath `type` as the kubelet checks it (creating what the *OrCreate types ask for).
plugin::Status check_host_path(const fs::path& path, const std::string& type) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  const bool exists = fs::exists(st);
  auto failed = [&](const char* what) {
    return plugin::invalid("hostPath type check failed: " + path.string() + " is not " + what);
  };
  if (type.empty()) return plugin::Status::ok();
  if (type == "DirectoryOrCreate" && !exists) {
    fs::create_directories(path, ec);
    if (ec) return plugin::internal("create " + path.string() + ": " + ec.message());
    fs::permissions(path, static_cast<fs::perms>(0755), fs::perm_options::replace, ec);
    return plugin::Status::ok();
  }
  if (type == "Directory" || type == "DirectoryOrCreate") return fs::is_directory(st) ? plugin::Status::ok() : failed("a directory");
  if (type == "FileOrCreate" && !exists) {
    std::ofstream created(path, std::ios::app);
    if (!created) return plugin::internal("create " + path.string() + ": " + std::strerror(errno));
    created.close();
    fs::permissions(path, static_cast<fs::perms>(0644), fs::perm_options::replace, ec);
    return plugin::Status::ok();
  }
  if (type == "File" || type == "FileOrCreate") return fs::is_regular_file(st) ? plugin::Status::ok() : failed("a file");
  if (type == "Socket") return fs::is_socket(st) ? plugin::Status::ok() : failed("a socket file");
  if (type == "CharDevice") return fs::is_character_file(st) ? plugin::Status::ok() : failed("a character device");
  if (type == "BlockDevice") return fs::is_block_file(st) ? plugin::Status::ok() : failed("a block device");
  return plugin::invalid(type + " is an invalid volume type");
}

constexpr const char* kSupported = "emptyDir, hostPath, configMap, secret";

}  // namespace

plugin::Result<NodeVolumes> PodVolumes::set_up(const Json& pod, const ObjectLookup& lookup) const {
  NodeVolumes out;
  const Json& volumes = member(member(pod, "spec"), "volumes");
  if (!volumes.is_array() || volumes.empty()) return out;
  const Json& meta = member(pod, "metadata");
  const std::string ns = text(meta, "namespace"), uid = text(meta, "uid");
  for (const auto& v : volumes) {
    const std::string name = text(v, "name");
    auto failed = [&](const plugin::Status& st) {
      return plugin::Status(st.code(), "MountVolume.SetUp failed for volume \"" + name + "\" : " + st.message());
    };
    if (const Json& host = member(v, "hostPath"); host.is_object()) {
      fs::path path = text(host, "path");
      if (auto st = check_host_path(path, text(host, "type")); !st) return failed(st);
      out[name] = {path, false};
      continue;
    }
    const char* kind = member(v, "emptyDir").is_object()    ? "empty-dir"
                       : member(v, "configMap").is_object() ? "configmap"
                       : member(v, "secret").is_object()    ? "secret"
                                                            : nullptr;
    if (kind == nullptr) {
      std::string type = "unknown";
      for (const auto& [field, value] : v.items())
        if (field != "name") type = field;
      return failed(plugin::invalid("volume type " + type + " is not supported by this node (supported: " +
                                          kSupported + ")"));
    }
    if (pods_dir_.empty() || uid.empty())
      return failed(plugin::unavailable("the agent has no directory for pod volumes (agent data dir)"));
    fs::path dir = pod_dir(uid) / "volumes" / (std::string("kubernetes.io~") + kind) / name;
    const bool existed = fs::is_directory(dir);
    std::error_code ec;
    if (std::string_view(kind) == "empty-dir") {
      fs::create_directories(dir, ec);
      if (ec) return failed(plugin::internal("create " + dir.string() + ": " + ec.message()));
      const Json& empty = member(v, "emptyDir");
      if (text(empty, "medium") == "Memory") {
        std::string options = "mode=0777";
        if (const Json& limit = member(empty, "sizeLimit"); !limit.is_null())
          if (auto q = kernel::api::Quantity::from_json(limit); q && !q->is_zero())
            options += ",size=" + std::to_string(q->value());
        if (auto st = mount_tmpfs(dir, options); !st) return failed(st);
      }
      // Every container user may write there, as with the kubelet's emptyDir.
      if (!existed) fs::permissions(dir, fs::perms::all, fs::perm_options::replace, ec);
      out[name] = {dir, false};
      continue;
    }
    const bool secret = std::string_view(kind) == "secret";
    auto files = projected_files(member(v, secret ? "secret" : "configMap"), secret, ns, lookup);
    if (!files) {
      if (existed) {  // set up before: the running containers keep what they have
        out[name] = {dir, true};
        continue;
      }
      return failed(files.status());
    }
    fs::create_directories(dir, ec);
    if (ec) return failed(plugin::internal("create " + dir.string() + ": " + ec.message()));
    if (secret)
      if (auto st = mount_tmpfs(dir, "mode=0755"); !st) return failed(st);
    if (auto st = write_files(dir, *files); !st) return failed(st);
    out[name] = {dir, true};
  }
  return out;
}

plugin::Status PodVolumes::tear_down(std::string_view pod_uid) const {
  if (pods_dir_.empty() || pod_uid.empty() || pod_uid.find('/') != std::string_view::npos || pod_uid == "..")
    return plugin::Status::ok();
  fs::path dir = pod_dir(pod_uid);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return plugin::Status::ok();
  for (const auto& point : mounts_under(dir))
    if (::umount2(point.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return plugin::internal("unmount " + point + ": " + std::strerror(errno));
  fs::remove_all(dir, ec);
  if (ec) return plugin::internal("remove the volumes of pod " + std::string(pod_uid) + ": " + ec.message());
  return plugin::Status::ok();
}

plugin::Status PodVolumes::remove_all_but(const std::set<std::string>& keep) const {
  if (pods_dir_.empty()) return plugin::Status::ok();
  std::error_code ec;
  std::vector<std::string> gone;
  for (const auto& entry : fs::directory_iterator(pods_dir_, ec))
    if (!keep.contains(entry.path().filename().string())) gone.push_back(entry.path().filename().string());
  plugin::Status first = plugin::Status::ok();
  for (const auto& uid : gone)
    if (auto st = tear_down(uid); !st && first.is_ok()) first = st;
  return first;
}

plugin::Result<std::vector<plugin::runtime::Mount>> container_mounts(const Json& container, const NodeVolumes& volumes,
                                                                     const EnvList& env) {
  std::vector<plugin::runtime::Mount> out;
  const std::string container_name = text(container, "name");
  for (const auto& m : member(container, "volumeMounts")) {
    const std::string name = text(m, "name");
    auto it = volumes.find(name);
    if (it == volumes.end())
      return plugin::not_found("cannot find volume \"" + name + "\" to mount into container \"" + container_name + "\"");
    plugin::runtime::Mount mount;
    mount.container_path = text(m, "mountPath");
    mount.read_only = it->second.read_only || (member(m, "readOnly").is_boolean() && member(m, "readOnly").get<bool>());
    mount.host_path = it->second.host_path.string();
    std::string sub = text(m, "subPath");
    if (std::string expr = text(m, "subPathExpr"); !expr.empty()) sub = expand_words({expr}, env).front();
    if (!sub.empty()) {
      // The API refuses absolute subPaths and '..' in them; a symlink inside the volume could still
      // lead out of it, so the resolved path must stay inside (the volume's content is the pod's).
      fs::path sub_path(sub);
      if (sub_path.is_absolute() || std::any_of(sub_path.begin(), sub_path.end(), [](const fs::path& p) { return p == ".."; }))
        return plugin::invalid("failed to prepare subPath for volumeMount \"" + name + "\" of container \"" +
                               container_name + "\": " + sub + " must be a relative path without '..'");
      std::error_code ec;
      fs::path root = fs::canonical(it->second.host_path, ec);
      if (ec) return plugin::not_found("volume \"" + name + "\": " + it->second.host_path.string() + ": " + ec.message());
      fs::path target = fs::weakly_canonical(root / sub_path, ec);
      auto inside = [&root](const fs::path& p) {
        auto rel = p.lexically_relative(root);
        return !rel.empty() && *rel.begin() != "..";
      };
      if (ec || !inside(target))
        return plugin::invalid("failed to prepare subPath for volumeMount \"" + name + "\" of container \"" +
                               container_name + "\": " + sub + " leads outside the volume");
      if (!fs::exists(target)) {
        fs::create_directories(target, ec);
        if (!ec) fs::permissions(target, fs::status(root).permissions(), fs::perm_options::replace, ec);
        if (ec) return plugin::internal("create subPath " + target.string() + ": " + ec.message());
      }
      mount.host_path = target.string();
    }
    out.push_back(std::move(mount));
  }
  return out;
}

}  // namespace skiff::agent
