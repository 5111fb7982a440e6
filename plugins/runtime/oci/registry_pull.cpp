#include "registry_pull.hpp"

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "reference.hpp"

namespace skiff::plugins::runtime::oci {
namespace {

using Json = nlohmann::json;

struct Response {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One GET through NNG's HTTP client; the whole body in memory (images here are small; a streaming
// download is a later improvement).
plugin::Result<Response> http_get(const std::string& url_text, std::string_view accept, int timeout_ms) {
  nng_url* url = nullptr;
  if (nng_url_parse(&url, url_text.c_str()) != 0) return plugin::invalid("bad registry URL " + url_text);
  nng_http_client* client = nullptr;
  nng_http_req* req = nullptr;
  nng_http_res* res = nullptr;
  nng_aio* aio = nullptr;
  auto cleanup = [&] {
    if (aio) nng_aio_free(aio);
    if (res) nng_http_res_free(res);
    if (req) nng_http_req_free(req);
    if (client) nng_http_client_free(client);
    nng_url_free(url);
  };
  int rv = nng_http_client_alloc(&client, url);
  if (rv == 0) rv = nng_http_req_alloc(&req, url);
  if (rv == 0) rv = nng_http_res_alloc(&res);
  if (rv == 0) rv = nng_aio_alloc(&aio, nullptr, nullptr);
  if (rv != 0) {
    cleanup();
    return plugin::internal("GET " + url_text + ": " + nng_strerror(rv));
  }
  if (!accept.empty()) nng_http_req_set_header(req, "Accept", std::string(accept).c_str());
  nng_aio_set_timeout(aio, timeout_ms);
  nng_http_client_transact(client, req, res, aio);
  nng_aio_wait(aio);
  rv = nng_aio_result(aio);
  if (rv != 0) {
    cleanup();
    return plugin::unavailable("GET " + url_text + ": " + nng_strerror(rv));
  }
  Response out;
  out.status = nng_http_res_get_status(res);
  if (const char* ct = nng_http_res_get_header(res, "Content-Type")) out.content_type = ct;
  void* data = nullptr;
  size_t size = 0;
  nng_http_res_get_data(res, &data, &size);
  out.body.assign(static_cast<const char*>(data), size);
  cleanup();
  return out;
}

std::string accept_manifests() {
  return std::string(kMediaOciIndex) + ", " + std::string(kMediaOciManifest) + ", " + std::string(kMediaDockerList) +
         ", " + std::string(kMediaDockerManifest);
}

struct Puller {
  ImageStore& store;
  const Reference& ref;
  const PullOptions& options;

  std::string base() const { return options.scheme + "://" + ref.registry + "/v2/" + ref.repository; }

  plugin::Result<std::string> fetch(const std::string& what, std::string_view expected_digest, std::string_view accept) {
    auto res = http_get(base() + what, accept, options.timeout_ms);
    if (!res) return res.status();
    if (res->status == 404) return plugin::not_found("pull " + ref.str() + ": " + what + " not found (404)");
    if (res->status != 200)
      return plugin::unavailable("pull " + ref.str() + ": GET " + what + " answered " + std::to_string(res->status) +
                                 ": " + res->body.substr(0, 200));
    std::string digest = sha256_digest(res->body);
    if (!expected_digest.empty() && digest != expected_digest)
      return plugin::invalid("pull " + ref.str() + ": blob " + std::string(expected_digest) +
                             " is corrupted: its content hashes to " + digest);
    if (auto put = store.put_blob(digest, res->body); !put) return put.status();
    return digest;
  }

  // A manifest (by tag or digest) and, for an index, the platform manifest it points at.
  plugin::Result<std::string> manifest(const std::string& tag_or_digest, bool by_digest) {
    auto digest = fetch("/manifests/" + tag_or_digest, by_digest ? tag_or_digest : "", accept_manifests());
    if (!digest) return digest;
    auto text = store.read_blob(*digest);
    if (!text) return text.status();
    Json j = Json::parse(*text, nullptr, false);
    if (!j.is_object()) return plugin::invalid("pull " + ref.str() + ": manifest " + *digest + " is not JSON");
    if (j.contains("manifests")) {
      for (const auto& m : j["manifests"]) {
        Json platform = m.value("platform", Json::object());
        if (platform.value("os", "linux") == "linux" && platform.value("architecture", "amd64") == "amd64") {
          auto child = manifest(m.value("digest", ""), true);
          if (!child) return child;
          return digest;  // the index is what the reference names; resolve() picks the platform
        }
      }
      return plugin::not_found("pull " + ref.str() + ": no linux/amd64 manifest in " + *digest);
    }
    std::vector<std::string> blobs{j.value("config", Json::object()).value("digest", "")};
    for (const auto& layer : j.value("layers", Json::array())) blobs.push_back(layer.value("digest", ""));
    for (const auto& blob : blobs) {
      if (!valid_digest(blob)) return plugin::invalid("pull " + ref.str() + ": manifest names blob '" + blob + "'");
      if (store.has_blob(blob)) continue;
      auto got = fetch("/blobs/" + blob, blob, "");
      if (!got) return got.status();
    }
    return digest;
  }
};

}  // namespace

plugin::Result<ImageRecord> pull_image(ImageStore& store, std::string_view reference, const PullOptions& options) {
  auto ref = parse_reference(reference);
  if (!ref) return ref.status();
  if (ref->registry == "docker.io")
    return plugin::unavailable("pull " + ref->str() + ": Docker Hub is not reachable from here (no registry auth yet); "
                               "import the image with `skiff image import` or use a registry on the network");
  Puller puller{store, *ref, options};
  auto digest = ref->digest.empty() ? puller.manifest(ref->tag, false) : puller.manifest(ref->digest, true);
  if (!digest) return digest.status();
  auto image = store.tag(ref->str(), *digest);
  if (!image) return image;
  // Unpacked now, as containerd's pull does: the first container's start is then only a mount.
  if (auto root = store.rootfs(*image); !root) return root.status().with_context("pull " + ref->str());
  return image;
}

}  // namespace skiff::plugins::runtime::oci
