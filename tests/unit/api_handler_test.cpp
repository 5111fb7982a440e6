// Which requests the API handler says it answers at once (kernel/api/handler.cpp): the server runs
// those on its I/O thread, so a request that can block or stream (a LIST, a watch, logs, exec) must
// never be among them.
#include <gtest/gtest.h>

#include "kernel/api/handler.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"
#include "tests/unit/memory_object_store.hpp"

namespace skiff::kernel::api {
namespace {

TEST(ApiHandler, AnswersAtOnceOnlyAGetOfOneObjectByName) {
  testing::MemoryObjectStore store;
  MetricsRegistry metrics;
  StructuredLogger logger{"handler-test", 2, plugin::LogLevel::kWarn};
  ApiHandler handler(store.store(), metrics, logger, store.clock());
  struct Case {
    std::string method, path, query;
    bool at_once;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/v1/namespaces/default/pods/web", "", true},
      {"GET", "/api/v1/namespaces/default", "", true},
      {"GET", "/api/v1/nodes/node-1", "", true},
      {"GET", "/apis/apps/v1/namespaces/default/deployments/web", "", true},
      {"GET", "/apis/scheduling.k8s.io/v1/priorityclasses/high", "", true},
      // Lists, watches, subresources and anything else go to a worker.
      {"GET", "/api/v1/namespaces/default/pods", "", false},
      {"GET", "/api/v1/pods", "", false},
      {"GET", "/apis/apps/v1/namespaces/default/deployments", "", false},
      {"GET", "/api/v1/namespaces/default/pods/web", "watch", false},
      {"GET", "/api/v1/watch/pods", "", false},
      {"GET", "/api/v1/watch/namespaces/default/pods", "", false},
      {"GET", "/apis/apps/v1/watch/deployments", "", false},
      {"GET", "/api/v1/namespaces/default/pods/web/log", "", false},
      {"GET", "/api/v1/namespaces/default/pods/web/exec", "", false},
      {"GET", "/api/v1/namespaces/default/pods/web/status", "", false},
      {"GET", "/api/v1/nodes/node-1/proxy", "", false},
      {"GET", "/api", "", false},
      {"GET", "/apis/apps/v1", "", false},
      {"GET", "/openapi/v3/api/v1", "", false},
      {"GET", "/version", "", false},
      {"PUT", "/api/v1/namespaces/default/pods/web", "", false},
      {"DELETE", "/api/v1/namespaces/default/pods/web", "", false},
  };
  for (const auto& c : cases) {
    HttpRequest r;
    r.method = c.method;
    r.path = c.path;
    if (!c.query.empty()) r.query.emplace(c.query, "true");
    EXPECT_EQ(handler.answers_at_once(r), c.at_once) << c.method << " " << c.path << " " << c.query;
  }
}

}  // namespace
}  // namespace skiff::kernel::api
