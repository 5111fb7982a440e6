// Pull over the OCI distribution v2 API (plain HTTP, no auth yet): the manifest (OCI or Docker
// schema 2, index or manifest list resolved to linux/amd64), then config and layers, each verified
// against its digest before it is stored, then the image unpacked (ImageStore::rootfs).
#pragma once

#include <string_view>

#include "image_store.hpp"

namespace skiff::plugins::runtime::oci {

struct PullOptions {
  // "http" for registries on loopback (tests, `docker-registry`); "https" needs TLS set up (not yet).
  std::string scheme = "http";
  int timeout_ms = 60'000;  // per request
};

plugin::Result<ImageRecord> pull_image(ImageStore& store, std::string_view reference, const PullOptions& options = {});

}  // namespace skiff::plugins::runtime::oci
