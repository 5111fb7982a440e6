// The loader against the deliberately broken modules of abi_plugin.cpp: every refusal names the file
// and the reason; the good module loads, works, and keeps its library mapped while an object lives.
#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kernel/config/config_section.hpp"
#include "kernel/metrics/registry.hpp"
#include "kernel/plugins/loader.hpp"
#include "skiff/plugin/controller.hpp"
#include "skiff/plugin/store.hpp"

namespace skiff::kernel {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Controller = plugin::controller::Controller;
using Reason = PluginRefusal::Reason;

const std::filesystem::path kDir = SKIFF_ABI_PLUGIN_DIR;

std::string module(const std::string& variant) { return (kDir / ("libskiff-abi-" + variant + ".so")).string(); }

class RecordingLogger final : public plugin::Logger {
 public:
  void log(plugin::LogLevel, std::string_view message, std::span<const plugin::LogField> fields) noexcept override {
    std::string line(message);
    for (const auto& f : fields) line += " " + std::string(f.key) + "=" + std::string(f.value);
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool saw(std::string_view text) const {
    auto all = lines();
    return std::any_of(all.begin(), all.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// A context whose config section is `values` over the export's declared defaults; owns what it refers to.
struct Context {
  Context(const ExportInfo& e, std::map<std::string, std::string, std::less<>> values) : config(e.section) {
    for (const auto& o : e.options)
      if (o.default_value) config.set(o.key, *o.default_value);
    for (auto& [k, v] : values) config.set(k, v);
  }
  RecordingLogger logger;
  MetricsRegistry metrics;
  MapConfigSection config;
  plugin::PluginContext context{logger, metrics, config, "/nonexistent-data-dir"};
};

bool is_mapped(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);  // RTLD_NOLOAD took a reference when it found the library
  return true;
}

class AbiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::is_directory(kDir)) << kDir;
    loader_ = std::make_unique<PluginLoader>(&log_);
    ASSERT_TRUE(loader_->load_directory(kDir).is_ok());
  }
  const PluginRefusal* refusal_for(const std::string& variant) const {
    refusals_ = loader_->refusals();
    for (const auto& r : refusals_)
      if (r.file == module(variant)) return &r;
    return nullptr;
  }

  RecordingLogger log_;
  std::unique_ptr<PluginLoader> loader_;
  mutable std::vector<PluginRefusal> refusals_;
};

struct LoadRefusal {
  std::string variant;
  Reason reason;
  std::vector<std::string> says;
};

TEST_F(AbiTest, RefusesEveryBrokenModuleWithItsOwnReason) {
  const std::string tag(plugin::kAbiTag);
  const std::string ours = std::to_string(plugin::kAbiMajor) + "." + std::to_string(plugin::kAbiMinor);
  const std::string next_minor = std::to_string(plugin::kAbiMajor) + "." + std::to_string(plugin::kAbiMinor + 1);
  const std::vector<LoadRefusal> cases = {
      {"not-elf", Reason::kCannotOpen, {"not a shared library", "invalid ELF header"}},
      {"no-entry", Reason::kMissingEntry, {"missing entry symbol 'skiff_plugin_entry'"}},
      {"null-manifest", Reason::kNoManifest, {"entry returned no manifest"}},
      {"bad-magic", Reason::kBadMagic, {"bad manifest magic 0xdeadbeef", "expected 0x4c504b53"}},
      {"abi-major-99",
       Reason::kAbiMajor,
       {"plugin 'abi-major-99' was built for plugin ABI 99.0, this skiffd speaks " + ours, "major versions must match"}},
      {"abi-minor-newer",
       Reason::kAbiMinor,
       {"plugin 'abi-minor-newer' was built for plugin ABI " + next_minor + ", newer than this skiffd's " + ours}},
      {"wrong-tag",
       Reason::kAbiTag,
       {"was built against plugin-api " + ours + " headers 0000000000000000, this skiffd has " + ours + " headers " SKIFF_PLUGIN_API_HEADERS_HASH,
        "the plugin-api headers differ within one ABI version",
        "plugin ABI tag 'skiff-plugin-api/" + ours + ";headers=0000000000000000;gcc-12;libstdc++-12-cxx11abi1', this skiffd's '" + tag +
            "'"}},
      {"wrong-toolchain",
       Reason::kAbiTag,
       {"plugin 'abi-wrong-toolchain' was built with clang-99;libc++-1, this skiffd with " SKIFF_PLUGIN_COMPILER ";" SKIFF_PLUGIN_STDLIB,
        "compiler and standard library must match"}},
      {"empty-name", Reason::kBadManifest, {"plugin 'abi-empty-name' export #0", "has an empty name"}},
      {"malformed-role", Reason::kBadManifest, {"'oddball' has a malformed role 'Skiff.Controller'"}},
      {"unknown-role",
       Reason::kBadManifest,
       {"'frob' has unknown role 'skiff.frobnicator.v1'", "this skiffd knows skiff.controller.v1, skiff.proxy.v1, skiff.runtime.v1, skiff.scheduler.filter.v1, skiff.scheduler.score.v1, skiff.store.v1"}},
      {"twin-of-good",
       Reason::kDuplicate,
       {"plugin 'abi-twin' exports skiff.controller.v1/good",
        "already provided by plugin 'abi-good' in " + module("good")}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.variant);
    const PluginRefusal* r = refusal_for(c.variant);
    ASSERT_NE(r, nullptr) << "no refusal for " << module(c.variant);
    EXPECT_EQ(refusal_reason_name(r->reason), refusal_reason_name(c.reason));
    EXPECT_THAT(r->message(), HasSubstr(module(c.variant) + ": "));
    for (const auto& s : c.says) EXPECT_THAT(r->message(), HasSubstr(s));
    // Logged too, with the file.
    EXPECT_TRUE(log_.saw("plugin refused file=" + module(c.variant)));
  }
  // Nothing else was refused at load time, and what was refused left nothing behind.
  EXPECT_EQ(loader_->refusals().size(), cases.size());
  std::vector<std::string> loaded;
  for (const auto& p : loader_->plugins()) loaded.push_back(p.name);
  EXPECT_THAT(loaded, ::testing::ElementsAre("abi-bad-option", "abi-factory-error", "abi-factory-throws", "abi-good"));
}

TEST_F(AbiTest, RefusedModulesAreUnloaded) {
  for (const char* v : {"bad-magic", "abi-major-99", "abi-minor-newer", "wrong-tag", "wrong-toolchain", "twin-of-good", "unknown-role"})
    EXPECT_FALSE(is_mapped(module(v))) << v;
  EXPECT_TRUE(is_mapped(module("good")));
}

TEST_F(AbiTest, GoodPluginDescribesItselfAndWorks) {
  auto plugins = loader_->plugins();
  auto good = std::find_if(plugins.begin(), plugins.end(), [](const PluginInfo& p) { return p.name == "abi-good"; });
  ASSERT_NE(good, plugins.end());
  EXPECT_EQ(good->version, "1.2.3");
  EXPECT_EQ(good->abi_major, plugin::kAbiMajor);
  EXPECT_EQ(good->abi_minor, plugin::kAbiMinor);
  EXPECT_EQ(good->abi_tag, plugin::kAbiTag);
  EXPECT_EQ(good->file, module("good"));

  auto info = loader_->find(Controller::kRole, "good");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->section, "controller.good");
  EXPECT_EQ(info->description, "answers every key with its requeue-ms");
  ASSERT_EQ(info->options.size(), 1u);
  EXPECT_EQ(info->options[0].key, "requeue-ms");
  EXPECT_EQ(info->options[0].default_value, "7");

  Context defaults(*info, {});
  auto made = loader_->create<Controller>("good", defaults.context);
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  auto result = (*made)->reconcile("default/x");
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(result->requeue_after_ms, 7);
  ASSERT_EQ((*made)->watches().size(), 1u);
  EXPECT_EQ((*made)->watches()[0].resource.resource, "configmaps");

  Context configured(*info, {{"requeue-ms", "250"}});
  auto other = loader_->create<Controller>("good", configured.context);
  ASSERT_TRUE(other.is_ok());
  EXPECT_EQ((*other)->reconcile("default/x")->requeue_after_ms, 250);
}

TEST_F(AbiTest, FactoryFailuresAreRefusedWithThePluginsMessage) {
  struct CreateRefusal {
    std::string variant, name;
    Reason reason;
    std::map<std::string, std::string, std::less<>> config;
    std::vector<std::string> says;
  };
  const std::vector<CreateRefusal> cases = {
      {"factory-error",
       "failing",
       Reason::kFactoryFailed,
       {},
       {"export skiff.controller.v1/failing: factory failed: Unavailable: backing service is down"}},
      {"factory-error", "null_object", Reason::kFactoryFailed, {}, {"factory returned a null object"}},
      {"factory-throws",
       "throwing",
       Reason::kFactoryThrew,
       {},
       {"export skiff.controller.v1/throwing: factory threw an exception", "boom from the factory"}},
      {"factory-throws", "throwing_int", Reason::kFactoryThrew, {}, {"factory threw a non-std::exception"}},
      {"bad-option",
       "with_port",
       Reason::kBadConfig,
       {{"port", "http"}},
       {"bad config in section [controller.with_port]", "controller.with_port.port", "'http'"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto info = loader_->find(Controller::kRole, c.name);
    ASSERT_TRUE(info.has_value());
    Context ctx(*info, c.config);
    auto before = loader_->refusals().size();
    auto made = loader_->create<Controller>(c.name, ctx.context);
    ASSERT_FALSE(made.is_ok());
    EXPECT_THAT(made.status().message(), HasSubstr(module(c.variant) + ": "));
    for (const auto& s : c.says) EXPECT_THAT(made.status().message(), HasSubstr(s));
    auto refusals = loader_->refusals();
    ASSERT_EQ(refusals.size(), before + 1);
    EXPECT_EQ(refusals.back().reason, c.reason);
    EXPECT_EQ(refusals.back().file, module(c.variant));
    EXPECT_EQ(refusals.back().message(), made.status().message());
  }
  // The same option, valid, is accepted.
  auto info = loader_->find(Controller::kRole, "with_port");
  Context ok(*info, {{"port", "8080"}});
  EXPECT_TRUE(loader_->create<Controller>("with_port", ok.context).is_ok());
  // The daemon is still fine: the good plugin still works after all of that.
  auto good = loader_->find(Controller::kRole, "good");
  Context ctx(*good, {});
  EXPECT_TRUE(loader_->create<Controller>("good", ctx.context).is_ok());
}

TEST_F(AbiTest, UnknownExportsAreNotFound) {
  auto info = loader_->find(Controller::kRole, "good");
  Context ctx(*info, {});
  auto missing = loader_->create<Controller>("nope", ctx.context);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), plugin::Code::kNotFound);
  EXPECT_THAT(missing.status().message(),
              AllOf(HasSubstr("skiff.controller.v1 'nope'"), HasSubstr("available: failing, good, null_object")));
  // Same name, other role: the role is part of the identity.
  auto wrong_role = loader_->create<plugin::store::Backend>("good", ctx.context);
  ASSERT_FALSE(wrong_role.is_ok());
  EXPECT_THAT(wrong_role.status().message(), HasSubstr("available: none"));
}

TEST(AbiLifetime, LibraryOutlivesTheLoaderUntilTheLastObjectDies) {
  const std::string path = module("good");
  ASSERT_FALSE(is_mapped(path));
  RecordingLogger loader_log;
  std::shared_ptr<Controller> first, second;
  std::unique_ptr<Context> ctx;
  {
    PluginLoader loader(&loader_log);
    ASSERT_TRUE(loader.load_file(path));
    auto info = loader.find(Controller::kRole, "good");
    ASSERT_TRUE(info.has_value());
    ctx = std::make_unique<Context>(*info, std::map<std::string, std::string, std::less<>>{{"requeue-ms", "42"}});
    auto a = loader.create<Controller>("good", ctx->context);
    auto b = loader.create<Controller>("good", ctx->context);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    first = std::move(a).value();
    second = std::move(b).value();
    EXPECT_TRUE(is_mapped(path));
  }  // the loader is gone

  // Code and vtables of the objects are still there.
  EXPECT_TRUE(is_mapped(path));
  EXPECT_EQ(first->reconcile("default/a")->requeue_after_ms, 42);
  std::weak_ptr<Controller> watcher = second;  // a weak_ptr keeps the control block, not the library
  first.reset();
  EXPECT_TRUE(is_mapped(path));
  EXPECT_EQ(second->reconcile("default/b")->requeue_after_ms, 42);
  second.reset();
  // The destructor ran (through the plugin's code, so while mapped), then the library went away.
  EXPECT_TRUE(ctx->logger.saw("echo controller destroyed"));
  EXPECT_FALSE(is_mapped(path));
  EXPECT_TRUE(watcher.expired());
}

TEST(AbiLoader, LoadFileRefusesMissingFilesAndLoadDirectoryMissingDirs) {
  PluginLoader loader;
  EXPECT_FALSE(loader.load_file(kDir / "libskiff-abi-does-not-exist.so"));
  ASSERT_EQ(loader.refusals().size(), 1u);
  EXPECT_THAT(loader.refusals()[0].message(), HasSubstr("libskiff-abi-does-not-exist.so: cannot open: no such file"));
  auto s = loader.load_directory(kDir / "no-such-dir");
  EXPECT_EQ(s.code(), plugin::Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("no-such-dir"));
}

TEST(AbiLoader, SameFileTwiceIsADuplicate) {
  PluginLoader loader;
  ASSERT_TRUE(loader.load_file(module("good")));
  EXPECT_FALSE(loader.load_file(module("good")));
  ASSERT_EQ(loader.refusals().size(), 1u);
  EXPECT_EQ(loader.refusals()[0].reason, Reason::kDuplicate);
  EXPECT_EQ(loader.plugins().size(), 1u);
}

TEST(AbiLoader, KnownRolesAreConfigurable) {
  PluginLoader loader(nullptr, {"skiff.frobnicator.v1"});
  EXPECT_TRUE(loader.load_file(module("unknown-role")));
  EXPECT_FALSE(loader.load_file(module("good")));  // skiff.controller.v1 is not known to this loader
  EXPECT_THAT(loader.refusals().at(0).message(), HasSubstr("unknown role 'skiff.controller.v1'"));
}

// The version rule with real modules built against other SDK versions (tests/abi/CMakeLists.txt).
// The kernel side plays the next minor (a HostAbi one minor up, with other headers), and the module is
// built against this tree's SDK version with another header hash: the same pair of facts as "a plugin
// built against SDK 1.1 loaded by a 1.2 kernel", without keeping an old SDK's headers in the tree.
const std::filesystem::path kVersionsDir = SKIFF_ABI_VERSIONS_DIR;

std::string versions_module(const std::string& sdk) { return (kVersionsDir / ("libskiff-abi-" + sdk + ".so")).string(); }

HostAbi one_minor_newer_host() {
  HostAbi host = HostAbi::current();
  host.minor = static_cast<std::uint16_t>(host.minor + 1);
  AbiTagParts parts = split_abi_tag(host.tag);
  host.tag = "skiff-plugin-api/" + std::to_string(host.major) + "." + std::to_string(host.minor) +
             ";headers=feedfacefeedface;" + parts.toolchain;
  return host;
}

TEST(AbiVersions, TagSplitsIntoVersionHeadersAndToolchain) {
  AbiTagParts parts = split_abi_tag("skiff-plugin-api/1.3;headers=0123456789abcdef;gcc-12;libstdc++-12-cxx11abi1");
  EXPECT_EQ(parts.version, "1.3");
  EXPECT_EQ(parts.headers, "0123456789abcdef");
  EXPECT_EQ(parts.toolchain, "gcc-12;libstdc++-12-cxx11abi1");
  EXPECT_EQ(split_abi_tag("1.3;headers=x;gcc").version, "");
  EXPECT_EQ(split_abi_tag("skiff-plugin-api/1.3;gcc-12").version, "");
  EXPECT_EQ(split_abi_tag(plugin::kAbiTag).toolchain, SKIFF_PLUGIN_COMPILER ";" SKIFF_PLUGIN_STDLIB);
}

TEST(AbiVersions, PluginOfAnOlderMinorLoadsAndWorks) {
  RecordingLogger log;
  PluginLoader loader(&log, PluginLoader::builtin_roles(), one_minor_newer_host());
  ASSERT_TRUE(loader.load_file(versions_module("older-minor")))
      << (loader.refusals().empty() ? std::string() : loader.refusals()[0].message());
  auto plugins = loader.plugins();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].abi_major, plugin::kAbiMajor);
  EXPECT_EQ(plugins[0].abi_minor, plugin::kAbiMinor);
  EXPECT_THAT(plugins[0].abi_tag, HasSubstr(";headers=01d5dc0ffee01d5d;"));

  auto info = loader.find(Controller::kRole, "other_sdk");
  ASSERT_TRUE(info.has_value());
  Context context(*info, {{"requeue-ms", "42"}});
  auto made = loader.create<Controller>("other_sdk", context.context);
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  EXPECT_EQ((*made)->reconcile("default/x")->requeue_after_ms, 42);
}

TEST(AbiVersions, PluginOfAnotherMajorIsRefusedWithAClearMessage) {
  RecordingLogger log;
  PluginLoader loader(&log);
  EXPECT_FALSE(loader.load_file(versions_module("next-major")));
  ASSERT_EQ(loader.refusals().size(), 1u);
  const PluginRefusal r = loader.refusals()[0];  // a copy: refusals() returns by value
  EXPECT_EQ(r.reason, Reason::kAbiMajor);
  const std::string ours = std::to_string(plugin::kAbiMajor) + "." + std::to_string(plugin::kAbiMinor);
  EXPECT_THAT(r.message(), AllOf(HasSubstr(versions_module("next-major") + ": plugin 'abi-other-sdk' was built for plugin ABI " +
                                           std::to_string(plugin::kAbiMajor + 1) + ".0, this skiffd speaks " + ours),
                                 HasSubstr("ABI major versions must match"), HasSubstr("rebuild the plugin")));
  EXPECT_TRUE(log.saw("plugin refused file=" + versions_module("next-major")));
  EXPECT_TRUE(loader.plugins().empty());
  // A kernel one minor newer refuses it just the same: minors never bridge majors.
  PluginLoader newer(nullptr, PluginLoader::builtin_roles(), one_minor_newer_host());
  EXPECT_FALSE(newer.load_file(versions_module("next-major")));
  EXPECT_EQ(newer.refusals().at(0).reason, Reason::kAbiMajor);
}

TEST(AbiVersions, SameMinorWithOtherHeadersIsRefused) {
  // The older-minor module, seen by this tree's own kernel: same version, different headers, so the
  // SDK changed without a version bump somewhere and the layouts cannot be trusted.
  PluginLoader loader;
  EXPECT_FALSE(loader.load_file(versions_module("older-minor")));
  ASSERT_EQ(loader.refusals().size(), 1u);
  EXPECT_EQ(loader.refusals()[0].reason, Reason::kAbiTag);
  EXPECT_THAT(loader.refusals()[0].message(), HasSubstr("headers 01d5dc0ffee01d5d, this skiffd has"));
}

TEST(AbiNames, ConfigSectionOfAnExport) {
  EXPECT_EQ(config_section_for("skiff.store.v1", "sqlite"), "store.sqlite");
  EXPECT_EQ(config_section_for("skiff.scheduler.filter.v1", "taints"), "scheduler.filter.taints");
  EXPECT_EQ(config_section_for("skiff.controller.v12", "deployment"), "controller.deployment");
  EXPECT_EQ(config_section_for("store.v1", "x"), "");
  EXPECT_TRUE(is_well_formed_role("skiff.proxy.v1"));
  EXPECT_FALSE(is_well_formed_role("skiff.v1"));
  EXPECT_FALSE(is_well_formed_role("skiff.Store.v1"));
  EXPECT_FALSE(is_well_formed_role("skiff.store.1"));
  EXPECT_FALSE(is_well_formed_role("skiff.store.v"));
  EXPECT_FALSE(is_well_formed_role("skiff..v1"));
  EXPECT_FALSE(is_well_formed_role(""));
}

}  // namespace
}  // namespace skiff::kernel
