#include "kernel/api/validation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "kernel/api/defaults.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> messages(std::string_view group, std::string_view kind, const Json& obj,
                                  const Json* old = nullptr) {
  std::vector<std::string> out;
  for (const auto& e : validate(group, kind, obj, old)) out.push_back(e.message());
  return out;
}

Json container(std::string name = "web", std::string image = "nginx:1.27") {
  return {{"name", std::move(name)}, {"image", std::move(image)}};
}

Json pod(Json containers = Json::array({container()})) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "web"}, {"namespace", "default"}}},
          {"spec", {{"containers", std::move(containers)}}}};
}

Json deployment(Json selector_labels = {{"app", "web"}}, Json template_labels = {{"app", "web"}}) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}, {"namespace", "default"}}},
          {"spec",
           {{"replicas", 2},
            {"selector", {{"matchLabels", std::move(selector_labels)}}},
            {"template",
             {{"metadata", {{"labels", std::move(template_labels)}}},
              {"spec", {{"containers", Json::array({container()})}}}}}}}};
}

// ------------------------------------------------------------------------------------------------
// Messages and the aggregate

TEST(FieldError, FormatsLikeKubernetes) {
  FieldError invalid{FieldError::Type::kInvalid, "spec.replicas", -1, "must be greater than or equal to 0", ""};
  EXPECT_EQ(invalid.message(), "spec.replicas: Invalid value: -1: must be greater than or equal to 0");
  EXPECT_EQ(invalid.body(), "Invalid value: -1: must be greater than or equal to 0");
  EXPECT_EQ(invalid.reason(), "FieldValueInvalid");
  FieldError required{FieldError::Type::kRequired, "spec.containers[0].image", "", "", ""};
  EXPECT_EQ(required.message(), "spec.containers[0].image: Required value");
  EXPECT_EQ(required.reason(), "FieldValueRequired");
  FieldError quoted{FieldError::Type::kInvalid, "metadata.name", "a\"b\n", "bad", ""};
  EXPECT_EQ(quoted.message(), "metadata.name: Invalid value: \"a\\\"b\\n\": bad");
  FieldError map{FieldError::Type::kInvalid, "x", Json({{"b", "2"}, {"a", "1"}}), "d", ""};
  EXPECT_EQ(map.message(), "x: Invalid value: map[string]string{\"a\":\"1\", \"b\":\"2\"}: d");
  FieldError dup{FieldError::Type::kDuplicate, "spec.containers[1].name", "web", "", ""};
  EXPECT_EQ(dup.message(), "spec.containers[1].name: Duplicate value: \"web\"");
  FieldError missing{FieldError::Type::kNotFound, "v", "data", "", ""};
  EXPECT_EQ(missing.message(), "v: Not found: \"data\"");
  FieldError too_long{FieldError::Type::kTooLong, "metadata.annotations", "", "may not be more than 262144 bytes", ""};
  EXPECT_EQ(too_long.message(), "metadata.annotations: Too long: may not be more than 262144 bytes");
}

TEST(InvalidMessage, OneErrorHasNoBrackets) {
  std::vector<FieldError> one = {{FieldError::Type::kRequired, "spec.containers[0].image", "", "", ""}};
  EXPECT_EQ(invalid_message("Pod", "web", one), "Pod \"web\" is invalid: spec.containers[0].image: Required value");
  EXPECT_EQ(invalid_message("Pod", "web", {}), "Pod \"web\" is invalid");
  std::vector<FieldError> repeated = {one[0], one[0], {FieldError::Type::kForbidden, "spec", "", "no", ""}};
  EXPECT_EQ(invalid_message("Pod", "web", repeated),
            "Pod \"web\" is invalid: [spec.containers[0].image: Required value, spec: Forbidden: no]");
}

TEST(InvalidMessage, DeploymentExampleFromTheBrief) {
  Json d = deployment({{"app", "web"}}, {{"app", "x"}});
  d["spec"]["replicas"] = -1;
  auto errs = validate("apps", "Deployment", d, nullptr);
  EXPECT_EQ(
      invalid_message("Deployment.apps", "web", errs),
      "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, "
      "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match "
      "template `labels`]");
}

TEST(InvalidStatus, HasCausesForEveryError) {
  Json d = deployment();
  d["spec"]["replicas"] = -3;
  Json status = invalid_status("apps", "Deployment", "web", validate("apps", "Deployment", d, nullptr));
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["code"], 422);
  EXPECT_EQ(status["reason"], "Invalid");
  EXPECT_EQ(status["message"],
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -3: must be greater than or equal to 0");
  EXPECT_EQ(status["details"],
            Json({{"name", "web"},
                  {"group", "apps"},
                  {"kind", "Deployment"},
                  {"causes", Json::array({{{"reason", "FieldValueInvalid"},
                                           {"message", "Invalid value: -3: must be greater than or equal to 0"},
                                           {"field", "spec.replicas"}}})}}));
}

// ------------------------------------------------------------------------------------------------
// Metadata

TEST(Metadata, NamesAndLabels) {
  Json p = pod();
  p["metadata"]["name"] = "Web_1";
  p["metadata"]["labels"] = {{"app", "ok"}, {"bad key!", "v"}, {"tier", "-x"}};
  auto m = messages("", "Pod", p);
  EXPECT_THAT(m,
              Contains("metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower "
                       "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
  EXPECT_THAT(m, Contains("metadata.labels: Invalid value: \"bad key!\": name part must consist of alphanumeric "
                          "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                          "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                          "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
  EXPECT_THAT(m, Contains(HasSubstr("metadata.labels: Invalid value: \"-x\": a valid label must be an empty string")));
  EXPECT_EQ(m.size(), 3u);
}

TEST(Metadata, NameOrGenerateNameRequired) {
  Json p = pod();
  p["metadata"].erase("name");
  EXPECT_THAT(messages("", "Pod", p), ElementsAre("metadata.name: Required value: name or generateName is required"));
  p["metadata"]["generateName"] = "web-";
  EXPECT_THAT(messages("", "Pod", p), IsEmpty());
  p["metadata"]["generateName"] = "Web-";
  EXPECT_THAT(messages("", "Pod", p), ElementsAre(HasSubstr("metadata.generateName: Invalid value: \"Web-\"")));
}

TEST(Metadata, ServicesUseDns1035AndNamespacesLabels) {
  Json svc = {{"metadata", {{"name", "1web"}}}, {"spec", {{"ports", Json::array({{{"port", 80}}})}}}};
  EXPECT_THAT(messages("", "Service", svc),
              ElementsAre("metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case "
                          "alphanumeric characters or '-', start with an alphabetic character, and end with an "
                          "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                          "'[a-z]([-a-z0-9]*[a-z0-9])?')"));
  Json ns = {{"metadata", {{"name", "a.b"}}}};
  EXPECT_THAT(messages("", "Namespace", ns),
              ElementsAre(HasSubstr("metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label")));
}

TEST(Metadata, AnnotationsSizeAndOwnerReferences) {
  Json cm = {{"metadata", {{"name", "c"}, {"annotations", {{"big", std::string(300 * 1024, 'x')}}}}}};
  EXPECT_THAT(messages("", "ConfigMap", cm),
              ElementsAre("metadata.annotations: Too long: may not be more than 262144 bytes"));
  Json owned = {
      {"metadata",
       {{"name", "c"},
        {"ownerReferences",
         Json::array(
             {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "a"}, {"uid", "1"}, {"controller", true}},
              {{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"name", "b"},
               {"uid", ""},
               {"controller", true}}})}}}};
  auto m = messages("", "ConfigMap", owned);
  EXPECT_THAT(m, Contains("metadata.ownerReferences.uid: Invalid value: \"\": must not be empty"));
  EXPECT_THAT(m,
              Contains(HasSubstr("Only one reference can have Controller set to true. Found \"true\" in references for "
                                 "ReplicaSet/a and ReplicaSet/b")));
}

// ------------------------------------------------------------------------------------------------
// Pods

TEST(Pod, ValidPodHasNoErrors) {
  Json p = pod(Json::array(
      {{{"name", "web"},
        {"image", "nginx:1.27"},
        {"ports", Json::array({{{"name", "http"}, {"containerPort", 80}}})},
        {"env", Json::array({{{"name", "A"}, {"value", "1"}}})},
        {"resources",
         {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}, {"limits", {{"cpu", "1"}, {"memory", "128Mi"}}}}},
        {"volumeMounts", Json::array({{{"name", "data"}, {"mountPath", "/data"}}})},
        {"readinessProbe", {{"httpGet", {{"port", "http"}}}}},
        {"livenessProbe", {{"tcpSocket", {{"port", 80}}}}}}}));
  p["spec"]["volumes"] = Json::array({{{"name", "data"}, {"emptyDir", Json::object()}}});
  p["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  p["spec"]["tolerations"] =
      Json::array({{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "db"}, {"effect", "NoSchedule"}}});
  EXPECT_THAT(messages("", "Pod", p), IsEmpty());
}

TEST(Pod, ReportsEveryBadField) {
  Json p = pod(Json::array(
      {{{"name", "Web"}, {"image", ""}},
       container("web2", ""),
       container("web2", "x"),
       {{"name", "p"},
        {"image", "x"},
        {"ports", Json::array({{{"containerPort", 70000}}, {{"containerPort", 80}, {"protocol", "HTTP"}}})}}}));
  p["spec"]["restartPolicy"] = "Sometimes";
  p["spec"]["dnsPolicy"] = "Google";
  p["spec"]["terminationGracePeriodSeconds"] = -5;
  auto m = messages("", "Pod", p);
  EXPECT_THAT(m, Contains(HasSubstr("spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label")));
  EXPECT_THAT(m, Contains("spec.containers[0].image: Required value"));
  EXPECT_THAT(m, Contains("spec.containers[1].image: Required value"));
  EXPECT_THAT(m, Contains("spec.containers[2].name: Duplicate value: \"web2\""));
  EXPECT_THAT(
      m,
      Contains(
          "spec.containers[3].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"));
  EXPECT_THAT(m, Contains("spec.containers[3].ports[1].protocol: Unsupported value: \"HTTP\": supported values: "
                          "\"SCTP\", \"TCP\", \"UDP\""));
  EXPECT_THAT(m, Contains("spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
                          "\"OnFailure\", \"Never\""));
  EXPECT_THAT(m,
              Contains("spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", "
                       "\"ClusterFirst\", \"Default\", \"None\""));
  EXPECT_THAT(m, Contains("spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0"));
  EXPECT_EQ(m.size(), 9u);
}

TEST(Pod, ContainersRequired) {
  Json p = pod(Json::array());
  EXPECT_THAT(messages("", "Pod", p), ElementsAre("spec.containers: Required value"));
  p["spec"].erase("containers");
  EXPECT_THAT(messages("", "Pod", p), ElementsAre("spec.containers: Required value"));
}

TEST(Pod, Resources) {
  Json p = pod(Json::array(
      {{{"name", "c"},
        {"image", "x"},
        {"resources", {{"requests", {{"cpu", "2"}, {"memory", "lots"}}}, {"limits", {{"cpu", "1"}, {"gpu", "1"}}}}}}}));
  auto m = messages("", "Pod", p);
  EXPECT_THAT(
      m,
      Contains(
          "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"));
  EXPECT_THAT(
      m, Contains("spec.containers[0].resources.requests[memory]: Invalid value: \"lots\": quantities must match the "
                  "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
  EXPECT_THAT(m, Contains("spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard "
                          "resource type or fully qualified"));
  Json neg = pod(Json::array({{{"name", "c"}, {"image", "x"}, {"resources", {{"requests", {{"memory", "-1Mi"}}}}}}}));
  EXPECT_THAT(messages("", "Pod", neg), ElementsAre("spec.containers[0].resources.requests[memory]: Invalid value: "
                                                    "\"-1Mi\": must be greater than or equal to 0"));
  Json ext =
      pod(Json::array({{{"name", "c"}, {"image", "x"}, {"resources", {{"requests", {{"example.com/gpu", "1"}}}}}}}));
  EXPECT_THAT(
      messages("", "Pod", ext),
      ElementsAre(
          "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"));
}

TEST(Pod, VolumesAndMounts) {
  Json p = pod(Json::array({{{"name", "c"},
                             {"image", "x"},
                             {"volumeMounts", Json::array({{{"name", "missing"}, {"mountPath", "/a"}},
                                                           {{"name", "two"}, {"mountPath", "/a"}},
                                                           {{"name", "cfg"}},
                                                           {{"name", "cfg"}, {"mountPath", "/b"}, {"subPath", "../up"}}})}}}));
  p["spec"]["volumes"] = Json::array({{{"name", "two"}, {"emptyDir", Json::object()}, {"hostPath", {{"path", "/x"}}}},
                                      {{"name", "cfg"}, {"configMap", {{"name", "c"}, {"defaultMode", 1000}}}},
                                      {{"name", "cfg"}, {"secret", {{"secretName", "s"}}}}});
  auto m = messages("", "Pod", p);
  // Kubernetes looks at hostPath before emptyDir, so emptyDir is the extra one.
  EXPECT_THAT(m, Contains("spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"));
  EXPECT_THAT(
      m, Contains("spec.volumes[1].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 "
                  "(octal), both inclusive"));
  EXPECT_THAT(m, Contains("spec.containers[0].volumeMounts[0].name: Not found: \"missing\""));
  EXPECT_THAT(m, Contains("spec.containers[0].volumeMounts[1].name: Not found: \"two\""));
  EXPECT_THAT(m, Contains("spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique"));
  EXPECT_THAT(m, Contains("spec.containers[0].volumeMounts[2].mountPath: Required value"));
  EXPECT_THAT(m, Contains("spec.containers[0].volumeMounts[3].subPath: Invalid value: \"../up\": must not contain '..'"));
}

TEST(Pod, EnvProbesTolerations) {
  Json p = pod(Json::array({{{"name", "c"},
                             {"image", "x"},
                             {"env", Json::array({{{"name", "A=B"}}, {{"name", "C"}, {"valueFrom", Json::object()}}})},
                             {"livenessProbe", {{"httpGet", {{"port", 0}}}, {"successThreshold", 2}}},
                             {"readinessProbe", {{"exec", {{"command", Json::array()}}}, {"tcpSocket", {{"port", 1}}}}},
                             {"startupProbe", Json::object()}}}));
  p["spec"]["tolerations"] =
      Json::array({{{"operator", "Equal"}, {"value", "x"}},
                   {{"key", "k"}, {"operator", "Maybe"}, {"effect", "Sometimes"}},
                   {{"key", "k"}, {"operator", "Exists"}, {"tolerationSeconds", 5}, {"effect", "NoSchedule"}}});
  auto m = messages("", "Pod", p);
  EXPECT_THAT(m,
              Contains("spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must "
                       "consist only of printable ASCII characters other than '='"));
  EXPECT_THAT(m, Contains("spec.containers[0].env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, "
                          "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
  EXPECT_THAT(
      m,
      Contains(
          "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"));
  EXPECT_THAT(m, Contains("spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"));
  EXPECT_THAT(m, Contains("spec.containers[0].readinessProbe.exec.command: Required value"));
  EXPECT_THAT(
      m, Contains("spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"));
  EXPECT_THAT(m, Contains("spec.containers[0].startupProbe: Required value: must specify a handler type"));
  EXPECT_THAT(m,
              Contains("spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is "
                       "empty, which means \"match all values and all keys\""));
  EXPECT_THAT(
      m,
      Contains("spec.tolerations[1].operator: Unsupported value: \"Maybe\": supported values: \"Equal\", \"Exists\""));
  EXPECT_THAT(
      m, Contains("spec.tolerations[1].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", "
                  "\"PreferNoSchedule\", \"NoExecute\""));
  EXPECT_THAT(m, Contains("spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
                          "`tolerationSeconds` is set"));
}

TEST(Pod, InitContainers) {
  Json p = pod();
  p["spec"]["initContainers"] =
      Json::array({{{"name", "web"}, {"image", "x"}, {"readinessProbe", {{"exec", {{"command", {"true"}}}}}}},
                   {{"name", "sidecar"}, {"image", "x"}, {"restartPolicy", "OnFailure"}}});
  auto m = messages("", "Pod", p);
  EXPECT_THAT(m, Contains("spec.initContainers[0].name: Duplicate value: \"web\""));
  EXPECT_THAT(m, Contains("spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers"));
  EXPECT_THAT(
      m,
      Contains("spec.initContainers[1].restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\""));
}

TEST(Pod, UpdatesMayChangeImagesOnly) {
  Json old =
      pod(Json::array({{{"name", "web"}, {"image", "nginx:1.26"}, {"ports", Json::array({{{"containerPort", 80}}})}}}));
  apply_defaults("", "Pod", old);
  Json newer = old;
  newer["spec"]["containers"][0]["image"] = "nginx:1.27";
  newer["metadata"]["labels"] = {{"a", "b"}};
  newer["spec"]["tolerations"].push_back({{"key", "x"}, {"operator", "Exists"}});
  newer["spec"]["activeDeadlineSeconds"] = 100;
  EXPECT_THAT(messages("", "Pod", newer, &old), IsEmpty());

  Json ports = old;
  ports["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080;
  auto m = messages("", "Pod", ports, &old);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_THAT(m[0],
              HasSubstr("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
                        "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
                        "to 1 if it was previously negative)\n"));
  EXPECT_THAT(m[0], HasSubstr("spec.containers[0].ports[0].containerPort: 80"));

  Json added = old;
  added["spec"]["containers"].push_back(container("two", "x"));
  EXPECT_THAT(messages("", "Pod", added, &old),
              ElementsAre("spec.containers: Forbidden: pod updates may not add or remove containers"));

  Json removed_toleration = old;
  removed_toleration["spec"]["tolerations"] = Json::array();
  EXPECT_THAT(
      messages("", "Pod", removed_toleration, &old),
      ElementsAre("spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"));

  // An update body without the decode defaults is judged with them applied, as Kubernetes decodes it.
  Json manifest =
      pod(Json::array({{{"name", "web"}, {"image", "nginx:1.26"}, {"ports", Json::array({{{"containerPort", 80}}})}}}));
  for (const char* admitted :
       {"serviceAccountName", "serviceAccount", "priority", "preemptionPolicy", "tolerations", "enableServiceLinks"})
    manifest["spec"][admitted] = old["spec"][admitted];
  EXPECT_THAT(messages("", "Pod", manifest, &old), IsEmpty());
  // Without what admission added on create, it is a change (as `kubectl replace` of a pod is in Kubernetes).
  Json bare =
      pod(Json::array({{{"name", "web"}, {"image", "nginx:1.26"}, {"ports", Json::array({{{"containerPort", 80}}})}}}));
  EXPECT_THAT(messages("", "Pod", bare, &old), Contains(HasSubstr("- spec.serviceAccountName: \"default\"")));

  Json renamed = old;
  renamed["metadata"]["name"] = "other";
  EXPECT_THAT(messages("", "Pod", renamed, &old),
              ElementsAre("metadata.name: Invalid value: \"other\": field is immutable"));
}

// ------------------------------------------------------------------------------------------------
// Workloads

TEST(Deployment, SelectorRules) {
  Json no_selector = deployment();
  no_selector["spec"].erase("selector");
  EXPECT_THAT(
      messages("apps", "Deployment", no_selector),
      ElementsAre("spec.selector: Required value",
                  "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` "
                  "does not match template `labels`"));
  Json empty = deployment(Json::object());
  EXPECT_THAT(
      messages("apps", "Deployment", empty),
      ElementsAre("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, "
                  "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"));
  Json expr = deployment();
  expr["spec"]["selector"] = {{"matchExpressions", Json::array({{{"key", "app"}, {"operator", "In"}}})}};
  auto m = messages("apps", "Deployment", expr);
  EXPECT_THAT(m, Contains("spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` "
                          "is 'In' or 'NotIn'"));
  EXPECT_THAT(
      m, Contains(HasSubstr("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                            "MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", "
                            "Operator:\"In\", Values:[]string(nil)}}}: invalid label selector")));
}

TEST(Deployment, TemplateAndStrategy) {
  Json d = deployment();
  d["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  d["spec"]["template"]["spec"]["containers"][0].erase("image");
  d["spec"]["strategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 0}, {"maxSurge", "0%"}}}};
  d["spec"]["progressDeadlineSeconds"] = 5;
  d["spec"]["minReadySeconds"] = 10;
  auto m = messages("apps", "Deployment", d);
  EXPECT_THAT(m, Contains("spec.template.spec.containers[0].image: Required value"));
  EXPECT_THAT(m,
              Contains("spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""));
  EXPECT_THAT(
      m, Contains("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, "
                  "StrVal:\"\"}: may not be 0 when `maxSurge` is 0"));
  EXPECT_THAT(m, Contains("spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds"));
  EXPECT_EQ(m.size(), 4u);

  Json strategy = deployment();
  strategy["spec"]["strategy"] = {{"type", "Canary"}};
  EXPECT_THAT(
      messages("apps", "Deployment", strategy),
      ElementsAre(
          "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Canary\", "
          "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""));
  Json percent = deployment();
  percent["spec"]["strategy"] = {{"type", "RollingUpdate"},
                                 {"rollingUpdate", {{"maxUnavailable", "150%"}, {"maxSurge", "x"}}}};
  auto pm = messages("apps", "Deployment", percent);
  EXPECT_THAT(
      pm, Contains("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, "
                   "StrVal:\"150%\"}: must not be greater than 100%"));
  EXPECT_THAT(pm, Contains(HasSubstr(
                      "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, "
                      "StrVal:\"x\"}: a valid percent string must be a numeric string followed by an ending '%'")));
}

TEST(Deployment, SelectorIsImmutable) {
  Json old = deployment();
  apply_defaults("apps", "Deployment", old);
  Json scaled = old;
  scaled["spec"]["replicas"] = 5;
  EXPECT_THAT(messages("apps", "Deployment", scaled, &old), IsEmpty());
  Json changed = deployment({{"app", "web2"}}, {{"app", "web2"}});
  EXPECT_THAT(
      messages("apps", "Deployment", changed, &old),
      ElementsAre("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, "
                  "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"));
}

TEST(ReplicaSetDaemonSetStatefulSet, Rules) {
  Json rs = deployment();
  rs["kind"] = "ReplicaSet";
  rs["spec"]["replicas"] = -1;
  EXPECT_THAT(messages("apps", "ReplicaSet", rs),
              ElementsAre("spec.replicas: Invalid value: -1: must be greater than or equal to 0"));

  Json ds = deployment({{"app", "agent"}}, {{"app", "other"}});
  ds["spec"].erase("replicas");
  ds["spec"]["updateStrategy"] = {{"type", "RollingUpdate"},
                                  {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 1}}}};
  auto m = messages("apps", "DaemonSet", ds);
  EXPECT_THAT(
      m, ElementsAre("spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` "
                     "does not match template `labels`",
                     "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, "
                     "IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero"));

  Json ss = deployment();
  ss["spec"]["serviceName"] = "db";
  ss["spec"]["podManagementPolicy"] = "Random";
  EXPECT_THAT(messages("apps", "StatefulSet", ss),
              ElementsAre("spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"));
  Json ss_old = deployment();
  ss_old["spec"]["serviceName"] = "db";
  apply_defaults("apps", "StatefulSet", ss_old);
  Json ss_new = ss_old;
  ss_new["spec"]["replicas"] = 7;
  ss_new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  EXPECT_THAT(messages("apps", "StatefulSet", ss_new, &ss_old), IsEmpty());
  ss_new["spec"]["serviceName"] = "other";
  EXPECT_THAT(
      messages("apps", "StatefulSet", ss_new, &ss_old),
      ElementsAre(
          "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
          "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
}

TEST(Job, Rules) {
  Json job = {{"metadata", {{"name", "pi"}, {"namespace", "default"}}},
              {"spec",
               {{"parallelism", -1},
                {"backoffLimit", -2},
                {"template", {{"spec", {{"containers", Json::array({container("pi", "perl")})}}}}}}}};
  auto m = messages("batch", "Job", job);
  EXPECT_THAT(m, ElementsAre("spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
                             "spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0",
                             "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: "
                             "\"OnFailure\", \"Never\""));

  Json manual = job;
  manual["spec"] = {{"manualSelector", true},
                    {"selector", {{"matchLabels", {{"job", "x"}}}}},
                    {"template",
                     {{"metadata", {{"labels", {{"job", "y"}}}}},
                      {"spec", {{"restartPolicy", "Never"}, {"containers", Json::array({container()})}}}}}};
  EXPECT_THAT(
      messages("batch", "Job", manual),
      ElementsAre("spec.template.metadata.labels: Invalid value: map[string]string{\"job\":\"y\"}: `selector` does "
                  "not match template `labels`"));

  Json old = job;
  old["metadata"]["uid"] = "u1";
  old["spec"] = {{"template", {{"spec", {{"restartPolicy", "Never"}, {"containers", Json::array({container()})}}}}}};
  apply_defaults("batch", "Job", old);
  ASSERT_TRUE(old["spec"].contains("selector"));
  EXPECT_THAT(messages("batch", "Job", old, &old), IsEmpty());
  Json changed = old;
  changed["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] = "u2";
  auto cm = messages("batch", "Job", changed, &old);
  EXPECT_THAT(cm, Contains(HasSubstr("spec.selector: Invalid value: v1.LabelSelector{")));
  EXPECT_THAT(cm, Contains(HasSubstr("`selector` not auto-generated")));
  EXPECT_THAT(cm, Contains(HasSubstr("field is immutable")));
  Json completions = old;
  completions["spec"]["completions"] = 4;
  EXPECT_THAT(messages("batch", "Job", completions, &old),
              ElementsAre("spec.completions: Invalid value: 4: field is immutable"));
}

TEST(CronJob, ScheduleAndTimeZone) {
  auto cron = [](Json spec_extra) {
    Json cj = {{"metadata", {{"name", "nightly"}, {"namespace", "default"}}},
               {"spec",
                {{"schedule", "0 3 * * *"},
                 {"jobTemplate",
                  {{"spec",
                    {{"template",
                      {{"spec", {{"restartPolicy", "OnFailure"}, {"containers", Json::array({container()})}}}}}}}}}}}};
    for (auto& [k, v] : spec_extra.items()) cj["spec"][k] = v;
    return messages("batch", "CronJob", cj);
  };
  EXPECT_THAT(cron(Json::object()), IsEmpty());
  EXPECT_THAT(cron({{"schedule", "@hourly"}}), IsEmpty());
  EXPECT_THAT(cron({{"schedule", "*/15 9-17 * jan-mar MON-FRI"}}), IsEmpty());
  EXPECT_THAT(cron({{"schedule", "@every 1h30m"}}), IsEmpty());
  EXPECT_THAT(cron({{"schedule", "* * *"}}),
              ElementsAre("spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"));
  EXPECT_THAT(cron({{"schedule", "60 * * * *"}}),
              ElementsAre("spec.schedule: Invalid value: \"60 * * * *\": end of range (60) above maximum (59): 60"));
  EXPECT_THAT(cron({{"schedule", "x * * * *"}}),
              ElementsAre("spec.schedule: Invalid value: \"x * * * *\": failed to parse int from x: strconv.Atoi: "
                          "parsing \"x\": invalid syntax"));
  EXPECT_THAT(cron({{"schedule", "@weekdays"}}),
              ElementsAre("spec.schedule: Invalid value: \"@weekdays\": unrecognized descriptor: @weekdays"));
  EXPECT_THAT(cron({{"schedule", ""}}), ElementsAre("spec.schedule: Required value"));
  EXPECT_THAT(cron({{"schedule", "CRON_TZ=UTC 0 * * * *"}}),
              ElementsAre("spec.schedule: Invalid value: \"CRON_TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in "
                          "schedule, use timeZone field instead"));
  EXPECT_THAT(cron({{"timeZone", "Europe/Berlin"}}), IsEmpty());
  EXPECT_THAT(cron({{"timeZone", "Mars/Olympus"}}),
              ElementsAre("spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"));
  EXPECT_THAT(cron({{"timeZone", "Local"}}),
              ElementsAre("spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined "
                          "in https://www.iana.org/time-zones"));
  EXPECT_THAT(cron({{"concurrencyPolicy", "Sometimes"}}),
              ElementsAre("spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", "
                          "\"Forbid\", \"Replace\""));
  EXPECT_THAT(
      cron({{"jobTemplate", {{"spec", {{"template", {{"spec", {{"containers", Json::array({container()})}}}}}}}}}}),
      ElementsAre("spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: "
                  "\"OnFailure\", \"Never\""));
}

// ------------------------------------------------------------------------------------------------
// Services and friends

Json service(Json spec) {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}}}, {"spec", std::move(spec)}};
}

TEST(Service, Rules) {
  EXPECT_THAT(
      messages("", "Service", service({{"selector", {{"app", "web"}}}, {"ports", Json::array({{{"port", 80}}})}})),
      IsEmpty());
  EXPECT_THAT(messages("", "Service", service({{"selector", {{"app", "web"}}}})),
              ElementsAre("spec.ports: Required value"));
  EXPECT_THAT(messages("", "Service", service({{"clusterIP", "None"}})), IsEmpty());
  auto m = messages("", "Service",
                    service({{"type", "ClusterIP"},
                             {"ports", Json::array({{{"port", 80}, {"nodePort", 30080}},
                                                    {{"name", "b"}, {"port", 70000}},
                                                    {{"name", "b"}, {"port", 80}}})}}));
  EXPECT_THAT(m, Contains("spec.ports[0].name: Required value"));
  EXPECT_THAT(m, Contains("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"));
  EXPECT_THAT(m, Contains("spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive"));
  EXPECT_THAT(m, Contains("spec.ports[2].name: Duplicate value: \"b\""));
  EXPECT_THAT(m, Contains(HasSubstr("spec.ports[2]: Duplicate value: core.ServicePort{")));
  EXPECT_THAT(messages("", "Service",
                       service({{"type", "NodePort"}, {"ports", Json::array({{{"port", 80}, {"nodePort", 70000}}})}})),
              ElementsAre("spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535, inclusive"));
  EXPECT_THAT(messages("", "Service", service({{"type", "Magic"}, {"ports", Json::array({{{"port", 80}}})}})),
              Contains("spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", "
                       "\"LoadBalancer\", \"NodePort\""));
  EXPECT_THAT(messages("", "Service", service({{"type", "ExternalName"}})),
              ElementsAre("spec.externalName: Required value"));
}

TEST(Service, ClusterIPIsImmutable) {
  Json old =
      service({{"clusterIP", "10.96.0.10"}, {"clusterIPs", {"10.96.0.10"}}, {"ports", Json::array({{{"port", 80}}})}});
  apply_defaults("", "Service", old);
  Json moved = old;
  moved["spec"]["clusterIP"] = "10.96.0.11";
  moved["spec"]["clusterIPs"] = {"10.96.0.11"};
  EXPECT_THAT(messages("", "Service", moved, &old),
              ElementsAre("spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.11\"}: may not change once set"));
  Json same_ip = old;
  same_ip["spec"]["ports"][0]["port"] = 81;
  same_ip["spec"]["ports"][0]["targetPort"] = 81;
  EXPECT_THAT(messages("", "Service", same_ip, &old), IsEmpty());
}

TEST(ConfigMapSecret, KeysAndSizes) {
  Json cm = {{"metadata", {{"name", "c"}, {"namespace", "default"}}},
             {"data", {{"ok.key", "v"}, {"bad key", "v"}, {"..", "v"}}}};
  auto m = messages("", "ConfigMap", cm);
  EXPECT_THAT(m,
              Contains("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric "
                       "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                       "validation is '[-._a-zA-Z0-9]+')"));
  EXPECT_THAT(m, Contains("data[..]: Invalid value: \"..\": must not be '..'"));
  Json big = {{"metadata", {{"name", "c"}, {"namespace", "default"}}},
              {"data", {{"a", std::string(1024 * 1024 + 1, 'x')}}}};
  EXPECT_THAT(messages("", "ConfigMap", big), ElementsAre(": Too long: may not be more than 1048576 bytes"));

  Json tls = {{"metadata", {{"name", "s"}, {"namespace", "default"}}},
              {"type", "kubernetes.io/tls"},
              {"data", {{"tls.crt", "YQ=="}}}};
  EXPECT_THAT(messages("", "Secret", tls), ElementsAre("data[tls.key]: Required value"));
  Json bad64 = {{"metadata", {{"name", "s"}, {"namespace", "default"}}}, {"data", {{"k", "not base64!"}}}};
  EXPECT_THAT(messages("", "Secret", bad64),
              ElementsAre(HasSubstr("data[k]: Invalid value: \"<value omitted>\": illegal base64 data")));

  Json immutable = {
      {"metadata", {{"name", "c"}, {"namespace", "default"}}}, {"immutable", true}, {"data", {{"a", "1"}}}};
  Json edited = immutable;
  edited["data"]["a"] = "2";
  EXPECT_THAT(messages("", "ConfigMap", edited, &immutable),
              ElementsAre("data: Forbidden: field is immutable when `immutable` is set"));
}

TEST(OtherKinds, NodeLeasePriorityClassEndpoints) {
  Json node = {{"metadata", {{"name", "n1"}}},
               {"spec",
                {{"taints", Json::array({{{"key", "k"}, {"effect", "NoSchedule"}},
                                         {{"key", "k"}, {"effect", "NoSchedule"}},
                                         {{"key", "j"}}})}}}};
  auto m = messages("", "Node", node);
  EXPECT_THAT(m, Contains("spec.taints[1]: Duplicate value: core.Taint{Key:\"k\", Value:\"\", Effect:\"NoSchedule\", "
                          "TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair"));
  EXPECT_THAT(m, Contains("spec.taints[2].effect: Required value"));

  Json lease = {{"metadata", {{"name", "l"}, {"namespace", "kube-node-lease"}}},
                {"spec", {{"leaseDurationSeconds", 0}}}};
  EXPECT_THAT(messages("coordination.k8s.io", "Lease", lease),
              ElementsAre("spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"));

  Json pc = {{"metadata", {{"name", "huge"}}}, {"value", 2000000000}};
  EXPECT_THAT(messages("scheduling.k8s.io", "PriorityClass", pc),
              ElementsAre("value: Forbidden: maximum allowed value of a user defined priority is 1000000000"));
  Json sys = {{"metadata", {{"name", "system-custom"}}}, {"value", 10}};
  EXPECT_THAT(
      messages("scheduling.k8s.io", "PriorityClass", sys),
      ElementsAre("metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system "
                  "use only. error: system-custom is not a known system priority class"));
  Json pc_old = {{"metadata", {{"name", "p"}}}, {"value", 10}};
  apply_defaults("scheduling.k8s.io", "PriorityClass", pc_old);
  Json pc_new = {{"metadata", {{"name", "p"}}}, {"value", 11}};
  EXPECT_THAT(messages("scheduling.k8s.io", "PriorityClass", pc_new, &pc_old),
              ElementsAre("value: Forbidden: may not be changed in an update."));

  Json ep = {{"metadata", {{"name", "web"}, {"namespace", "default"}}},
             {"subsets", Json::array({{{"addresses", Json::array({{{"ip", "10.1.0.300"}}})},
                                       {"ports", Json::array({{{"port", 80}}})}}})}};
  EXPECT_THAT(messages("", "Endpoints", ep),
              ElementsAre("subsets[0].addresses[0].ip: Invalid value: \"10.1.0.300\": must be a valid IP address, "
                          "(e.g. 10.9.8.7 or 2001:db8::ffff)"));

  Json ev = {{"metadata", {{"name", "e"}, {"namespace", "default"}}},
             {"involvedObject", {{"kind", "Pod"}, {"namespace", "other"}}}};
  EXPECT_THAT(messages("", "Event", ev),
              ElementsAre("involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"));
  Json ns = {{"metadata", {{"name", "team"}}}, {"spec", {{"finalizers", {"kubernetes", "custom"}}}}};
  EXPECT_THAT(messages("", "Namespace", ns), ElementsAre("spec.finalizers: Invalid value: \"custom\": name is neither "
                                                         "a standard finalizer name nor is it fully qualified"));
}

TEST(UnknownKinds, GetMetadataChecksOnly) {
  Json obj = {{"metadata", {{"name", "Bad"}}}, {"spec", {{"anything", 1}}}};
  EXPECT_THAT(messages("example.com", "Widget", obj), ElementsAre(HasSubstr("metadata.name: Invalid value: \"Bad\"")));
}

// ------------------------------------------------------------------------------------------------
// Robustness: values of every wrong JSON type, anywhere, give FieldErrors and never throw.

void visit_paths(const Json& j, const Json::json_pointer& at,
                 const std::function<void(const Json::json_pointer&)>& fn) {
  fn(at);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) visit_paths(v, at / k, fn);
  else if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i) visit_paths(j[i], at / i, fn);
}

void fuzz(std::string_view group, std::string_view kind, Json base) {
  apply_defaults(group, kind, base);
  const Json replacements[] = {nullptr,           7, -1, 3.5, "str", true, Json::array({1, "a"}), Json::object(),
                               Json({{"x", {1}}})};
  std::size_t cases = 0;
  visit_paths(base, Json::json_pointer(), [&](const Json::json_pointer& ptr) {
    if (ptr.empty()) return;
    for (const auto& r : replacements) {
      Json broken = base;
      broken[ptr] = r;
      ++cases;
      EXPECT_NO_THROW({
        auto errs = validate(group, kind, broken, nullptr);
        auto update_errs = validate(group, kind, broken, &base);
        (void)invalid_message(kind, "x", errs);
        (void)invalid_status(group, kind, "x", update_errs);
        Json again = broken;
        apply_defaults(group, kind, again);
      }) << kind
         << " " << ptr.to_string() << " = " << r.dump();
    }
  });
  EXPECT_GT(cases, 50u);
}

TEST(Robustness, WrongTypesNeverThrow) {
  Json p = pod(Json::array(
      {{{"name", "web"},
        {"image", "nginx"},
        {"ports", Json::array({{{"containerPort", 80}, {"name", "http"}}})},
        {"env", Json::array({{{"name", "A"}, {"valueFrom", {{"configMapKeyRef", {{"name", "c"}, {"key", "k"}}}}}}})},
        {"resources", {{"limits", {{"cpu", "1"}}}}},
        {"volumeMounts", Json::array({{{"name", "v"}, {"mountPath", "/v"}}})},
        {"livenessProbe", {{"httpGet", {{"port", 80}, {"path", "/"}}}}}}}));
  p["spec"]["volumes"] = Json::array(
      {{{"name", "v"}, {"configMap", {{"name", "c"}, {"items", Json::array({{{"key", "a"}, {"path", "b"}}})}}}}});
  p["spec"]["tolerations"] = Json::array({{{"key", "k"}, {"operator", "Exists"}}});
  p["spec"]["initContainers"] = Json::array({container("init", "busybox")});
  p["metadata"]["labels"] = {{"app", "web"}};
  p["metadata"]["ownerReferences"] = Json::array({{{"apiVersion", "v1"}, {"kind", "X"}, {"name", "n"}, {"uid", "u"}}});
  fuzz("", "Pod", p);

  Json d = deployment();
  d["spec"]["selector"]["matchExpressions"] = Json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"a"}}}});
  d["spec"]["template"]["metadata"]["labels"]["tier"] = "a";
  fuzz("apps", "Deployment", d);
  fuzz("apps", "DaemonSet", deployment());
  fuzz("apps", "StatefulSet", deployment());
  fuzz("", "Service",
       service({{"selector", {{"app", "web"}}},
                {"ports", Json::array({{{"port", 80}, {"name", "h"}, {"nodePort", 30001}}})},
                {"type", "NodePort"}}));
  fuzz("batch", "CronJob",
       {{"metadata", {{"name", "c"}, {"namespace", "default"}}},
        {"spec",
         {{"schedule", "0 * * * *"},
          {"timeZone", "UTC"},
          {"jobTemplate", {{"spec", {{"template", {{"spec", {{"containers", Json::array({container()})}}}}}}}}}}}});
  fuzz("", "Secret",
       {{"metadata", {{"name", "s"}, {"namespace", "default"}}},
        {"data", {{"a", "YQ=="}}},
        {"type", "kubernetes.io/tls"}});
  fuzz(
      "", "Node",
      {{"metadata", {{"name", "n"}}},
       {"spec", {{"taints", Json::array({{{"key", "k"}, {"effect", "NoSchedule"}}})}, {"podCIDRs", {"10.0.0.0/24"}}}}});
  fuzz("discovery.k8s.io", "EndpointSlice",
       {{"metadata", {{"name", "e"}, {"namespace", "default"}}},
        {"addressType", "IPv4"},
        {"endpoints", Json::array({{{"addresses", {"10.0.0.1"}}}})},
        {"ports", Json::array({{{"port", 80}, {"name", "h"}}})}});

  for (const Json& top : {Json(nullptr), Json(1), Json("x"), Json::array()}) {
    std::vector<FieldError> errs;
    EXPECT_NO_THROW(errs = validate("", "Pod", top, nullptr));
    EXPECT_FALSE(errs.empty());
  }
}

TEST(Robustness, WrongTypesAreReported) {
  Json d = deployment();
  d["spec"]["replicas"] = "three";
  EXPECT_THAT(messages("apps", "Deployment", d),
              ElementsAre("spec.replicas: Invalid value: \"three\": must be of type integer"));
  Json p = pod();
  p["spec"]["containers"][0]["image"] = 5;
  EXPECT_THAT(messages("", "Pod", p),
              ElementsAre("spec.containers[0].image: Invalid value: 5: must be of type string"));
}

}  // namespace
}  // namespace skiff::kernel::api
