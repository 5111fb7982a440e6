// The manifest of libskiff-scheduler-avoid_node_label.so: nothing but what skiffd's loader reads.
#include <array>

#include "avoid_node_label.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace example = example::avoid_node_label;

constexpr std::array kOptions{sp::OptionSpec{"label", "skiff.example/avoid",
                                             "node label to keep pods away from: KEY (any value) or KEY=VALUE"}};

const sp::Manifest* avoid_node_label_manifest() noexcept {
  static const std::array exports{sp::make_export<sp::scheduler::FilterPlugin>(
      example::kName, "keeps pods off nodes that carry a given label", &example::make_filter, kOptions)};
  static const sp::Manifest manifest{sp::make_header("avoid_node_label", "1.0.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(avoid_node_label_manifest)
