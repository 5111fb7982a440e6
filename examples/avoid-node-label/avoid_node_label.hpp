// A scheduler filter that keeps pods off nodes carrying a given label (see README.md).
#pragma once

#include <memory>
#include <string>

#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace example::avoid_node_label {

namespace plugin = skiff::plugin;
namespace sp = skiff::plugin::scheduler;

inline constexpr const char* kName = "avoid_node_label";

// The label a node must not carry: `key` alone avoids every value, `key=value` only that value.
struct Config {
  std::string key;
  std::string value;
  bool any_value = true;
};

// Parses the `label` option ("key" or "key=value"); an empty key is an error naming the option.
plugin::Result<Config> parse_config(const plugin::ConfigSection& section);

plugin::Result<std::unique_ptr<sp::FilterPlugin>> make_filter(const plugin::PluginContext& context);

}  // namespace example::avoid_node_label
