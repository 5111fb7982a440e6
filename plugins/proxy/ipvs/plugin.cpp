// The manifest of libskiff-proxy-ipvs.so: nothing but what the loader reads.
#include <array>

#include "ipvs.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

const skiff::plugin::Manifest* skiff_proxy_ipvs_manifest() noexcept {
  namespace mode = skiff::plugins::proxy::ipvs;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::proxy::Proxy>(
      mode::kName.data(), "Service proxy through IPVS virtual servers (kube-proxy's ipvs mode)", &mode::make_proxy,
      mode::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("proxy-ipvs", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_proxy_ipvs_manifest)
