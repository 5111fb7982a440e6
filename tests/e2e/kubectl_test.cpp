// The real kubectl on this machine against a real skiffd (HTTPS, bearer token, SQLite store).
// Asserts exit codes and what kubectl prints. Commands that need controllers or the node agent
// (rollout status, logs, exec, drain) join when those parts land.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "skiff/plugin/abi.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
)";

class KubectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new Cluster(true); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(cluster_->ready()) << cluster_->log(); }

  static ProcessResult k(std::vector<std::string> args, const std::string& input = {}) { return cluster_->kubectl(std::move(args), input); }
  static Json get_json(std::vector<std::string> args) { return cluster_->kubectl_json(std::move(args)); }

  static Cluster* cluster_;
};
Cluster* KubectlTest::cluster_ = nullptr;

TEST_F(KubectlTest, VersionReportsServer132) {
  auto r = k({"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Server Version: v1.32.0"), std::string::npos) << r.out;
}

TEST_F(KubectlTest, GetNamespacesShowsTheBuiltinOnes) {
  auto r = k({"get", "namespaces"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(NAME\s+STATUS\s+AGE)"))) << r.out;
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string(ns) + R"(\s+Active\s+\d+)"))) << r.out;
}


// As on any Kubernetes cluster, `default` holds the `kubernetes` Service for the API server, its
// Endpoints naming the address and port skiffd listens on.
TEST_F(KubectlTest, TheKubernetesServiceNamesTheApiServer) {
  auto r = k({"get", "services"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443/TCP)"))) << r.out;
  Json ep = get_json({"get", "endpoints", "kubernetes"});
  std::string url = cluster_->kubectl_json({"config", "view", "--raw"})["clusters"][0]["cluster"]["server"];
  std::string port = url.substr(url.rfind(':') + 1);
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["ip"], "127.0.0.1") << ep.dump();
  EXPECT_EQ(std::to_string(ep["subsets"][0]["ports"][0]["port"].get<int>()), port) << ep.dump();
  auto described = k({"describe", "service", "kubernetes"});
  EXPECT_EQ(described.exit_code, 0) << described.err;
  EXPECT_NE(described.out.find("127.0.0.1:" + port), std::string::npos) << described.out;
}
TEST_F(KubectlTest, ApplyCreatesThenIsUnchangedThenConfigures) {
  auto file = cluster_->write("deploy.yaml", kDeployment);
  auto r = k({"apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/nginx created\n");
  r = k({"apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/nginx unchanged\n");

  std::string changed = std::regex_replace(std::string(kDeployment), std::regex("nginx:1.25"), "nginx:1.26");
  changed = std::regex_replace(changed, std::regex("replicas: 3"), "replicas: 4");
  r = k({"apply", "-f", cluster_->write("deploy2.yaml", changed)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/nginx configured\n");
  Json d = get_json({"get", "deployment", "nginx"});
  EXPECT_EQ(d["spec"]["replicas"], 4);
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");
  // Defaults were applied on create.
  EXPECT_EQ(d["spec"]["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
  EXPECT_EQ(d["metadata"]["generation"], 2);

  r = k({"get", "deploy", "nginx", "-o", "name"});
  EXPECT_EQ(r.out, "deployment.apps/nginx\n");
  r = k({"get", "deployments", "-o", "wide"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR)")))
      << r.out;
  // UP-TO-DATE is however far the deployment controller has got (no kubelet: nothing is ready).
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(nginx\s+0/4\s+\d+\s+0\s+\S+\s+nginx\s+nginx:1.26\s+app=nginx)"))) << r.out;
  r = k({"get", "deploy", "nginx", "-o", "yaml"});
  EXPECT_NE(r.out.find("kind: Deployment"), std::string::npos) << r.out;
}

TEST_F(KubectlTest, ServerSideApply) {
  std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"1\"\n";
  auto r = k({"apply", "--server-side", "-f", cluster_->write("ssa.yaml", cm)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap/ssa serverside-applied\n");
  Json got = get_json({"get", "configmap", "ssa", "--show-managed-fields"});
  EXPECT_EQ(got["data"]["a"], "1");
  bool kubectl_manager = false;
  for (const auto& m : got["metadata"]["managedFields"])
    if (m["manager"] == "kubectl" && m["operation"] == "Apply") kubectl_manager = true;
  EXPECT_TRUE(kubectl_manager) << got.dump(2);
}

TEST_F(KubectlTest, CreateTwiceIsAlreadyExists) {
  std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata:\n  k: v\n";
  auto file = cluster_->write("twice.yaml", cm);
  auto r = k({"create", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap/twice created\n");
  r = k({"create", "-f", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Error from server (AlreadyExists): error when creating \"" + file +
                       "\": configmaps \"twice\" already exists"),
            std::string::npos)
      << r.err;
}

TEST_F(KubectlTest, InvalidManifestListsEveryBadField) {
  std::string bad = std::regex_replace(std::string(kDeployment), std::regex("replicas: 3"), "replicas: -1");
  bad = std::regex_replace(bad, std::regex("name: nginx\n  labels"), "name: bad\n  labels");
  bad = std::regex_replace(bad, std::regex("        image: nginx:1.25\n"), "");
  auto r = k({"apply", "-f", cluster_->write("bad.yaml", bad)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is invalid"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.replicas"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.template.spec.containers[0].image"), std::string::npos) << r.err;
  EXPECT_EQ(k({"get", "deploy", "bad"}).exit_code, 1);  // nothing written
}

TEST_F(KubectlTest, StrictValidationNamesTheUnknownField) {
  std::string bad = std::regex_replace(std::string(kDeployment), std::regex("  replicas: 3"), "  replicaz: 3");
  bad = std::regex_replace(bad, std::regex("name: nginx\n  labels"), "name: strict\n  labels");
  auto r = k({"apply", "-f", cluster_->write("strict.yaml", bad)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown field \"spec.replicaz\""), std::string::npos) << r.err;
}

TEST_F(KubectlTest, ScaleLabelAnnotate) {
  std::string d = std::regex_replace(std::string(kDeployment), std::regex("name: nginx\n  labels"), "name: scaled\n  labels");
  ASSERT_EQ(k({"apply", "-f", cluster_->write("scaled.yaml", d)}).exit_code, 0);
  auto r = k({"scale", "deployment/scaled", "--replicas=5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/scaled scaled\n");
  EXPECT_EQ(get_json({"get", "deploy", "scaled"})["spec"]["replicas"], 5);

  r = k({"label", "deployment", "scaled", "tier=web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/scaled labeled\n");
  r = k({"annotate", "deployment", "scaled", "owner=team-a"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/scaled annotated\n");
  Json got = get_json({"get", "deploy", "scaled"});
  EXPECT_EQ(got["metadata"]["labels"]["tier"], "web");
  EXPECT_EQ(got["metadata"]["annotations"]["owner"], "team-a");
  r = k({"get", "deploy", "-l", "tier=web", "-o", "name"});
  EXPECT_EQ(r.out, "deployment.apps/scaled\n");
}

TEST_F(KubectlTest, DeleteByFileAndByNameAndMissing) {
  std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\ndata:\n  k: v\n";
  auto file = cluster_->write("gone.yaml", cm);
  ASSERT_EQ(k({"apply", "-f", file}).exit_code, 0);
  auto r = k({"delete", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap \"gone\" deleted\n");
  ASSERT_EQ(k({"create", "-f", cluster_->write("gone2.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone2\n")})
                .exit_code,
            0);
  r = k({"delete", "configmap", "gone2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configmap \"gone2\" deleted\n");
  r = k({"delete", "configmap", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Error from server (NotFound): configmaps \"nope\" not found"), std::string::npos) << r.err;
}

TEST_F(KubectlTest, PodsAcrossNamespacesWithSelectors) {
  std::string pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n  labels:\n    app: web\nspec:\n  containers:\n"
                    "  - name: c\n    image: busybox\n";
  ASSERT_EQ(k({"apply", "-f", cluster_->write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")})
                .exit_code,
            0);
  ASSERT_EQ(k({"apply", "-f", cluster_->write("p1.yaml", pod)}).exit_code, 0);
  ASSERT_EQ(k({"apply", "-n", "team-a", "-f", cluster_->write("p1.yaml", pod)}).exit_code, 0);
  auto r = k({"get", "pods", "-A", "-l", "app=web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(default\s+p1\s+0/1\s+Pending\s+0\s+)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(team-a\s+p1\s+0/1\s+Pending\s+0\s+)"))) << r.out;
  r = k({"get", "pod", "p1", "-o", "jsonpath={.spec.restartPolicy}/{.spec.dnsPolicy}/{.status.phase}"});
  EXPECT_EQ(r.out, "Always/ClusterFirst/Pending");
  r = k({"describe", "pod", "p1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Name:\s+p1)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Namespace:\s+default)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Image:\s+busybox)"))) << r.out;
  r = k({"get", "events"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(KubectlTest, WatchPrintsNewRows) {
  std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  k: v\n";
  // kubectl prints the header with the first row, so the list must not be empty.
  ASSERT_EQ(k({"apply", "-f", cluster_->write("seen-first.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seen-first\n")})
                .exit_code,
            0);
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", cluster_->kubeconfig(), "get", "configmaps", "-w",
                                   "--request-timeout=0"};
  TempDir out_dir("skiff-watch");
  std::string out_path = (out_dir.path() / "watch.out").string();
  auto watcher = std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{{"HOME", out_dir.str()}},
                                                out_path);
  auto contents = [&] {
    std::ifstream in(out_path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  ASSERT_TRUE(eventually([&] { return contents().find("seen-first") != std::string::npos; }, std::chrono::seconds(20)))
      << contents();
  ASSERT_EQ(k({"apply", "-f", cluster_->write("watched.yaml", cm)}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return std::regex_search(contents(), std::regex(R"(watched\s+1\s+)")); },
                         std::chrono::seconds(20)))
      << contents();
  std::string all = contents();
  EXPECT_EQ(all.find("NAME"), all.rfind("NAME")) << "the header must print once: " << all;
  watcher->stop(SIGTERM);
}

TEST_F(KubectlTest, CordonAndUncordon) {
  std::string node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n";
  ASSERT_EQ(k({"apply", "-f", cluster_->write("node.yaml", node)}).exit_code, 0);
  auto r = k({"cordon", "n1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "node/n1 cordoned\n");
  EXPECT_EQ(get_json({"get", "node", "n1"})["spec"]["unschedulable"], true);
  r = k({"uncordon", "n1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "node/n1 uncordoned\n");
  EXPECT_FALSE(get_json({"get", "node", "n1"})["spec"].contains("unschedulable"));
}

TEST_F(KubectlTest, RolloutRestartPatchesTheTemplate) {
  std::string d = std::regex_replace(std::string(kDeployment), std::regex("name: nginx\n  labels"), "name: restarted\n  labels");
  ASSERT_EQ(k({"apply", "-f", cluster_->write("restarted.yaml", d)}).exit_code, 0);
  auto r = k({"rollout", "restart", "deployment/restarted"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/restarted restarted\n");
  Json got = get_json({"get", "deploy", "restarted"});
  EXPECT_TRUE(got["spec"]["template"]["metadata"]["annotations"].contains("kubectl.kubernetes.io/restartedAt"));
}

TEST_F(KubectlTest, UnknownResourceType) {
  auto r = k({"get", "foo"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the server doesn't have a resource type \"foo\""), std::string::npos) << r.err;
}

TEST_F(KubectlTest, RequestsWithoutTheTokenAreRefused) {
  auto r = run_process({"curl", "-sS", "--cacert", cluster_->data_dir() + "/pki/ca.crt", "-o", "/dev/null", "-w",
                        "%{http_code}", "https://127.0.0.1:" + std::to_string(cluster_->port()) + "/api/v1/pods"});
  EXPECT_EQ(r.out, "401") << r.err;
  r = run_process({"curl", "-sS", "--cacert", cluster_->data_dir() + "/pki/ca.crt",
                   "https://127.0.0.1:" + std::to_string(cluster_->port()) + "/healthz"});
  EXPECT_EQ(r.out, "ok") << r.err;
}

TEST_F(KubectlTest, VerboseHealthAndLoadedPlugins) {
  auto r = k({"get", "--raw", "/readyz?verbose"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[+]ping ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[+]store ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("readyz check passed"), std::string::npos) << r.out;
  r = k({"get", "--raw", "/skiff/v1/plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json plugins = Json::parse(r.out, nullptr, false);
  bool sqlite = false;
  for (const auto& p : plugins["plugins"])
    for (const auto& e : p["exports"])
      if (e["role"] == "skiff.store.v1" && e["name"] == "sqlite")
        sqlite = p["abi"] == std::to_string(skiff::plugin::kAbiMajor) + "." + std::to_string(skiff::plugin::kAbiMinor);
  EXPECT_TRUE(sqlite) << r.out;
}

TEST_F(KubectlTest, MetricsCountRequestsByVerbAndResource) {
  ASSERT_EQ(k({"get", "pods"}).exit_code, 0);
  std::ifstream tok(cluster_->data_dir() + "/admin-token");
  std::string token;
  tok >> token;
  auto r = run_process({"curl", "-sS", "--cacert", cluster_->data_dir() + "/pki/ca.crt", "-H",
                        "Authorization: Bearer " + token,
                        "https://127.0.0.1:" + std::to_string(cluster_->port()) + "/metrics"});
  EXPECT_NE(r.out.find(R"(apiserver_request_total{code="200",resource="pods",verb="list"})"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("apiserver_request_duration_seconds_bucket"), std::string::npos);
}

TEST(KubectlPlainHttp, WorksWhenConfigured) {
  Cluster c(false);
  ASSERT_TRUE(c.ready()) << c.log();
  auto r = c.kubectl({"get", "namespaces", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("namespace/default"), std::string::npos);
  std::ifstream kc(c.kubeconfig());
  std::string text((std::istreambuf_iterator<char>(kc)), {});
  EXPECT_NE(text.find("server: http://127.0.0.1:"), std::string::npos) << text;
}

TEST(KubectlRestart, ObjectsSurviveADaemonRestart) {
  TempDir keep("skiff-restart");
  std::string data = keep.str() + "/data";
  std::string uid;
  {
    Cluster c(true, data);
    ASSERT_TRUE(c.ready()) << c.log();
    ASSERT_EQ(c.kubectl({"create", "-f", c.write("kept.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\ndata:\n  a: b\n")})
                  .exit_code,
              0);
    uid = c.kubectl({"get", "configmap", "kept", "-o", "jsonpath={.metadata.uid}"}).out;
    EXPECT_EQ(c.daemon().stop(SIGTERM), 0) << c.log();
  }
  Cluster again(true, data);
  ASSERT_TRUE(again.ready()) << again.log();
  auto r = again.kubectl({"get", "configmap", "kept", "-o", "jsonpath={.metadata.uid}/{.data.a}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, uid + "/b");
}

}  // namespace
}  // namespace skiff::testing
