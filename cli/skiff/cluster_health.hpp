// Kubernetes' verbose health text (/livez?verbose, /readyz?verbose) as a list of checks, for
// `skiff cluster status`.
#pragma once

#include <string>
#include <vector>

namespace skiff::cli {

struct HealthCheck {
  std::string name;
  bool ok = true;
  std::string message;              // why it failed ("" when ok)
  std::vector<std::string> probes;  // the endpoints that ran it: "livez", "readyz"
};

// Adds the "[+]name ok" / "[-]name failed: reason" lines of one endpoint's answer to `checks`; a check
// both endpoints run stays one entry, failed when either says so. Other lines are ignored.
void parse_health(const std::string& probe, const std::string& text, std::vector<HealthCheck>& checks);

}  // namespace skiff::cli
