// The OCI image store: import of OCI archives built from busybox-static, digest verification,
// references, layer unpacking with whiteouts, garbage collection.
#include <gtest/gtest.h>

#include <fstream>

#include "image_store.hpp"
#include "oci_archive.hpp"
#include "reference.hpp"
#include "tests/support/oci_test_image.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

namespace oci = plugins::runtime::oci;
namespace fs = std::filesystem;
using Type = LayerEntry::Type;

TEST(ImageReference, NormalisesLikeDocker) {
  EXPECT_EQ(oci::parse_reference("busybox")->str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(oci::parse_reference("me/app:1")->str(), "docker.io/me/app:1");
  EXPECT_EQ(oci::parse_reference("127.0.0.1:5000/app:v2")->str(), "127.0.0.1:5000/app:v2");
  EXPECT_EQ(oci::parse_reference("localhost/app")->str(), "localhost/app:latest");
  std::string digest = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(oci::parse_reference("r.io/x:t@" + digest)->str(), "r.io/x@" + digest);
  EXPECT_TRUE(oci::parse_reference("busybox")->latest());
  auto bad = oci::parse_reference("Busy Box");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("Busy Box"), std::string::npos);
  EXPECT_FALSE(oci::parse_reference("app@sha256:1234"));
}

TEST(ImageStore, ImportsAnArchiveAndUnpacksItsRootfs) {
  TempDir dir("skiff-images");
  TestImage image;
  image.layers.push_back(busybox_layer("imported\n"));
  image.cmd = {"/bin/httpd", "-f"};
  image.ref_name = "skiff.test/busybox:1";
  auto written = write_oci_archive(dir.path() / "busybox.tar", image);

  oci::ImageStore store(dir.path() / "store");
  auto imported = oci::import_archive(store, dir.path() / "busybox.tar");
  ASSERT_TRUE(imported) << imported.status().message();
  ASSERT_EQ(imported->size(), 1u);
  EXPECT_EQ((*imported)[0].reference, "skiff.test/busybox:1");
  EXPECT_EQ((*imported)[0].config_digest, written.config_digest);
  EXPECT_EQ((*imported)[0].manifest_digest, written.manifest_digest);

  auto by_name = store.find("skiff.test/busybox:1");
  ASSERT_TRUE(by_name && *by_name);
  auto by_id = store.find(written.config_digest);
  ASSERT_TRUE(by_id && *by_id);
  auto by_digest = store.find("skiff.test/busybox@" + written.manifest_digest);
  ASSERT_TRUE(by_digest && *by_digest);
  auto missing = store.find("skiff.test/busybox:2");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  auto config = store.config(**by_name);
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config->cmd, (std::vector<std::string>{"/bin/httpd", "-f"}));
  auto rootfs = store.rootfs(**by_name);
  ASSERT_TRUE(rootfs) << rootfs.status().message();
  EXPECT_TRUE(fs::is_regular_file(*rootfs / "bin/busybox"));
  EXPECT_EQ(fs::read_symlink(*rootfs / "bin/httpd"), "busybox");
  std::ifstream index(*rootfs / "www/index.html");
  std::string text;
  std::getline(index, text);
  EXPECT_EQ(text, "imported");

  // The same archive again: nothing changes; under another name: a second reference to one image.
  ASSERT_TRUE(oci::import_archive(store, dir.path() / "busybox.tar"));
  auto renamed = oci::import_archive(store, dir.path() / "busybox.tar", "other/name:7");
  ASSERT_TRUE(renamed) << renamed.status().message();
  auto all = store.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST(ImageStore, AnArchiveWithoutANameNeedsOne) {
  TempDir dir("skiff-images");
  TestImage image;
  image.layers.push_back({{"hello", Type::kFile, "hi\n"}});
  image.ref_name = "1.0";  // a bare tag, as many tools write it
  write_oci_archive(dir.path() / "a.tar", image);
  oci::ImageStore store(dir.path() / "store");
  auto refused = oci::import_archive(store, dir.path() / "a.tar");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("--name"), std::string::npos) << refused.status().message();
  auto named = oci::import_archive(store, dir.path() / "a.tar", "skiff.test/hello");
  ASSERT_TRUE(named) << named.status().message();
  EXPECT_EQ((*named)[0].reference, "skiff.test/hello:1.0");  // the bare tag completes the name
}

TEST(ImageStore, ACorruptedBlobIsRefusedNamingItsDigest) {
  TempDir dir("skiff-images");
  TestImage image;
  image.layers.push_back({{"hello", Type::kFile, "hi\n"}});
  image.ref_name = "skiff.test/hello:1";
  auto written = write_oci_archive(dir.path() / "a.tar", image);
  oci::ImageStore store(dir.path() / "store");
  ASSERT_TRUE(oci::import_archive(store, dir.path() / "a.tar"));
  auto record = store.find("skiff.test/hello:1");
  ASSERT_TRUE(record && *record);

  // Import unpacked the image; take that away, so the next use unpacks again, from the blobs.
  EXPECT_TRUE(fs::exists(dir.path() / "store/rootfs" / written.config_digest.substr(7)));
  fs::remove_all(dir.path() / "store/rootfs" / written.config_digest.substr(7));
  // Flip the stored layer's content: unpacking must refuse it, naming the digest.
  const std::string& layer = written.layer_digests[0];
  fs::path blob = dir.path() / "store/blobs/sha256" / layer.substr(7);
  {
    std::ofstream out(blob, std::ios::binary | std::ios::trunc);
    out << "not the layer";
  }
  auto rootfs = store.rootfs(**record);
  ASSERT_FALSE(rootfs);
  EXPECT_NE(rootfs.status().message().find(layer + " is corrupted"), std::string::npos) << rootfs.status().message();
  EXPECT_FALSE(fs::exists(dir.path() / "store/rootfs" / written.config_digest.substr(7)));

  // An archive whose blob does not match its name is refused at import, naming the digest.
  TempDir other("skiff-images");
  std::string archive_text;
  {
    std::ifstream in(dir.path() / "a.tar", std::ios::binary);
    archive_text.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The config blob is stored uncompressed in the archive: change one byte of it.
  auto config_at = archive_text.find("\"architecture\"");
  ASSERT_NE(config_at, std::string::npos);
  archive_text[config_at + 1] = 'A';
  {
    std::ofstream out(other.path() / "bad.tar", std::ios::binary);
    out << archive_text;
  }
  oci::ImageStore fresh(other.path() / "store");
  auto refused = oci::import_archive(fresh, other.path() / "bad.tar");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find(written.config_digest + " is corrupted"), std::string::npos)
      << refused.status().message();
}

TEST(ImageStore, WhiteoutsRemoveWhatLowerLayersPutThere) {
  TempDir dir("skiff-images");
  TestImage image;
  image.layers.push_back({{"a", Type::kDir},
                          {"a/x", Type::kFile, "x"},
                          {"a/y", Type::kFile, "y"},
                          {"b", Type::kDir},
                          {"b/old1", Type::kFile, "1"},
                          {"b/sub", Type::kDir},
                          {"b/sub/old2", Type::kFile, "2"},
                          {"c", Type::kSymlink, "a"}});
  image.layers.push_back({{"a/.wh.x", Type::kFile, ""},
                          {"b/new", Type::kFile, "n"},  // before the opaque marker in the same layer: kept
                          {"b/.wh..wh..opq", Type::kFile, ""},
                          {".wh.c", Type::kFile, ""},
                          {"d", Type::kFile, "d"}});
  image.ref_name = "skiff.test/layers:1";
  image.gzip = false;
  write_oci_archive(dir.path() / "layers.tar", image);
  oci::ImageStore store(dir.path() / "store");
  ASSERT_TRUE(oci::import_archive(store, dir.path() / "layers.tar"));
  auto record = store.find("skiff.test/layers:1");
  ASSERT_TRUE(record && *record);
  auto rootfs = store.rootfs(**record);
  ASSERT_TRUE(rootfs) << rootfs.status().message();
  EXPECT_FALSE(fs::exists(*rootfs / "a/x"));
  EXPECT_TRUE(fs::exists(*rootfs / "a/y"));
  EXPECT_FALSE(fs::exists(*rootfs / "b/old1"));
  EXPECT_FALSE(fs::exists(*rootfs / "b/sub"));
  EXPECT_TRUE(fs::exists(*rootfs / "b/new"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(*rootfs / "c")));
  EXPECT_TRUE(fs::exists(*rootfs / "d"));
  for (const auto& e : fs::recursive_directory_iterator(*rootfs))
    EXPECT_FALSE(e.path().filename().string().starts_with(".wh.")) << e.path();
}

TEST(ImageStore, RemovalCollectsBlobsAndRootfsNoImageNeeds) {
  TempDir dir("skiff-images");
  oci::ImageStore store(dir.path() / "store");
  TestImage one, two;
  one.layers.push_back({{"one", Type::kFile, "1"}});
  one.ref_name = "skiff.test/one:1";
  two.layers.push_back({{"two", Type::kFile, "2"}});
  two.ref_name = "skiff.test/two:1";
  auto w1 = write_oci_archive(dir.path() / "1.tar", one);
  auto w2 = write_oci_archive(dir.path() / "2.tar", two);
  ASSERT_TRUE(oci::import_archive(store, dir.path() / "1.tar"));
  ASSERT_TRUE(oci::import_archive(store, dir.path() / "2.tar"));
  auto r1 = store.find("skiff.test/one:1");
  ASSERT_TRUE(r1 && *r1);
  ASSERT_TRUE(store.rootfs(**r1));
  ASSERT_TRUE(store.remove(w1.config_digest)) << "by id";
  EXPECT_FALSE(store.has_blob(w1.config_digest));
  EXPECT_FALSE(store.has_blob(w1.manifest_digest));
  EXPECT_FALSE(store.has_blob(w1.layer_digests[0]));
  EXPECT_FALSE(fs::exists(dir.path() / "store/rootfs" / w1.config_digest.substr(7)));
  EXPECT_TRUE(store.has_blob(w2.config_digest));
  EXPECT_TRUE(store.has_blob(w2.layer_digests[0]));
  auto gone = store.remove("skiff.test/one:1");
  EXPECT_EQ(gone.code(), plugin::Code::kNotFound);
}

}  // namespace
}  // namespace skiff::testing
