// The real build/bin/skiff against a real skiffd (HTTPS, bearer token, SQLite store): every command,
// its output formats and exit codes. Fixtures the CLI has no verb for (a Deployment's status, a
// finalizer) are written with skiff's own HTTP client library, as a controller would.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/skiff/api.hpp"
#include "cli/skiff/client.hpp"
#include "cli/skiff/kubeconfig.hpp"
#include "kernel/api/pki.hpp"
#include "skiff/plugin/abi.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kSkiff = std::string(SKIFF_TEST_BIN_DIR) + "/skiff";

std::string deployment_yaml(const std::string& name, int replicas = 3, const std::string& image = "nginx:1.25") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\n  labels:\n    app: " + name +
         "\nspec:\n  replicas: " + std::to_string(replicas) + "\n  selector:\n    matchLabels:\n      app: " + name +
         "\n  template:\n    metadata:\n      labels:\n        app: " + name +
         "\n    spec:\n      containers:\n      - name: main\n        image: " + image + "\n";
}

std::string configmap_yaml(const std::string& name, const std::string& value = "1") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  key: \"" + value + "\"\n";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
bool matches(const std::string& text, const std::string& re) { return std::regex_search(text, std::regex(re)); }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

class SkiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // These tests write workload status and ReplicaSets by hand to check what the CLI shows; the
    // workload controllers would rewrite them, so this cluster runs without them.
    cluster_ = new Cluster(true, {}, {"--controllers.enabled=-deployment,-replicaset,-daemonset,-statefulset"});
    if (!cluster_->ready()) return;
    auto files = cli::kubeconfig_files({}, cluster_->kubeconfig().c_str(), nullptr);
    http_ = new cli::HttpClient(cli::resolve_cluster(cli::load_kubeconfig(files), {}), std::chrono::seconds(30));
    api_ = new cli::Api(*http_);
  }
  static void TearDownTestSuite() {
    delete api_;
    delete http_;
    delete cluster_;
    api_ = nullptr;
    http_ = nullptr;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(cluster_->ready()) << cluster_->log(); }

  static ProcessResult skiff(std::vector<std::string> args, const std::string& input = {},
                             std::map<std::string, std::string> env = {}) {
    return cluster_->skiff(std::move(args), input, std::move(env));
  }
  static Json json_of(std::vector<std::string> args) {
    args.insert(args.end(), {"-o", "json"});
    auto r = skiff(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json::parse(r.out, nullptr, false);
  }
  static void apply(const std::string& file, const std::string& yaml) {
    auto r = skiff({"apply", "-f", cluster_->write(file, yaml)});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // A skiff command running in the background; its stdout and stderr go to one file.
  struct Background {
    TempDir dir{"skiff-bg"};
    std::string out_path = (dir.path() / "out").string();
    std::unique_ptr<ChildProcess> process;
    std::string output() const { return slurp(out_path); }
    int wait(std::chrono::seconds limit = std::chrono::seconds(30)) {
      if (!eventually([&] { return !process->running(); }, limit)) return -1;
      return process->stop(SIGTERM);
    }
  };
  static std::unique_ptr<Background> background(const std::vector<std::string>& args) {
    auto bg = std::make_unique<Background>();
    std::vector<std::string> argv = {kSkiff};
    argv.insert(argv.end(), args.begin(), args.end());
    bg->process = std::make_unique<ChildProcess>(
        argv, std::map<std::string, std::string>{{"KUBECONFIG", cluster_->kubeconfig()}, {"HOME", bg->dir.str()}},
        bg->out_path);
    return bg;
  }
  static std::string deployments() { return "/apis/apps/v1/namespaces/default/deployments/"; }

  static Cluster* cluster_;
  static cli::HttpClient* http_;
  static cli::Api* api_;
};
Cluster* SkiffTest::cluster_ = nullptr;
cli::HttpClient* SkiffTest::http_ = nullptr;
cli::Api* SkiffTest::api_ = nullptr;

// ------------------------------------------------------------------------------------------------ command line

TEST_F(SkiffTest, HelpForEveryCommandAndExitCodes) {
  auto r = skiff({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* c :
       {"apply", "get", "describe", "delete", "logs", "scale", "rollout", "cluster", "plugins", "version"})
    EXPECT_TRUE(matches(r.out, std::string("\\n  ") + c + " ")) << c << "\n" << r.out;
  for (std::vector<std::string> args : {std::vector<std::string>{"apply", "--help"},
                                        {"get", "--help"},
                                        {"describe", "--help"},
                                        {"delete", "--help"},
                                        {"logs", "--help"},
                                        {"scale", "--help"},
                                        {"rollout", "--help"},
                                        {"rollout", "status", "--help"},
                                        {"rollout", "history", "--help"},
                                        {"rollout", "undo", "--help"},
                                        {"rollout", "restart", "--help"},
                                        {"cluster", "--help"},
                                        {"cluster", "status", "--help"},
                                        {"plugins", "--help"},
                                        {"version", "--help"},
                                        {"help", "get"}}) {
    r = skiff(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << r.err;
    EXPECT_TRUE(has(r.out, "Usage: skiff ")) << args[0] << "\n" << r.out;
  }
  r = skiff({"get", "--help"});
  EXPECT_TRUE(has(r.out, "--kubeconfig")) << "global options are listed: " << r.out;

  r = skiff({});
  EXPECT_EQ(r.exit_code, 2);
  r = skiff({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "unknown command \"frobnicate\"")) << r.err;
  r = skiff({"get", "pods", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "See 'skiff get --help'")) << r.err;
  EXPECT_EQ(skiff({"get"}).exit_code, 2);
  EXPECT_EQ(skiff({"get", "pods", "-o", "xml"}).exit_code, 2);
  EXPECT_EQ(skiff({"apply"}).exit_code, 2);
  EXPECT_EQ(skiff({"scale", "deploy/x"}).exit_code, 2);
  EXPECT_EQ(skiff({"rollout"}).exit_code, 2);
  EXPECT_EQ(skiff({"rollout", "sideways", "deploy/x"}).exit_code, 2);
  EXPECT_EQ(skiff({"cluster"}).exit_code, 2);
  EXPECT_EQ(skiff({"get", "pods", "--request-timeout", "soon"}).exit_code, 2);
  r = skiff({"get", "foo"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "error: the server doesn't have a resource type \"foo\"")) << r.err;
}

TEST_F(SkiffTest, Version) {
  auto r = skiff({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(matches(r.out, R"(skiff \d+\.\d+\.\d+\nplugin ABI \d+\.\d+)")) << r.out;
  Json v = json_of({"version"});
  EXPECT_TRUE(v["abi"]["major"].is_number()) << v.dump();
}

// ------------------------------------------------------------------------------------------------ apply

TEST_F(SkiffTest, ApplyMultiDocumentThenUnchangedThenChanged) {
  std::string file = cluster_->write("multi.yaml", deployment_yaml("multi") + "---\n" + configmap_yaml("multi-cfg"));
  auto r = skiff({"apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/multi serverside-applied\nconfigmap/multi-cfg serverside-applied\n");
  r = skiff({"apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/multi unchanged\nconfigmap/multi-cfg unchanged\n");
  cluster_->write("multi.yaml", deployment_yaml("multi", 5) + "---\n" + configmap_yaml("multi-cfg"));
  r = skiff({"apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/multi serverside-applied\nconfigmap/multi-cfg unchanged\n");
  Json d = json_of({"get", "deployment", "multi"});
  EXPECT_EQ(d["spec"]["replicas"], 5);
  bool skiff_manager = false;
  for (const auto& m : d["metadata"]["managedFields"])
    if (m["manager"] == "skiff" && m["operation"] == "Apply") skiff_manager = true;
  EXPECT_TRUE(skiff_manager) << d["metadata"].dump();
}

TEST_F(SkiffTest, ApplyDirectoryInNameOrderSkippingOtherFiles) {
  fs::path dir = fs::path(cluster_->work_dir()) / "manifests";
  fs::create_directories(dir / "nested");
  std::ofstream(dir / "b.yaml") << configmap_yaml("dir-b");
  std::ofstream(dir / "a.yml") << configmap_yaml("dir-a");
  std::ofstream(dir / "c.json")
      << R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dir-c"},"data":{"k":"v"}})";
  std::ofstream(dir / "notes.txt") << "not a manifest";
  std::ofstream(dir / "nested" / "d.yaml") << configmap_yaml("dir-d");
  auto r = skiff({"apply", "-f", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "configmap/dir-a serverside-applied\nconfigmap/dir-b serverside-applied\nconfigmap/dir-c serverside-applied\n");
  r = skiff({"apply", "-R", "-f", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "configmap/dir-d serverside-applied")) << r.out;
}

TEST_F(SkiffTest, ApplyFromStdinAndIntoANamespace) {
  ASSERT_EQ(skiff({"apply", "-f", "-"}, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-stdin\n").exit_code,
            0);
  auto r = skiff({"apply", "-n", "team-stdin", "-f", "-"}, configmap_yaml("from-stdin"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap/from-stdin serverside-applied\n");
  Json got = json_of({"get", "configmap", "from-stdin", "-n", "team-stdin"});
  EXPECT_EQ(got["metadata"]["namespace"], "team-stdin");
  // The object's own namespace against a different -n: refused, as kubectl does.
  std::string other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: elsewhere\n";
  r = skiff({"apply", "-n", "team-stdin", "-f", "-"}, other);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "does not match the namespace \"team-stdin\"")) << r.err;
}

TEST_F(SkiffTest, ApplyContinuesPastAFailingDocumentAndNamesItsLine) {
  std::string bad = deployment_yaml("bad-one", -1);
  std::string text = configmap_yaml("before-bad") + "---\n" + bad + "---\n" + configmap_yaml("after-bad");
  std::string file = cluster_->write("partly-bad.yaml", text);
  auto r = skiff({"apply", "-f", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "configmap/before-bad serverside-applied\nconfigmap/after-bad serverside-applied\n");
  EXPECT_TRUE(has(r.err, "Error from server (Invalid): error when applying \"" + file + "\" (document at line 8): "))
      << r.err;
  EXPECT_TRUE(has(r.err, "spec.replicas")) << r.err;
  EXPECT_EQ(skiff({"get", "deploy", "bad-one"}).exit_code, 1);

  // A document without a kind is refused locally; broken YAML names the file and line.
  r = skiff({"apply", "-f", "-"}, "apiVersion: v1\nmetadata:\n  name: kindless\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "error validating \"STDIN\" (document at line 1): kind not set")) << r.err;
  r = skiff({"apply", "-f", cluster_->write("broken.yaml", "apiVersion: v1\nkind: [ConfigMap\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(matches(r.err, R"(error parsing ".*broken.yaml": yaml: line \d+)")) << r.err;
  r = skiff({"apply", "-f", "/does/not/exist.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "the path \"/does/not/exist.yaml\" does not exist")) << r.err;
  r = skiff({"apply", "-f",
             cluster_->write("nokind.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "no matches for kind \"Widget\" in version \"example.com/v1\"")) << r.err;
}

TEST_F(SkiffTest, ApplyOutputFormats) {
  auto r = skiff({"apply", "-f", "-", "-o", "name"}, configmap_yaml("fmt-cfg"));
  EXPECT_EQ(r.out, "configmap/fmt-cfg\n");
  r = skiff({"apply", "-f", "-", "-o", "json"}, configmap_yaml("fmt-cfg", "2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["data"]["key"], "2");
  r = skiff({"apply", "-f", "-", "-o", "yaml"}, configmap_yaml("fmt-cfg", "3"));
  EXPECT_TRUE(has(r.out, "kind: ConfigMap\n")) << r.out;
}

// ------------------------------------------------------------------------------------------------ get

TEST_F(SkiffTest, GetTablesLikeKubectl) {
  apply("get-web.yaml", deployment_yaml("get-web"));
  auto r = skiff({"get", "deployments"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches(r.out, R"(^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(\nget-web\s+0/3\s+0\s+0\s+\S+\n)")) << r.out;
  r = skiff({"get", "deploy", "get-web", "-o", "wide"});
  EXPECT_TRUE(matches(r.out, R"(NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n)"))
      << r.out;
  EXPECT_TRUE(matches(r.out, R"(get-web\s+0/3\s+0\s+0\s+\S+\s+main\s+nginx:1.25\s+app=get-web\n)")) << r.out;
  // Every spelling of the type, and TYPE/NAME.
  for (const char* t : {"deploy", "deployment", "deployments.apps", "deployments.v1.apps", "Deployment"}) {
    r = skiff({"get", t, "get-web", "-o", "name"});
    EXPECT_EQ(r.out, "deployment.apps/get-web\n") << t << r.err;
  }
  r = skiff({"get", "deployment/get-web", "configmap/multi-cfg-missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.out, "deployment.apps/get-web")) << r.out;  // several types: prefixed names
  EXPECT_TRUE(has(r.err, "Error from server (NotFound): configmaps \"multi-cfg-missing\" not found")) << r.err;
  // Columns are aligned: every line has its second column at the same offset.
  r = skiff({"get", "namespaces"});
  std::istringstream lines(r.out);
  std::string line;
  std::set<std::size_t> offsets;
  while (std::getline(lines, line)) offsets.insert(line.find_first_not_of(' ', line.find(' ')));
  EXPECT_EQ(offsets.size(), 1u) << r.out;
}

TEST_F(SkiffTest, GetSeveralTypesSelectorsAndLabels) {
  apply("sel.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sel-a\n  labels:\n    tier: web\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sel-b\n  labels:\n    tier: db\n");
  auto r = skiff({"get", "cm", "-l", "tier=web", "-o", "name"});
  EXPECT_EQ(r.out, "configmap/sel-a\n") << r.err;
  r = skiff({"get", "cm", "--field-selector", "metadata.name=sel-b", "-o", "name"});
  EXPECT_EQ(r.out, "configmap/sel-b\n") << r.err;
  r = skiff({"get", "cm", "-l", "tier", "--show-labels"});
  EXPECT_TRUE(matches(r.out, R"(NAME\s+DATA\s+AGE\s+LABELS\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(sel-a\s+0\s+\S+\s+tier=web\n)")) << r.out;
  r = skiff({"get", "deploy,cm", "-l", "tier=web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "configmap/sel-a")) << r.out;
  r = skiff({"get", "cm", "-l", "tier=nothing"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "No resources found in default namespace.\n");
}

TEST_F(SkiffTest, GetAcrossNamespacesAndAsJsonYaml) {
  ASSERT_EQ(skiff({"apply", "-f", "-"}, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-get\n").exit_code, 0);
  ASSERT_EQ(skiff({"apply", "-n", "team-get", "-f", "-"}, configmap_yaml("everywhere")).exit_code, 0);
  ASSERT_EQ(skiff({"apply", "-f", "-"}, configmap_yaml("everywhere")).exit_code, 0);
  auto r = skiff({"get", "configmaps", "-A", "--field-selector", "metadata.name=everywhere"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches(r.out, R"(^NAMESPACE\s+NAME\s+DATA\s+AGE\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(\ndefault\s+everywhere\s+1\s+)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(\nteam-get\s+everywhere\s+1\s+)")) << r.out;

  Json one = json_of({"get", "cm", "everywhere"});
  EXPECT_EQ(one["kind"], "ConfigMap");
  EXPECT_EQ(one["data"]["key"], "1");
  Json list = json_of({"get", "cm", "-A", "--field-selector", "metadata.name=everywhere"});
  EXPECT_EQ(list["kind"], "List");
  ASSERT_EQ(list["items"].size(), 2u);
  EXPECT_EQ(list["items"][0]["kind"], "ConfigMap");  // filled in from the list
  EXPECT_EQ(list["items"][0]["apiVersion"], "v1");
  r = skiff({"get", "cm", "everywhere", "-n", "team-get", "-o", "yaml"});
  EXPECT_TRUE(has(r.out, "kind: ConfigMap\n") && has(r.out, "namespace: team-get\n")) << r.out;
  r = skiff({"get", "cm", "x", "-A"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(SkiffTest, GetWatchPrintsNewRowsUntilTimeout) {
  apply("watch-first.yaml", configmap_yaml("watch-first"));
  auto bg =
      background({"get", "configmaps", "-w", "--timeout", "30s", "--field-selector", "metadata.namespace=default"});
  ASSERT_TRUE(eventually([&] { return has(bg->output(), "watch-first"); }, std::chrono::seconds(20))) << bg->output();
  apply("watch-second.yaml", configmap_yaml("watch-second"));
  EXPECT_TRUE(eventually([&] { return matches(bg->output(), R"(\nwatch-second\s+1\s+)"); }, std::chrono::seconds(20)))
      << bg->output();
  std::string all = bg->output();
  EXPECT_EQ(all.find("NAME"), all.rfind("NAME")) << "one header: " << all;
  bg->process->stop(SIGTERM);

  // --timeout ends the watch by itself with exit code 0.
  auto start = std::chrono::steady_clock::now();
  auto r = skiff({"get", "cm", "watch-first", "-w", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_TRUE(has(r.out, "watch-first")) << r.out;
  EXPECT_EQ(skiff({"get", "cm,deploy", "-w"}).exit_code, 2);
}

// ------------------------------------------------------------------------------------------------ describe

TEST_F(SkiffTest, DescribeShowsSpecStatusAndEvents) {
  apply("desc-pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: desc-pod\n  labels:\n    app: desc\nspec:\n"
        "  containers:\n  - name: c\n    image: busybox\n");
  Json pod = json_of({"get", "pod", "desc-pod"});
  std::string uid = pod["metadata"]["uid"];
  apply("desc-event.yaml",
        "apiVersion: v1\nkind: Event\nmetadata:\n  name: desc-pod.1\ninvolvedObject:\n  kind: Pod\n"
        "  name: desc-pod\n  namespace: default\n  uid: " +
            uid +
            "\nreason: FailedScheduling\nmessage: no nodes available\ntype: Warning\n"
            "source:\n  component: test-scheduler\n");
  auto r = skiff({"describe", "pod", "desc-pod"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches(r.out, R"(Name:\s+desc-pod\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Namespace:\s+default\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Labels:\s+app=desc\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Image:\s+busybox\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Phase:\s+Pending\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Warning\s+FailedScheduling\s+\S+\s+test-scheduler\s+no nodes available)")) << r.out;

  apply("desc-deploy.yaml", deployment_yaml("desc-deploy"));
  r = skiff({"describe", "deployment/desc-deploy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches(r.out, R"(Replicas:\s+3 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable\n)"))
      << r.out;
  EXPECT_TRUE(matches(r.out, R"(Events:\s+<none>\n)")) << r.out;
  r = skiff({"describe", "cm", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Error from server (NotFound): configmaps \"nope\" not found")) << r.err;
}

// ------------------------------------------------------------------------------------------------ delete

TEST_F(SkiffTest, DeleteByNameFileAndSelector) {
  apply("del.yaml", configmap_yaml("del-a") + "---\n" + configmap_yaml("del-b"));
  auto r = skiff({"delete", "configmap", "del-a"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap \"del-a\" deleted\n");
  r = skiff({"delete", "configmap", "del-a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Error from server (NotFound): configmaps \"del-a\" not found")) << r.err;
  EXPECT_EQ(skiff({"delete", "configmap", "del-a", "--ignore-not-found"}).exit_code, 0);
  r = skiff({"delete", "-f", cluster_->work_dir() + "/del.yaml", "--ignore-not-found"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap \"del-b\" deleted\n");

  apply("del-sel.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: del-c\n  labels:\n    purge: \"yes\"\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: del-d\n  labels:\n    purge: \"yes\"\n");
  r = skiff({"delete", "cm", "-l", "purge=yes", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap/del-c\nconfigmap/del-d\n");
  EXPECT_EQ(skiff({"delete", "cm"}).exit_code, 2);  // no name, selector or --all
  apply("del-deploy.yaml", deployment_yaml("del-deploy"));
  r = skiff({"delete", "deploy/del-deploy"});
  EXPECT_EQ(r.out, "deployment.apps \"del-deploy\" deleted\n") << r.err;
}

TEST_F(SkiffTest, DeleteWaitsForFinalizersWithProgress) {
  apply("held.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers:\n  - example.com/hold\n");
  // --timeout gives up (exit 1) while the finalizer holds the object.
  auto r = skiff({"delete", "cm", "held", "--timeout", "1s"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "configmap \"held\" deleted\n");
  EXPECT_TRUE(has(r.err, "waiting for configmap \"held\" to be deleted (finalizers: example.com/hold)")) << r.err;
  EXPECT_TRUE(has(r.err, "timed out waiting for the deletion of configmap \"held\"")) << r.err;
  Json held = json_of({"get", "cm", "held"});
  EXPECT_TRUE(held["metadata"].contains("deletionTimestamp")) << held.dump();

  // A waiting delete returns once a controller removes the finalizer.
  auto bg = background({"delete", "cm", "held", "--timeout", "60s"});
  ASSERT_TRUE(eventually([&] { return has(bg->output(), "waiting for configmap \"held\""); }, std::chrono::seconds(20)))
      << bg->output();
  api_->send("PATCH", "/api/v1/namespaces/default/configmaps/held", {{"metadata", {{"finalizers", nullptr}}}},
             "application/merge-patch+json");
  EXPECT_EQ(bg->wait(), 0) << bg->output();
  EXPECT_EQ(skiff({"get", "cm", "held"}).exit_code, 1);

  // --wait=false returns at once.
  apply("held2.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held2\n  finalizers:\n  - example.com/hold\n");
  r = skiff({"delete", "cm", "held2", "--wait=false"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  api_->send("PATCH", "/api/v1/namespaces/default/configmaps/held2", {{"metadata", {{"finalizers", nullptr}}}},
             "application/merge-patch+json");
}

// ------------------------------------------------------------------------------------------------ scale, rollout

TEST_F(SkiffTest, ScaleThroughTheScaleSubresource) {
  apply("scaled.yaml", deployment_yaml("scaled"));
  auto r = skiff({"scale", "deploy/scaled", "--replicas=5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/scaled scaled\n");
  EXPECT_EQ(json_of({"get", "deploy", "scaled"})["spec"]["replicas"], 5);
  Json scale = json_of({"scale", "deployment", "scaled", "--replicas", "2"});
  EXPECT_EQ(scale["kind"], "Scale");
  EXPECT_EQ(scale["spec"]["replicas"], 2);
  r = skiff({"scale", "deploy/missing", "--replicas=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Error from server (NotFound)")) << r.err;
  r = skiff({"scale", "cm/multi-cfg", "--replicas=1"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST_F(SkiffTest, RolloutStatusFollowsTheStatusSubresource) {
  apply("ro.yaml", deployment_yaml("ro"));
  Json d = json_of({"get", "deploy", "ro"});
  auto generation = d["metadata"]["generation"].get<int>();
  auto set_status = [&](int observed, int updated, int total, int available) {
    api_->send("PATCH", deployments() + "ro/status",
               {{"status",
                 {{"observedGeneration", observed},
                  {"replicas", total},
                  {"updatedReplicas", updated},
                  {"readyReplicas", available},
                  {"availableReplicas", available}}}},
               "application/merge-patch+json");
  };
  auto r = skiff({"rollout", "status", "deployment/ro", "--watch=false"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Waiting for deployment spec update to be observed...\n");

  set_status(generation, 3, 3, 1);
  r = skiff({"rollout", "status", "deployment/ro", "--watch=false"});
  EXPECT_EQ(r.out, "Waiting for deployment \"ro\" rollout to finish: 1 of 3 updated replicas are available...\n");
  r = skiff({"rollout", "status", "deploy/ro", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "timed out waiting for deployment \"ro\" to roll out")) << r.err;

  auto bg = background({"rollout", "status", "deploy/ro", "--timeout", "60s"});
  ASSERT_TRUE(
      eventually([&] { return has(bg->output(), "1 of 3 updated replicas are available"); }, std::chrono::seconds(20)))
      << bg->output();
  set_status(generation, 3, 3, 2);
  ASSERT_TRUE(
      eventually([&] { return has(bg->output(), "2 of 3 updated replicas are available"); }, std::chrono::seconds(20)))
      << bg->output();
  set_status(generation, 3, 3, 3);
  EXPECT_EQ(bg->wait(), 0) << bg->output();
  EXPECT_EQ(bg->output(),
            "Waiting for deployment \"ro\" rollout to finish: 1 of 3 updated replicas are available...\n"
            "Waiting for deployment \"ro\" rollout to finish: 2 of 3 updated replicas are available...\n"
            "deployment \"ro\" successfully rolled out\n");

  // A rollout past its deadline fails.
  api_->send(
      "PATCH", deployments() + "ro/status",
      {{"status",
        {{"availableReplicas", 1},
         {"conditions", {{{"type", "Progressing"}, {"status", "False"}, {"reason", "ProgressDeadlineExceeded"}}}}}}},
      "application/merge-patch+json");
  r = skiff({"rollout", "status", "deploy/ro"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "deployment \"ro\" exceeded its progress deadline")) << r.err;
  EXPECT_EQ(skiff({"rollout", "status", "cm/multi-cfg"}).exit_code, 1);
}

TEST_F(SkiffTest, RolloutHistoryAndUndoReadReplicaSets) {
  apply("hist.yaml", deployment_yaml("hist", 2, "nginx:1.25"));
  Json d = json_of({"get", "deploy", "hist"});
  auto replicaset = [&](const std::string& name, const std::string& revision, const std::string& image,
                        const std::string& cause) {
    Json tmpl = d["spec"]["template"];
    tmpl["metadata"]["labels"]["pod-template-hash"] = name;
    tmpl["spec"]["containers"][0]["image"] = image;
    Json rs = {{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"metadata",
                {{"name", name},
                 {"labels", {{"app", "hist"}, {"pod-template-hash", name}}},
                 {"annotations", {{"deployment.kubernetes.io/revision", revision}}},
                 {"ownerReferences",
                  {{{"apiVersion", "apps/v1"},
                    {"kind", "Deployment"},
                    {"name", "hist"},
                    {"uid", d["metadata"]["uid"]},
                    {"controller", true}}}}}},
               {"spec",
                {{"replicas", 0},
                 {"selector", {{"matchLabels", {{"app", "hist"}, {"pod-template-hash", name}}}}},
                 {"template", tmpl}}}};
    if (!cause.empty()) rs["metadata"]["annotations"]["kubernetes.io/change-cause"] = cause;
    api_->send("POST", "/apis/apps/v1/namespaces/default/replicasets", rs);
  };
  replicaset("hist-1", "1", "nginx:1.24", "");
  replicaset("hist-2", "2", "nginx:1.25", "image bumped to 1.25");

  auto r = skiff({"rollout", "history", "deployment/hist"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(
      matches(r.out, R"(^deployment.apps/hist\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+image bumped to 1.25\n$)"))
      << r.out;
  r = skiff({"rollout", "history", "deploy/hist", "--revision", "1"});
  EXPECT_TRUE(has(r.out, "with revision #1") && has(r.out, "image: nginx:1.24")) << r.out;
  Json revisions = json_of({"rollout", "history", "deploy/hist"});
  ASSERT_EQ(revisions["items"].size(), 2u) << revisions.dump();

  r = skiff({"rollout", "undo", "deploy/hist", "--to-revision", "9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "unable to find specified revision 9 in history")) << r.err;
  r = skiff({"rollout", "undo", "deploy/hist", "--to-revision", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "skipped rollback (current template already matches revision 2)")) << r.out;
  r = skiff({"rollout", "undo", "deploy/hist"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/hist rolled back\n");
  Json after = json_of({"get", "deploy", "hist"});
  EXPECT_EQ(after["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.24");
  EXPECT_FALSE(after["spec"]["template"]["metadata"]["labels"].contains("pod-template-hash"));
}

TEST_F(SkiffTest, RolloutRestartStampsTheTemplate) {
  apply("restarted.yaml", deployment_yaml("restarted"));
  auto r = skiff({"rollout", "restart", "deployment/restarted"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/restarted restarted\n");
  Json d = json_of({"get", "deploy", "restarted"});
  std::string stamp = d["spec"]["template"]["metadata"]["annotations"].value("kubectl.kubernetes.io/restartedAt", "");
  EXPECT_TRUE(matches(stamp, R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$)")) << stamp;
  EXPECT_EQ(skiff({"rollout", "restart", "cm/multi-cfg"}).exit_code, 1);
}

// ------------------------------------------------------------------------------------------------ logs

TEST_F(SkiffTest, LogsPrintTheServersMessage) {
  apply("logs-pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: logs-pod\nspec:\n  containers:\n"
        "  - name: a\n    image: busybox\n  - name: b\n    image: busybox\n");
  // No node runs the pod (this cluster has no agent), so the server's answer is the error.
  auto r = skiff({"logs", "logs-pod", "-c", "b", "--tail", "5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Error from server (BadRequest): container \"b\" in pod \"logs-pod\" is waiting to start"))
      << r.err;
  r = skiff({"logs", "pod/logs-pod", "-f"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Defaulted container \"a\" out of: a, b")) << r.err;
  r = skiff({"logs", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Error from server (NotFound): pods \"nope\" not found")) << r.err;
  EXPECT_EQ(skiff({"logs"}).exit_code, 2);
  EXPECT_EQ(skiff({"logs", "deploy/x"}).exit_code, 1);
}

// ------------------------------------------------------------------------------------------------ cluster status

TEST_F(SkiffTest, ClusterStatusListsEachCheck) {
  auto r = skiff({"cluster", "status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(
      matches(r.out, "Server:\\s+https://127.0.0.1:" + std::to_string(cluster_->port()) + " \\(context skiff\\)\\n"))
      << r.out;
  EXPECT_TRUE(matches(r.out, R"(Version:\s+v1\.32\.0 \(skiff-[0-9.]+\)\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Store revision:\s+\d+\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(COMPONENT\s+STATUS\s+MESSAGE\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(\nping\s+ok\n)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(\nstore\s+ok\n)")) << r.out;
  Json status = json_of({"cluster", "status"});
  EXPECT_EQ(status["live"], true);
  EXPECT_EQ(status["ready"], true);
  EXPECT_EQ(status["version"]["gitVersion"], "v1.32.0");
  EXPECT_FALSE(status["storeRevision"].get<std::string>().empty());
  bool store = false;
  for (const auto& c : status["checks"])
    if (c["name"] == "store") store = c["status"] == "ok" && c["probes"].size() == 2;
  EXPECT_TRUE(store) << status.dump();
  r = skiff({"cluster", "status", "-o", "yaml"});
  EXPECT_TRUE(has(r.out, "ready: true\n")) << r.out;
}

TEST_F(SkiffTest, UnreachableServerNamesTheUrl) {
  std::string url = "https://127.0.0.1:" + std::to_string(free_port());
  for (std::vector<std::string> args : {std::vector<std::string>{"cluster", "status"}, {"get", "pods"}, {"plugins"}}) {
    args.insert(args.end(), {"--server", url});
    auto r = skiff(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_TRUE(has(r.err, "error: cannot reach the API server at " + url)) << r.err;
  }
}

// ------------------------------------------------------------------------------------------------ plugins

TEST_F(SkiffTest, PluginsFromTheServerAndFromADirectory) {
  auto r = skiff({"plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Plugins loaded by skiffd at https://127.0.0.1:" + std::to_string(cluster_->port()))) << r.out;
  EXPECT_TRUE(matches(r.out, R"(ROLE\s+NAME\s+PLUGIN\s+VERSION\s+ABI\s+SECTION\s+FILE\n)")) << r.out;
  const std::string abi = std::to_string(skiff::plugin::kAbiMajor) + "\\." + std::to_string(skiff::plugin::kAbiMinor);
  EXPECT_TRUE(matches(r.out, R"(skiff\.store\.v1\s+sqlite\s+sqlite\s+\S+\s+)" + abi +
                                 R"(\s+store\.sqlite\s+libskiff-store-sqlite\.so)"))
      << r.out;
  Json remote = json_of({"plugins"});
  EXPECT_TRUE(remote["roles"]["skiff.store.v1"].is_array()) << remote.dump();
  r = skiff({"plugins", "-o", "yaml"});
  EXPECT_TRUE(has(r.out, "skiff.store.v1:")) << r.out;

  // Local mode: a directory, with one file the loader refuses.
  TempDir dir("skiff-plugins");
  fs::copy_file(std::string(SKIFF_TEST_PLUGIN_DIR) + "/libskiff-store-memory.so",
                dir.path() / "libskiff-store-memory.so");
  std::ofstream(dir.path() / "libskiff-bogus.so") << "not an ELF file";
  r = skiff({"plugins", "--plugin-dir", dir.str()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Plugins in " + dir.str())) << r.out;
  EXPECT_TRUE(matches(r.out, R"(skiff\.store\.v1\s+memory\s+memory)")) << r.out;
  EXPECT_TRUE(matches(r.out, R"(Refused:\nFILE\s+REASON\s+MESSAGE\nlibskiff-bogus\.so\s+)")) << r.out;
  Json local = json_of({"plugins", "--plugin-dir", dir.str()});
  EXPECT_EQ(local["plugin_dir"], dir.str());
  EXPECT_EQ(local["refused"].size(), 1u);
  // Without any kubeconfig, the default directory next to the binary.
  TempDir home("skiff-home");
  r = skiff({"plugins"}, {}, {{"KUBECONFIG", ""}, {"HOME", home.str()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Plugins in ")) << r.out;
  EXPECT_TRUE(has(r.out, "sqlite")) << r.out;
  EXPECT_EQ(skiff({"plugins", "--plugin-dir", "/does/not/exist"}).exit_code, 1);
}

// ------------------------------------------------------------------------------------------------ kubeconfig

TEST_F(SkiffTest, KubeconfigFromFlagEnvAndHome) {
  TempDir home("skiff-home");
  fs::create_directories(home.path() / ".kube");
  fs::copy_file(cluster_->kubeconfig(), home.path() / ".kube" / "config");
  auto r = skiff({"get", "ns", "default", "-o", "name"}, {}, {{"KUBECONFIG", ""}, {"HOME", home.str()}});
  EXPECT_EQ(r.out, "namespace/default\n") << r.err;
  r = skiff({"--kubeconfig", cluster_->kubeconfig(), "get", "ns", "default", "-o", "name"}, {},
            {{"KUBECONFIG", "/nowhere"}, {"HOME", "/nowhere"}});
  EXPECT_EQ(r.out, "namespace/default\n") << r.err;
  r = skiff({"get", "ns", "default", "-o", "name"}, {}, {{"KUBECONFIG", "/nowhere:" + cluster_->kubeconfig()}});
  EXPECT_EQ(r.out, "namespace/default\n") << r.err;

  r = skiff({"get", "ns"}, {}, {{"KUBECONFIG", ""}, {"HOME", "/nowhere"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "no kubeconfig found")) << r.err;
  r = skiff({"get", "ns", "--kubeconfig", "/nowhere/kc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "the kubeconfig file \"/nowhere/kc\" does not exist")) << r.err;
  r = skiff({"get", "ns", "--context", "staging"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "context \"staging\" does not exist")) << r.err;
}

TEST_F(SkiffTest, TokenAndTlsOverrides) {
  auto r = skiff({"get", "ns", "--token", "wrong"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "Error from server (Unauthorized)")) << r.err;
  // --server and --token without any kubeconfig; the certificate is then not verifiable.
  std::string url = "https://127.0.0.1:" + std::to_string(cluster_->port());
  std::map<std::string, std::string> no_config = {{"KUBECONFIG", ""}, {"HOME", "/nowhere"}};
  r = skiff({"get", "ns", "default", "-o", "name", "--server", url, "--token", cluster_->token()}, {}, no_config);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "cannot reach the API server at " + url)) << r.err;
  r = skiff({"get", "ns", "default", "-o", "name", "--server", url, "--token", cluster_->token(),
             "--insecure-skip-tls-verify"},
            {}, no_config);
  EXPECT_EQ(r.out, "namespace/default\n") << r.err;

  // A kubeconfig whose CA is another cluster's: the server's certificate is refused.
  TempDir other("skiff-other-ca");
  auto creds = kernel::api::ensure_credentials(other.str(), {"127.0.0.1"});
  ASSERT_TRUE(creds.is_ok());
  std::string kc = other.str() + "/kubeconfig";
  ASSERT_TRUE(kernel::api::write_kubeconfig(kc, url, creds->ca_pem, cluster_->token()).is_ok());
  r = skiff({"get", "ns", "--kubeconfig", kc});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "cannot reach the API server at " + url)) << r.err;
  EXPECT_TRUE(has(r.err, "certificate")) << r.err;
  // With the right CA and tls-server-name, the DNS name in the serving certificate is checked too.
  std::string named = other.str() + "/named";
  std::string text = slurp(cluster_->kubeconfig());
  text = std::regex_replace(text, std::regex("    server: "), "    tls-server-name: localhost\n    server: ");
  std::ofstream(named) << text;
  r = skiff({"get", "ns", "default", "-o", "name", "--kubeconfig", named});
  EXPECT_EQ(r.out, "namespace/default\n") << r.err;
  std::ofstream(named) << std::regex_replace(text, std::regex("tls-server-name: localhost"),
                                             "tls-server-name: evil.example");
  r = skiff({"get", "ns", "--kubeconfig", named});
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

// ------------------------------------------------------------------------------------------------ plain HTTP

TEST(SkiffPlainHttp, WorksWithoutTlsOrToken) {
  Cluster c(false);
  ASSERT_TRUE(c.ready()) << c.log();
  auto r = c.skiff({"get", "namespaces", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "namespace/default\n")) << r.out;
  r = c.skiff({"cluster", "status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "http://127.0.0.1:" + std::to_string(c.port()))) << r.out;
}

}  // namespace
}  // namespace skiff::testing
