// skiffd with the runc runtime (`--agent.runtime=runc`), driven by the real kubectl: a pod applied
// with kubectl is scheduled to the node, runs as a real runc container from an image imported with
// `skiff image import`, reaches Running with an IP from the CNI bridge, serves HTTP to the node,
// logs what it prints, and leaves no veth or process behind once deleted. The node's data plane
// (bridge, veths) is in a network namespace this test creates, with no route out. Needs root.
#include <gtest/gtest.h>

#include "tests/runtime/runc_cluster.hpp"

namespace skiff::testing {
namespace {

namespace fs = std::filesystem;

using nlohmann::json;

TEST(RuncE2E, KubectlAppliedPodRunsInARealContainer) {
  std::string missing = runc_e2e_missing();
  ASSERT_TRUE(missing.empty()) << missing;
  RuncCluster runc("runc-e2e", "10.197.0.0/24");
  ASSERT_EQ(runc.problem(), "");
  Cluster& cluster = runc.cluster();
  const std::string data = runc.data();
  NodeNamespace& node = runc.node();

  TestImage image;
  image.layers.push_back(busybox_layer("served by a skiff pod\n"));
  image.cmd = {"/bin/sh", "-c", "echo hello from the pod; exec /bin/httpd -f -p 80 -h /www"};
  // The image goes into skiffd's store through the CLI, as a user would put it there.
  auto imported = runc.import(image, "skiff.test/web:1");
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

  std::string manifest = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: skiff.test/web:1
    # Runs inside the container (the host has no /www/index.html): Ready waits for it.
    readinessProbe:
      exec:
        command: ["/bin/busybox", "test", "-f", "/www/index.html"]
      periodSeconds: 1
)";
  auto applied = cluster.kubectl({"apply", "-f", "-"}, manifest);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  auto waited = cluster.kubectl({"wait", "--for=condition=Ready", "pod/web", "--timeout=60s"},
                                {}, std::chrono::seconds(90));
  ASSERT_EQ(waited.exit_code, 0) << waited.err << cluster.log();
  auto pod = cluster.kubectl_json({"get", "pod", "web"});
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["spec"]["nodeName"], "box");
  const std::string ip = pod["status"].value("podIP", "");
  EXPECT_TRUE(ip.starts_with("10.197.0.")) << ip;
  const auto& cs = pod["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["ready"], true);
  EXPECT_TRUE(cs.value("imageID", "").starts_with("sha256:")) << cs.dump();

  // The container is real: it answers HTTP from the node's namespace.
  std::string body;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = run_process({"ip", "netns", "exec", node.name, "/bin/busybox", "wget", "-q", "-O", "-",
                              "http://" + ip + "/"},
                             {}, std::chrono::seconds(10));
        body = r.out + r.err;
        return r.exit_code == 0 && r.out == "served by a skiff pod\n";
      },
      std::chrono::seconds(10)))
      << body;
  // Its output is in the CRI log the agent keeps: <data>/pod-logs/<ns>_<pod>_<uid>/<container>/0.log.
  // and `kubectl logs` reads it back through the API and the agent.
  const fs::path log = fs::path(data) / "pod-logs" /
                       ("default_web_" + pod["metadata"].value("uid", "")) / "web" / "0.log";
  std::string logged;
  EXPECT_TRUE(eventually([&] { return (logged = read_all(log)).find(" stdout F hello from the pod\n") != std::string::npos; },
                         std::chrono::seconds(10)))
      << log << ": " << logged;
  auto logs = cluster.kubectl({"logs", "web"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("hello from the pod\n"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find(" stdout F "), std::string::npos) << "the CRI framing is not shown: " << logs.out;
  // kubectl exec runs in the real container (runc exec) over the API's WebSocket.
  auto served = cluster.kubectl({"exec", "web", "--", "cat", "/www/index.html"});
  EXPECT_EQ(served.exit_code, 0) << served.err;
  EXPECT_EQ(served.out, "served by a skiff pod\n");
  // The container's environment has the kubernetes Service's links, as the kubelet gives them.
  json kubernetes = cluster.kubectl_json({"get", "service", "kubernetes", "-n", "default"});
  std::string cluster_ip = kubernetes["spec"].value("clusterIP", "");
  auto env = cluster.kubectl({"exec", "web", "--", "env"});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_FALSE(cluster_ip.empty());
  EXPECT_NE(env.out.find("KUBERNETES_SERVICE_HOST=" + cluster_ip + "\n"), std::string::npos) << env.out;
  EXPECT_NE(env.out.find("KUBERNETES_PORT_443_TCP=tcp://" + cluster_ip + ":443\n"), std::string::npos) << env.out;
  auto failing = cluster.kubectl({"exec", "web", "--", "/bin/sh", "-c", "echo to stderr >&2; exit 3"});
  EXPECT_EQ(failing.exit_code, 3) << failing.err;
  EXPECT_NE(failing.err.find("to stderr\n"), std::string::npos) << failing.err;
  EXPECT_NE(failing.err.find("command terminated with exit code 3"), std::string::npos) << failing.err;
  // stdin (-i): kubectl's piped input reaches the real process, and its end is the process's EOF.
  auto piped = cluster.kubectl({"exec", "-i", "web", "--", "/bin/sh", "-c", "tr a-z A-Z; echo read it all >&2"},
                               "shout this\nand this\n");
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, "SHOUT THIS\nAND THIS\n");
  EXPECT_EQ(piped.err, "read it all\n");
  // A terminal (-it): kubectl at a real terminal of 97 × 31. The shell in the container has a
  // terminal of kubectl's size (kubectl's resize message, applied through runc), reads the typed
  // line, and its exit code comes back.
  auto terminal = cluster.kubectl_in_terminal({"exec", "-it", "web", "--", "/bin/sh"}, 97, 31, "# ",
                                              "tty; stty size; exit 7\r");
  EXPECT_EQ(terminal.exit_code, 7) << terminal.out;
  EXPECT_NE(terminal.out.find("/dev/pts/"), std::string::npos) << terminal.out;
  EXPECT_NE(terminal.out.find("31 97"), std::string::npos) << terminal.out;

  // A failing liveness probe (exec in the real container) stops it; the agent restarts it and counts it.
  std::string sick = R"(apiVersion: v1
kind: Pod
metadata:
  name: sick
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: skiff.test/web:1
    livenessProbe:
      exec:
        command: ["/bin/busybox", "test", "-f", "/www/missing.html"]
      periodSeconds: 1
      failureThreshold: 2
)";
  ASSERT_EQ(cluster.kubectl({"apply", "-f", "-"}, sick).exit_code, 0);
  json sick_pod;
  EXPECT_TRUE(eventually(
      [&] {
        sick_pod = cluster.kubectl_json({"get", "pod", "sick"});
        if (!sick_pod.is_object() || !sick_pod.contains("status")) return false;
        json statuses = sick_pod["status"].value("containerStatuses", json::array());
        return !statuses.empty() && statuses[0].value("restartCount", 0) >= 1;
      },
      std::chrono::seconds(30)))
      << sick_pod.dump() << cluster.log();
  auto events = cluster.kubectl_json({"get", "events"});
  bool unhealthy = false, killing = false;
  for (const auto& e : events.value("items", json::array())) {
    if (e["involvedObject"].value("name", "") != "sick") continue;
    unhealthy = unhealthy || (e.value("reason", "") == "Unhealthy" &&
                              e.value("message", "").starts_with("Liveness probe failed: "));
    killing = killing || (e.value("reason", "") == "Killing" &&
                          e.value("message", "") == "Container web failed liveness probe, will be restarted");
  }
  EXPECT_TRUE(unhealthy && killing) << events.dump();
  EXPECT_EQ(cluster.kubectl({"delete", "pod", "sick", "--wait=true", "--timeout=60s"}, {}, std::chrono::seconds(90)).exit_code, 0);

  auto deleted = cluster.kubectl({"delete", "pod", "web", "--wait=true", "--timeout=60s"}, {}, std::chrono::seconds(90));
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  // Deleting the pod tears its sandbox down: no veth in the node, no sandbox, no container monitor.
  EXPECT_TRUE(eventually([&] { return runc.nothing_left(); }, std::chrono::seconds(20))) << cluster.log();
}

// The pod network is set up beside the first container's creation; when CNI fails (here: a pod
// CIDR with one address, taken), the agent reports FailedCreatePodSandBox with CNI's words, nothing
// of the pod runs, and once an address is free again a new sandbox gets it and the pod runs.
TEST(RuncE2E, APodWhoseNetworkCannotBeSetUpRunsOnceAnAddressIsFree) {
  std::string missing = runc_e2e_missing();
  ASSERT_TRUE(missing.empty()) << missing;
  RuncCluster runc("runc-addr", "10.197.0.0/30");  // .1 is the bridge's, .2 the one pod address
  ASSERT_EQ(runc.problem(), "");
  Cluster& cluster = runc.cluster();
  TestImage image;
  image.layers.push_back(busybox_layer());
  image.cmd = {"/bin/sleep", "3600"};
  auto imported = runc.import(image, "skiff.test/box:1");
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  auto pod_manifest = [](const std::string& name) {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
           "\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: app\n    image: skiff.test/box:1\n";
  };
  auto ready = [&](const std::string& name) {
    return cluster.kubectl({"wait", "--for=condition=Ready", "pod/" + name, "--timeout=60s"}, {}, std::chrono::seconds(90));
  };
  ASSERT_EQ(cluster.kubectl({"apply", "-f", "-"}, pod_manifest("first")).exit_code, 0);
  auto first_ready = ready("first");
  ASSERT_EQ(first_ready.exit_code, 0) << first_ready.err << cluster.log();

  ASSERT_EQ(cluster.kubectl({"apply", "-f", "-"}, pod_manifest("second")).exit_code, 0);
  std::string message;
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& e : cluster.kubectl_json({"get", "events"}).value("items", json::array()))
          if (e["involvedObject"].value("name", "") == "second" && e.value("reason", "") == "FailedCreatePodSandBox")
            message = e.value("message", "");
        return !message.empty();
      },
      std::chrono::seconds(30)))
      << cluster.log();
  EXPECT_NE(message.find("no IP addresses available"), std::string::npos) << message;
  json second = cluster.kubectl_json({"get", "pod", "second"});
  EXPECT_EQ(second["status"].value("phase", ""), "Pending") << second.dump();
  EXPECT_EQ(second["status"].value("podIP", ""), "") << second.dump();

  auto deleted = cluster.kubectl({"delete", "pod", "first", "--wait=true", "--timeout=60s"}, {}, std::chrono::seconds(90));
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  auto second_ready = ready("second");
  ASSERT_EQ(second_ready.exit_code, 0) << second_ready.err << cluster.kubectl_json({"get", "pod", "second"}).dump();
  EXPECT_EQ(cluster.kubectl_json({"get", "pod", "second"})["status"].value("podIP", ""), "10.197.0.2");

  EXPECT_EQ(cluster.kubectl({"delete", "pod", "second", "--wait=true", "--timeout=60s"}, {}, std::chrono::seconds(90)).exit_code, 0);
  // The failed sandboxes were removed as they failed: nothing of either pod is left.
  EXPECT_TRUE(eventually([&] { return runc.nothing_left(); }, std::chrono::seconds(20))) << cluster.log();
}

}  // namespace
}  // namespace skiff::testing
