// The controller runner: small controllers defined here run against a real ObjectStore over the
// memory backend; the tests assert the exact writes they made, retries with backoff, one worker
// per key, and how events of watched resources become keys.
#include "kernel/reconcile/controller_runner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "kernel/api/client.hpp"
#include "kernel/log/logger.hpp"
#include "tests/unit/memory_object_store.hpp"

namespace skiff::kernel {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using plugin::controller::Controller;
using plugin::controller::Host;
using plugin::controller::KeyMapping;
using plugin::controller::ReconcileResult;
using plugin::controller::WatchSpec;
using skiff::testing::data_of;
using skiff::testing::eventually;
using skiff::testing::MemoryObjectStore;

const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};
const plugin::ResourceId kSecrets{"", "v1", "secrets"};
const plugin::ResourceId kDeployments{"apps", "v1", "deployments"};

std::pair<std::string, std::string> split_key(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

// Keeps every log line, formatted as the daemon would write it.
class CapturingLogger final : public plugin::Logger {
 public:
  void log(plugin::LogLevel level, std::string_view message, std::span<const plugin::LogField> fields) noexcept override {
    std::lock_guard lock(mutex_);
    lines_.push_back(StructuredLogger::format("test", level, message, fields));
  }
  std::vector<std::string> matching(std::string_view needle) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& l : lines_)
      if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// A thread-safe list of strings (writes made, keys reconciled).
class Journal {
 public:
  void add(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return lines_.size();
  }
  bool contains(std::string_view line) const {
    std::lock_guard lock(mutex_);
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

using Lines = std::vector<std::string>;

class RunnerTest : public ::testing::Test {
 protected:
  ControllerRunner& run(std::shared_ptr<Controller> controller, ControllerRunnerOptions options = {},
                        std::string name = "test") {
    runners.push_back(std::make_unique<ControllerRunner>(std::move(name), std::move(controller), client, factory,
                                                         metrics, logger, env.clock(), std::move(options)));
    auto started = runners.back()->start();
    EXPECT_TRUE(started.is_ok()) << started.message();
    return *runners.back();
  }
  Informer& configmaps_informer() { return *factory.informer_for(kConfigMaps).value(); }
  // Waits until `informer` has delivered every write the store has committed and the runner has
  // nothing queued, scheduled or running: the controller has seen everything and gone quiet.
  // (Valid when every write in the test is to the informer's resource.)
  bool settled(Informer& informer, ControllerRunner& runner) {
    return eventually([&] {
      return informer.last_resource_version() >= env.store().current_revision() && runner.queue().idle();
    });
  }
  ObjectPtr create(const plugin::ResourceId& id, json object) {
    auto created = env.store().create(*env.registry().find(id), object["metadata"].value("namespace", ""), object);
    EXPECT_TRUE(created.is_ok()) << created.status().message();
    return created ? created.value() : nullptr;
  }
  double metric(const std::string& sample) {
    std::string text = metrics.expose();
    auto at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }

  MemoryObjectStore env;
  SharedInformerFactory factory{env.store()};
  MetricsRegistry metrics;
  CapturingLogger logger;
  // Controllers write through the API's in-process client, as in the daemon.
  api::ApiHandler handler{env.store(), metrics, logger, env.clock()};
  api::ApiClient client{handler, env.store()};
  bool bootstrapped = handler.bootstrap().is_ok();  // the namespaces every cluster has
  ManualQueueClock clock;  // for runners whose options.queue.clock points here
  std::vector<std::unique_ptr<ControllerRunner>> runners;  // declared last: stopped first
};

// ---- exact writes -----------------------------------------------------------------------------

// Keeps a ConfigMap "<name>-copy" (owned by "<name>") whose data mirrors every ConfigMap's data.
class MirrorController final : public Controller {
 public:
  std::vector<WatchSpec> watches() const noexcept override {
    return {{kConfigMaps, KeyMapping::kSelf, ""}, {kConfigMaps, KeyMapping::kOwner, "ConfigMap"}};
  }
  void bind(const Host& host) noexcept override {
    cache_ = &host.cache;
    client_ = &host.client;
  }
  plugin::Result<ReconcileResult> reconcile(std::string_view key) noexcept override {
    auto [ns, name] = split_key(key);
    if (name.ends_with("-copy")) return ReconcileResult{};
    std::string copy_name = name + "-copy";
    ObjectPtr source = cache_->get(kConfigMaps, ns, name);
    ObjectPtr copy = cache_->get(kConfigMaps, ns, copy_name);
    if (!source) {
      if (!copy) return ReconcileResult{};
      writes.add("delete " + ns + "/" + copy_name);
      if (auto s = client_->remove(kConfigMaps, ns, copy_name, {}); !s) return s.status();
      return ReconcileResult{};
    }
    json data = data_of(*source);
    if (!copy) {
      json object = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata",
                      {{"name", copy_name},
                       {"namespace", ns},
                       {"ownerReferences",
                        {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", name}, {"uid", source->uid},
                          {"controller", true}}}}}},
                     {"data", data}};
      writes.add("create " + ns + "/" + copy_name + " " + data.dump());
      auto created = client_->create(kConfigMaps, ns, object.dump());
      if (!created) return created.status();
      return ReconcileResult{};
    }
    if (data_of(*copy) == data) return ReconcileResult{};
    json object = json::parse(copy->json);  // carries the cached resourceVersion: a stale cache means kConflict
    object["data"] = data;
    writes.add("update " + ns + "/" + copy_name + " " + data.dump());
    auto updated = client_->update(kConfigMaps, object.dump());
    if (!updated) return updated.status();
    return ReconcileResult{};
  }

  Journal writes;

 private:
  const plugin::controller::Cache* cache_ = nullptr;
  plugin::controller::Client* client_ = nullptr;
};

TEST_F(RunnerTest, MirrorControllerMakesExactlyTheWritesNeeded) {
  env.put_configmap("default", "b", {{"x", "1"}});
  auto mirror = std::make_shared<MirrorController>();
  ControllerRunnerOptions options;
  options.workers = 2;
  ControllerRunner& runner = run(mirror, options, "mirror");
  Informer& cms = configmaps_informer();
  // Each step waits for the controller to go quiet, so its next reconcile never reads a cache that
  // lags its own last write (which would be a conflict and a retry: correct, but not these writes).
  auto copy_is = [&](const std::string& name, const json& data) {
    if (!settled(cms, runner)) return false;
    ObjectPtr o = cms.get("default", name);
    return data.is_null() ? o == nullptr : o != nullptr && data_of(*o) == data;
  };

  // What existed before the start is reconciled from the initial list.
  ASSERT_TRUE(copy_is("b-copy", {{"x", "1"}}));
  env.put_configmap("default", "a", {{"x", "1"}});
  ASSERT_TRUE(copy_is("a-copy", {{"x", "1"}}));
  env.put_configmap("default", "a", {{"x", "2"}});
  ASSERT_TRUE(copy_is("a-copy", {{"x", "2"}}));
  // Someone edits the copy: the event maps to its owner (kOwner), which puts it back.
  env.put_configmap("default", "a-copy", {{"x", "tampered"}});
  ASSERT_TRUE(copy_is("a-copy", {{"x", "2"}}));
  env.delete_configmap("default", "a");
  ASSERT_TRUE(copy_is("a-copy", nullptr));

  EXPECT_EQ(mirror->writes.lines(),
            (Lines{R"(create default/b-copy {"x":"1"})", R"(create default/a-copy {"x":"1"})",
                   R"(update default/a-copy {"x":"2"})", R"(update default/a-copy {"x":"2"})",
                   "delete default/a-copy"}));
  EXPECT_EQ(logger.matching("reconcile failed"), Lines{});
  EXPECT_GT(metric(R"(skiff_controller_reconcile_total{controller="mirror",result="success"})"), 4);
  EXPECT_EQ(metric(R"(skiff_controller_reconcile_total{controller="mirror",result="error"})"), 0);
  EXPECT_GT(metric(R"(skiff_controller_reconcile_duration_seconds_count{controller="mirror"})"), 4);
  EXPECT_EQ(metric(R"(skiff_controller_queue_depth{controller="mirror"})"), 0);
}

// Sets status.observedGeneration to metadata.generation through the status subresource.
class ObservedGenerationController final : public Controller {
 public:
  std::vector<WatchSpec> watches() const noexcept override { return {{kDeployments, KeyMapping::kSelf, ""}}; }
  void bind(const Host& host) noexcept override {
    cache_ = &host.cache;
    client_ = &host.client;
  }
  plugin::Result<ReconcileResult> reconcile(std::string_view key) noexcept override {
    auto [ns, name] = split_key(key);
    ObjectPtr d = cache_->get(kDeployments, ns, name);
    if (!d) return ReconcileResult{};
    json object = json::parse(d->json);
    std::int64_t generation = object["metadata"].value("generation", std::int64_t{0});
    json status = object.value("status", json::object());
    if (status.value("observedGeneration", std::int64_t{-1}) == generation) return ReconcileResult{};
    object["status"]["observedGeneration"] = generation;
    writes.add("status " + std::string(key) + " observedGeneration=" + std::to_string(generation));
    auto updated = client_->update_status(kDeployments, object.dump());
    if (!updated) return updated.status();
    return ReconcileResult{};
  }
  Journal writes;

 private:
  const plugin::controller::Cache* cache_ = nullptr;
  plugin::controller::Client* client_ = nullptr;
};

TEST_F(RunnerTest, StatusControllerWritesStatusOncePerGeneration) {
  auto controller = std::make_shared<ObservedGenerationController>();
  ControllerRunner& runner = run(controller, {}, "observed-generation");
  Informer& deployments = *factory.informer_for(kDeployments).value();
  auto observed = [&](std::int64_t generation) {
    if (!settled(deployments, runner)) return false;
    ObjectPtr o = deployments.get("default", "web");
    if (!o) return false;
    json j = json::parse(o->json);
    return j.value("status", json::object()).value("observedGeneration", std::int64_t{-1}) == generation;
  };
  create(kDeployments, {{"apiVersion", "apps/v1"},
                        {"kind", "Deployment"},
                        {"metadata", {{"name", "web"}, {"namespace", "default"}}},
                        {"spec", {{"replicas", 1}}}});
  ASSERT_TRUE(observed(1));
  auto bumped = env.store().update_with(*env.registry().find(kDeployments), "default", "web", [](json& j) {
    j["spec"]["replicas"] = 3;
    return plugin::Status::ok();
  });
  ASSERT_TRUE(bumped.is_ok()) << bumped.status().message();
  ASSERT_TRUE(observed(2));
  EXPECT_EQ(controller->writes.lines(),
            (Lines{"status default/web observedGeneration=1", "status default/web observedGeneration=2"}));
  // The status write did not touch the spec.
  auto stored = env.store().get(*env.registry().find(kDeployments), "default", "web");
  ASSERT_TRUE(stored.is_ok());
  EXPECT_EQ(json::parse(stored.value()->json)["spec"]["replicas"], 3);
}

// ---- retries, requeues, concurrency ---------------------------------------------------------

// Fails the first `failures` reconciles of every key.
class FlakyController final : public Controller {
 public:
  explicit FlakyController(int failures, std::int64_t requeue_after_ms = 0)
      : failures_(failures), requeue_after_ms_(requeue_after_ms) {}
  std::vector<WatchSpec> watches() const noexcept override { return {{kConfigMaps, KeyMapping::kSelf, ""}}; }
  void bind(const Host&) noexcept override {}
  plugin::Result<ReconcileResult> reconcile(std::string_view key) noexcept override {
    int n = 0;
    {
      std::lock_guard lock(mutex_);
      n = ++calls_[std::string(key)];
    }
    if (n <= failures_) return plugin::unavailable("attempt " + std::to_string(n) + " failed");
    return ReconcileResult{n == failures_ + 1 ? requeue_after_ms_ : 0};
  }
  int calls(const std::string& key) {
    std::lock_guard lock(mutex_);
    return calls_[key];
  }

 private:
  int failures_;
  std::int64_t requeue_after_ms_;
  std::mutex mutex_;
  std::map<std::string, int> calls_;
};

TEST_F(RunnerTest, ErrorsAreRetriedWithExponentialBackoffThenForgotten) {
  env.put_configmap("default", "a", {{"x", "1"}});
  auto flaky = std::make_shared<FlakyController>(3);
  ControllerRunnerOptions options;
  options.queue.clock = &clock;
  ControllerRunner& runner = run(flaky, options, "flaky");

  ASSERT_TRUE(eventually([&] { return flaky->calls("default/a") == 1; }));
  ASSERT_TRUE(eventually([&] { return runner.queue().waiting() == 1; }));
  EXPECT_EQ(runner.queue().num_requeues("default/a"), 1);
  // Each retry comes exactly when its backoff (5, 10, 20 ms) has passed, not before.
  for (auto [backoff, calls] : {std::pair{5ms, 2}, std::pair{10ms, 3}, std::pair{20ms, 4}}) {
    // The backoff counts from when the worker scheduled the retry.
    ASSERT_TRUE(eventually([&] { return runner.queue().waiting() == 1; }));
    clock.advance(backoff - 1ms);
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(flaky->calls("default/a"), calls - 1) << "retried before its backoff of " << backoff.count() << " ms";
    clock.advance(1ms);
    ASSERT_TRUE(eventually([&] { return flaky->calls("default/a") == calls; })) << calls;
  }
  // The success resets the key's backoff.
  ASSERT_TRUE(eventually([&] { return runner.queue().num_requeues("default/a") == 0; }));
  clock.advance(1h);
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(flaky->calls("default/a"), 4);

  auto failures = logger.matching("reconcile failed");
  ASSERT_EQ(failures.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NE(failures[i].find("controller=flaky key=default/a code=Unavailable"), std::string::npos) << failures[i];
    EXPECT_NE(failures[i].find("retries=" + std::to_string(i + 1)), std::string::npos) << failures[i];
  }
  EXPECT_NE(failures[0].find("retry_in_ms=5"), std::string::npos) << failures[0];
  EXPECT_NE(failures[1].find("retry_in_ms=10"), std::string::npos) << failures[1];
  EXPECT_NE(failures[2].find("retry_in_ms=20"), std::string::npos) << failures[2];
  EXPECT_NE(failures[2].find("error=\"attempt 3 failed\""), std::string::npos) << failures[2];
  EXPECT_EQ(metric(R"(skiff_controller_reconcile_total{controller="flaky",result="error"})"), 3);
  EXPECT_EQ(metric(R"(skiff_controller_reconcile_total{controller="flaky",result="success"})"), 1);
}

TEST_F(RunnerTest, RequeueAfterLooksAgainLater) {
  env.put_configmap("default", "a", {{"x", "1"}});
  auto controller = std::make_shared<FlakyController>(0, /*requeue_after_ms=*/500);
  ControllerRunnerOptions options;
  options.queue.clock = &clock;
  ControllerRunner& runner = run(controller, options, "requeue");
  ASSERT_TRUE(eventually([&] { return controller->calls("default/a") == 1 && runner.queue().waiting() == 1; }));
  clock.advance(499ms);
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(controller->calls("default/a"), 1);
  clock.advance(1ms);
  ASSERT_TRUE(eventually([&] { return controller->calls("default/a") == 2; }));
  EXPECT_EQ(metric(R"(skiff_controller_reconcile_total{controller="requeue",result="requeue_after"})"), 1);
  EXPECT_EQ(logger.matching("reconcile failed"), Lines{});
}

// Counts reconciles of one key running at the same time, and remembers what each key last saw.
class ConcurrencyProbe final : public Controller {
 public:
  std::vector<WatchSpec> watches() const noexcept override { return {{kConfigMaps, KeyMapping::kSelf, ""}}; }
  void bind(const Host& host) noexcept override { cache_ = &host.cache; }
  plugin::Result<ReconcileResult> reconcile(std::string_view key) noexcept override {
    std::string k(key);
    {
      std::lock_guard lock(mutex_);
      if (++in_flight_[k] > 1) ++overlaps;
      max_parallel = std::max(max_parallel, ++running_);
    }
    std::this_thread::sleep_for(200us);
    auto [ns, name] = split_key(key);
    ObjectPtr o = cache_->get(kConfigMaps, ns, name);
    {
      std::lock_guard lock(mutex_);
      last_seen_[k] = o ? data_of(*o)["n"].get<std::string>() : "";
      --in_flight_[k];
      --running_;
    }
    ++reconciles;
    return ReconcileResult{};
  }
  std::string last_seen(const std::string& key) {
    std::lock_guard lock(mutex_);
    return last_seen_[key];
  }

  std::atomic<int> reconciles{0};
  int overlaps = 0;
  int max_parallel = 0;

 private:
  const plugin::controller::Cache* cache_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, int> in_flight_;
  std::map<std::string, std::string> last_seen_;
  int running_ = 0;
};

TEST_F(RunnerTest, AKeyIsNeverReconciledConcurrently) {
  auto probe = std::make_shared<ConcurrencyProbe>();
  ControllerRunnerOptions options;
  options.workers = 4;
  run(probe, options, "probe");
  constexpr int kKeys = 6;
  constexpr int kRounds = 60;
  for (int round = 1; round <= kRounds; ++round)
    for (int k = 0; k < kKeys; ++k) env.put_configmap("default", "cm" + std::to_string(k), {{"n", std::to_string(round)}});
  // Level-triggered: whatever was merged or skipped, every key's last reconcile saw its final state.
  for (int k = 0; k < kKeys; ++k) {
    std::string key = "default/cm" + std::to_string(k);
    ASSERT_TRUE(eventually([&] { return probe->last_seen(key) == std::to_string(kRounds); })) << key;
  }
  runners.back()->stop();
  EXPECT_EQ(probe->overlaps, 0);
  EXPECT_GE(probe->reconciles.load(), kKeys);
  EXPECT_GT(probe->max_parallel, 1) << "the workers did run in parallel (on different keys)";
}

// ---- event → key mapping ----------------------------------------------------------------------

// Records the keys it reconciles; secrets map to keys by ownerReference or by a label.
class KeyRecorder final : public Controller {
 public:
  explicit KeyRecorder(KeyMapping secrets_mapping) : secrets_mapping_(secrets_mapping) {}
  std::vector<WatchSpec> watches() const noexcept override {
    return {{kConfigMaps, KeyMapping::kSelf, ""}, {kSecrets, secrets_mapping_, "ConfigMap"}};
  }
  void bind(const Host&) noexcept override {}
  plugin::Result<ReconcileResult> reconcile(std::string_view key) noexcept override {
    keys.add(std::string(key));
    return ReconcileResult{};
  }
  std::vector<std::string> map_event(const WatchSpec& spec, const Object& object) noexcept override {
    EXPECT_EQ(spec.resource, kSecrets);
    const std::string* target = object.label("target");
    if (target == nullptr) return {};
    return {object.ns + "/" + *target};
  }
  Journal keys;

 private:
  KeyMapping secrets_mapping_;
};

json secret(const std::string& name, json owner_refs, json labels = json::object()) {
  json meta = {{"name", name}, {"namespace", "default"}, {"labels", labels}};
  if (!owner_refs.is_null()) meta["ownerReferences"] = owner_refs;
  return {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", meta}, {"type", "Opaque"}};
}

json owner(const std::string& kind, const std::string& name, const std::string& uid, bool controller) {
  return {{"apiVersion", "v1"}, {"kind", kind}, {"name", name}, {"uid", uid}, {"controller", controller}};
}

TEST_F(RunnerTest, OwnerMappingEnqueuesTheControllingOwner) {
  ObjectPtr parent = env.put_configmap("default", "parent", {});
  ObjectPtr parent2 = env.put_configmap("default", "parent2", {});
  auto recorder = std::make_shared<KeyRecorder>(KeyMapping::kOwner);
  run(recorder, {}, "owners");  // one worker: keys are reconciled in the order they were queued
  ASSERT_TRUE(eventually([&] { return recorder->keys.size() == 2; }));
  recorder->keys.clear();

  create(kSecrets, secret("not-controller", json::array({owner("ConfigMap", "notctl", "u1", false)})));
  create(kSecrets, secret("other-kind", json::array({owner("Deployment", "otherkind", "u2", true)})));
  create(kSecrets, secret("stale-uid", json::array({owner("ConfigMap", "parent2", "not-its-uid", true)})));
  create(kSecrets, secret("no-owner", nullptr));
  create(kSecrets, secret("owned", json::array({owner("ConfigMap", "notctl", "u3", false),
                                                 owner("ConfigMap", "parent", parent->uid, true)})));
  ASSERT_TRUE(eventually([&] { return recorder->keys.contains("default/parent"); }));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(recorder->keys.lines(), Lines{"default/parent"}) << "only the controlling ConfigMap owner is enqueued";

  // Moving the secret to another owner tells both; deleting it tells the last one.
  recorder->keys.clear();
  auto moved = env.store().update_with(*env.registry().find(kSecrets), "default", "owned", [&](json& j) {
    j["metadata"]["ownerReferences"] = json::array({owner("ConfigMap", "parent2", parent2->uid, true)});
    return plugin::Status::ok();
  });
  ASSERT_TRUE(moved.is_ok()) << moved.status().message();
  ASSERT_TRUE(eventually([&] { return recorder->keys.size() == 2; }));
  auto keys = recorder->keys.lines();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (Lines{"default/parent", "default/parent2"}));
  recorder->keys.clear();
  ASSERT_TRUE(env.store().remove(*env.registry().find(kSecrets), "default", "owned").is_ok());
  ASSERT_TRUE(eventually([&] { return recorder->keys.size() == 1; }));
  EXPECT_EQ(recorder->keys.lines(), Lines{"default/parent2"});
}

TEST_F(RunnerTest, ControllerMappingAsksTheController) {
  auto recorder = std::make_shared<KeyRecorder>(KeyMapping::kController);
  run(recorder, {}, "mapper");
  create(kSecrets, secret("untargeted", nullptr));
  create(kSecrets, secret("s", nullptr, {{"target", "svc-a"}}));
  ASSERT_TRUE(eventually([&] { return recorder->keys.size() == 1; }));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(recorder->keys.lines(), Lines{"default/svc-a"});
}

TEST_F(RunnerTest, ControllersWatchingTheSameResourceShareOneInformer) {
  env.put_configmap("default", "a", {});
  auto first = std::make_shared<FlakyController>(0);
  auto second = std::make_shared<FlakyController>(0);
  run(first, {}, "first");
  run(second, {}, "second");
  ASSERT_TRUE(eventually([&] { return first->calls("default/a") == 1 && second->calls("default/a") == 1; }));
  EXPECT_EQ(factory.informers().size(), 1u);
  env.put_configmap("default", "a", {{"x", "1"}});
  ASSERT_TRUE(eventually([&] { return first->calls("default/a") == 2 && second->calls("default/a") == 2; }));
  // Stopping one leaves the other (and the shared informer) running.
  runners.front()->stop();
  env.put_configmap("default", "a", {{"x", "2"}});
  ASSERT_TRUE(eventually([&] { return second->calls("default/a") == 3; }));
  EXPECT_EQ(first->calls("default/a"), 2);
}

// ---- start-up errors ----------------------------------------------------------------------------

class FixedWatches final : public Controller {
 public:
  explicit FixedWatches(std::vector<WatchSpec> w) : watches_(std::move(w)) {}
  std::vector<WatchSpec> watches() const noexcept override { return watches_; }
  void bind(const Host&) noexcept override { bound = true; }
  plugin::Result<ReconcileResult> reconcile(std::string_view) noexcept override { return ReconcileResult{}; }
  bool bound = false;

 private:
  std::vector<WatchSpec> watches_;
};

TEST_F(RunnerTest, StartRefusesBadWatchSpecsWithContext) {
  struct Case {
    std::vector<WatchSpec> watches;
    plugin::Code code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, plugin::Code::kInvalid, "watches() is empty"},
      {{{{"", "v1", "widgets"}, KeyMapping::kSelf, ""}}, plugin::Code::kNotFound, "widgets"},
      {{{kConfigMaps, KeyMapping::kSelf, ""}, {kSecrets, KeyMapping::kOwner, ""}}, plugin::Code::kInvalid,
       "kOwner needs owner_kind"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto controller = std::make_shared<FixedWatches>(c.watches);
    ControllerRunner runner("broken", controller, client, factory, metrics, logger, env.clock());
    Status s = runner.start();
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), c.code);
    EXPECT_NE(s.message().find("controller broken: "), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
    EXPECT_FALSE(controller->bound);
    EXPECT_EQ(runner.start().code(), plugin::Code::kBadRequest) << "start() is once only";
  }
}

// ---- the Cache and Client a controller is given ------------------------------------------------

TEST_F(RunnerTest, ApiClientChecksAndForwardsWrites) {
  ASSERT_TRUE(bootstrapped);
  auto bad_json = client.create(kConfigMaps, "default", "{not json");
  EXPECT_EQ(bad_json.status().code(), plugin::Code::kBadRequest) << bad_json.status().message();
  EXPECT_EQ(client.create({"", "v1", "widgets"}, "default", "{}").status().code(), plugin::Code::kNotFound);

  auto created = client.create(kConfigMaps, "default", R"({"metadata":{"name":"c"},"data":{"k":"v"}})");
  ASSERT_TRUE(created.is_ok()) << created.status().message();
  EXPECT_EQ(created.value()->ns, "default");
  EXPECT_EQ(client.create(kConfigMaps, "default", R"({"metadata":{"name":"c"}})").status().code(),
            plugin::Code::kAlreadyExists);

  json stale = json::parse(created.value()->json);
  json fresh = stale;
  fresh["data"]["k"] = "v2";
  auto updated = client.update(kConfigMaps, fresh.dump());
  ASSERT_TRUE(updated.is_ok()) << updated.status().message();
  stale["data"]["k"] = "v3";
  auto conflicting = client.update(kConfigMaps, stale.dump());
  EXPECT_EQ(conflicting.status().code(), plugin::Code::kConflict) << conflicting.status().message();

  auto bad_name = client.create(kConfigMaps, "default", R"({"metadata":{"name":"Not_A_Name"}})");
  EXPECT_EQ(bad_name.status().code(), plugin::Code::kInvalid) << "admission applies to in-process writes";

  EXPECT_TRUE(client.remove(kConfigMaps, "default", "c", {}).is_ok());
  EXPECT_EQ(client.remove(kConfigMaps, "default", "c", {}).status().code(), plugin::Code::kNotFound);
}

TEST_F(RunnerTest, InformerCacheServesOnlyWatchedResources) {
  env.put_configmap("default", "a", {}, {{"app", "web"}});
  env.put_configmap("default", "b", {}, {{"app", "db"}});
  auto informer = factory.informer_for(kConfigMaps).value();
  factory.start();
  ASSERT_TRUE(informer->wait_for_sync(10s));
  InformerCache cache;
  cache.add(kConfigMaps, informer);
  ASSERT_NE(cache.get(kConfigMaps, "default", "a"), nullptr);
  EXPECT_EQ(cache.get(kSecrets, "default", "a"), nullptr);
  auto web = cache.list(kConfigMaps, {"default", "app=web"});
  ASSERT_TRUE(web.is_ok());
  ASSERT_EQ(web->size(), 1u);
  EXPECT_EQ(web->front()->name, "a");
  EXPECT_EQ(cache.list(kConfigMaps, {"", ""})->size(), 2u);
  EXPECT_EQ(cache.list(kConfigMaps, {"", "app in web"}).status().code(), plugin::Code::kInvalid);
  EXPECT_EQ(cache.list(kSecrets, {"", ""}).status().code(), plugin::Code::kNotFound);
}

TEST(ControllerRef, ParsesTheControllingOwnerReference) {
  auto object = [](json refs) {
    Object o;
    o.ns = "ns";
    o.name = "child";
    o.json = json{{"metadata", {{"name", "child"}, {"ownerReferences", refs}}}}.dump();
    return o;
  };
  auto ref = controller_ref(object(json::array({owner("ReplicaSet", "rs", "u", false),
                                                owner("ReplicaSet", "rs2", "u2", true)})),
                            "ReplicaSet");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->key, "ns/rs2");
  EXPECT_EQ(ref->uid, "u2");
  EXPECT_FALSE(controller_ref(object(json::array({owner("ReplicaSet", "rs", "u", false)})), "ReplicaSet"));
  EXPECT_FALSE(controller_ref(object(json::array({owner("Job", "j", "u", true)})), "ReplicaSet"));
  EXPECT_FALSE(controller_ref(object(json::array()), "ReplicaSet"));
  EXPECT_FALSE(controller_ref(object("bogus"), "ReplicaSet"));
  Object cluster_scoped = object(json::array({owner("Namespace", "team", "u", true)}));
  cluster_scoped.ns = "";
  EXPECT_EQ(controller_ref(cluster_scoped, "Namespace")->key, "team");
}

}  // namespace
}  // namespace skiff::kernel
