// The manifest of libskiff-controllers-job.so: nothing but what the loader reads.
#include <array>

#include "job.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace job = skiff::plugins::controllers::job;

skiff::plugin::Result<std::unique_ptr<skiff::plugin::controller::Controller>> make(
    const skiff::plugin::PluginContext& context) {
  auto options = job::parse_options(context);
  if (!options) return options.status();
  return std::unique_ptr<skiff::plugin::controller::Controller>(std::make_unique<job::JobController>(*options));
}

const skiff::plugin::Manifest* skiff_controllers_job_manifest() noexcept {
  static const std::array exports{skiff::plugin::make_export<skiff::plugin::controller::Controller>(
      job::kName.data(), "batch/v1 Job: runs pods to completion; ttlSecondsAfterFinished", &make, job::kOptions)};
  static const skiff::plugin::Manifest manifest{skiff::plugin::make_header("job", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_controllers_job_manifest)
