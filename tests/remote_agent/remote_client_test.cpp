// The kernel's RemoteClient (plugin::Client over HTTPS) against a real skiffd: writes and their
// errors, and the watch an informer runs on it: it reconnects from the last resourceVersion when the
// server ends the stream or restarts, and a resourceVersion the server no longer has gives kExpired,
// after which the (unchanged) informer lists again and converges.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "kernel/api/remote_client.hpp"
#include "kernel/reconcile/informer.hpp"
#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

using kernel::api::RemoteClient;
using kernel::api::RemoteClientOptions;

const plugin::ResourceId kConfigMaps{"", "v1", "configmaps"};

// RemoteClient keeps a reference: one registry for the whole test binary.
const kernel::ResourceRegistry& registry() {
  static const kernel::ResourceRegistry builtin = kernel::ResourceRegistry::builtin();
  return builtin;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

RemoteClientOptions options_for(const Cluster& cluster) {
  RemoteClientOptions o;
  o.http.server = "https://127.0.0.1:" + std::to_string(cluster.port());
  o.http.token = cluster.token();
  o.http.ca_pem = read_file(cluster.data_dir() + "/pki/ca.crt");
  o.request_timeout = std::chrono::seconds(5);
  o.reconnect_backoff = std::chrono::milliseconds(50);
  o.reconnect_backoff_max = std::chrono::milliseconds(500);
  return o;
}

std::string config_map(const std::string& name) {
  return nlohmann::json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"k", "v"}}}}
      .dump();
}

// Events until `count` ADDED events arrived or the wait ran out, in order.
std::vector<kernel::WatchEvent> collect(kernel::Watch& watch, std::size_t count, std::chrono::seconds limit) {
  std::vector<kernel::WatchEvent> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::size_t added = 0;
  while (added < count && std::chrono::steady_clock::now() < deadline) {
    for (auto& e : watch.wait(64, std::chrono::milliseconds(100))) {
      if (e.type == kernel::WatchEventType::kAdded) ++added;
      bool error = e.type == kernel::WatchEventType::kError;
      out.push_back(std::move(e));
      if (error) return out;
    }
  }
  return out;
}

std::vector<std::string> added_names(const std::vector<kernel::WatchEvent>& events) {
  std::vector<std::string> names;
  for (const auto& e : events)
    if (e.type == kernel::WatchEventType::kAdded) names.push_back(e.object->name);
  return names;
}

TEST(RemoteClient, WritesReadsAndErrorsAsTheApiAnswersThem) {
  Cluster cluster(true);
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  RemoteClient client(registry(), options_for(cluster));
  ASSERT_TRUE(client.check().is_ok()) << client.check().message();

  auto created = client.create(kConfigMaps, "default", config_map("one"));
  ASSERT_TRUE(created) << created.status().message();
  EXPECT_EQ((*created)->name, "one");
  EXPECT_EQ((*created)->ns, "default");
  EXPECT_GT((*created)->resource_version, 0);
  auto again = client.create(kConfigMaps, "default", config_map("one"));
  EXPECT_EQ(again.status().code(), plugin::Code::kAlreadyExists);
  auto bad = client.create(kConfigMaps, "default", config_map("Not_A_Name"));
  EXPECT_EQ(bad.status().code(), plugin::Code::kInvalid) << bad.status().message();

  auto patched = client.patch(kConfigMaps, "default", "one", "", R"({"data":{"k":"patched"}})");
  ASSERT_TRUE(patched) << patched.status().message();
  EXPECT_NE((*patched)->json.find("patched"), std::string::npos);
  // An update carrying the old resourceVersion conflicts.
  auto stale = client.update(kConfigMaps, (*created)->json);
  EXPECT_EQ(stale.status().code(), plugin::Code::kConflict) << stale.status().message();

  auto listed = client.list(kConfigMaps, {.ns = "default"});
  ASSERT_TRUE(listed) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]->name, "one");
  EXPECT_TRUE(client.remove(kConfigMaps, "default", "one", {}));
  EXPECT_EQ(client.get(kConfigMaps, "default", "one").status().code(), plugin::Code::kNotFound);
}

TEST(RemoteClient, AWatchReconnectsFromItsLastResourceVersionWhenTheServerEndsIt) {
  Cluster cluster(true);
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  RemoteClientOptions o = options_for(cluster);
  o.watch_timeout = std::chrono::seconds(1);  // the server ends every watch request after a second
  RemoteClient client(registry(), o);
  const auto* type = registry().find(kConfigMaps);
  ASSERT_NE(type, nullptr);
  auto start = client.list_at(*type, {});
  ASSERT_TRUE(start) << start.status().message();

  auto watch = client.watch(*type, {}, start->resource_version);
  ASSERT_TRUE(watch) << watch.status().message();
  ASSERT_TRUE(client.create(kConfigMaps, "default", config_map("a")));
  auto first = collect(**watch, 1, std::chrono::seconds(10));
  ASSERT_EQ(added_names(first), std::vector<std::string>{"a"});
  // Past several server-side ends of the stream: the watch goes on from where it was, with no
  // event repeated and none lost.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_TRUE(client.create(kConfigMaps, "default", config_map("b")));
  ASSERT_TRUE(client.create(kConfigMaps, "default", config_map("c")));
  auto later = collect(**watch, 2, std::chrono::seconds(10));
  EXPECT_EQ(added_names(later), (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE((*watch)->done());
  (*watch)->stop();
}

TEST(RemoteClient, AWatchResumesAcrossARestartOfTheServer) {
  Cluster cluster(true);  // sqlite in its data dir: objects and revisions survive the restart
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  RemoteClient client(registry(), options_for(cluster));
  const auto* type = registry().find(kConfigMaps);
  ASSERT_TRUE(client.create(kConfigMaps, "default", config_map("before")));
  auto start = client.list_at(*type, {});
  ASSERT_TRUE(start);
  auto watch = client.watch(*type, {}, start->resource_version);
  ASSERT_TRUE(watch);
  // Writes to other resources move the cluster's revision past the watch's: the restarted server
  // must still serve configmaps from that revision (Kubernetes' etcd keeps the history; so do we).
  const plugin::ResourceId secrets{"", "v1", "secrets"};
  ASSERT_TRUE(client.create(secrets, "default",
                            nlohmann::json{{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}}.dump()));

  ASSERT_EQ(cluster.daemon().stop(SIGTERM), 0);
  // The same skiffd again: same data dir, same port, same CA.
  std::string log = cluster.work_dir() + "/restarted.log";
  ChildProcess restarted({std::string(SKIFF_TEST_BIN_DIR) + "/skiffd", "--data-dir", cluster.data_dir(), "--listen",
                          "127.0.0.1:" + std::to_string(cluster.port())},
                         {}, log);
  ASSERT_TRUE(eventually([&] { return read_file(log).find("msg=ready") != std::string::npos; }, std::chrono::seconds(30)))
      << read_file(log);
  ASSERT_TRUE(client.create(kConfigMaps, "default", config_map("after")));
  auto events = collect(**watch, 1, std::chrono::seconds(15));
  EXPECT_EQ(added_names(events), std::vector<std::string>{"after"});
  (*watch)->stop();
}

TEST(RemoteClient, ATooOldResourceVersionIsExpiredAndAnInformerListsAgain) {
  Cluster cluster(true, {}, {"--watch.window=2"});  // the server keeps only the last two events per resource
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  RemoteClient client(registry(), options_for(cluster));
  const auto* type = registry().find(kConfigMaps);
  auto start = client.list_at(*type, {});
  ASSERT_TRUE(start);
  for (const char* name : {"c1", "c2", "c3", "c4", "c5"}) ASSERT_TRUE(client.create(kConfigMaps, "default", config_map(name)));

  auto watch = client.watch(*type, {}, start->resource_version);
  ASSERT_TRUE(watch);
  auto events = collect(**watch, 1, std::chrono::seconds(10));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, kernel::WatchEventType::kError);
  EXPECT_EQ(events.back().error.code(), plugin::Code::kExpired) << events.back().error.message();
  EXPECT_TRUE(eventually([&] { return (*watch)->done(); }));

  // The kernel's informer, unchanged, over this client: it lists, watches, and keeps up.
  kernel::Informer informer(client.lister_watcher(*type));
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  EXPECT_EQ(informer.list("default").size(), 5u);
  for (const char* name : {"c6", "c7", "c8", "c9"}) ASSERT_TRUE(client.create(kConfigMaps, "default", config_map(name)));
  EXPECT_TRUE(eventually([&] { return informer.list("default").size() == 9u; }));
  ASSERT_TRUE(client.remove(kConfigMaps, "default", "c1", {}));
  EXPECT_TRUE(eventually([&] { return informer.get("default", "c1") == nullptr; }));
  informer.stop();
}

}  // namespace
}  // namespace skiff::testing
