// A real kernel ObjectStore over the in-memory store backend, with the builtin resource types, plus
// small helpers for ConfigMaps: what the reconcile-loop tests run against.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kernel/store/object_store.hpp"
#include "plugins/store/memory/memory_store.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {

class MemoryObjectStore {
 public:
  explicit MemoryObjectStore(kernel::ObjectStoreOptions options = {})
      : registry_(kernel::ResourceRegistry::builtin()), context_("store.memory", {}, dir_.str()) {
    auto backend = plugins::store::memory::make_backend(context_.context());
    if (!backend) throw std::runtime_error("memory backend: " + backend.status().message());
    store_ = std::make_unique<kernel::ObjectStore>(std::shared_ptr<plugin::store::Backend>(std::move(backend.value())),
                                                   registry_, clock_, options);
    if (auto s = store_->start(); !s) throw std::runtime_error("object store: " + s.message());
  }
  ~MemoryObjectStore() { store_->stop(); }

  kernel::ObjectStore& store() { return *store_; }
  const kernel::ResourceRegistry& registry() const { return registry_; }
  FakeClock& clock() { return clock_; }
  const kernel::ResourceType& type(std::string_view group, std::string_view resource) const {
    const kernel::ResourceType* t = registry_.find(group, "v1", resource);
    if (t == nullptr) throw std::runtime_error("no resource " + std::string(resource));
    return *t;
  }
  const kernel::ResourceType& configmaps() const { return type("", "configmaps"); }

  // ConfigMap helpers; each fails the test on error.
  plugin::ObjectPtr put_configmap(const std::string& ns, const std::string& name, const nlohmann::json& data,
                                  const nlohmann::json& labels = nlohmann::json::object()) {
    auto existing = store_->get(configmaps(), ns, name);
    if (existing) {
      auto updated = store_->update_with(configmaps(), ns, name, [&](nlohmann::json& j) {
        j["data"] = data;
        j["metadata"]["labels"] = labels;
        return plugin::Status::ok();
      });
      EXPECT_TRUE(updated.is_ok()) << updated.status().message();
      return updated ? updated.value() : nullptr;
    }
    nlohmann::json cm = {{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
                         {"data", data}};
    auto created = store_->create(configmaps(), ns, cm);
    EXPECT_TRUE(created.is_ok()) << created.status().message();
    return created ? created.value() : nullptr;
  }
  void delete_configmap(const std::string& ns, const std::string& name) {
    auto removed = store_->remove(configmaps(), ns, name);
    EXPECT_TRUE(removed.is_ok()) << removed.status().message();
  }

 private:
  TempDir dir_;
  FakeClock clock_;
  kernel::ResourceRegistry registry_;
  TestPluginContext context_;
  std::unique_ptr<kernel::ObjectStore> store_;
};

// The "data" of an object's JSON, or null.
inline nlohmann::json data_of(const plugin::Object& object) {
  auto j = nlohmann::json::parse(object.json);
  return j.contains("data") ? j["data"] : nlohmann::json();
}


}  // namespace skiff::testing
