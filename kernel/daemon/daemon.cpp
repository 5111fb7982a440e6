#include "kernel/daemon/daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

namespace skiff::kernel {

using plugin::Result;
using plugin::Status;

std::int64_t SystemClock::now_ms() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Daemon::PluginHost {
  PluginHost(const StructuredLogger& parent, std::string section_name, MapConfigSection section_config,
             plugin::Metrics& metrics, std::string dir)
      : logger(parent.child("plugin/" + section_name)),
        config(std::move(section_config)),
        data_dir(std::move(dir)),
        context{logger, metrics, config, data_dir} {}
  StructuredLogger logger;
  MapConfigSection config;
  std::string data_dir;
  plugin::PluginContext context;
};

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string origin_of(const DaemonConfig& config, std::string_view key) {
  const ConfigValue* v = config.value(key);
  if (v == nullptr || v->origin.kind == ConfigOrigin::Kind::kDefault) return "the default";
  return v->origin.describe();
}

}  // namespace

Daemon::Daemon(DaemonConfig config, std::unique_ptr<PluginLoader> plugins, std::string version)
    : config_(std::move(config)),
      version_(std::move(version)),
      logger_("skiffd", 2, config_.log_level),
      resources_(ResourceRegistry::builtin()),
      plugins_(std::move(plugins)) {}

Daemon::~Daemon() {
  stop();
  // Plugin objects first (they may log through their hosts), then the hosts, then the libraries.
  components_.clear();
  store_.reset();
  backend_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Daemon::add_component(ComponentFactory factory) { factories_.push_back(std::move(factory)); }

const plugin::PluginContext& Daemon::plugin_context(const ExportInfo& plugin_export) {
  hosts_.push_back(std::make_unique<PluginHost>(logger_, plugin_export.section, config_.section_for(plugin_export),
                                                metrics_, config_.data_dir.string()));
  return hosts_.back()->context;
}

Status Daemon::prepare_data_dir() {
  // Create each missing component with 0700: the store holds secrets.
  std::filesystem::path dir = std::filesystem::absolute(config_.data_dir);
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      return plugin::unavailable("data-dir " + dir.string() + ": cannot create " + partial.string() + ": " +
                                 errno_text(errno));
  }
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return plugin::unavailable("data-dir " + dir.string() + " is not a directory");

  // One skiffd per data dir: two would corrupt each other's store.
  std::string lock_path = (dir / "skiffd.lock").string();
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return plugin::unavailable("data-dir " + dir.string() + ": cannot open " + lock_path + ": " + errno_text(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {};
    ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string("unknown");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK)
      return plugin::unavailable("data-dir " + dir.string() + " is in use by another skiffd (pid " + holder + ")");
    return plugin::unavailable("data-dir " + dir.string() + ": cannot lock " + lock_path + ": " + errno_text(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock is what matters; the pid is only for the message above.
  }
  return Status::ok();
}

Status Daemon::open_store() {
  const std::string& name = config_.store_backend;
  // Refusals are listed only when the backend is missing: one of them may be why.
  auto fail = [&](const std::string& why, plugin::Code code, bool list_refusals) {
    std::vector<std::string> available;
    for (const auto& e : plugins_->exports_of(plugin::store::Backend::kRole)) available.push_back(e.name);
    std::string msg = "store.backend '" + name + "' (" + origin_of(config_, "store.backend") + "): " + why +
                      "; available store backends: ";
    if (available.empty()) msg += "none (is plugin-dir " + config_.plugin_dir.string() + " right?)";
    for (std::size_t i = 0; i < available.size(); ++i) msg += (i == 0 ? "" : ", ") + available[i];
    auto refusals = list_refusals ? plugins_->refusals() : std::vector<PluginRefusal>{};
    if (!refusals.empty()) {
      msg += "; refused plugins:";
      for (const auto& r : refusals) msg += " [" + r.message() + "]";
    }
    return Status(code, msg);
  };
  auto found = plugins_->find(plugin::store::Backend::kRole, name);
  if (!found) return fail("no loaded plugin provides this store backend", plugin::Code::kUnavailable, true);
  auto backend = plugins_->create<plugin::store::Backend>(name, plugin_context(*found));
  // kInvalid: the plugin refused its config section, which is a configuration error like any other.
  if (!backend) return fail("the plugin was refused: " + backend.status().message(), backend.status().code(), false);
  backend_ = std::move(backend).value();

  ObjectStoreOptions options;
  options.watch_window = config_.watch_window;
  store_ = std::make_unique<ObjectStore>(backend_, resources_, clock_, options);
  Status started = store_->start();
  if (!started.is_ok()) {
    store_.reset();
    return started.with_context("object store over store backend '" + name + "'");
  }
  if (config_.compaction_interval.count() > 0) {
    compactor_ = std::make_unique<Compactor>(*store_, config_.compaction_interval, logger_, metrics_);
    compactor_->start();
  }
  return Status::ok();
}

Status Daemon::start() {
  if (running_) return Status::ok();
  logger_.set_level(config_.log_level);
  logger_.info("starting", {{"version", version_},
                            {"data_dir", config_.data_dir.string()},
                            {"plugin_dir", config_.plugin_dir.string()},
                            {"store_backend", config_.store_backend}});
  if (Status s = prepare_data_dir(); !s.is_ok()) return s;

  if (!plugins_) {
    plugins_ = std::make_unique<PluginLoader>(&logger_);
    if (Status s = plugins_->load_directory(config_.plugin_dir); !s.is_ok())
      logger_.warn("no plugins loaded", {{"plugin_dir", config_.plugin_dir.string()}, {"error", s.message()}});
  }
  auto loaded = plugins_->plugins();
  metrics_.gauge("skiff_plugins_loaded", "Plugins the loader accepted").set(static_cast<double>(loaded.size()));
  metrics_.gauge("skiff_plugins_refused", "Plugins (or plugin exports) the loader refused")
      .set(static_cast<double>(plugins_->refusals().size()));
  for (const auto& p : loaded) logger_.info("plugin loaded", {{"plugin", p.name}, {"version", p.version}, {"file", p.file}});

  if (store_wanted_) {
    if (Status s = open_store(); !s.is_ok()) return s;
  }

  running_ = true;
  started_components_ = 0;
  for (auto& factory : factories_) {
    auto made = factory(*this);
    if (!made) {
      stop();
      return made.status();
    }
    components_.push_back(std::move(made).value());
    Component& c = *components_.back();
    if (Status s = c.start(); !s.is_ok()) {
      Status failed = s.with_context("component " + std::string(c.name()));  // before stop() destroys `c`
      stop();
      return failed;
    }
    ++started_components_;
    logger_.info("component started", {{"component", c.name()}});
  }
  logger_.info("ready", {{"revision", store_ ? std::to_string(store_->current_revision()) : std::string("none")},
                         {"store_backend", store_ ? config_.store_backend : std::string("none")},
                         {"listen", config_.listen},
                         {"version", version_}});
  return Status::ok();
}

void Daemon::stop() noexcept {
  if (!running_) return;  // the object store is only ever up while running_
  running_ = false;
  logger_.info("stopping");
  while (started_components_ > 0) {
    Component& c = *components_[--started_components_];
    c.stop();
    logger_.info("component stopped", {{"component", c.name()}});
  }
  components_.clear();
  compactor_.reset();
  if (store_) {
    std::int64_t revision = store_->current_revision();
    store_->stop();
    logger_.info("stopped", {{"revision", std::to_string(revision)}});
  }
}

int Daemon::run() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  int code = 0;
  if (Status s = start(); !s.is_ok()) {
    logger_.error("startup failed", {{"error", s.message()}});
    stop();
    code = s.code() == plugin::Code::kInvalid ? 2 : 1;
  } else {
    // Wait in short slices so request_stop() is seen too.
    while (!stop_requested_.load()) {
      timespec slice{0, 200 * 1000 * 1000};
      siginfo_t info{};
      int sig = sigtimedwait(&signals, &info, &slice);
      if (sig == SIGINT || sig == SIGTERM) {
        logger_.info("signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        break;
      }
    }
    stop();
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return code;
}

}  // namespace skiff::kernel
