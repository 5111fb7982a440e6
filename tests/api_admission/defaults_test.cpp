#include "kernel/api/defaults.hpp"

#include <gtest/gtest.h>

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

Json pod(Json containers) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "p"}, {"namespace", "default"}}},
          {"spec", {{"containers", std::move(containers)}}}};
}

TEST(Defaults, PodGetsKubernetesDefaults) {
  Json p = pod(Json::array({{{"name", "web"},
                             {"image", "nginx"},
                             {"ports", Json::array({{{"containerPort", 80}}})},
                             {"livenessProbe", {{"httpGet", {{"port", 80}}}}}}}));
  apply_defaults("", "Pod", p);
  const Json& spec = p["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Always");
  EXPECT_EQ(spec["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(spec["schedulerName"], "default-scheduler");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(spec["securityContext"], Json::object());
  EXPECT_EQ(spec["enableServiceLinks"], true);
  EXPECT_EQ(spec["priority"], 0);
  EXPECT_EQ(spec["preemptionPolicy"], "PreemptLowerPriority");
  EXPECT_EQ(spec["serviceAccountName"], "default");
  EXPECT_EQ(spec["serviceAccount"], "default");
  ASSERT_EQ(spec["tolerations"].size(), 2u);
  EXPECT_EQ(spec["tolerations"][0], Json({{"key", "node.kubernetes.io/not-ready"},
                                          {"operator", "Exists"},
                                          {"effect", "NoExecute"},
                                          {"tolerationSeconds", 300}}));
  EXPECT_EQ(spec["tolerations"][1]["key"], "node.kubernetes.io/unreachable");

  const Json& c = spec["containers"][0];
  EXPECT_EQ(c["imagePullPolicy"], "Always");
  EXPECT_EQ(c["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(c["terminationMessagePolicy"], "File");
  EXPECT_EQ(c["resources"], Json::object());
  EXPECT_EQ(c["ports"][0]["protocol"], "TCP");
  const Json& probe = c["livenessProbe"];
  EXPECT_EQ(probe["timeoutSeconds"], 1);
  EXPECT_EQ(probe["periodSeconds"], 10);
  EXPECT_EQ(probe["successThreshold"], 1);
  EXPECT_EQ(probe["failureThreshold"], 3);
  EXPECT_EQ(probe["httpGet"]["scheme"], "HTTP");
  EXPECT_EQ(probe["httpGet"]["path"], "/");

  EXPECT_EQ(p["status"], Json({{"phase", "Pending"}, {"qosClass", "BestEffort"}}));
}

TEST(Defaults, ImagePullPolicyFollowsTheTag) {
  auto policy = [](const char* image) {
    Json p = pod(Json::array({{{"name", "c"}, {"image", image}}}));
    apply_defaults("", "Pod", p);
    return p["spec"]["containers"][0]["imagePullPolicy"].get<std::string>();
  };
  EXPECT_EQ(policy("nginx"), "Always");
  EXPECT_EQ(policy("nginx:latest"), "Always");
  EXPECT_EQ(policy("nginx:1.27"), "IfNotPresent");
  EXPECT_EQ(policy("localhost:5000/team/app"), "Always");
  EXPECT_EQ(policy("localhost:5000/team/app:v2"), "IfNotPresent");
  EXPECT_EQ(policy("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "IfNotPresent");
  EXPECT_EQ(policy("Busybox"), "IfNotPresent");  // does not parse: no tag known
}

TEST(Defaults, ExplicitValuesAreKept) {
  Json p = pod(Json::array({{{"name", "c"}, {"image", "nginx"}, {"imagePullPolicy", "Never"}}}));
  p["spec"]["restartPolicy"] = "Never";
  p["spec"]["terminationGracePeriodSeconds"] = 5;
  p["spec"]["serviceAccountName"] = "builder";
  p["spec"]["tolerations"] = Json::array({{{"operator", "Exists"}}});
  apply_defaults("", "Pod", p);
  EXPECT_EQ(p["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(p["spec"]["terminationGracePeriodSeconds"], 5);
  EXPECT_EQ(p["spec"]["serviceAccountName"], "builder");
  EXPECT_EQ(p["spec"]["containers"][0]["imagePullPolicy"], "Never");
  EXPECT_EQ(p["spec"]["tolerations"].size(), 1u);  // tolerates everything already
}

TEST(Defaults, PodQosClass) {
  auto qos = [](Json resources) {
    Json p = pod(Json::array({{{"name", "c"}, {"image", "x"}, {"resources", std::move(resources)}}}));
    apply_defaults("", "Pod", p);
    return p["status"]["qosClass"].get<std::string>();
  };
  EXPECT_EQ(qos(Json::object()), "BestEffort");
  EXPECT_EQ(qos({{"requests", {{"cpu", "100m"}}}}), "Burstable");
  // Limits alone become requests too, so cpu+memory limits make a Guaranteed pod.
  EXPECT_EQ(qos({{"limits", {{"cpu", "500m"}, {"memory", "128Mi"}}}}), "Guaranteed");
  EXPECT_EQ(
      qos({{"limits", {{"cpu", "0.5"}, {"memory", "128Mi"}}}, {"requests", {{"cpu", "500m"}, {"memory", "128Mi"}}}}),
      "Guaranteed");
  EXPECT_EQ(qos({{"limits", {{"cpu", "1"}, {"memory", "128Mi"}}}, {"requests", {{"cpu", "500m"}}}}), "Burstable");
  EXPECT_EQ(qos({{"limits", {{"cpu", "1"}}}}), "Burstable");
}

TEST(Defaults, PodRequestsDefaultToLimits) {
  Json p = pod(Json::array({{{"name", "c"}, {"image", "x"}, {"resources", {{"limits", {{"cpu", "1"}}}}}}}));
  apply_defaults("", "Pod", p);
  EXPECT_EQ(p["spec"]["containers"][0]["resources"]["requests"], Json({{"cpu", "1"}}));
}

TEST(Defaults, VolumesGetSourceDefaults) {
  Json p = pod(Json::array({{{"name", "c"}, {"image", "x"}}}));
  p["spec"]["volumes"] = Json::array({{{"name", "a"}},
                                      {{"name", "b"}, {"configMap", {{"name", "cm"}}}},
                                      {{"name", "c"}, {"secret", {{"secretName", "s"}}}},
                                      {{"name", "d"}, {"hostPath", {{"path", "/tmp"}}}}});
  apply_defaults("", "Pod", p);
  const Json& v = p["spec"]["volumes"];
  EXPECT_EQ(v[0]["emptyDir"], Json::object());
  EXPECT_EQ(v[1]["configMap"]["defaultMode"], 420);
  EXPECT_EQ(v[2]["secret"]["defaultMode"], 420);
  EXPECT_EQ(v[3]["hostPath"]["type"], "");
}

TEST(Defaults, SchedulingGatesGiveTheGatedCondition) {
  Json p = pod(Json::array({{{"name", "c"}, {"image", "x"}}}));
  p["spec"]["schedulingGates"] = Json::array({{{"name", "example.com/wait"}}});
  apply_defaults("", "Pod", p);
  EXPECT_EQ(p["status"]["conditions"][0]["reason"], "SchedulingGated");
}

TEST(Defaults, UpdateDoesNotTouchStatusOrAdmissionFields) {
  Json p = pod(Json::array({{{"name", "c"}, {"image", "x:1"}}}));
  p["status"] = {{"phase", "Running"}};
  apply_defaults("", "Pod", p, Operation::kUpdate);
  EXPECT_EQ(p["status"]["phase"], "Running");
  EXPECT_FALSE(p["spec"].contains("serviceAccountName"));
  EXPECT_EQ(p["spec"]["restartPolicy"], "Always");
}

TEST(Defaults, Deployment) {
  Json d = {{"metadata", {{"name", "web"}}},
            {"spec",
             {{"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", "web"}}}}},
                {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "nginx:1"}}})}}}}}}}};
  apply_defaults("apps", "Deployment", d);
  const Json& spec = d["spec"];
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["strategy"],
            Json({{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}));
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_EQ(spec["progressDeadlineSeconds"], 600);
  const Json& tspec = spec["template"]["spec"];
  EXPECT_EQ(tspec["restartPolicy"], "Always");
  EXPECT_EQ(tspec["containers"][0]["imagePullPolicy"], "IfNotPresent");
  // Pod-only defaults and admission do not apply to templates.
  EXPECT_FALSE(tspec.contains("enableServiceLinks"));
  EXPECT_FALSE(tspec.contains("serviceAccountName"));
  EXPECT_FALSE(spec.contains("selector") && spec["selector"].contains("matchExpressions"));
  EXPECT_EQ(d["status"], Json::object());
}

TEST(Defaults, RecreateDeploymentHasNoRollingUpdate) {
  Json d = {{"spec", {{"strategy", {{"type", "Recreate"}}}}}};
  apply_defaults("apps", "Deployment", d);
  EXPECT_FALSE(d["spec"]["strategy"].contains("rollingUpdate"));
}

TEST(Defaults, DaemonSetAndStatefulSet) {
  Json ds = {{"spec", {{"template", {{"spec", Json::object()}}}}}};
  apply_defaults("apps", "DaemonSet", ds);
  EXPECT_EQ(ds["spec"]["updateStrategy"],
            Json({{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 0}}}}));
  EXPECT_EQ(ds["spec"]["revisionHistoryLimit"], 10);

  Json ss = {{"spec", {{"serviceName", "db"}}}};
  apply_defaults("apps", "StatefulSet", ss);
  EXPECT_EQ(ss["spec"]["replicas"], 1);
  EXPECT_EQ(ss["spec"]["podManagementPolicy"], "OrderedReady");
  EXPECT_EQ(ss["spec"]["updateStrategy"], Json({{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}}));
  EXPECT_EQ(ss["spec"]["revisionHistoryLimit"], 10);
  EXPECT_EQ(ss["spec"]["persistentVolumeClaimRetentionPolicy"],
            Json({{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}}));
  EXPECT_EQ(ss["status"], Json({{"replicas", 0}, {"availableReplicas", 0}}));
}

TEST(Defaults, JobAndCronJob) {
  Json job = {
      {"metadata", {{"name", "pi"}}},
      {"spec", {{"template", {{"metadata", {{"labels", {{"app", "pi"}}}}}, {"spec", {{"restartPolicy", "Never"}}}}}}}};
  apply_defaults("batch", "Job", job);
  const Json& spec = job["spec"];
  EXPECT_EQ(spec["completions"], 1);
  EXPECT_EQ(spec["parallelism"], 1);
  EXPECT_EQ(spec["backoffLimit"], 6);
  EXPECT_EQ(spec["completionMode"], "NonIndexed");
  EXPECT_EQ(spec["suspend"], false);
  EXPECT_EQ(spec["podReplacementPolicy"], "TerminatingOrFailed");
  EXPECT_FALSE(spec.contains("manualSelector"));
  EXPECT_EQ(spec["template"]["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(job["metadata"]["labels"], Json({{"app", "pi"}}));
  EXPECT_FALSE(spec.contains("selector"));  // no uid yet: generated later

  Json parallel = {{"spec", {{"parallelism", 3}}}};
  apply_defaults("batch", "Job", parallel);
  EXPECT_FALSE(parallel["spec"].contains("completions"));

  Json cj = {
      {"spec", {{"schedule", "*/5 * * * *"}, {"jobTemplate", {{"spec", {{"template", {{"spec", Json::object()}}}}}}}}}};
  apply_defaults("batch", "CronJob", cj);
  EXPECT_EQ(cj["spec"]["concurrencyPolicy"], "Allow");
  EXPECT_EQ(cj["spec"]["suspend"], false);
  EXPECT_EQ(cj["spec"]["successfulJobsHistoryLimit"], 3);
  EXPECT_EQ(cj["spec"]["failedJobsHistoryLimit"], 1);
  EXPECT_EQ(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
  EXPECT_FALSE(cj["spec"]["jobTemplate"]["spec"].contains("backoffLimit"));
}

TEST(Defaults, JobSelectorIsGeneratedFromTheUid) {
  Json job = {{"metadata", {{"name", "pi"}, {"uid", "1234"}}}, {"spec", {{"template", {{"spec", Json::object()}}}}}};
  apply_defaults("batch", "Job", job);
  EXPECT_EQ(job["spec"]["selector"], Json({{"matchLabels", {{"batch.kubernetes.io/controller-uid", "1234"}}}}));
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"], Json({{"batch.kubernetes.io/controller-uid", "1234"},
                                                                 {"batch.kubernetes.io/job-name", "pi"},
                                                                 {"controller-uid", "1234"},
                                                                 {"job-name", "pi"}}));
  Json manual = {{"metadata", {{"name", "m"}}}, {"spec", {{"manualSelector", true}}}};
  generate_job_selector(manual, "1");
  EXPECT_FALSE(manual["spec"].contains("selector"));
}

TEST(Defaults, Service) {
  Json svc = {{"spec",
               {{"selector", {{"app", "web"}}},
                {"ports", Json::array({{{"port", 80}}, {{"port", 443}, {"targetPort", "https"}}})}}}};
  apply_defaults("", "Service", svc);
  const Json& spec = svc["spec"];
  EXPECT_EQ(spec["type"], "ClusterIP");
  EXPECT_EQ(spec["sessionAffinity"], "None");
  EXPECT_EQ(spec["internalTrafficPolicy"], "Cluster");
  EXPECT_EQ(spec["ipFamilyPolicy"], "SingleStack");
  EXPECT_EQ(spec["ipFamilies"], Json::array({"IPv4"}));
  EXPECT_EQ(spec["ports"][0], Json({{"port", 80}, {"protocol", "TCP"}, {"targetPort", 80}}));
  EXPECT_EQ(spec["ports"][1]["targetPort"], "https");
  EXPECT_FALSE(spec.contains("externalTrafficPolicy"));

  Json np = {{"spec", {{"type", "NodePort"}, {"ports", Json::array({{{"port", 80}}})}}}};
  apply_defaults("", "Service", np);
  EXPECT_EQ(np["spec"]["externalTrafficPolicy"], "Cluster");

  Json ca = {{"spec", {{"sessionAffinity", "ClientIP"}}}};
  apply_defaults("", "Service", ca);
  EXPECT_EQ(ca["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 10800);
}

TEST(Defaults, NamespaceSecretPriorityClassNode) {
  Json ns = {{"metadata", {{"name", "team-a"}}}};
  apply_defaults("", "Namespace", ns);
  EXPECT_EQ(ns["spec"]["finalizers"], Json::array({"kubernetes"}));
  EXPECT_EQ(ns["status"]["phase"], "Active");
  EXPECT_EQ(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
  apply_defaults("", "Namespace", ns);
  EXPECT_EQ(ns["spec"]["finalizers"].size(), 1u);

  Json secret = {{"stringData", {{"user", "admin"}, {"pw", "hi"}}}, {"data", {{"pw", "b2xk"}}}};
  apply_defaults("", "Secret", secret);
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_FALSE(secret.contains("stringData"));
  EXPECT_EQ(secret["data"], Json({{"pw", "aGk="}, {"user", "YWRtaW4="}}));

  Json pc = {{"value", 1000}};
  apply_defaults("scheduling.k8s.io", "PriorityClass", pc);
  EXPECT_EQ(pc["preemptionPolicy"], "PreemptLowerPriority");

  Json node = {{"status", {{"capacity", {{"cpu", "2"}}}}}};
  apply_defaults("", "Node", node);
  EXPECT_EQ(node["status"]["allocatable"], Json({{"cpu", "2"}}));
}

TEST(Defaults, IsIdempotent) {
  Json d = {{"metadata", {{"name", "web"}}},
            {"spec", {{"template", {{"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "x"}}})}}}}}}}};
  apply_defaults("apps", "Deployment", d);
  Json once = d;
  apply_defaults("apps", "Deployment", d);
  EXPECT_EQ(d, once);
  Json p = pod(Json::array({{{"name", "c"}, {"image", "x"}}}));
  apply_defaults("", "Pod", p);
  Json p_once = p;
  apply_defaults("", "Pod", p);
  EXPECT_EQ(p, p_once);
}

TEST(Defaults, WrongTypesNeverThrow) {
  const Json weird[] = {nullptr, 1, "x", Json::array({1, 2}), true};
  for (const auto& w : weird) {
    for (const char* field : {"spec", "metadata", "status"}) {
      Json p = pod(Json::array({{{"name", "c"}, {"image", "x"}}}));
      p[field] = w;
      EXPECT_NO_THROW(apply_defaults("", "Pod", p));
      Json d = {{"spec", {{"template", w}, {"strategy", w}, {"replicas", w}}}};
      EXPECT_NO_THROW(apply_defaults("apps", "Deployment", d));
      Json s = {{"spec", {{"ports", w}, {"type", w}}}};
      EXPECT_NO_THROW(apply_defaults("", "Service", s));
    }
    Json c = pod(Json::array(
        {w, {{"name", w}, {"image", w}, {"ports", w}, {"livenessProbe", w}, {"resources", {{"limits", w}}}}}));
    EXPECT_NO_THROW(apply_defaults("", "Pod", c));
    Json top = w;
    EXPECT_NO_THROW(apply_defaults("", "Pod", top));
  }
}

}  // namespace
}  // namespace skiff::kernel::api
