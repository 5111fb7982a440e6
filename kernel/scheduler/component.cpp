#include "kernel/scheduler/component.hpp"

#include <cstdlib>

namespace skiff::kernel::scheduler {
namespace {

// Kubernetes' default plugin set and score weights (pkg/scheduler/apis/config/v1 defaults).
constexpr const char* kDefaultFilters =
    "node_unschedulable,node_name,taint_toleration,node_affinity,node_ports,node_resources_fit,pod_topology_spread,"
    "inter_pod_affinity";
constexpr const char* kDefaultScores =
    "taint_toleration=3,node_affinity=2,node_resources_least_allocated=1,pod_topology_spread=2,inter_pod_affinity=2,"
    "node_resources_balanced_allocation=1,image_locality=1";

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    std::string part(s.substr(start, end - start));
    auto b = part.find_first_not_of(" \t");
    auto e = part.find_last_not_of(" \t");
    part = b == std::string::npos ? std::string() : part.substr(b, e - b + 1);
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

plugin::Result<std::vector<std::pair<std::string, std::int64_t>>> parse_scores(std::string_view text, std::string_view key) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const std::string& item : split(text, ',')) {
    auto eq = item.find('=');
    std::string name = item.substr(0, eq);
    std::int64_t weight = 1;
    if (eq != std::string::npos) {
      std::string w = item.substr(eq + 1);
      char* end = nullptr;
      long long v = std::strtoll(w.c_str(), &end, 10);
      if (w.empty() || *end != '\0' || v < 1 || v > 100)
        return plugin::invalid("config " + std::string(key) + ": weight of " + name + " must be an integer in [1, 100], got '" + w + "'");
      weight = v;
    }
    out.emplace_back(name, weight);
  }
  return out;
}


class SchedulerComponent final : public Component {
 public:
  explicit SchedulerComponent(Daemon& daemon) : daemon_(daemon) {}
  std::string_view name() const noexcept override { return "scheduler"; }

  plugin::Status start() override {
    auto value = [&](std::string_view key) {
      const ConfigValue* v = daemon_.config().value(key);
      return v ? v->value : std::string();
    };
    if (value("scheduler.enabled") == "false") {
      daemon_.logger().info("scheduler disabled");
      return plugin::Status::ok();
    }
    plugin::Client* client = daemon_.api_client();
    if (client == nullptr) return plugin::internal("the scheduler component needs the API component started before it");
    auto specs = parse_profiles(value("scheduler.profiles"), value("scheduler.filters"), value("scheduler.scores"));
    if (!specs) return specs.status();
    std::map<std::string, std::shared_ptr<sp::FilterPlugin>> filters;
    std::map<std::string, std::shared_ptr<sp::ScorePlugin>> scores;
    for (const ExportInfo& e : daemon_.plugins().exports_of(sp::FilterPlugin::kRole)) {
      auto p = daemon_.plugins().create<sp::FilterPlugin>(e.name, daemon_.plugin_context(e));
      if (!p) return p.status().with_context("scheduler filter " + e.name);
      filters[e.name] = std::move(*p);
    }
    for (const ExportInfo& e : daemon_.plugins().exports_of(sp::ScorePlugin::kRole)) {
      auto p = daemon_.plugins().create<sp::ScorePlugin>(e.name, daemon_.plugin_context(e));
      if (!p) return p.status().with_context("scheduler score " + e.name);
      scores[e.name] = std::move(*p);
    }
    // A plugin dir without any scheduler plugin (a store-only test setup, a control plane whose pods
    // another scheduler binds) runs without a scheduler unless the scheduler keys were set on purpose.
    auto defaulted = [&](std::string_view key) {
      const ConfigValue* v = daemon_.config().value(key);
      return !v || v->origin.kind == ConfigOrigin::Kind::kDefault;
    };
    if (filters.empty() && scores.empty() && defaulted("scheduler.profiles") && defaulted("scheduler.filters") &&
        defaulted("scheduler.scores")) {
      daemon_.logger().warn("scheduler not started: no scheduler plugins loaded",
                            {{"roles", "skiff.scheduler.filter.v1, skiff.scheduler.score.v1"}});
      return plugin::Status::ok();
    }
    auto profiles = build_profiles(*specs, filters, scores);
    if (!profiles) return profiles.status();
    SchedulerOptions options;
    options.profiles = std::move(profiles).value();
    options.percentage_of_nodes_to_score = std::atoi(value("scheduler.percentage-of-nodes-to-score").c_str());
    options.preemption = value("scheduler.preemption") != "false";
    options.initial_backoff_ms = std::atoll(value("scheduler.pod-initial-backoff-seconds").c_str()) * 1000;
    options.max_backoff_ms = std::atoll(value("scheduler.pod-max-backoff-seconds").c_str()) * 1000;
    if (options.max_backoff_ms < options.initial_backoff_ms)
      return plugin::invalid("config scheduler.pod-max-backoff-seconds: must not be less than scheduler.pod-initial-backoff-seconds");
    informers_ = std::make_unique<SharedInformerFactory>(daemon_.store(), InformerOptions{});
    scheduler_ = std::make_unique<Scheduler>(std::move(options), *client, *informers_, daemon_.metrics(), daemon_.logger(),
                                             daemon_.clock());
    if (auto s = scheduler_->start(); !s) return s.with_context("scheduler");
    for (const ProfileSpec& p : *specs)
      daemon_.logger().info("scheduler profile started", {{"scheduler_name", p.scheduler_name},
                                                          {"filters", std::to_string(p.filters.size())},
                                                          {"scores", std::to_string(p.scores.size())}});
    return plugin::Status::ok();
  }

  void stop() noexcept override {
    if (scheduler_) scheduler_->stop();
    scheduler_.reset();
    if (informers_) informers_->stop();
    informers_.reset();
  }

 private:
  Daemon& daemon_;
  std::unique_ptr<SharedInformerFactory> informers_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace

std::vector<ComponentOption> scheduler_options() {
  auto profiles = [](std::string_view v) {
    auto p = parse_profiles(v, kDefaultFilters, kDefaultScores);
    return p ? std::string() : "name[:filters=a,b][:scores=x=1,y=2] entries separated by ';' (" + p.status().message() + ")";
  };
  auto scores = [](std::string_view v) {
    auto p = parse_scores(v, "scheduler.scores");
    return p ? std::string() : "plugin=weight entries separated by ',' (" + p.status().message() + ")";
  };
  return {
      {"scheduler.enabled", "true", "Run the scheduler (binds pending pods to nodes).", boolean},
      {"scheduler.profiles", "default-scheduler",
       "Profiles by spec.schedulerName, separated by ';': name[:filters=a,b][:scores=x=1,y=2]. A profile without "
       "filters= or scores= uses scheduler.filters / scheduler.scores.",
       profiles},
      {"scheduler.filters", kDefaultFilters, "Filter plugins (role skiff.scheduler.filter.v1) of the profiles, in order.", {}},
      {"scheduler.scores", kDefaultScores, "Score plugins (role skiff.scheduler.score.v1) and their weights.", scores},
      {"scheduler.percentage-of-nodes-to-score", "0",
       "Stop filtering once this percentage of the nodes fits (at least 100 nodes); 0 = adaptive "
       "(50% minus 1% per 125 nodes, at least 5%), 100 = all.",
       [](std::string_view v) { return integer_in(v, 0, 100); }},
      {"scheduler.preemption", "true", "Let pods that fit nowhere evict lower-priority pods.", boolean},
      {"scheduler.pod-initial-backoff-seconds", "1", "First retry delay of an unschedulable pod.",
       [](std::string_view v) { return integer_in(v, 1, 3600); }},
      {"scheduler.pod-max-backoff-seconds", "10", "Longest retry delay of an unschedulable pod.",
       [](std::string_view v) { return integer_in(v, 1, 3600); }},
  };
}

plugin::Result<std::vector<ProfileSpec>> parse_profiles(std::string_view profiles, std::string_view filters,
                                                        std::string_view scores) {
  auto default_scores = parse_scores(scores, "scheduler.scores");
  if (!default_scores) return default_scores.status();
  std::vector<ProfileSpec> out;
  for (const std::string& entry : split(profiles, ';')) {
    std::vector<std::string> parts = split(entry, ':');
    ProfileSpec spec;
    spec.scheduler_name = parts.empty() ? std::string() : parts[0];
    if (spec.scheduler_name.empty() || spec.scheduler_name.find('=') != std::string::npos)
      return plugin::invalid("config scheduler.profiles: entry '" + entry + "' does not start with a scheduler name");
    for (const auto& o : out)
      if (o.scheduler_name == spec.scheduler_name)
        return plugin::invalid("config scheduler.profiles: profile " + spec.scheduler_name + " is given twice");
    spec.filters = split(filters, ',');
    spec.scores = *default_scores;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      const std::string& part = parts[i];
      if (part.rfind("filters=", 0) == 0) {
        spec.filters = split(std::string_view(part).substr(8), ',');
      } else if (part.rfind("scores=", 0) == 0) {
        auto s = parse_scores(std::string_view(part).substr(7), "scheduler.profiles");
        if (!s) return s.status();
        spec.scores = std::move(s).value();
      } else {
        return plugin::invalid("config scheduler.profiles: profile " + spec.scheduler_name + ": unknown part '" + part +
                               "' (expected filters= or scores=)");
      }
    }
    out.push_back(std::move(spec));
  }
  if (out.empty()) return plugin::invalid("config scheduler.profiles: at least one profile is needed");
  return out;
}

plugin::Result<std::vector<Profile>> build_profiles(
    const std::vector<ProfileSpec>& specs, const std::map<std::string, std::shared_ptr<sp::FilterPlugin>>& filters,
    const std::map<std::string, std::shared_ptr<sp::ScorePlugin>>& scores) {
  std::vector<Profile> out;
  for (const ProfileSpec& spec : specs) {
    Profile p;
    p.scheduler_name = spec.scheduler_name;
    for (const std::string& f : spec.filters) {
      auto it = filters.find(f);
      if (it == filters.end())
        return plugin::invalid("config scheduler.filters (profile " + spec.scheduler_name + "): no filter plugin named " + f +
                               " is loaded (role skiff.scheduler.filter.v1)");
      p.filters.push_back(it->second);
    }
    for (const auto& [name, weight] : spec.scores) {
      auto it = scores.find(name);
      if (it == scores.end())
        return plugin::invalid("config scheduler.scores (profile " + spec.scheduler_name + "): no score plugin named " +
                               name + " is loaded (role skiff.scheduler.score.v1)");
      p.scores.push_back({it->second, weight});
    }
    out.push_back(std::move(p));
  }
  return out;
}

Daemon::ComponentFactory scheduler_component() {
  return [](Daemon& daemon) -> plugin::Result<std::unique_ptr<Component>> {
    return std::unique_ptr<Component>(std::make_unique<SchedulerComponent>(daemon));
  };
}

}  // namespace skiff::kernel::scheduler
