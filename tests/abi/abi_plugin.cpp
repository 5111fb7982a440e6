// The test plugins of tests/abi, one module per SKIFF_ABI_<VARIANT> definition (see CMakeLists.txt).
// All but GOOD break one rule of the plugin ABI; each must be refused with its own message.
//
// Manifests whose header must stop the loader (bad magic, ABI major/minor, tag) point their exports
// at unmapped memory: a loader that read past the header would crash instead of refusing.
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "skiff/plugin/abi.hpp"
#include "skiff/plugin/controller.hpp"

namespace {

namespace plugin = skiff::plugin;
namespace controller = skiff::plugin::controller;

// A controller that answers reconcile with its configured requeue delay, and says goodbye through
// the host logger when destroyed (which must happen while this library is still mapped).
class EchoController final : public controller::Controller {
 public:
  EchoController(plugin::Logger& logger, std::int64_t requeue_ms) : logger_(logger), requeue_ms_(requeue_ms) {}
  ~EchoController() override { logger_.info("echo controller destroyed"); }

  std::vector<controller::WatchSpec> watches() const noexcept override {
    return {controller::WatchSpec{{"", "v1", "configmaps"}, controller::KeyMapping::kSelf, ""}};
  }
  void bind(const controller::Host& /*host*/) noexcept override {}
  plugin::Result<controller::ReconcileResult> reconcile(std::string_view key) noexcept override {
    if (key.empty()) return plugin::invalid("empty key");
    return controller::ReconcileResult{requeue_ms_};
  }

 private:
  plugin::Logger& logger_;
  std::int64_t requeue_ms_;
};

[[maybe_unused]] plugin::Result<std::unique_ptr<controller::Controller>> make_echo(const plugin::PluginContext& ctx) {
  auto requeue = ctx.config.get_int("requeue-ms", 0, 60'000);
  if (!requeue) return requeue.status();
  return std::unique_ptr<controller::Controller>(std::make_unique<EchoController>(ctx.logger, *requeue));
}

[[maybe_unused]] plugin::Result<std::unique_ptr<controller::Controller>> make_with_port(const plugin::PluginContext& ctx) {
  auto port = ctx.config.get_int("port", 1, 65'535);
  if (!port) return port.status();
  return std::unique_ptr<controller::Controller>(std::make_unique<EchoController>(ctx.logger, 0));
}

[[maybe_unused]] plugin::Result<std::unique_ptr<controller::Controller>> make_failing(const plugin::PluginContext&) {
  return plugin::unavailable("backing service is down");
}

[[maybe_unused]] plugin::Result<std::unique_ptr<controller::Controller>> make_null(const plugin::PluginContext&) {
  return std::unique_ptr<controller::Controller>();
}

[[maybe_unused]] plugin::Result<std::unique_ptr<controller::Controller>> make_throwing(const plugin::PluginContext&) {
  throw std::runtime_error("boom from the factory");
}

[[maybe_unused]] plugin::Result<std::unique_ptr<controller::Controller>> make_throwing_int(const plugin::PluginContext&) {
  throw 42;
}

[[maybe_unused]] constexpr std::array kEchoOptions{
    plugin::OptionSpec{"requeue-ms", "7", "what reconcile answers as requeue_after_ms"}};
[[maybe_unused]] constexpr std::array kPortOptions{plugin::OptionSpec{"port", "6443", "a TCP port, 1-65535"}};

template <class... E>
std::span<const plugin::Export> exports_of(E... e) {
  static const std::array<plugin::Export, sizeof...(E)> exports{e...};
  return exports;
}

// Exports nobody may read: the page at address 16 is never mapped.
[[maybe_unused]] std::span<const plugin::Export> unreadable_exports() {
  return {reinterpret_cast<const plugin::Export*>(std::uintptr_t{16}), 1000};
}

[[maybe_unused]] plugin::Export echo_export(const char* name) {
  return plugin::make_export<controller::Controller>(name, "answers every key with its requeue-ms", &make_echo,
                                                     kEchoOptions);
}

const plugin::Manifest* manifest() noexcept {
#if defined(SKIFF_ABI_GOOD)
  static const plugin::Manifest m{plugin::make_header("abi-good", "1.2.3"), exports_of(echo_export("good"))};
#elif defined(SKIFF_ABI_OTHER_SDK)
  // Built against a generated abi_tag.hpp of another SDK version (see CMakeLists.txt).
  static const plugin::Manifest m{plugin::make_header("abi-other-sdk", "1.0.0"), exports_of(echo_export("other_sdk"))};
#elif defined(SKIFF_ABI_WRONG_TOOLCHAIN)
  plugin::ManifestHeader h = plugin::make_header("abi-wrong-toolchain", "1.0.0");
  static const std::string tag = "skiff-plugin-api/" + std::to_string(plugin::kAbiMajor) + "." +
                                 std::to_string(plugin::kAbiMinor) + ";headers=" SKIFF_PLUGIN_API_HEADERS_HASH ";clang-99;libc++-1";
  h.abi_tag = tag.c_str();
  static const plugin::Manifest m{h, unreadable_exports()};
#elif defined(SKIFF_ABI_NULL_MANIFEST)
  return nullptr;
#elif defined(SKIFF_ABI_BAD_MAGIC)
  plugin::ManifestHeader h = plugin::make_header("abi-bad-magic", "1.0.0");
  h.magic = 0xdeadbeef;
  static const plugin::Manifest m{h, unreadable_exports()};
#elif defined(SKIFF_ABI_ABI_MAJOR_99)
  static const plugin::Manifest m{
      {plugin::kManifestMagic, 99, 0, "skiff-plugin-api/99.0;headers=0123456789abcdef;gcc-12", "abi-major-99", "9.9.9"},
      unreadable_exports()};
#elif defined(SKIFF_ABI_ABI_MINOR_NEWER)
  plugin::ManifestHeader h = plugin::make_header("abi-minor-newer", "1.0.0");
  h.abi_minor = static_cast<std::uint16_t>(plugin::kAbiMinor + 1);
  static const plugin::Manifest m{h, unreadable_exports()};
#elif defined(SKIFF_ABI_WRONG_TAG)
  plugin::ManifestHeader h = plugin::make_header("abi-wrong-tag", "1.0.0");
  h.abi_tag = "skiff-plugin-api/" SKIFF_PLUGIN_STRINGIFY(SKIFF_PLUGIN_API_MAJOR) "." SKIFF_PLUGIN_STRINGIFY(
      SKIFF_PLUGIN_API_MINOR) ";headers=0000000000000000;gcc-12;libstdc++-12-cxx11abi1";
  static const plugin::Manifest m{h, unreadable_exports()};
#elif defined(SKIFF_ABI_EMPTY_NAME)
  static const plugin::Manifest m{plugin::make_header("abi-empty-name", "1.0.0"), exports_of(echo_export(""))};
#elif defined(SKIFF_ABI_MALFORMED_ROLE)
  plugin::Export e = echo_export("oddball");
  e.role = "Skiff.Controller";
  static const plugin::Manifest m{plugin::make_header("abi-malformed-role", "1.0.0"), exports_of(e)};
#elif defined(SKIFF_ABI_UNKNOWN_ROLE)
  plugin::Export e = echo_export("frob");
  e.role = "skiff.frobnicator.v1";
  static const plugin::Manifest m{plugin::make_header("abi-unknown-role", "1.0.0"), exports_of(e)};
#elif defined(SKIFF_ABI_FACTORY_ERROR)
  static const plugin::Manifest m{
      plugin::make_header("abi-factory-error", "1.0.0"),
      exports_of(plugin::make_export<controller::Controller>("failing", "its factory always fails", &make_failing),
                 plugin::make_export<controller::Controller>("null_object", "its factory returns null", &make_null))};
#elif defined(SKIFF_ABI_FACTORY_THROWS)
  static const plugin::Manifest m{
      plugin::make_header("abi-factory-throws", "1.0.0"),
      exports_of(plugin::make_export<controller::Controller>("throwing", "throws std::runtime_error", &make_throwing),
                 plugin::make_export<controller::Controller>("throwing_int", "throws an int", &make_throwing_int))};
#elif defined(SKIFF_ABI_BAD_OPTION)
  static const plugin::Manifest m{
      plugin::make_header("abi-bad-option", "1.0.0"),
      exports_of(plugin::make_export<controller::Controller>("with_port", "reads an integer port", &make_with_port,
                                                             kPortOptions))};
#elif defined(SKIFF_ABI_TWIN_OF_GOOD)
  static const plugin::Manifest m{plugin::make_header("abi-twin", "1.0.0"), exports_of(echo_export("good"))};
#elif defined(SKIFF_ABI_NO_ENTRY)
  static const plugin::Manifest m{plugin::make_header("abi-no-entry", "1.0.0"), exports_of(echo_export("unseen"))};
#else
#error "define one SKIFF_ABI_<VARIANT>"
#endif
#if !defined(SKIFF_ABI_NULL_MANIFEST)
  return &m;
#endif
}

}  // namespace

#if !defined(SKIFF_ABI_NO_ENTRY)
SKIFF_PLUGIN_ENTRY(manifest)
#else
// Exported under another name, so the module has symbols but no skiff_plugin_entry.
extern "C" __attribute__((visibility("default"))) const plugin::Manifest* not_the_entry() noexcept { return manifest(); }
#endif
