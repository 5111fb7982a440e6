// Pull from a real OCI registry: Debian's docker-registry on 127.0.0.1 (a free port, storage in a
// temp dir), an image the test builds from busybox-static and pushes with the distribution v2 API
// (blob uploads, then the manifest), then pulled into an empty store and run-ready (unpacked).
#include <gtest/gtest.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "image_store.hpp"
#include "oci_archive.hpp"
#include "registry_pull.hpp"
#include "tests/support/oci_test_image.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

namespace fs = std::filesystem;
namespace oci = plugins::runtime::oci;

struct Reply {
  int status = 0;
  std::string location;
};

// One request to the local registry through NNG's HTTP client (what the puller uses too).
Reply request(const std::string& method, const std::string& url_text, const std::string& body = {},
              const std::string& content_type = "application/octet-stream") {
  Reply out;
  nng_url* url = nullptr;
  if (nng_url_parse(&url, url_text.c_str()) != 0) return out;
  nng_http_client* client = nullptr;
  nng_http_req* req = nullptr;
  nng_http_res* res = nullptr;
  nng_aio* aio = nullptr;
  if (nng_http_client_alloc(&client, url) == 0 && nng_http_req_alloc(&req, url) == 0 && nng_http_res_alloc(&res) == 0 &&
      nng_aio_alloc(&aio, nullptr, nullptr) == 0) {
    nng_http_req_set_method(req, method.c_str());
    if (!body.empty() || method == "PUT") {
      nng_http_req_set_header(req, "Content-Type", content_type.c_str());
      nng_http_req_copy_data(req, body.data(), body.size());
    }
    nng_aio_set_timeout(aio, 10'000);
    nng_http_client_transact(client, req, res, aio);
    nng_aio_wait(aio);
    if (nng_aio_result(aio) == 0) {
      out.status = nng_http_res_get_status(res);
      if (const char* l = nng_http_res_get_header(res, "Location")) out.location = l;
    }
  }
  if (aio) nng_aio_free(aio);
  if (res) nng_http_res_free(res);
  if (req) nng_http_req_free(req);
  if (client) nng_http_client_free(client);
  nng_url_free(url);
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RegistryPull, PullsAnImagePushedToALocalDockerRegistry) {
  ASSERT_EQ(::access("/usr/bin/docker-registry", X_OK), 0) << "docker-registry is missing (run scripts/install-deps.sh)";
  TempDir dir("skiff-registry");
  const int port = free_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  {
    std::ofstream config(dir.path() / "config.yml");
    config << "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " << (dir.path() / "storage").string()
           << "\nhttp:\n  addr: 127.0.0.1:" << port << "\n";
  }
  ChildProcess registry({"/usr/bin/docker-registry", "serve", (dir.path() / "config.yml").string()}, {},
                        (dir.path() / "registry.log").string());
  ASSERT_TRUE(eventually([&] { return request("GET", base + "/v2/").status == 200; }, std::chrono::seconds(20)))
      << read_all(dir.path() / "registry.log");

  // Build the image and take its blobs from a store it is imported into.
  TestImage image;
  image.layers.push_back(busybox_layer("pulled\n"));
  image.ref_name = "skiff.test/pushed:1";
  WrittenImage written = write_oci_archive(dir.path() / "image.tar", image);
  oci::ImageStore source(dir.path() / "source");
  ASSERT_TRUE(oci::import_archive(source, dir.path() / "image.tar"));
  std::vector<std::string> blobs = written.layer_digests;
  blobs.push_back(written.config_digest);
  for (const auto& digest : blobs) {
    Reply started = request("POST", base + "/v2/skiff/busybox/blobs/uploads/");
    ASSERT_EQ(started.status, 202) << digest;
    std::string upload = started.location.starts_with("http") ? started.location : base + started.location;
    upload += (upload.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    auto blob = source.read_blob(digest);
    ASSERT_TRUE(blob) << blob.status().message();
    Reply put = request("PUT", upload, *blob);
    ASSERT_EQ(put.status, 201) << "upload of " << digest;
  }
  auto manifest_blob = source.read_blob(written.manifest_digest);
  ASSERT_TRUE(manifest_blob) << manifest_blob.status().message();
  Reply manifest = request("PUT", base + "/v2/skiff/busybox/manifests/1", *manifest_blob, std::string(oci::kMediaOciManifest));
  ASSERT_EQ(manifest.status, 201);

  oci::ImageStore store(dir.path() / "pulled");
  const std::string ref = "127.0.0.1:" + std::to_string(port) + "/skiff/busybox:1";
  auto pulled = oci::pull_image(store, ref);
  ASSERT_TRUE(pulled) << pulled.status().message();
  EXPECT_EQ(pulled->config_digest, written.config_digest);
  EXPECT_EQ(pulled->manifest_digest, written.manifest_digest);
  auto found = store.find(ref);
  ASSERT_TRUE(found && *found);
  auto root = store.rootfs(**found);
  ASSERT_TRUE(root) << root.status().message();
  EXPECT_EQ(read_all(*root / "www/index.html"), "pulled\n");

  // An image the registry does not have: a clear error naming it.
  auto missing = oci::pull_image(store, "127.0.0.1:" + std::to_string(port) + "/skiff/absent:1");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("skiff/absent"), std::string::npos) << missing.status().message();
}

}  // namespace
}  // namespace skiff::testing
