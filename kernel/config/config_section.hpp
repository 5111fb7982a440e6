// A plugin's config section backed by a map: the values the daemon parsed (file, flags, environment)
// merged over the defaults the plugin declared.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/host.hpp"

namespace skiff::kernel {

class MapConfigSection final : public plugin::ConfigSection {
 public:
  explicit MapConfigSection(std::string section, std::map<std::string, std::string, std::less<>> values = {})
      : section_(std::move(section)), values_(std::move(values)) {}

  // Defaults from the plugin's OptionSpec list, then `values` on top.
  static MapConfigSection with_defaults(std::string section, std::span<const plugin::OptionSpec> options,
                                        const std::map<std::string, std::string, std::less<>>& values) {
    MapConfigSection s(std::move(section));
    for (const auto& o : options)
      if (o.default_value != nullptr) s.values_[o.key] = o.default_value;
    for (const auto& [k, v] : values) s.values_[k] = v;
    return s;
  }

  void set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  std::string_view section() const noexcept override { return section_; }
  bool has(std::string_view key) const noexcept override { return values_.find(key) != values_.end(); }
  std::string_view get(std::string_view key) const noexcept override {
    auto it = values_.find(key);
    return it == values_.end() ? std::string_view{} : std::string_view(it->second);
  }
  const std::map<std::string, std::string, std::less<>>& values() const noexcept { return values_; }

 private:
  std::string section_;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace skiff::kernel
