// Pod volumes on the node (agent/pod_volumes.cpp), on the real file system: emptyDir directories and
// tmpfs (medium: Memory), hostPath type checks, configMap and secret files (items, modes, optional,
// updates), the bind mounts volumeMounts ask for (subPath inside the volume only), and teardown that
// unmounts and removes everything. Secrets and memory emptyDirs are real tmpfs mounts: root needed
// (CI runs as root); without it the test fails saying so.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "agent/pod_volumes.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const fs::path& p) { return static_cast<unsigned>(fs::status(p).permissions() & fs::perms::mask); }

bool mounted(const fs::path& p) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + p.string() + " ") != std::string::npos) return true;
  return false;
}

class PodVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "this test mounts tmpfs volumes: it needs root"; }
  void TearDown() override { (void)volumes.tear_down(uid); }

  void add(const plugin::ResourceId& r, const std::string& name, json fields) {
    json object = {{"metadata", {{"name", name}, {"namespace", "default"}}}};
    object.update(fields);
    auto o = std::make_shared<plugin::Object>();
    o->json = object.dump();
    o->ns = "default";
    o->name = name;
    objects[r.resource + "/" + name] = o;
  }
  agent::ObjectLookup lookup() {
    return [this](const plugin::ResourceId& r, std::string_view, std::string_view name) -> plugin::ObjectPtr {
      auto it = objects.find(r.resource + "/" + std::string(name));
      return it == objects.end() ? nullptr : it->second;
    };
  }
  json pod_with(json vols) {
    return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", uid}}}, {"spec", {{"volumes", vols}}}};
  }
  fs::path volume_dir(const std::string& kind, const std::string& name) {
    return volumes.pod_dir(uid) / "volumes" / ("kubernetes.io~" + kind) / name;
  }

  TempDir dir{"skiff-pod-volumes"};
  const std::string uid = "5f0e1d2c-0000-4000-8000-00000000abcd";
  agent::PodVolumes volumes{dir.path() / "pods"};
  std::map<std::string, plugin::ObjectPtr> objects;
};

TEST_F(PodVolumesTest, EmptyDirOnDiskAndInMemory) {
  auto made = volumes.set_up(pod_with({{{"name", "scratch"}, {"emptyDir", json::object()}},
                                       {{"name", "fast"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "8Mi"}}}}}),
                             lookup());
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  EXPECT_EQ(made->at("scratch").host_path, volume_dir("empty-dir", "scratch"));
  EXPECT_FALSE(made->at("scratch").read_only);
  EXPECT_EQ(mode_of(volume_dir("empty-dir", "scratch")), 0777u);
  EXPECT_FALSE(mounted(volume_dir("empty-dir", "scratch")));
  EXPECT_TRUE(mounted(volume_dir("empty-dir", "fast"))) << "medium: Memory is a tmpfs";
  std::ofstream(volume_dir("empty-dir", "scratch") / "kept") << "data";
  // A second pass keeps what the containers wrote.
  ASSERT_TRUE(volumes.set_up(pod_with({{{"name", "scratch"}, {"emptyDir", json::object()}}}), lookup()).is_ok());
  EXPECT_EQ(read_all(volume_dir("empty-dir", "scratch") / "kept"), "data");

  ASSERT_TRUE(volumes.tear_down(uid).is_ok());
  EXPECT_FALSE(mounted(volume_dir("empty-dir", "fast")));
  EXPECT_FALSE(fs::exists(volumes.pod_dir(uid)));
}

TEST_F(PodVolumesTest, HostPathTypesAreCheckedAsTheKubeletDoes) {
  const fs::path host = dir.path() / "host";
  fs::create_directories(host / "dir");
  std::ofstream(host / "file") << "x";
  // A listening Unix socket to check the Socket type against.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = (host / "sock").string();
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  struct Case {
    std::string path, type, error;  // error empty: accepted
  } cases[] = {
      {"dir", "Directory", ""},
      {"file", "Directory", "is not a directory"},
      {"missing", "Directory", "is not a directory"},
      {"made/deep", "DirectoryOrCreate", ""},
      {"file", "DirectoryOrCreate", "is not a directory"},
      {"file", "File", ""},
      {"dir", "File", "is not a file"},
      {"created-file", "FileOrCreate", ""},
      {"sock", "Socket", ""},
      {"file", "Socket", "is not a socket file"},
      {"missing-any", "", ""},  // no type: no check (the runtime's mount decides)
      {"file", "CharDevice", "is not a character device"},
  };
  for (const auto& c : cases) {
    auto r = volumes.set_up(pod_with({{{"name", "h"}, {"hostPath", {{"path", (host / c.path).string()}, {"type", c.type}}}}}),
                            lookup());
    if (c.error.empty()) {
      ASSERT_TRUE(r.is_ok()) << c.path << " " << c.type << ": " << r.status().message();
      EXPECT_EQ(r->at("h").host_path, host / c.path);
    } else {
      ASSERT_FALSE(r.is_ok()) << c.path << " " << c.type;
      EXPECT_EQ(r.status().message(), "MountVolume.SetUp failed for volume \"h\" : hostPath type check failed: " +
                                          (host / c.path).string() + " " + c.error);
    }
  }
  ::close(fd);
  EXPECT_TRUE(fs::is_directory(host / "made/deep"));
  EXPECT_EQ(mode_of(host / "made/deep"), 0755u);
  EXPECT_TRUE(fs::is_regular_file(host / "created-file"));
  EXPECT_EQ(mode_of(host / "created-file"), 0644u);
}

TEST_F(PodVolumesTest, ConfigMapFilesFollowItemsModesAndUpdates) {
  add({"", "v1", "configmaps"}, "app", {{"data", {{"app.conf", "port=80\n"}, {"extra", "e"}}},
                                        {"binaryData", {{"logo.bin", "AAEC"}}}});
  json all = {{"name", "cfg"}, {"configMap", {{"name", "app"}, {"defaultMode", 0640}}}};
  json picked = {{"name", "picked"},
                 {"configMap", {{"name", "app"}, {"items", {{{"key", "app.conf"}, {"path", "conf/main.conf"}, {"mode", 0400}}}}}}};
  auto made = volumes.set_up(pod_with({all, picked}), lookup());
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  fs::path cfg = volume_dir("configmap", "cfg"), sel = volume_dir("configmap", "picked");
  EXPECT_TRUE(made->at("cfg").read_only) << "configMap volumes are always read-only";
  EXPECT_EQ(read_all(cfg / "app.conf"), "port=80\n");
  EXPECT_EQ(read_all(cfg / "extra"), "e");
  EXPECT_EQ(read_all(cfg / "logo.bin"), std::string("\0\1\2", 3));
  EXPECT_EQ(mode_of(cfg / "app.conf"), 0640u);
  EXPECT_EQ(read_all(sel / "conf/main.conf"), "port=80\n");
  EXPECT_EQ(mode_of(sel / "conf/main.conf"), 0400u);
  EXPECT_FALSE(fs::exists(sel / "extra"));

  // The ConfigMap changes: the files follow (a removed key's file goes).
  add({"", "v1", "configmaps"}, "app", {{"data", {{"app.conf", "port=8080\n"}}}});
  ASSERT_TRUE(volumes.set_up(pod_with({all}), lookup()).is_ok());
  EXPECT_EQ(read_all(cfg / "app.conf"), "port=8080\n");
  EXPECT_FALSE(fs::exists(cfg / "extra"));
  // It goes away: the volume keeps what the containers saw.
  objects.clear();
  ASSERT_TRUE(volumes.set_up(pod_with({all}), lookup()).is_ok());
  EXPECT_EQ(read_all(cfg / "app.conf"), "port=8080\n");
}

TEST_F(PodVolumesTest, MissingConfigMapsSecretsAndKeys) {
  add({"", "v1", "configmaps"}, "app", {{"data", {{"a", "1"}}}});
  struct Case {
    json volume;
    std::string error;  // empty: set up (empty when optional)
  } cases[] = {
      {{{"name", "v"}, {"configMap", {{"name", "nope"}}}}, "configmap \"nope\" not found"},
      {{{"name", "v"}, {"secret", {{"secretName", "nope"}}}}, "secret \"nope\" not found"},
      {{{"name", "v"}, {"configMap", {{"name", "app"}, {"items", {{{"key", "b"}, {"path", "b"}}}}}}},
       "configmap references non-existent config key: b"},
      {{{"name", "w"}, {"configMap", {{"name", "nope"}, {"optional", true}}}}, ""},
      {{{"name", "x"}, {"configMap", {{"name", "app"}, {"optional", true}, {"items", {{{"key", "b"}, {"path", "b"}}}}}}}, ""},
      {{{"name", "v"}, {"persistentVolumeClaim", {{"claimName", "data"}}}},
       "volume type persistentVolumeClaim is not supported by this node (supported: emptyDir, hostPath, configMap, secret)"},
  };
  for (const auto& c : cases) {
    auto r = volumes.set_up(pod_with({c.volume}), lookup());
    const std::string name = c.volume["name"];
    if (c.error.empty()) {
      ASSERT_TRUE(r.is_ok()) << c.volume.dump() << ": " << r.status().message();
      EXPECT_TRUE(fs::is_empty(r->at(name).host_path));
    } else {
      ASSERT_FALSE(r.is_ok()) << c.volume.dump();
      EXPECT_EQ(r.status().message(), "MountVolume.SetUp failed for volume \"" + name + "\" : " + c.error);
    }
  }
}

TEST_F(PodVolumesTest, SecretFilesLiveOnATmpfsWithKubernetesModes) {
  add({"", "v1", "secrets"}, "creds", {{"data", {{"password", "czNjcjN0"}, {"user", "YWRtaW4="}}}});
  auto made = volumes.set_up(pod_with({{{"name", "s"}, {"secret", {{"secretName", "creds"}, {"defaultMode", 420}}}}}), lookup());
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  fs::path s = volume_dir("secret", "s");
  EXPECT_TRUE(mounted(s)) << "secrets never reach the disk";
  EXPECT_EQ(read_all(s / "password"), "s3cr3t");
  EXPECT_EQ(read_all(s / "user"), "admin");
  EXPECT_EQ(mode_of(s / "password"), 0644u);
  EXPECT_TRUE(made->at("s").read_only);
  ASSERT_TRUE(volumes.tear_down(uid).is_ok());
  EXPECT_FALSE(mounted(s));
  EXPECT_FALSE(fs::exists(volumes.pod_dir(uid)));
}

TEST_F(PodVolumesTest, MountsFollowVolumeMountsAndKeepSubPathsInside) {
  auto made = volumes.set_up(pod_with({{{"name", "data"}, {"emptyDir", json::object()}}}), lookup());
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  const fs::path data = volume_dir("empty-dir", "data");
  fs::create_directories(data / "real");
  fs::create_symlink("/etc", data / "escape");
  json c = {{"name", "app"},
            {"volumeMounts",
             {{{"name", "data"}, {"mountPath", "/data"}},
              {{"name", "data"}, {"mountPath", "/ro"}, {"readOnly", true}},
              {{"name", "data"}, {"mountPath", "/sub"}, {"subPath", "made/here"}},
              {{"name", "data"}, {"mountPath", "/expr"}, {"subPathExpr", "by-$(POD)"}}}}};
  auto mounts = agent::container_mounts(c, *made, {{"POD", "web-1"}});
  ASSERT_TRUE(mounts.is_ok()) << mounts.status().message();
  ASSERT_EQ(mounts->size(), 4u);
  EXPECT_EQ((*mounts)[0].host_path, data.string());
  EXPECT_EQ((*mounts)[0].container_path, "/data");
  EXPECT_FALSE((*mounts)[0].read_only);
  EXPECT_TRUE((*mounts)[1].read_only);
  EXPECT_EQ((*mounts)[2].host_path, (fs::canonical(data) / "made/here").string());
  EXPECT_TRUE(fs::is_directory(data / "made/here")) << "a missing subPath is created";
  EXPECT_EQ((*mounts)[3].host_path, (fs::canonical(data) / "by-web-1").string());

  json escape = {{"name", "app"}, {"volumeMounts", {{{"name", "data"}, {"mountPath", "/x"}, {"subPath", "escape/passwd"}}}}};
  auto refused = agent::container_mounts(escape, *made, {});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("leads outside the volume"), std::string::npos) << refused.status().message();
  json unknown = {{"name", "app"}, {"volumeMounts", {{{"name", "other"}, {"mountPath", "/x"}}}}};
  auto missing = agent::container_mounts(unknown, *made, {});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().message(), "cannot find volume \"other\" to mount into container \"app\"");
}

TEST_F(PodVolumesTest, PodsGoneWhileNoAgentRanLoseTheirDirectories) {
  ASSERT_TRUE(volumes.set_up(pod_with({{{"name", "fast"}, {"emptyDir", {{"medium", "Memory"}}}}}), lookup()).is_ok());
  const std::string other = "11111111-2222-4333-8444-555555555555";
  fs::create_directories(volumes.pod_dir(other) / "volumes");
  ASSERT_TRUE(volumes.remove_all_but({other}).is_ok());
  EXPECT_FALSE(fs::exists(volumes.pod_dir(uid)));
  EXPECT_FALSE(mounted(volume_dir("empty-dir", "fast")));
  EXPECT_TRUE(fs::exists(volumes.pod_dir(other)));
}

}  // namespace
}  // namespace skiff::testing
