// DaemonConfig: sources, precedence, the environment mapping, plugin sections, and that every bad key
// or value is refused with a message naming it (and, for the file, the file and line).
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kernel/config/daemon_config.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::kernel {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Kind = ConfigOrigin::Kind;

// Two plugin exports, as the loader would describe them.
std::vector<ExportInfo> fake_exports() {
  ExportInfo store;
  store.role = "skiff.store.v1";
  store.name = "fake";
  store.section = "store.fake";
  store.description = "a fake store";
  store.plugin = "fake-store";
  store.plugin_version = "0.0.1";
  store.file = "/plugins/libskiff-store-fake.so";
  store.options = {{"busy-timeout-ms", "5000", "how long to wait"}, {"path", std::nullopt, "database file"}};

  ExportInfo filter;
  filter.role = "skiff.controller.v1";
  filter.name = "node_affinity";
  filter.section = "controller.node_affinity";
  filter.plugin = "affinity";
  filter.plugin_version = "1.0.0";
  filter.file = "/plugins/libskiff-controller-affinity.so";
  filter.options = {{"weight", "1", "score weight"}};

  ExportInfo other = filter;
  other.name = "gc";
  other.section = "controller.gc";
  other.options = {};
  return {store, filter, other};
}

class ConfigTest : public ::testing::Test {
 protected:
  ConfigInputs inputs(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {}) {
    ConfigInputs in;
    in.args = std::move(args);
    in.env = std::move(env);
    in.exe = dir_.path() / "bin" / "skiffd";
    return in;
  }
  std::string write_file(const std::string& text, const std::string& name = "skiffd.ini") {
    auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }
  plugin::Result<DaemonConfig> parse(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {}) {
    return DaemonConfig::parse(inputs(std::move(args), std::move(env)), fake_exports());
  }
  std::string error_of(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {}) {
    auto c = parse(std::move(args), std::move(env));
    EXPECT_FALSE(c.is_ok());
    EXPECT_EQ(c.status().code(), plugin::Code::kInvalid);
    return c.status().message();
  }

  testing::TempDir dir_{"skiff-config-test"};
};

TEST_F(ConfigTest, DefaultsWithNothingSet) {
  auto c = parse({});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->data_dir, "/var/lib/skiff");
  EXPECT_EQ(c->listen, "127.0.0.1:6443");
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 6443);
  EXPECT_EQ(c->log_level, plugin::LogLevel::kInfo);
  EXPECT_EQ(c->store_backend, "sqlite");
  EXPECT_EQ(c->watch_window, 65536u);
  EXPECT_EQ(c->compaction_interval, std::chrono::seconds(300));
  EXPECT_EQ(c->plugin_dir, "/usr/lib/skiff/plugins");  // no <exe>/../plugins in the temp dir
  EXPECT_FALSE(c->config_file.has_value());
  EXPECT_TRUE(c->controller_enabled("gc"));
  EXPECT_TRUE(c->controller_enabled("node_affinity"));
  for (const auto& [key, v] : c->values()) EXPECT_EQ(v.origin.kind, Kind::kDefault) << key;
  // Plugin keys with a default are present; without one, absent.
  ASSERT_NE(c->value("store.fake.busy-timeout-ms"), nullptr);
  EXPECT_EQ(c->value("store.fake.busy-timeout-ms")->value, "5000");
  EXPECT_EQ(c->value("store.fake.path"), nullptr);
}

TEST_F(ConfigTest, DefaultPluginDirIsBesideTheBinary) {
  std::filesystem::create_directories(dir_.path() / "plugins");
  auto c = parse({});
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->plugin_dir, dir_.path() / "plugins");
}

// An installed layout (the packages' /usr/bin/skiffd and /usr/lib/skiff/plugins, or any prefix).
TEST_F(ConfigTest, DefaultPluginDirIsTheInstalledOneUnderTheBinarysPrefix) {
  std::filesystem::create_directories(dir_.path() / "lib" / "skiff" / "plugins");
  auto c = parse({});
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->plugin_dir, dir_.path() / "lib" / "skiff" / "plugins");
  // A build tree's plugins/ beside bin/ wins: that is the skiffd just built.
  std::filesystem::create_directories(dir_.path() / "plugins");
  auto built = parse({});
  ASSERT_TRUE(built.is_ok());
  EXPECT_EQ(built->plugin_dir, dir_.path() / "plugins");
}

TEST_F(ConfigTest, FlagsBeatEnvironmentBeatFileBeatDefaults) {
  std::string file = write_file("listen = 10.0.0.1:1000\nlog-level = warn\n[store]\nbackend = fake\n");
  std::vector<std::pair<std::string, std::string>> env = {{"SKIFF_LISTEN", "10.0.0.2:2000"},
                                                          {"SKIFF_LOG_LEVEL", "debug"}};
  auto c = parse({"--config", file, "--listen=10.0.0.3:3000"}, env);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->listen, "10.0.0.3:3000");
  EXPECT_EQ(c->value("listen")->origin.describe(), "flag --listen");
  EXPECT_EQ(c->log_level, plugin::LogLevel::kDebug);
  EXPECT_EQ(c->value("log-level")->origin.describe(), "env SKIFF_LOG_LEVEL");
  EXPECT_EQ(c->store_backend, "fake");
  EXPECT_EQ(c->value("store.backend")->origin.describe(), "file " + file + ":4");
  EXPECT_EQ(c->value("data-dir")->origin.describe(), "default");
  EXPECT_EQ(c->config_file, file);

  auto without_flag = parse({"--config", file}, env);
  ASSERT_TRUE(without_flag.is_ok());
  EXPECT_EQ(without_flag->listen, "10.0.0.2:2000");
  auto file_only = parse({"--config", file});
  ASSERT_TRUE(file_only.is_ok());
  EXPECT_EQ(file_only->listen, "10.0.0.1:1000");
  EXPECT_EQ(file_only->value("listen")->origin.describe(), "file " + file + ":1");
}

TEST_F(ConfigTest, FlagValueMayBeTheNextArgument) {
  auto c = parse({"--data-dir", "/srv/skiff", "--store.backend", "fake"});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->data_dir, "/srv/skiff");
  EXPECT_EQ(c->store_backend, "fake");
}

TEST_F(ConfigTest, EnvironmentNamesMapToKeys) {
  EXPECT_EQ(env_name_for_key("data-dir"), "SKIFF_DATA_DIR");
  EXPECT_EQ(env_name_for_key("store.backend"), "SKIFF_STORE__BACKEND");
  EXPECT_EQ(env_name_for_key("store.fake.busy-timeout-ms"), "SKIFF_STORE__FAKE__BUSY_TIMEOUT_MS");
  auto c = parse({}, {{"SKIFF_DATA_DIR", "/d"},
                      {"SKIFF_STORE__BACKEND", "fake"},
                      {"SKIFF_STORE__FAKE__BUSY_TIMEOUT_MS", "10"},
                      {"SKIFF_CONTROLLER__NODE_AFFINITY__WEIGHT", "3"},
                      {"SKIFF_WATCH__WINDOW", "128"},
                      {"PATH", "/usr/bin"},
                      {"HOME", "/root"}});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->data_dir, "/d");
  EXPECT_EQ(c->store_backend, "fake");
  EXPECT_EQ(c->watch_window, 128u);
  EXPECT_EQ(c->value("store.fake.busy-timeout-ms")->value, "10");
  EXPECT_EQ(c->value("controller.node_affinity.weight")->value, "3");
  EXPECT_EQ(c->value("controller.node_affinity.weight")->origin.describe(),
            "env SKIFF_CONTROLLER__NODE_AFFINITY__WEIGHT");
}

TEST_F(ConfigTest, ConfigFileFromTheEnvironment) {
  std::string file = write_file("data-dir = /from-file\n");
  auto c = parse({}, {{"SKIFF_CONFIG", file}});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->data_dir, "/from-file");
}

TEST_F(ConfigTest, UnknownKeyInFileNamesKeyFileAndLine) {
  std::string file = write_file("# skiffd\ndata-dir = /x\n\n[store]\nbackend = fake\n[store.fake]\npath = /db\nbogus = 1\n");
  std::string msg = error_of({"--config", file});
  EXPECT_THAT(msg, AllOf(HasSubstr("unknown config key 'store.fake.bogus'"), HasSubstr(file + " line 8")));
}

TEST_F(ConfigTest, UnknownTopLevelKeyInFile) {
  std::string file = write_file("\n\nlisten = 1.2.3.4:5\ndata_dir = /x\n");
  EXPECT_THAT(error_of({"--config", file}), AllOf(HasSubstr("'data_dir'"), HasSubstr(file + " line 4")));
}

TEST_F(ConfigTest, FileSyntaxErrorsNameTheLine) {
  std::string file = write_file("listen = 1.2.3.4:5\njust some words\n");
  EXPECT_THAT(error_of({"--config", file}), AllOf(HasSubstr(file + " line 2"), HasSubstr("just some words")));
  std::string header = write_file("[store\nbackend = x\n", "header.ini");
  EXPECT_THAT(error_of({"--config", header}), AllOf(HasSubstr(header + " line 1"), HasSubstr("section header")));
}

TEST_F(ConfigTest, KeySetTwiceInFile) {
  std::string file = write_file("listen = 1.2.3.4:5\n[store]\nbackend = a\n[store]\nbackend = b\n");
  EXPECT_THAT(error_of({"--config", file}),
              AllOf(HasSubstr("'store.backend' is set twice"), HasSubstr(file + " line 3"), HasSubstr("line 5")));
}

TEST_F(ConfigTest, MissingConfigFile) {
  EXPECT_THAT(error_of({"--config", "/nonexistent/skiffd.ini"}),
              AllOf(HasSubstr("cannot read config file /nonexistent/skiffd.ini"), HasSubstr("No such file")));
}

TEST_F(ConfigTest, UnknownFlagNamesIt) {
  EXPECT_THAT(error_of({"--store.bakend=sqlite"}), HasSubstr("unknown command-line flag '--store.bakend'"));
  EXPECT_THAT(error_of({"--data"}), HasSubstr("'--data'"));  // no prefix guessing
  EXPECT_THAT(error_of({"--listen", "1.2.3.4:5", "stray"}), HasSubstr("unexpected argument 'stray'"));
  EXPECT_THAT(error_of({"--listen"}), HasSubstr("listen"));
  EXPECT_THAT(error_of({"--listen=1.2.3.4:5", "--listen=1.2.3.4:6"}), HasSubstr("--listen is given more than once"));
}

TEST_F(ConfigTest, UnknownEnvironmentVariableNamesIt) {
  EXPECT_THAT(error_of({}, {{"SKIFF_DATADIR", "/x"}}), HasSubstr("unknown environment variable SKIFF_DATADIR"));
  EXPECT_THAT(error_of({}, {{"SKIFF_STORE__FAKE__NOPE", "1"}}), HasSubstr("SKIFF_STORE__FAKE__NOPE"));
}

TEST_F(ConfigTest, BadValuesNameTheKeyAndWhereTheyWereSet) {
  std::string file = write_file("[watch]\nwindow = lots\n");
  EXPECT_THAT(error_of({"--config", file}),
              AllOf(HasSubstr("'lots' for config key watch.window"), HasSubstr(file + " line 2")));
  EXPECT_THAT(error_of({"--watch.window=0"}), AllOf(HasSubstr("watch.window"), HasSubstr("flag --watch.window")));
  EXPECT_THAT(error_of({}, {{"SKIFF_LOG_LEVEL", "loud"}}),
              AllOf(HasSubstr("'loud' for config key log-level"), HasSubstr("SKIFF_LOG_LEVEL")));
  EXPECT_THAT(error_of({"--data-dir", ""}), HasSubstr("'' for config key data-dir"));
  EXPECT_THAT(error_of({"--data-dir="}), HasSubstr("--data-dir"));  // program_options wants a value after '='

  EXPECT_THAT(error_of({"--store.backend=no way"}), HasSubstr("store.backend"));
  EXPECT_THAT(error_of({"--plugin-dir=/nonexistent/plugins"}), AllOf(HasSubstr("plugin-dir"), HasSubstr("no such directory")));
  for (const char* bad : {"localhost", "localhost:", ":80", "host:99999", "host:8o", "::1:80", "a b:1"})
    EXPECT_THAT(error_of({std::string("--listen=") + bad}), HasSubstr("for config key listen")) << bad;
}

TEST_F(ConfigTest, ListenForms) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (const Case& c : {Case{"0.0.0.0:0", "0.0.0.0", 0}, Case{"localhost:8080", "localhost", 8080},
                        Case{"[::1]:6443", "::1", 6443}, Case{"node-1.example.com:65535", "node-1.example.com", 65535}}) {
    auto cfg = parse({std::string("--listen=") + c.text});
    ASSERT_TRUE(cfg.is_ok()) << c.text << ": " << cfg.status().message();
    EXPECT_EQ(cfg->listen_host, c.host);
    EXPECT_EQ(cfg->listen_port, c.port);
  }
}

TEST_F(ConfigTest, ControllersEnabled) {
  auto some = parse({"--controllers.enabled=gc"});
  ASSERT_TRUE(some.is_ok());
  EXPECT_TRUE(some->controller_enabled("gc"));
  EXPECT_FALSE(some->controller_enabled("node_affinity"));
  auto all_but = parse({"--controllers.enabled=*, -gc"});
  ASSERT_TRUE(all_but.is_ok()) << all_but.status().message();
  EXPECT_FALSE(all_but->controller_enabled("gc"));
  EXPECT_TRUE(all_but->controller_enabled("node_affinity"));
  auto none = parse({"--controllers.enabled", ""});
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->controller_enabled("gc"));
  EXPECT_THAT(error_of({"--controllers.enabled=gc,deployment"}),
              AllOf(HasSubstr("controllers.enabled"), HasSubstr("'deployment'"), HasSubstr("loaded: gc, node_affinity")));
}

TEST_F(ConfigTest, PluginSectionsHaveDefaultsAndValues) {
  std::string file = write_file("[store.fake]\npath = /db/file\n");
  auto c = parse({"--config", file, "--store.fake.busy-timeout-ms=250"});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  auto exports = fake_exports();
  MapConfigSection store = c->section_for(exports[0]);
  EXPECT_EQ(store.section(), "store.fake");
  EXPECT_EQ(store.get("path"), "/db/file");
  EXPECT_EQ(store.get("busy-timeout-ms"), "250");
  auto timeout = store.get_int("busy-timeout-ms", 0, 1000);
  ASSERT_TRUE(timeout.is_ok());
  EXPECT_EQ(*timeout, 250);

  MapConfigSection affinity = c->section_for(exports[1]);
  EXPECT_EQ(affinity.get("weight"), "1");
  EXPECT_FALSE(affinity.has("path"));
  auto defaults_only = parse({});
  ASSERT_TRUE(defaults_only.is_ok());
  EXPECT_FALSE(defaults_only->section_for(exports[0]).has("path"));
}

TEST_F(ConfigTest, PrintedConfigReadsBackToTheSameValues) {
  std::filesystem::create_directories(dir_.path() / "plugins");  // the printed plugin-dir must exist to be read back
  std::string file = write_file("[store]\nbackend = fake\n[store.fake]\npath = /db\n");
  auto c = parse({"--config", file, "--watch.window=99"}, {{"SKIFF_DATA_DIR", "/data"}});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  std::string ini = c->to_ini();
  EXPECT_THAT(ini, HasSubstr("data-dir = /data  # env SKIFF_DATA_DIR\n"));
  EXPECT_THAT(ini, HasSubstr("[watch]\nwindow = 99  # flag --watch.window\n"));
  EXPECT_THAT(ini, HasSubstr("[store]\nbackend = fake  # file " + file + ":2\n"));
  EXPECT_THAT(ini, HasSubstr("[store.fake]\n"));
  EXPECT_THAT(ini, HasSubstr("busy-timeout-ms = 5000  # default\n"));
  EXPECT_THAT(ini, HasSubstr("# Config file: " + file));

  std::string again = write_file(ini, "printed.ini");
  auto reread = parse({"--config", again});
  ASSERT_TRUE(reread.is_ok()) << reread.status().message();
  for (const auto& [key, v] : c->values()) {
    ASSERT_NE(reread->value(key), nullptr) << key;
    EXPECT_EQ(reread->value(key)->value, v.value) << key;
  }
}

TEST_F(ConfigTest, HelpListsKernelAndPluginOptions) {
  std::string help = DaemonConfig::help_text(fake_exports());
  EXPECT_THAT(help, HasSubstr("--data-dir"));
  EXPECT_THAT(help, HasSubstr("SKIFF_STORE__BACKEND"));
  EXPECT_THAT(help, HasSubstr("[store.fake] skiff.store.v1 'fake' from plugin fake-store 0.0.1: a fake store"));
  EXPECT_THAT(help, HasSubstr("--store.fake.busy-timeout-ms"));
  EXPECT_THAT(help, HasSubstr("how long to wait"));
  EXPECT_THAT(help, HasSubstr("SKIFF_STORE__FAKE__BUSY_TIMEOUT_MS"));
  EXPECT_THAT(help, HasSubstr("--controller.node_affinity.weight"));
}

TEST_F(ConfigTest, ComponentOptionsBehaveLikeKernelKeys) {
  std::vector<ComponentOption> api = {
      {"api.workers", "16", "HTTP worker threads",
       [](std::string_view v) { return v.find_first_not_of("0123456789") == std::string_view::npos && !v.empty()
                                           ? std::string()
                                           : std::string("expected a positive integer"); }},
      {"api.insecure-http", "false", "serve plain HTTP", nullptr}};
  std::string file = write_file("[api]\nworkers = 4\n");
  auto c = DaemonConfig::parse(inputs({"--config", file}, {{"SKIFF_API__INSECURE_HTTP", "true"}}), fake_exports(), api);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->value("api.workers")->value, "4");
  EXPECT_EQ(c->value("api.insecure-http")->value, "true");
  EXPECT_THAT(c->to_ini(), HasSubstr("[api]\nworkers = 4  # file " + file + ":2\ninsecure-http = true  # env SKIFF_API__INSECURE_HTTP\n"));

  auto defaults = DaemonConfig::parse(inputs({}), fake_exports(), api);
  ASSERT_TRUE(defaults.is_ok());
  EXPECT_EQ(defaults->value("api.workers")->value, "16");

  auto bad = DaemonConfig::parse(inputs({"--api.workers=many"}), fake_exports(), api);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_THAT(bad.status().message(),
              AllOf(HasSubstr("'many' for config key api.workers"), HasSubstr("expected a positive integer")));
  // Without the component, its keys are unknown.
  EXPECT_THAT(error_of({"--api.workers=4"}), HasSubstr("unknown command-line flag '--api.workers'"));
  EXPECT_THAT(DaemonConfig::help_text(fake_exports(), api), AllOf(HasSubstr("--api.workers"), HasSubstr("SKIFF_API__WORKERS")));
}

TEST_F(ConfigTest, BootstrapFindsConfigPluginDirAndSwitchesWithoutKnowingPlugins) {
  std::filesystem::create_directories(dir_.path() / "p-file");
  std::filesystem::create_directories(dir_.path() / "p-env");
  std::filesystem::create_directories(dir_.path() / "p-flag");
  std::string file = write_file("plugin-dir = " + (dir_.path() / "p-file").string() + "\n[store.fake]\npath = /x\n");

  auto from_file = bootstrap_options(inputs({"--config", file, "--store.fake.path", "/y", "--help"}));
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().message();
  EXPECT_TRUE(from_file->help);
  EXPECT_FALSE(from_file->print_config);
  EXPECT_EQ(from_file->config_file, file);
  EXPECT_EQ(from_file->plugin_dir, dir_.path() / "p-file");
  EXPECT_EQ(from_file->plugin_dir_origin.kind, Kind::kFile);

  auto from_env = bootstrap_options(
      inputs({"--config", file, "--print-config"}, {{"SKIFF_PLUGIN_DIR", (dir_.path() / "p-env").string()}}));
  ASSERT_TRUE(from_env.is_ok());
  EXPECT_TRUE(from_env->print_config);
  EXPECT_EQ(from_env->plugin_dir, dir_.path() / "p-env");

  auto from_flag = bootstrap_options(inputs({"--config", file, "--plugin-dir=" + (dir_.path() / "p-flag").string()},
                                            {{"SKIFF_PLUGIN_DIR", (dir_.path() / "p-env").string()}}));
  ASSERT_TRUE(from_flag.is_ok());
  EXPECT_EQ(from_flag->plugin_dir, dir_.path() / "p-flag");

  auto defaults = bootstrap_options(inputs({"--version"}));
  ASSERT_TRUE(defaults.is_ok());
  EXPECT_TRUE(defaults->version);
  EXPECT_EQ(defaults->plugin_dir, "/usr/lib/skiff/plugins");

  auto missing = bootstrap_options(inputs({"--config=/nonexistent.ini"}));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent.ini"));
}

}  // namespace
}  // namespace skiff::kernel
