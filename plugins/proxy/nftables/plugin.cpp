// The manifest of libskiff-proxy-nftables.so: nothing but what the loader reads.
#include <array>

#include "nftables.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

const skiff::plugin::Manifest* skiff_proxy_nftables_manifest() noexcept {
  namespace mode = skiff::plugins::proxy::nftables;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::proxy::Proxy>(
      mode::kName.data(), "Service proxy through one nftables table with verdict maps (kube-proxy's nftables mode)", &mode::make_proxy,
      mode::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("proxy-nftables", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_proxy_nftables_manifest)
