#include "digest.hpp"

#include <mbedtls/sha256.h>

#include <cstdio>

namespace skiff::plugins::runtime::oci {

struct Sha256::Context {
  mbedtls_sha256_context ctx;
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  mbedtls_sha256_init(&ctx_->ctx);
  mbedtls_sha256_starts_ret(&ctx_->ctx, 0);
}

Sha256::~Sha256() { mbedtls_sha256_free(&ctx_->ctx); }

void Sha256::update(const void* data, std::size_t size) {
  mbedtls_sha256_update_ret(&ctx_->ctx, static_cast<const unsigned char*>(data), size);
}

std::string Sha256::digest() {
  unsigned char out[32];
  mbedtls_sha256_finish_ret(&ctx_->ctx, out);
  std::string hex = "sha256:";
  char two[3];
  for (unsigned char b : out) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

bool valid_digest(std::string_view digest) {
  if (digest.size() != 71 || !digest.starts_with("sha256:")) return false;
  for (char c : digest.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace skiff::plugins::runtime::oci
