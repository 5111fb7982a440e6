#include "proxy/component.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kernel/reconcile/informer.hpp"
#include "proxy/desired_state.hpp"
#include "skiff/plugin/proxy.hpp"

namespace skiff::proxy {
namespace {

using Clock = std::chrono::steady_clock;

class ProxyComponent final : public kernel::Component {
 public:
  explicit ProxyComponent(kernel::Daemon& daemon) : daemon_(daemon) {}
  std::string_view name() const noexcept override { return "proxy"; }

  plugin::Status start() override {
    const auto& config = daemon_.config();
    const std::string mode = config.value_or("proxy.mode", "");
    if (mode.empty() || mode == "none") {
      daemon_.logger().info("service proxy off (set proxy.mode to iptables, nftables, userspace or ipvs)");
      return plugin::Status::ok();
    }
    min_sync_period_ = std::chrono::milliseconds(std::stol(config.value_or("proxy.min-sync-period-ms", "100")));
    sync_period_ = std::chrono::milliseconds(std::stol(config.value_or("proxy.sync-period-ms", "30000")));
    cleanup_on_stop_ = config.value_or("proxy.cleanup-on-stop", "false") == "true";

    auto exports = daemon_.plugins().exports_of(plugin::proxy::Proxy::kRole);
    const kernel::ExportInfo* chosen = nullptr;
    std::string known;
    for (const auto& e : exports) {
      if (e.name == mode) chosen = &e;
      known += (known.empty() ? "" : ", ") + e.name;
    }
    if (chosen == nullptr)
      return plugin::invalid("proxy.mode: no proxy plugin named '" + mode + "' (loaded: " +
                             (known.empty() ? "none" : known) + ")");
    auto made = daemon_.plugins().create<plugin::proxy::Proxy>(mode, daemon_.plugin_context(*chosen));
    if (!made) return made.status().with_context("proxy.mode " + mode);
    proxy_ = std::move(*made);
    // Started before anything is removed: a mode that cannot run here leaves the node's rules alone.
    if (auto st = proxy_->start(); !st) return st.with_context("proxy.mode " + mode);
    // What another mode installed on an earlier run goes before the first sync. The modes own
    // disjoint things (KUBE-* chains, the skiff-proxy nft table, lo:skiffproxy addresses, kube-ipvs0).
    for (const auto& e : exports) {
      if (e.name == mode) continue;
      auto other = daemon_.plugins().create<plugin::proxy::Proxy>(e.name, daemon_.plugin_context(e));
      plugin::Status st = other ? (*other)->cleanup() : other.status();
      if (!st) daemon_.logger().warn("proxy: could not clean up after mode " + e.name, {{"error", st.message()}});
    }

    sync_seconds_ = &daemon_.metrics().histogram("skiff_proxy_sync_duration_seconds",
                                                 "Time one proxy sync took (building the state and applying it).");
    sync_errors_ = &daemon_.metrics().counter("skiff_proxy_sync_errors_total", "Proxy syncs that failed.");
    service_ports_ = &daemon_.metrics().gauge("skiff_proxy_service_ports", "Service ports the proxy serves.");

    informers_ = std::make_unique<kernel::SharedInformerFactory>(daemon_.store(), kernel::InformerOptions{});
    auto services = informers_->informer_for({"", "v1", "services"});
    auto endpoints = informers_->informer_for({"", "v1", "endpoints"});
    if (!services || !endpoints) return plugin::internal("proxy: no informer for services or endpoints");
    services_ = *services;
    endpoints_ = *endpoints;
    kernel::EventHandlers poke{[this](const auto&) { request_sync(); },
                               [this](const auto&, const auto&) { request_sync(); },
                               [this](const auto&) { request_sync(); }};
    services_->add_handlers(poke);
    endpoints_->add_handlers(poke);
    informers_->start();
    if (!services_->wait_for_sync(std::chrono::seconds(30)) || !endpoints_->wait_for_sync(std::chrono::seconds(30)))
      return plugin::unavailable("proxy: services and endpoints informers did not sync within 30s");
    request_sync();
    thread_ = std::thread([this] { run(); });
    daemon_.logger().info("service proxy started", {{"mode", mode}});
    mode_ = mode;
    return plugin::Status::ok();
  }

  void stop() noexcept override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (informers_) informers_->stop();
    if (proxy_ && cleanup_on_stop_)
      if (auto st = proxy_->cleanup(); !st) daemon_.logger().warn("proxy cleanup failed", {{"error", st.message()}});
    informers_.reset();
    proxy_.reset();
  }

 private:
  void request_sync() {
    {
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
    cv_.notify_all();
  }

  // One thread applies syncs; a burst of events becomes one sync, at most one per min_sync_period_.
  void run() {
    Clock::time_point last = Clock::time_point{};
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      auto next_periodic = last + sync_period_;
      cv_.wait_until(lock, next_periodic, [&] { return stopping_ || pending_; });
      if (stopping_) break;
      auto earliest = last + min_sync_period_;
      if (Clock::now() < earliest) {
        cv_.wait_until(lock, earliest, [&] { return stopping_; });
        if (stopping_) break;
      }
      pending_ = false;
      lock.unlock();
      sync_once();
      last = Clock::now();
      lock.lock();
    }
  }

  void sync_once() {
    auto started = Clock::now();
    std::vector<nlohmann::json> services;
    for (const auto& o : services_->list()) services.push_back(nlohmann::json::parse(o->json, nullptr, false));
    std::map<std::string, nlohmann::json> endpoints;
    for (const auto& o : endpoints_->list()) endpoints.emplace(o->key(), nlohmann::json::parse(o->json, nullptr, false));
    auto state = desired_state(services, endpoints);
    auto result = proxy_->sync(state);
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    sync_seconds_->observe(seconds);
    service_ports_->set(static_cast<double>(state.services.size()));
    if (!result) {
      sync_errors_->add();
      daemon_.logger().warn("proxy sync failed", {{"mode", mode_}, {"error", result.status().message()}});
      request_sync_later();
      return;
    }
    daemon_.logger().debug("proxy synced", {{"mode", mode_},
                                            {"service_ports", std::to_string(state.services.size())},
                                            {"rules", std::to_string(result->rules)},
                                            {"ms", std::to_string(static_cast<long>(seconds * 1000))}});
  }

  // A failed sync is retried after the rate limit, not at once.
  void request_sync_later() {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }

  kernel::Daemon& daemon_;
  std::string mode_;
  std::chrono::milliseconds min_sync_period_{100};
  std::chrono::milliseconds sync_period_{30000};
  bool cleanup_on_stop_ = false;
  std::shared_ptr<plugin::proxy::Proxy> proxy_;
  std::unique_ptr<kernel::SharedInformerFactory> informers_;
  std::shared_ptr<kernel::Informer> services_, endpoints_;
  plugin::Histogram* sync_seconds_ = nullptr;
  plugin::Counter* sync_errors_ = nullptr;
  plugin::Gauge* service_ports_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::vector<kernel::ComponentOption> proxy_options() {
  return {
      {"proxy.mode", "",
       "Service proxy mode: the name of a proxy plugin (iptables, nftables, userspace, ipvs); empty or none: no proxy.",
       [](std::string_view) { return std::string(); }},
      {"proxy.min-sync-period-ms", "100", "Least time between two proxy syncs (bursts of changes become one sync).",
       [](std::string_view v) { return kernel::integer_in(v, 0, 600000); }},
      {"proxy.sync-period-ms", "30000", "A sync runs at least this often even without changes.",
       [](std::string_view v) { return kernel::integer_in(v, 100, 86400000); }},
      {"proxy.cleanup-on-stop", "false",
       "Remove the mode's rules when skiffd stops (by default they stay, so services keep working across a restart).",
       [](std::string_view v) { return v == "true" || v == "false" ? std::string() : std::string("true or false"); }},
  };
}

kernel::Daemon::ComponentFactory proxy_component() {
  return [](kernel::Daemon& daemon) -> plugin::Result<std::unique_ptr<kernel::Component>> {
    return std::unique_ptr<kernel::Component>(std::make_unique<ProxyComponent>(daemon));
  };
}

}  // namespace skiff::proxy
