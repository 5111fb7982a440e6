// skiffd assembled: logger, metrics, data directory, plugins, the store backend chosen by
// store.backend, the object store over it, then the components (API server, controller runner, …)
// in the order they were added. Shutdown runs the other way round.
//
// Components are the seam for everything that is wired in later: each is built by a factory that runs
// once the object store is up (so it can hold references to the daemon's parts) and is started and
// stopped by the daemon.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/api/node_services.hpp"
#include "kernel/config/config_section.hpp"
#include "kernel/config/daemon_config.hpp"
#include "kernel/store/compactor.hpp"
#include "kernel/log/logger.hpp"
#include "kernel/metrics/registry.hpp"
#include "kernel/plugins/loader.hpp"
#include "kernel/store/object_store.hpp"
#include "kernel/store/resource.hpp"
#include "skiff/plugin/client.hpp"
#include "skiff/plugin/object.hpp"
#include "skiff/plugin/status.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::kernel {

// Wall-clock time for the object store and plugins.
class SystemClock final : public plugin::Clock {
 public:
  std::int64_t now_ms() const noexcept override;
};

// A long-running part of the daemon started after the object store and stopped before it.
class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual plugin::Status start() = 0;
  virtual void stop() noexcept = 0;
};

class Daemon {
 public:
  using ComponentFactory = std::function<plugin::Result<std::unique_ptr<Component>>(Daemon&)>;

  // `plugins`: a loader the config stage already filled (its logger must outlive the daemon, or be
  // null); when null, the daemon loads config.plugin_dir itself. `version` goes into the ready line.
  explicit Daemon(DaemonConfig config, std::unique_ptr<PluginLoader> plugins = nullptr, std::string version = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Call before start(). The factory runs during start(), after the object store is up.
  void add_component(ComponentFactory factory);
  // Call before start(): no store backend and no object store (`skiffd agent`, whose components reach
  // a remote API server instead). store() must then not be called.
  void without_store() noexcept { store_wanted_ = false; }
  bool has_store() const noexcept { return store_ != nullptr; }

  // Data dir (0700, locked against a second skiffd), plugins, store backend, object store, components;
  // logs "ready" with the revision. On error everything already started is stopped again.
  plugin::Status start();
  // Components in reverse order, then the object store. Idempotent.
  void stop() noexcept;
  // start(), then wait for SIGINT/SIGTERM or request_stop(), then stop(). 0 on a clean stop; when
  // start() failed (the reason is logged): 2 if a plugin refused its config (kInvalid), else 1. Blocks SIGINT and SIGTERM in the calling thread; call it
  // from the main thread before any other thread exists, or block them yourself first.
  int run();
  void request_stop() noexcept { stop_requested_ = true; }

  // The parts, for components. store() is valid after start() succeeded.
  const DaemonConfig& config() const noexcept { return config_; }
  StructuredLogger& logger() noexcept { return logger_; }
  MetricsRegistry& metrics() noexcept { return metrics_; }
  const plugin::Clock& clock() const noexcept { return clock_; }
  PluginLoader& plugins() noexcept { return *plugins_; }
  const ResourceRegistry& resources() const noexcept { return resources_; }
  ObjectStore& store() noexcept { return *store_; }
  // The context a plugin object made from `plugin_export` receives: a logger tagged with its
  // section, its config section, the metrics registry, the data dir. Lives as long as the daemon.
  const plugin::PluginContext& plugin_context(const ExportInfo& plugin_export);
  // The in-process API client (writes with the API's admission), published by the API component for
  // the components started after it (controllers, scheduler). Null until then.
  void set_api_client(plugin::Client* client) noexcept { api_client_ = client; }
  plugin::Client* api_client() const noexcept { return api_client_; }
  // Where the node agents of this daemon register, for the API's pods/log.
  const std::shared_ptr<api::NodeDirectory>& node_directory() const noexcept { return node_directory_; }

 private:
  struct PluginHost;
  plugin::Status prepare_data_dir();
  plugin::Status open_store();

  DaemonConfig config_;
  std::string version_;
  StructuredLogger logger_;
  MetricsRegistry metrics_;
  SystemClock clock_;
  ResourceRegistry resources_;
  std::unique_ptr<PluginLoader> plugins_;
  // Contexts outlive every plugin object below (members are destroyed in reverse order).
  std::deque<std::unique_ptr<PluginHost>> hosts_;
  std::shared_ptr<plugin::store::Backend> backend_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<Compactor> compactor_;  // with store.compaction-interval-seconds > 0
  plugin::Client* api_client_ = nullptr;
  std::shared_ptr<api::NodeDirectory> node_directory_ = std::make_shared<api::NodeDirectory>();
  std::vector<ComponentFactory> factories_;
  std::vector<std::unique_ptr<Component>> components_;
  std::size_t started_components_ = 0;
  int lock_fd_ = -1;
  bool running_ = false;
  bool store_wanted_ = true;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace skiff::kernel
