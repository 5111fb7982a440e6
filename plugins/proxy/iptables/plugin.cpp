// The manifest of libskiff-proxy-iptables.so: nothing but what the loader reads.
#include <array>

#include "iptables.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

const skiff::plugin::Manifest* skiff_proxy_iptables_manifest() noexcept {
  namespace mode = skiff::plugins::proxy::iptables;
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::proxy::Proxy>(
      mode::kName.data(), "Service proxy through iptables nat chains (kube-proxy's iptables mode)", &mode::make_proxy,
      mode::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("proxy-iptables", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_proxy_iptables_manifest)
