// A test controller plugin (role skiff.controller.v1), loaded by the real skiffd in
// controller_plugin_test.cpp: for every ConfigMap X without the label `skiff.test/mirror`, it keeps a
// ConfigMap "X-mirror" with the same data, owned by X (controller=true), and labelled as a mirror.
#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <string>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/controller.hpp"

namespace {

using nlohmann::json;
namespace ctl = skiff::plugin::controller;
const skiff::plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};

class MirrorController final : public ctl::Controller {
 public:
  std::vector<ctl::WatchSpec> watches() const noexcept override {
    return {{kConfigMaps, ctl::KeyMapping::kSelf, {}}, {kConfigMaps, ctl::KeyMapping::kOwner, "ConfigMap"}};
  }
  void bind(const ctl::Host& host) noexcept override { host_.emplace(host); }

  skiff::plugin::Result<ctl::ReconcileResult> reconcile(std::string_view key) noexcept override {
    try {
      auto slash = key.find('/');
      std::string ns(key.substr(0, slash)), name(key.substr(slash + 1));
      auto source = host_->cache.get(kConfigMaps, ns, name);
      if (!source || source->label("skiff.test/mirror") != nullptr || source->deleting) return ctl::ReconcileResult{};
      json src = json::parse(source->json);
      json want_data = src.value("data", json::object());
      auto mirror = host_->cache.get(kConfigMaps, ns, name + "-mirror");
      if (!mirror) {
        json m = {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata",
                   {{"name", name + "-mirror"},
                    {"namespace", ns},
                    {"labels", {{"skiff.test/mirror", "true"}}},
                    {"ownerReferences",
                     {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", name}, {"uid", source->uid},
                       {"controller", true}}}}}},
                  {"data", want_data}};
        auto r = host_->client.create(kConfigMaps, ns, m.dump());
        if (!r && r.status().code() != skiff::plugin::Code::kAlreadyExists) return r.status();
        return ctl::ReconcileResult{};
      }
      json m = json::parse(mirror->json);
      if (m.value("data", json::object()) == want_data) return ctl::ReconcileResult{};
      m["data"] = want_data;
      auto r = host_->client.update(kConfigMaps, m.dump());
      if (!r) return r.status();
      return ctl::ReconcileResult{};
    } catch (const std::exception& e) {
      return skiff::plugin::internal(e.what());
    }
  }

 private:
  std::optional<ctl::Host> host_;
};

skiff::plugin::Result<std::unique_ptr<ctl::Controller>> make(const skiff::plugin::PluginContext&) {
  return std::unique_ptr<ctl::Controller>(std::make_unique<MirrorController>());
}

const skiff::plugin::Manifest* manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<ctl::Controller>(
      "configmap_mirror", "Test controller: mirrors every ConfigMap into X-mirror", &make)};
  static const skiff::plugin::Manifest m{skiff::plugin::make_header("test-mirror", "0.0.1"), exports};
  return &m;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(manifest)
