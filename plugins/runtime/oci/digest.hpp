// Content digests ("sha256:<64 hex>") as OCI images name their blobs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace skiff::plugins::runtime::oci {

// Incremental SHA-256 (mbedtls underneath).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>"; call once.
  std::string digest();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

std::string sha256_digest(std::string_view data);

// True for "sha256:" followed by 64 lowercase hex digits (the only algorithm the store accepts).
bool valid_digest(std::string_view digest);

// The hex part of a valid digest.
inline std::string_view digest_hex(std::string_view digest) { return digest.substr(7); }

}  // namespace skiff::plugins::runtime::oci
