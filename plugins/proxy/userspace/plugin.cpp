// The manifest of libskiff-proxy-userspace.so: nothing but what the loader reads.
#include <array>

#include "userspace.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

const skiff::plugin::Manifest* skiff_proxy_userspace_manifest() noexcept {
  namespace mode = skiff::plugins::proxy::userspace;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::proxy::Proxy>(
      mode::kName.data(), "Service proxy that forwards itself: epoll + splice, round robin (kube-proxy's userspace mode, rebuilt)", &mode::make_proxy,
      mode::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("proxy-userspace", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_proxy_userspace_manifest)
