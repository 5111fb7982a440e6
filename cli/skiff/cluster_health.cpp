#include "cli/skiff/cluster_health.hpp"

namespace skiff::cli {

void parse_health(const std::string& probe, const std::string& text, std::vector<HealthCheck>& checks) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    if (line.size() < 4 || line[0] != '[' || line[2] != ']' || (line[1] != '+' && line[1] != '-')) continue;
    bool ok = line[1] == '+';
    std::string rest = line.substr(3);
    auto space = rest.find(' ');
    std::string name = rest.substr(0, space);
    std::string message;
    if (!ok && space != std::string::npos) {
      message = rest.substr(space + 1);
      if (message.rfind("failed: ", 0) == 0) message = message.substr(8);
      if (message == "failed") message.clear();
    }
    HealthCheck* c = nullptr;
    for (auto& existing : checks)
      if (existing.name == name) c = &existing;
    if (c == nullptr) c = &checks.emplace_back(HealthCheck{name, true, {}, {}});
    c->probes.push_back(probe);
    if (!ok) {
      c->ok = false;
      if (c->message.empty()) c->message = message.empty() ? probe + " failed" : message;
    }
  }
}

}  // namespace skiff::cli
