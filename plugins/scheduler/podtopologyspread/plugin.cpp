// The manifest of libskiff-scheduler-podtopologyspread.so: nothing but what the loader reads.
#include <array>

#include "podtopologyspread.hpp"
#include "skiff/plugin/abi.hpp"

namespace {

namespace sp = skiff::plugin;
namespace podtopologyspread = skiff::plugins::scheduler::podtopologyspread;

const sp::Manifest* skiff_scheduler_podtopologyspread_manifest() noexcept {
  static const std::array exports{
      sp::make_export<sp::scheduler::FilterPlugin>("pod_topology_spread", "topologySpreadConstraints with whenUnsatisfiable: DoNotSchedule", &podtopologyspread::make_podtopologyspreadfilter),
      sp::make_export<sp::scheduler::ScorePlugin>("pod_topology_spread", "topologySpreadConstraints with whenUnsatisfiable: ScheduleAnyway", &podtopologyspread::make_podtopologyspreadscore)};
  static const sp::Manifest manifest{sp::make_header("podtopologyspread", "0.1.0"), exports};
  return &manifest;
}

}  // namespace

SKIFF_PLUGIN_ENTRY(skiff_scheduler_podtopologyspread_manifest)
