// An in-process control plane for controller and scheduler tests: the kernel's object store over the
// memory backend, the API handler (bootstrapped: default, kube-system, … exist), the API's in-process
// client (the same admission kubectl's writes get), shared informers and controller runners, all on
// a FakeClock the test moves. Link skiff_store_memory into a test that includes this.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/api/client.hpp"
#include "kernel/api/handler.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"
#include "kernel/reconcile/controller_runner.hpp"
#include "kernel/reconcile/informer.hpp"
#include "kernel/store/object_store.hpp"
#include "plugins/store/memory/memory_store.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {

class ControlPlane {
 public:
  ControlPlane()
      : registry_(kernel::ResourceRegistry::builtin()), context_("store.memory", {}, dir_.str()) {
    auto backend = plugins::store::memory::make_backend(context_.context());
    if (!backend) throw std::runtime_error("memory backend: " + backend.status().message());
    store_ = std::make_unique<kernel::ObjectStore>(std::shared_ptr<plugin::store::Backend>(std::move(backend.value())),
                                                   registry_, clock_);
    if (auto s = store_->start(); !s) throw std::runtime_error("object store: " + s.message());
    handler_ = std::make_unique<kernel::api::ApiHandler>(*store_, metrics_, logger_, clock_);
    if (auto s = handler_->bootstrap(); !s) throw std::runtime_error("bootstrap: " + s.message());
    client_ = std::make_unique<kernel::api::ApiClient>(*handler_, *store_);
    informers_ = std::make_unique<kernel::SharedInformerFactory>(*store_);
  }
  ~ControlPlane() {
    for (auto it = runners_.rbegin(); it != runners_.rend(); ++it) (*it)->stop();
    runners_.clear();
    informers_->stop();
    store_->stop();
  }
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  kernel::ObjectStore& store() { return *store_; }
  kernel::api::ApiHandler& api() { return *handler_; }
  plugin::Client& client() { return *client_; }
  kernel::api::ApiClient& api_client() { return *client_; }  // with what the plugin SDK lacks (remove_with_grace)
  kernel::SharedInformerFactory& informers() { return *informers_; }
  kernel::MetricsRegistry& metrics() { return metrics_; }
  FakeClock& clock() { return clock_; }
  const kernel::ResourceRegistry& registry() const { return registry_; }

  // Starts `controller` on the reconcile loop (informers synced before this returns).
  kernel::ControllerRunner& run(std::string name, std::shared_ptr<plugin::controller::Controller> controller,
                                kernel::ControllerRunnerOptions options = {}) {
    runners_.push_back(std::make_unique<kernel::ControllerRunner>(std::move(name), std::move(controller), *client_,
                                                                  *informers_, metrics_, logger_, clock_,
                                                                  std::move(options)));
    auto started = runners_.back()->start();
    if (!started) throw std::runtime_error("controller start: " + started.message());
    return *runners_.back();
  }

  // Writes through the API client; each fails the test on error and returns the stored object.
  plugin::ObjectPtr create(const plugin::ResourceId& resource, const nlohmann::json& object) {
    std::string ns = object.contains("metadata") ? object["metadata"].value("namespace", "") : "";
    auto created = client_->create(resource, ns, object.dump());
    EXPECT_TRUE(created.is_ok()) << created.status().message();
    return created ? created.value() : nullptr;
  }
  // The stored object as JSON, or null when it does not exist.
  nlohmann::json get(const plugin::ResourceId& resource, std::string_view ns, std::string_view name) {
    const kernel::ResourceType* type = registry_.find(resource);
    if (type == nullptr) throw std::runtime_error("no resource " + resource.to_string());
    auto got = store_->get(*type, ns, name);
    return got ? nlohmann::json::parse(got.value()->json) : nlohmann::json();
  }
  // Every stored object of `resource` in `ns` ("" = all namespaces), as JSON.
  std::vector<nlohmann::json> list(const plugin::ResourceId& resource, std::string_view ns = {}) {
    const kernel::ResourceType* type = registry_.find(resource);
    if (type == nullptr) throw std::runtime_error("no resource " + resource.to_string());
    kernel::ListOptions options;
    options.ns = std::string(ns);
    auto listed = store_->list(*type, options);
    if (!listed) throw std::runtime_error("list " + resource.to_string() + ": " + listed.status().message());
    std::vector<nlohmann::json> out;
    for (const auto& o : listed->items) out.push_back(nlohmann::json::parse(o->json));
    return out;
  }

 private:
  TempDir dir_;
  kernel::ResourceRegistry registry_;
  TestPluginContext context_;
  FakeClock clock_;
  kernel::MetricsRegistry metrics_;
  kernel::StructuredLogger logger_{"test", 2, plugin::LogLevel::kWarn};
  std::unique_ptr<kernel::ObjectStore> store_;
  std::unique_ptr<kernel::api::ApiHandler> handler_;
  std::unique_ptr<kernel::api::ApiClient> client_;
  std::unique_ptr<kernel::SharedInformerFactory> informers_;
  std::vector<std::unique_ptr<kernel::ControllerRunner>> runners_;
};

}  // namespace skiff::testing
