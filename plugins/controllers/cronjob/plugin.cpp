// The manifest of libskiff-controllers-cronjob.so: nothing but what the loader reads.
#include <array>

#include "cronjob.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace cronjob = skiff::plugins::controllers::cronjob;

skiff::plugin::Result<std::unique_ptr<skiff::plugin::controller::Controller>> make(
    const skiff::plugin::PluginContext& context) {
  auto options = cronjob::parse_options(context);
  if (!options) return options.status();
  return std::unique_ptr<skiff::plugin::controller::Controller>(std::make_unique<cronjob::CronJobController>(std::move(*options)));
}

const skiff::plugin::Manifest* skiff_controllers_cronjob_manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::controller::Controller>(
      cronjob::kName.data(), "batch/v1 CronJob: creates Jobs on a cron schedule", &make, cronjob::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("cronjob", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_controllers_cronjob_manifest)
