#include "kernel/reconcile/component.hpp"

#include "kernel/reconcile/controller_runner.hpp"
#include "kernel/reconcile/informer.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::kernel {
namespace {

class ControllersComponent final : public Component {
 public:
  explicit ControllersComponent(Daemon& daemon) : daemon_(daemon) {}
  std::string_view name() const noexcept override { return "controllers"; }

  plugin::Status start() override {
    plugin::Client* client = daemon_.api_client();
    if (client == nullptr) return plugin::internal("the controllers component needs the API component started before it");
    informers_ = std::make_unique<SharedInformerFactory>(daemon_.store(), InformerOptions{});
    for (const ExportInfo& e : daemon_.plugins().exports_of(plugin::controller::Controller::kRole)) {
      if (!daemon_.config().controller_enabled(e.name)) {
        daemon_.logger().info("controller disabled", {{"controller", e.name}});
        continue;
      }
      auto controller = daemon_.plugins().create<plugin::controller::Controller>(e.name, daemon_.plugin_context(e));
      if (!controller) return controller.status().with_context("controller " + e.name);
      auto runner = std::make_unique<ControllerRunner>(e.name, std::move(*controller), *client, *informers_,
                                                       daemon_.metrics(), daemon_.logger(), daemon_.clock());
      if (auto st = runner->start(); !st) return st;
      daemon_.logger().info("controller started", {{"controller", e.name}, {"plugin", e.plugin}});
      runners_.push_back(std::move(runner));
    }
    return plugin::Status::ok();
  }

  // Runners first (they detach from the shared informers), then the informers.
  void stop() noexcept override {
    for (auto it = runners_.rbegin(); it != runners_.rend(); ++it) (*it)->stop();
    runners_.clear();
    if (informers_) informers_->stop();
    informers_.reset();
  }

 private:
  Daemon& daemon_;
  std::unique_ptr<SharedInformerFactory> informers_;
  std::vector<std::unique_ptr<ControllerRunner>> runners_;
};

}  // namespace

Daemon::ComponentFactory controllers_component() {
  return [](Daemon& daemon) -> plugin::Result<std::unique_ptr<Component>> {
    return std::unique_ptr<Component>(std::make_unique<ControllersComponent>(daemon));
  };
}

}  // namespace skiff::kernel
