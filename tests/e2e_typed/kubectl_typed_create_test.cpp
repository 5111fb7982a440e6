// kubectl's typed-client commands (`kubectl create namespace|configmap|secret|deployment|service|
// job|cronjob|serviceaccount|priorityclass`) send their objects as Kubernetes protobuf; the real
// kubectl against a real skiffd, asserting what kubectl prints and what was stored.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"

namespace skiff::testing {
namespace {

using Json = nlohmann::json;

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
             std::uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(n >> s) & 63u];
  }
  if (i < in.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63u];
    out += kAlphabet[(n >> 12) & 63u];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63u] : '=';
    out += '=';
  }
  return out;
}

class KubectlTypedCreateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new Cluster(true); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(cluster_->ready()) << cluster_->log(); }

  static ProcessResult k(std::vector<std::string> args) { return cluster_->kubectl(std::move(args)); }
  // Runs a create command and checks what kubectl prints.
  static void created(std::vector<std::string> args, const std::string& out) {
    auto r = k(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, out + "\n");
  }
  static Json get_json(std::vector<std::string> args) { return cluster_->kubectl_json(std::move(args)); }

  static Cluster* cluster_;
};
Cluster* KubectlTypedCreateTest::cluster_ = nullptr;

TEST_F(KubectlTypedCreateTest, TheBodyReallyIsProtobuf) {
  // -v=8 logs the request headers: this guards the premise of the whole suite.
  auto r = k({"create", "namespace", "proto-check", "-v=8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "namespace/proto-check created\n");
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(POST https://\S+/api/v1/namespaces\?)"))) << r.err;
  EXPECT_NE(r.err.find("Content-Type: application/vnd.kubernetes.protobuf"), std::string::npos) << r.err;
}

TEST_F(KubectlTypedCreateTest, Namespace) {
  created({"create", "namespace", "team-a"}, "namespace/team-a created");
  Json ns = get_json({"get", "namespace", "team-a"});
  EXPECT_EQ(ns["status"]["phase"], "Active");
  EXPECT_EQ(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
  EXPECT_TRUE(ns["metadata"]["creationTimestamp"].is_string()) << ns.dump();
  auto r = k({"get", "namespaces"});
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(team-a\s+Active\s+)"))) << r.out;
}

TEST_F(KubectlTypedCreateTest, ConfigMapFromLiteralsAndFiles) {
  auto file = cluster_->write("app.properties", "color=blue\nsize=2\n");
  auto other = cluster_->write("other.json", "{\"k\": 1}\n");
  created({"create", "configmap", "x", "--from-literal=a=b", "--from-literal=empty=", "--from-file=" + file,
           "--from-file=renamed.json=" + other},
          "configmap/x created");
  Json cm = get_json({"get", "configmap", "x"});
  EXPECT_EQ(
      cm["data"],
      Json({{"a", "b"}, {"empty", ""}, {"app.properties", "color=blue\nsize=2\n"}, {"renamed.json", "{\"k\": 1}\n"}}))
      << cm.dump();
  EXPECT_FALSE(cm.contains("binaryData"));
  // A file that is not UTF-8 goes to binaryData, base64.
  auto bin = cluster_->write("blob.bin", std::string("\x00\xff\xfe\x01", 4));
  created({"create", "configmap", "bin", "--from-file=" + bin}, "configmap/bin created");
  cm = get_json({"get", "configmap", "bin"});
  EXPECT_EQ(cm["binaryData"]["blob.bin"], "AP/+AQ==") << cm.dump();
}

TEST_F(KubectlTypedCreateTest, SecretGeneric) {
  auto file = cluster_->write("token.txt", "s3cr3t\n");
  created({"create", "secret", "generic", "creds", "--from-literal=user=admin", "--from-file=" + file,
           "--type=example.com/custom"},
          "secret/creds created");
  Json s = get_json({"get", "secret", "creds"});
  EXPECT_EQ(s["type"], "example.com/custom");
  EXPECT_EQ(s["data"]["user"], base64("admin"));
  EXPECT_EQ(s["data"]["token.txt"], base64("s3cr3t\n"));
  created({"create", "secret", "generic", "plain", "--from-literal=k=v"}, "secret/plain created");
  EXPECT_EQ(get_json({"get", "secret", "plain"})["type"], "Opaque");
}

TEST_F(KubectlTypedCreateTest, SecretTls) {
  auto key = cluster_->work_dir() + "/tls.key";
  auto crt = cluster_->work_dir() + "/tls.crt";
  auto gen = run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                          "-days", "1", "-subj", "/CN=skiff.test"});
  if (gen.exit_code != 0) GTEST_SKIP() << "openssl is needed to make a key pair: " << gen.err;
  created({"create", "secret", "tls", "web-tls", "--cert=" + crt, "--key=" + key}, "secret/web-tls created");
  Json s = get_json({"get", "secret", "web-tls"});
  EXPECT_EQ(s["type"], "kubernetes.io/tls");
  std::ifstream in(crt);
  std::string pem((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(s["data"]["tls.crt"], base64(pem));
  EXPECT_TRUE(s["data"].contains("tls.key"));
}

TEST_F(KubectlTypedCreateTest, SecretDockerRegistry) {
  created({"create", "secret", "docker-registry", "regcred", "--docker-server=registry.example", "--docker-username=u",
           "--docker-password=p", "--docker-email=u@example.com"},
          "secret/regcred created");
  Json s = get_json({"get", "secret", "regcred"});
  EXPECT_EQ(s["type"], "kubernetes.io/dockerconfigjson");
  auto r = k({"get", "secret", "regcred", "-o", "jsonpath={.data.\\.dockerconfigjson}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto decoded = run_process({"base64", "-d"}, {}, std::chrono::seconds(10), r.out);
  Json config = Json::parse(decoded.out, nullptr, false);
  EXPECT_EQ(config["auths"]["registry.example"]["username"], "u") << decoded.out;
  EXPECT_EQ(config["auths"]["registry.example"]["auth"], base64("u:p")) << decoded.out;
}

TEST_F(KubectlTypedCreateTest, Deployment) {
  created({"create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80"},
          "deployment.apps/web created");
  Json d = get_json({"get", "deployment", "web"});
  EXPECT_EQ(d["metadata"]["labels"], Json({{"app", "web"}}));
  EXPECT_EQ(d["spec"]["replicas"], 3);
  EXPECT_EQ(d["spec"]["selector"]["matchLabels"], Json({{"app", "web"}}));
  const Json& c = d["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(c.size(), 1u) << d.dump();
  EXPECT_EQ(c[0]["name"], "nginx");
  EXPECT_EQ(c[0]["image"], "nginx:1.25");
  EXPECT_EQ(c[0]["ports"], Json::parse(R"([{"containerPort":80,"protocol":"TCP"}])"));
  // Defaults were applied as for a JSON body.
  EXPECT_EQ(d["spec"]["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(c[0]["imagePullPolicy"], "IfNotPresent");

  // replicas is a pointer in Go: an explicit 0 survives the protobuf trip instead of defaulting to 1.
  created({"create", "deployment", "idle", "--image=nginx", "--replicas=0"}, "deployment.apps/idle created");
  EXPECT_EQ(get_json({"get", "deployment", "idle"})["spec"]["replicas"], 0);
  created({"create", "deployment", "pair", "--image=nginx", "--image=redis:7"}, "deployment.apps/pair created");
  Json pair = get_json({"get", "deployment", "pair"});
  EXPECT_EQ(pair["spec"]["replicas"], 1);
  EXPECT_EQ(pair["spec"]["template"]["spec"]["containers"][1]["image"], "redis:7");
  EXPECT_EQ(pair["spec"]["template"]["spec"]["containers"][1]["name"], "redis");
}

TEST_F(KubectlTypedCreateTest, Services) {
  created({"create", "service", "clusterip", "api", "--tcp=80:8080", "--tcp=443:https"}, "service/api created");
  Json svc = get_json({"get", "service", "api"});
  EXPECT_EQ(svc["spec"]["type"], "ClusterIP");
  EXPECT_EQ(svc["spec"]["selector"], Json({{"app", "api"}}));
  EXPECT_EQ(svc["spec"]["ports"], Json::parse(R"([{"name":"80-8080","port":80,"protocol":"TCP","targetPort":8080},
                            {"name":"443-https","port":443,"protocol":"TCP","targetPort":"https"}])"))
      << svc.dump();

  created({"create", "service", "nodeport", "edge", "--tcp=80:8080", "--node-port=30080"}, "service/edge created");
  svc = get_json({"get", "service", "edge"});
  EXPECT_EQ(svc["spec"]["type"], "NodePort");
  EXPECT_EQ(svc["spec"]["ports"][0]["nodePort"], 30080);
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"], 8080);

  created({"create", "service", "clusterip", "headless", "--clusterip=None"}, "service/headless created");
  EXPECT_EQ(get_json({"get", "service", "headless"})["spec"]["clusterIP"], "None");
  created({"create", "service", "externalname", "db", "--external-name=db.example.com"}, "service/db created");
  svc = get_json({"get", "service", "db"});
  EXPECT_EQ(svc["spec"]["type"], "ExternalName");
  EXPECT_EQ(svc["spec"]["externalName"], "db.example.com");
}

TEST_F(KubectlTypedCreateTest, JobAndCronJob) {
  created({"create", "job", "once", "--image=busybox", "--", "echo", "hi"}, "job.batch/once created");
  Json job = get_json({"get", "job", "once"});
  const Json& spec = job["spec"]["template"]["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["containers"][0]["image"], "busybox");
  EXPECT_EQ(spec["containers"][0]["command"], Json::parse(R"(["echo","hi"])"));

  created({"create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"},
          "cronjob.batch/tick created");
  Json cj = get_json({"get", "cronjob", "tick"});
  EXPECT_EQ(cj["spec"]["schedule"], "*/5 * * * *");
  const Json& tmpl = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  EXPECT_EQ(tmpl["restartPolicy"], "OnFailure");
  EXPECT_EQ(tmpl["containers"][0]["command"], Json::parse(R"(["date"])"));

  // A Job from the CronJob's template, owned by it.
  created({"create", "job", "manual", "--from=cronjob/tick"}, "job.batch/manual created");
  Json manual = get_json({"get", "job", "manual"});
  EXPECT_EQ(manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual");
  EXPECT_EQ(manual["metadata"]["ownerReferences"][0]["kind"], "CronJob");
  EXPECT_EQ(manual["metadata"]["ownerReferences"][0]["uid"], cj["metadata"]["uid"]);
  EXPECT_EQ(manual["metadata"]["ownerReferences"][0]["controller"], true);
}

TEST_F(KubectlTypedCreateTest, ServiceAccountAndPriorityClass) {
  created({"create", "serviceaccount", "robot"}, "serviceaccount/robot created");
  EXPECT_EQ(get_json({"get", "serviceaccount", "robot"})["metadata"]["name"], "robot");

  created({"create", "priorityclass", "high", "--value=1000", "--description=important things"},
          "priorityclass.scheduling.k8s.io/high created");
  Json pc = get_json({"get", "priorityclass", "high"});
  EXPECT_EQ(pc["value"], 1000);
  EXPECT_EQ(pc["description"], "important things");
  EXPECT_EQ(pc["preemptionPolicy"], "PreemptLowerPriority");
  EXPECT_FALSE(pc.value("globalDefault", false));
  created({"create", "priorityclass", "zero", "--value=0", "--preemption-policy=Never"},
          "priorityclass.scheduling.k8s.io/zero created");
  pc = get_json({"get", "priorityclass", "zero"});
  EXPECT_EQ(pc["value"], 0);  // no omitempty on value
  EXPECT_EQ(pc["preemptionPolicy"], "Never");
}

TEST_F(KubectlTypedCreateTest, ErrorsAndDryRunOverProtobuf) {
  created({"create", "configmap", "dup", "--from-literal=a=1"}, "configmap/dup created");
  auto r = k({"create", "configmap", "dup", "--from-literal=a=2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("configmaps \"dup\" already exists"), std::string::npos) << r.err;
  EXPECT_EQ(get_json({"get", "configmap", "dup"})["data"]["a"], "1");

  r = k({"create", "deployment", "Bad_Name", "--image=nginx"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is invalid: metadata.name"), std::string::npos) << r.err;

  created({"create", "namespace", "dry", "--dry-run=server"}, "namespace/dry created (server dry run)");
  EXPECT_EQ(k({"get", "namespace", "dry"}).exit_code, 1);
}

// What the handler answers for protobuf bodies kubectl would not send: a kind without a schema (415)
// and a malformed object (400 naming the byte offset).
TEST_F(KubectlTypedCreateTest, SchemalessAndMalformedProtobufBodies) {
  created({"create", "deployment", "scaled", "--image=nginx"}, "deployment.apps/scaled created");
  auto envelope = [](std::string_view api_version, std::string_view kind, std::string_view raw) {
    std::string tm = "\x0a" + std::string(1, char(api_version.size())) + std::string(api_version) + "\x12" +
                     std::string(1, char(kind.size())) + std::string(kind);
    return std::string("k8s\0", 4) + "\x0a" + std::string(1, char(tm.size())) + tm + "\x12" +
           std::string(1, char(raw.size())) + std::string(raw);
  };
  std::ifstream token_file(cluster_->data_dir() + "/admin-token");
  std::string token;
  token_file >> token;
  auto post = [&](const std::string& method, const std::string& path, const std::string& body) {
    auto file = cluster_->write("body.pb", body);
    return run_process({"curl", "-sS", "--cacert", cluster_->data_dir() + "/pki/ca.crt", "-H",
                        "Authorization: Bearer " + token, "-H", "Content-Type: application/vnd.kubernetes.protobuf",
                        "-X", method, "--data-binary", "@" + file, "-w", "\n%{http_code}",
                        "https://127.0.0.1:" + std::to_string(cluster_->port()) + path});
  };
  auto r = post("PUT", "/apis/apps/v1/namespaces/default/deployments/scaled/scale",
                envelope("autoscaling/v1", "Scale", std::string("\x12\x02\x08\x05", 4)));
  EXPECT_TRUE(r.out.ends_with("\n415")) << r.out << r.err;
  EXPECT_NE(r.out.find("the body of the request was in an unknown format"), std::string::npos) << r.out;

  // metadata (field 1): 5 bytes promised, 2 sent.
  const std::string bad = envelope("v1", "ConfigMap", std::string("\x0a\x05", 2) + "ab");
  r = post("POST", "/api/v1/namespaces/default/configmaps", bad);
  EXPECT_TRUE(r.out.ends_with("\n400")) << r.out << r.err;
  EXPECT_NE(r.out.find("the protobuf body is malformed: length 5 runs past the end of its message (2 bytes left) "
                       "at byte " +
                       std::to_string(bad.size() - 3) + " (in the object)"),
            std::string::npos)
      << r.out;
}

// Commands that build their objects client-side but send JSON: they keep working alongside.
TEST_F(KubectlTypedCreateTest, RunAndExposeStillSendJson) {
  created({"run", "solo", "--image=nginx", "--port=80", "--labels=app=solo"}, "pod/solo created");
  Json pod = get_json({"get", "pod", "solo"});
  EXPECT_EQ(pod["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
  created({"create", "deployment", "exposed", "--image=nginx", "--port=80"}, "deployment.apps/exposed created");
  created({"expose", "deployment", "exposed", "--port=80", "--target-port=8080", "--name=exposed-svc"},
          "service/exposed-svc exposed");
  Json svc = get_json({"get", "service", "exposed-svc"});
  EXPECT_EQ(svc["spec"]["selector"], Json({{"app", "exposed"}}));
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"], 8080);
}

}  // namespace
}  // namespace skiff::testing
