// The proxy modes the suites run, built from the plugins' static libraries with their default
// config, and what each needs and leaves behind.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "iptables.hpp"
#include "nftables.hpp"
#include "userspace.hpp"
#include "command.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {

inline std::unique_ptr<plugin::proxy::Proxy> make_mode(const std::string& mode, TestPluginContext& /*unused*/) {
  namespace px = plugins::proxy;
  if (mode == "iptables") return px::iptables::make_iptables_proxy({.backend = px::iptables::Backend::kNft}, nullptr);
  if (mode == "iptables-legacy")
    return px::iptables::make_iptables_proxy({.backend = px::iptables::Backend::kLegacy}, nullptr);
  if (mode == "nftables") return px::nftables::make_nftables_proxy({}, nullptr);
  if (mode == "userspace") return px::userspace::make_userspace_proxy({}, nullptr);
  return nullptr;
}

inline std::vector<std::string> required_tools(const std::string& mode) {
  std::vector<std::string> tools = {"ip"};
  if (mode == "iptables") tools.insert(tools.end(), {"iptables-nft-save", "iptables-nft-restore"});
  if (mode == "iptables-legacy") tools.insert(tools.end(), {"iptables-legacy-save", "iptables-legacy-restore"});
  if (mode == "nftables") tools.push_back("nft");
  return tools;
}

inline bool tool_installed(const std::string& tool) { return plugins::proxy::have_program(tool); }

inline std::string backend_binary() { return std::string(SKIFF_TEST_BIN_DIR) + "/proxy_test_backend"; }

// The KUBE-* lines one iptables backend ("nft", "legacy") holds in the current network namespace.
inline std::string iptables_leftovers(const std::string& backend) {
  std::string found;
  for (const char* table : {"nat", "filter"}) {
    auto r = run_process({"iptables-" + backend + "-save", "-t", table});
    std::size_t at = 0;
    while ((at = r.out.find("KUBE-", at)) != std::string::npos) {
      std::size_t start = r.out.rfind('\n', at);
      std::size_t end = r.out.find('\n', at);
      found += r.out.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1)) + "\n";
      at = end == std::string::npos ? r.out.size() : end;
    }
  }
  return found;
}

// What `mode` has installed in the current network namespace, as text; "" when nothing. For the
// iptables modes, both backends are looked at: rules left in either would be live.
inline std::string leftovers(const std::string& mode) {
  std::string found;
  if (mode.starts_with("iptables")) {
    for (const char* backend : {"nft", "legacy"}) {
      std::string lines = iptables_leftovers(backend);
      if (!lines.empty()) found += std::string(backend) + ":\n" + lines;
    }
  } else if (mode == "nftables") {
    auto r = run_process({"nft", "list", "table", "ip", "skiff-proxy"});
    if (r.exit_code == 0) found = r.out;
  } else if (mode == "userspace") {
    auto r = run_process({"ip", "-4", "-o", "addr", "show", "dev", "lo", "label", "lo:skiffproxy"});
    found = r.out;
  }
  return found;
}

}  // namespace skiff::testing
