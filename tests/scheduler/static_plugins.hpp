// Every scheduler plugin linked statically (no .so), by export name, so tests and the benchmark build
// profiles through the same parse_profiles/build_profiles path skiffd uses.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "imagelocality.hpp"
#include "interpodaffinity.hpp"
#include "kernel/scheduler/component.hpp"
#include "nodeaffinity.hpp"
#include "nodename.hpp"
#include "nodeports.hpp"
#include "noderesources.hpp"
#include "nodeunschedulable.hpp"
#include "podtopologyspread.hpp"
#include "tainttoleration.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing::sched {

namespace ps = skiff::plugins::scheduler;
namespace ks = skiff::kernel::scheduler;

struct StaticPlugins {
  std::map<std::string, std::shared_ptr<plugin::scheduler::FilterPlugin>> filters;
  std::map<std::string, std::shared_ptr<plugin::scheduler::ScorePlugin>> scores;

  StaticPlugins() {
    TestPluginContext ctx("scheduler.static", {}, "/tmp");
    auto c = ctx.context();
    auto f = [&](const char* name, auto factory) { filters[name] = std::shared_ptr<plugin::scheduler::FilterPlugin>(std::move(factory(c).value())); };
    auto s = [&](const char* name, auto factory) { scores[name] = std::shared_ptr<plugin::scheduler::ScorePlugin>(std::move(factory(c).value())); };
    f("node_resources_fit", &ps::noderesources::make_fit);
    f("node_ports", &ps::nodeports::make_nodeports);
    f("node_name", &ps::nodename::make_nodename);
    f("node_unschedulable", &ps::nodeunschedulable::make_nodeunschedulable);
    f("node_affinity", &ps::nodeaffinity::make_nodeaffinityfilter);
    f("taint_toleration", &ps::tainttoleration::make_tainttolerationfilter);
    f("inter_pod_affinity", &ps::interpodaffinity::make_interpodaffinityfilter);
    f("pod_topology_spread", &ps::podtopologyspread::make_podtopologyspreadfilter);
    s("node_resources_least_allocated", &ps::noderesources::make_leastallocated);
    s("node_resources_most_allocated", &ps::noderesources::make_mostallocated);
    s("node_resources_balanced_allocation", &ps::noderesources::make_balancedallocation);
    s("node_affinity", &ps::nodeaffinity::make_nodeaffinityscore);
    s("taint_toleration", &ps::tainttoleration::make_tainttolerationscore);
    s("inter_pod_affinity", &ps::interpodaffinity::make_interpodaffinityscore);
    s("pod_topology_spread", &ps::podtopologyspread::make_podtopologyspreadscore);
    s("image_locality", &ps::imagelocality::make_imagelocality);
  }

  // Profiles as skiffd builds them from the scheduler.* keys (defaults when empty).
  std::vector<ks::Profile> profiles(std::string_view spec = "default-scheduler") const {
    auto options = ks::scheduler_options();
    auto def = [&](std::string_view key) {
      for (const auto& o : options)
        if (o.key == key) return o.default_value;
      return std::string();
    };
    auto specs = ks::parse_profiles(spec, def("scheduler.filters"), def("scheduler.scores"));
    if (!specs) throw std::runtime_error(specs.status().message());
    auto built = ks::build_profiles(*specs, filters, scores);
    if (!built) throw std::runtime_error(built.status().message());
    return std::move(built).value();
  }
};

}  // namespace skiff::testing::sched
