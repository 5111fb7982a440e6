// Kubeconfig reading: the file skiffd writes, kubectl's merge and override rules, and the errors.
#include "cli/skiff/kubeconfig.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/skiff/errors.hpp"
#include "kernel/api/pki.hpp"
#include "tests/support/test_support.hpp"

namespace skiff::cli {
namespace {

using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The message of the Failure `f` throws.
template <class F>
std::string failure_of(F&& f) {
  try {
    f();
  } catch (const Failure& e) {
    return e.what();
  }
  return "(no Failure was thrown)";
}

constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    tls-server-name: api.prod.example
- name: dev
  cluster:
    server: http://127.0.0.1:8080
    insecure-skip-tls-verify: true
users:
- name: alice
  user:
    token: alice-token
- name: nobody
  user: {}
contexts:
- name: prod
  context:
    cluster: prod
    user: alice
    namespace: shop
- name: dev
  context:
    cluster: dev
    user: nobody
current-context: prod
)";

TEST(Kubeconfig, ReadsWhatSkiffdWrites) {
  TempDir dir("skiff-kc");
  std::string path = dir.str() + "/kubeconfig";
  const std::string ca = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
  ASSERT_TRUE(kernel::api::write_kubeconfig(path, "https://127.0.0.1:6443", ca, "s3cret").is_ok());
  Kubeconfig kc = parse_kubeconfig(slurp(path), path, dir.str());
  EXPECT_EQ(kc.current_context, "skiff");
  ClusterConfig c = resolve_cluster(kc, {});
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, ca);  // certificate-authority-data decoded
  EXPECT_EQ(c.token, "s3cret");
  EXPECT_EQ(c.ns, "default");
  EXPECT_FALSE(c.ns_from_flag);
  EXPECT_EQ(c.context, "skiff");
  EXPECT_FALSE(c.insecure);
}

TEST(Kubeconfig, PlainHttpKubeconfigHasNoCaAndNoToken) {
  TempDir dir("skiff-kc");
  std::string path = dir.str() + "/kubeconfig";
  ASSERT_TRUE(kernel::api::write_kubeconfig(path, "http://127.0.0.1:6443", "", "").is_ok());
  ClusterConfig c = resolve_cluster(parse_kubeconfig(slurp(path), path, dir.str()), {});
  EXPECT_EQ(c.server, "http://127.0.0.1:6443");
  EXPECT_TRUE(c.ca_pem.empty());
  EXPECT_TRUE(c.token.empty());
}

TEST(Kubeconfig, CurrentContextPicksClusterUserAndNamespace) {
  ClusterConfig c = resolve_cluster(parse_kubeconfig(kTwoContexts, "kc", ""), {});
  EXPECT_EQ(c.server, "https://prod.example:6443");
  EXPECT_EQ(c.tls_server_name, "api.prod.example");
  EXPECT_EQ(c.token, "alice-token");
  EXPECT_EQ(c.ns, "shop");
  EXPECT_EQ(c.context, "prod");
}

TEST(Kubeconfig, FlagsOverrideTheKubeconfig) {
  Kubeconfig kc = parse_kubeconfig(kTwoContexts, "kc", "");
  ConnectionOverrides o;
  o.context = "dev";
  ClusterConfig dev = resolve_cluster(kc, o);
  EXPECT_EQ(dev.server, "http://127.0.0.1:8080");
  EXPECT_TRUE(dev.insecure);
  EXPECT_EQ(dev.ns, "default");  // the context has none
  EXPECT_TRUE(dev.token.empty());

  o = {};
  o.ns = "team-a";
  o.server = "https://other:443";
  o.token = "t2";
  ClusterConfig c = resolve_cluster(kc, o);
  EXPECT_EQ(c.ns, "team-a");
  EXPECT_TRUE(c.ns_from_flag);
  EXPECT_EQ(c.server, "https://other:443");
  EXPECT_EQ(c.token, "t2");
}

TEST(Kubeconfig, InsecureFlagDropsTheCa) {
  TempDir dir("skiff-kc");
  std::string path = dir.str() + "/kubeconfig";
  ASSERT_TRUE(kernel::api::write_kubeconfig(path, "https://127.0.0.1:6443", "PEM", "t").is_ok());
  ConnectionOverrides o;
  o.insecure = true;
  ClusterConfig c = resolve_cluster(parse_kubeconfig(slurp(path), path, dir.str()), o);
  EXPECT_TRUE(c.insecure);
  EXPECT_TRUE(c.ca_pem.empty());
}

TEST(Kubeconfig, ServerFlagWorksWithoutAnyKubeconfig) {
  ConnectionOverrides o;
  o.server = "http://127.0.0.1:1";
  ClusterConfig c = resolve_cluster(Kubeconfig{}, o);
  EXPECT_EQ(c.server, "http://127.0.0.1:1");
  EXPECT_EQ(c.ns, "default");
}

TEST(Kubeconfig, ErrorsNameWhatIsMissing) {
  Kubeconfig kc = parse_kubeconfig(kTwoContexts, "kc", "");
  ConnectionOverrides o;
  o.context = "staging";
  EXPECT_NE(failure_of([&] { resolve_cluster(kc, o); }).find("context \"staging\" does not exist"), std::string::npos);
  Kubeconfig dangling = parse_kubeconfig(
      "contexts:\n- name: c\n  context:\n    cluster: c\n    user: ghost\nclusters:\n- name: c\n  cluster:\n    "
      "server: "
      "https://x\ncurrent-context: c\n",
      "kc2", "");
  EXPECT_NE(failure_of([&] { resolve_cluster(dangling, {}); }).find("user \"ghost\""), std::string::npos);
  EXPECT_NE(failure_of([&] { resolve_cluster(Kubeconfig{}, {}); }).find("no kubeconfig found"), std::string::npos);
  EXPECT_NE(failure_of([&] { parse_kubeconfig("clusters: [\n", "broken.yaml", ""); }).find("broken.yaml: line "),
            std::string::npos);
  std::string bad_ca = failure_of([&] {
    parse_kubeconfig("clusters:\n- name: x\n  cluster:\n    certificate-authority-data: '%%%'\n", "bad-ca", "");
  });
  EXPECT_NE(bad_ca.find("bad-ca: cluster \"x\": certificate-authority-data is not valid base64"), std::string::npos)
      << bad_ca;
}

TEST(Kubeconfig, FilesAreResolvedRelativeToTheKubeconfig) {
  TempDir dir("skiff-kc");
  std::filesystem::create_directories(dir.path() / "certs");
  std::ofstream(dir.path() / "certs" / "ca.pem") << "CA-PEM";
  std::ofstream(dir.path() / "token") << "file-token\n";
  std::string text =
      "clusters:\n- name: c\n  cluster:\n    server: https://h\n    certificate-authority: certs/ca.pem\n"
      "users:\n- name: u\n  user:\n    tokenFile: token\n"
      "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n";
  ClusterConfig c = resolve_cluster(parse_kubeconfig(text, "kc", dir.str()), {});
  EXPECT_EQ(c.ca_pem, "CA-PEM");
  EXPECT_EQ(c.token, "file-token");
}

TEST(Kubeconfig, MergeKeepsTheFirstDefinition) {
  Kubeconfig first = parse_kubeconfig(
      "clusters:\n- name: c\n  cluster: {server: https://first}\ncontexts:\n- name: c\n  context: {cluster: c}\n", "a",
      "");
  Kubeconfig second = parse_kubeconfig(
      "clusters:\n- name: c\n  cluster: {server: https://second}\n- name: d\n  cluster: {server: https://d}\n"
      "contexts:\n- name: c\n  context: {cluster: d}\ncurrent-context: c\n",
      "b", "");
  merge_kubeconfig(first, second);
  EXPECT_EQ(first.current_context, "c");  // the first non-empty one
  ClusterConfig c = resolve_cluster(first, {});
  EXPECT_EQ(c.server, "https://first");
  EXPECT_EQ(first.files, (std::vector<std::string>{"a", "b"}));
}

TEST(Kubeconfig, WhichFilesAreRead) {
  ConnectionOverrides o;
  auto files = kubeconfig_files(o, nullptr, "/home/u");
  EXPECT_EQ(files.paths, (std::vector<std::string>{"/home/u/.kube/config"}));
  EXPECT_FALSE(files.explicit_file);
  files = kubeconfig_files(o, "/a:/b::/c", "/home/u");
  EXPECT_EQ(files.paths, (std::vector<std::string>{"/a", "/b", "/c"}));
  files = kubeconfig_files(o, "", "/home/u");
  EXPECT_EQ(files.paths, (std::vector<std::string>{"/home/u/.kube/config"}));
  o.kubeconfig = "/x/kc";
  files = kubeconfig_files(o, "/a", "/home/u");
  EXPECT_EQ(files.paths, (std::vector<std::string>{"/x/kc"}));
  EXPECT_TRUE(files.explicit_file);
  EXPECT_THROW(load_kubeconfig(files), Failure);  // an explicit file must exist
  files.explicit_file = false;
  EXPECT_TRUE(load_kubeconfig(files).files.empty());  // a missing $KUBECONFIG entry is skipped
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVsbG8"), "hello");
  EXPECT_EQ(base64_decode("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("a"));
  EXPECT_FALSE(base64_decode("aGVs*G8h"));
  EXPECT_FALSE(base64_decode("aG==VsbG8"));
}

}  // namespace
}  // namespace skiff::cli
