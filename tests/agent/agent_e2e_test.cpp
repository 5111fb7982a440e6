// The agent inside the real skiffd (`--agent.runtime=sim`), driven by the real kubectl: the node
// registers Ready, a pod bound to it runs, and `kubectl get` shows what the kubelet would.
#include <gtest/gtest.h>

#include "tests/support/cluster.hpp"

namespace skiff::testing {
namespace {

TEST(AgentE2E, SimulatedNodeRunsAPodBoundToIt) {
  Cluster cluster(true, {}, {"--agent.runtime=sim", "--agent.node-name=laptop", "--agent.heartbeat-interval-ms=500"});
  ASSERT_TRUE(cluster.ready()) << cluster.log();
  auto nodes = cluster.kubectl({"get", "nodes"});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.err;
  EXPECT_NE(nodes.out.find("laptop   Ready"), std::string::npos) << nodes.out;

  std::string manifest = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: laptop
  containers:
  - name: web
    image: nginx:1.25
)";
  auto applied = cluster.kubectl({"apply", "-f", "-"}, manifest);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  auto waited = cluster.kubectl({"wait", "--for=condition=Ready", "pod/web", "--timeout=30s"});
  ASSERT_EQ(waited.exit_code, 0) << waited.err << cluster.log();
  auto pod = cluster.kubectl_json({"get", "pod", "web"});
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["ready"], true);
  EXPECT_FALSE(pod["status"].value("podIP", "").empty());

  // The heartbeat renews the node's Lease.
  auto lease = cluster.kubectl_json({"get", "lease", "laptop", "-n", "kube-node-lease"});
  EXPECT_EQ(lease["spec"]["holderIdentity"], "laptop");

  auto deleted = cluster.kubectl({"delete", "pod", "web", "--wait=true", "--timeout=30s"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

TEST(AgentE2E, AnUnknownRuntimeIsAConfigErrorNamingTheKey) {
  Cluster cluster(true, {}, {"--agent.runtime=nosuch"});
  EXPECT_FALSE(cluster.ready());
  EXPECT_NE(cluster.log().find("agent.runtime: no runtime plugin named 'nosuch' (loaded: runc, sim)"), std::string::npos)
      << cluster.log();
}

}  // namespace
}  // namespace skiff::testing
