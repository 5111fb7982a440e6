// Image references as Docker and the kubelet read them: "busybox" is
// "docker.io/library/busybox:latest", "127.0.0.1:5000/app@sha256:…" names a digest.
#pragma once

#include <string>
#include <string_view>

#include "skiff/plugin/status.hpp"

namespace skiff::plugins::runtime::oci {

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when a digest is given
  std::string digest;      // "sha256:…" or empty

  // The normalised form: registry/repository:tag or registry/repository@digest.
  std::string str() const;
  std::string name() const { return registry + "/" + repository; }
  // What the kubelet's default pull policy calls ":latest": no digest and tag latest.
  bool latest() const { return digest.empty() && tag == "latest"; }
};

plugin::Result<Reference> parse_reference(std::string_view text);

}  // namespace skiff::plugins::runtime::oci
