#include "avoid_node_label.hpp"

namespace example::avoid_node_label {
namespace {

class AvoidNodeLabel final : public sp::FilterPlugin {
 public:
  explicit AvoidNodeLabel(Config config)
      : config_(std::move(config)),
        reason_("node(s) had the avoided label " + config_.key + (config_.any_value ? "" : "=" + config_.value)) {}

  std::string_view name() const noexcept override { return kName; }

  plugin::Status filter(const sp::PodState*, const sp::PodInfo&, const sp::NodeInfo& node) const noexcept override {
    const std::string* value = node.label(config_.key);
    if (value == nullptr || (!config_.any_value && *value != config_.value)) return plugin::Status::ok();
    return {plugin::Code::kUnschedulable, reason_};
  }

  // Evicting pods never removes a node's label.
  bool preemption_can_help() const noexcept override { return false; }

 private:
  Config config_;
  std::string reason_;  // built once: filter runs for every (pod, node) pair
};

}  // namespace

plugin::Result<Config> parse_config(const plugin::ConfigSection& section) {
  auto label = section.get_string("label");
  if (!label) return label.status();
  Config config;
  auto eq = label->find('=');
  config.key = label->substr(0, eq);
  if (eq != std::string::npos) {
    config.value = label->substr(eq + 1);
    config.any_value = false;
  }
  if (config.key.empty())
    return plugin::invalid("config " + section.full_key("label") + ": expected KEY or KEY=VALUE, got '" + *label + "'");
  return config;
}

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_filter(const plugin::PluginContext& context) {
  auto config = parse_config(context.config);
  if (!config) return config.status();
  return std::unique_ptr<sp::FilterPlugin>(std::make_unique<AvoidNodeLabel>(std::move(*config)));
}

}  // namespace example::avoid_node_label
