// skiff's pure pieces: kubectl's column layout and Table rendering, chunked decoding, resource-name
// matching, the rollout rules, describe's rendering, durations and command-line scanning.
#include "cli/skiff/output.hpp"

#include <gtest/gtest.h>

#include "cli/skiff/client.hpp"
#include "cli/skiff/cluster_health.hpp"
#include "cli/skiff/command.hpp"
#include "cli/skiff/describe.hpp"
#include "cli/skiff/discovery.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/rollout.hpp"

namespace skiff::cli {
namespace {

// A Table as skiffd serves it for deployments.
Json deployments_table() {
  return Json::parse(R"({"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"42"},
    "columnDefinitions":[
      {"name":"Name","type":"string","format":"name","priority":0},
      {"name":"Ready","type":"string","priority":0},
      {"name":"Up-to-date","type":"integer","priority":0},
      {"name":"Age","type":"string","priority":0},
      {"name":"Images","type":"string","priority":1}],
    "rows":[
      {"cells":["web","1/3",1,"5m","nginx:1.25"],
       "object":{"metadata":{"name":"web","namespace":"shop","labels":{"tier":"front","app":"web"}}}},
      {"cells":["a-much-longer-name","0/1",0,"12d","busybox"],
       "object":{"metadata":{"name":"a-much-longer-name","namespace":"default"}}}]})");
}

TEST(Columns, PadLikeKubectlsTabwriter) {
  // Every column but the last: widest cell + 3, at least 6. The last one is not padded.
  EXPECT_EQ(format_columns({{"NAME", "AGE"}, {"a", "5m"}}), "NAME   AGE\na      5m\n");
  EXPECT_EQ(format_columns({{"A", "B", "C"}, {"xx", "", "z"}}), "A     B     C\nxx          z\n");
  EXPECT_EQ(format_columns({{"K", "V"}}, "  "), "  K     V\n");
  // Trailing padding before an empty last cell is dropped.
  EXPECT_EQ(format_columns({{"ping", "ok", ""}}), "ping   ok\n");
  // Widths count characters, not bytes.
  EXPECT_EQ(display_width("héllo"), 5u);
  EXPECT_EQ(format_columns({{"héllo", "x"}, {"a", "y"}}), "héllo   x\na       y\n");
}

TEST(Columns, WidthsOnlyGrowForLaterRows) {
  ColumnLayout layout;
  layout.fit({"NAME", "DATA"});
  layout.fit({"cfg", "1"});
  EXPECT_EQ(layout.format({"NAME", "DATA"}), "NAME   DATA");
  layout.fit({"a-longer-one", "2"});
  EXPECT_EQ(layout.format({"a-longer-one", "2"}), "a-longer-one   2");
  EXPECT_EQ(layout.format({"cfg", "1"}), "cfg            1");
}

TEST(Table, DefaultColumnsHidePriorityOne) {
  TableView v = render_table(deployments_table(), {});
  EXPECT_EQ(v.header, (std::vector<std::string>{"NAME", "READY", "UP-TO-DATE", "AGE"}));
  ASSERT_EQ(v.rows.size(), 2u);
  EXPECT_EQ(v.rows[0], (std::vector<std::string>{"web", "1/3", "1", "5m"}));
  std::vector<std::vector<std::string>> all = {v.header};
  all.insert(all.end(), v.rows.begin(), v.rows.end());
  EXPECT_EQ(format_columns(all),
            "NAME                 READY   UP-TO-DATE   AGE\n"
            "web                  1/3     1            5m\n"
            "a-much-longer-name   0/1     0            12d\n");
}

TEST(Table, WideNamespaceLabelsAndPrefix) {
  TableOptions o;
  o.wide = true;
  o.namespace_column = true;
  o.show_labels = true;
  o.name_prefix = "deployment.apps/";
  TableView v = render_table(deployments_table(), o);
  EXPECT_EQ(v.header,
            (std::vector<std::string>{"NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AGE", "IMAGES", "LABELS"}));
  EXPECT_EQ(v.rows[0], (std::vector<std::string>{"shop", "deployment.apps/web", "1/3", "1", "5m", "nginx:1.25",
                                                 "app=web,tier=front"}));
  EXPECT_EQ(v.rows[1].back(), "<none>");
}

TEST(Table, PlainObjectsGetNameAndAge) {
  Json list = Json::parse(R"({"kind":"ConfigMapList","items":[{"metadata":{"name":"a","creationTimestamp":"bad"}}]})");
  TableView v = render_table(list, {});
  EXPECT_EQ(v.header, (std::vector<std::string>{"NAME", "AGE"}));
  EXPECT_EQ(v.rows[0], (std::vector<std::string>{"a", "<unknown>"}));
}

TEST(Table, CellText) {
  EXPECT_EQ(cell_text(Json("x")), "x");
  EXPECT_EQ(cell_text(Json(3)), "3");
  EXPECT_EQ(cell_text(Json(3.0)), "3");
  EXPECT_EQ(cell_text(Json(0.5)), "0.5");
  EXPECT_EQ(cell_text(Json(true)), "true");
  EXPECT_EQ(cell_text(Json()), "<none>");
  EXPECT_EQ(labels_text(Json::parse(R"({"b":"2","a":"1"})")), "a=1,b=2");
  EXPECT_EQ(labels_text(Json::object()), "<none>");
}

TEST(Output, FormatsAndLists) {
  EXPECT_EQ(parse_format("get", "", {"json"}), Format::kDefault);
  EXPECT_EQ(parse_format("get", "wide", {"wide", "json"}), Format::kWide);
  EXPECT_THROW(parse_format("get", "xml", {"json", "yaml"}), UsageError);
  Json one = {{"kind", "Pod"}};
  EXPECT_EQ(one_or_list({one}), one);
  Json two = one_or_list({one, one});
  EXPECT_EQ(two["kind"], "List");
  EXPECT_EQ(two["items"].size(), 2u);
  EXPECT_EQ(type_name_of({{"kind", "Deployment"}, {"apiVersion", "apps/v1"}}), "deployment.apps");
  EXPECT_EQ(type_name_of({{"kind", "ConfigMap"}, {"apiVersion", "v1"}}), "configmap");
  EXPECT_EQ(json_text(Json{{"a", 1}}), "{\n    \"a\": 1\n}\n");
}

TEST(Chunked, DecodesAcrossArbitrarySplits) {
  const std::string wire = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n";
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    ChunkedDecoder d;
    std::string out;
    auto sink = [&](std::string_view s) { out.append(s); };
    ASSERT_TRUE(d.feed(wire.substr(0, split), sink));
    ASSERT_TRUE(d.feed(wire.substr(split), sink));
    EXPECT_EQ(out, "hello, world") << split;
    EXPECT_TRUE(d.done()) << split;
  }
  ChunkedDecoder bad;
  EXPECT_FALSE(bad.feed("zz\r\n", [](std::string_view) {}));
  ChunkedDecoder partial;
  EXPECT_TRUE(partial.feed("a\r\n0123", [](std::string_view) {}));
  EXPECT_FALSE(partial.done());
}

TEST(Client, UrlEncode) {
  EXPECT_EQ(url_encode("app=web,tier!=db"), "app%3Dweb%2Ctier%21%3Ddb");
  EXPECT_EQ(url_encode("a-b_c.d~e"), "a-b_c.d~e");
}

std::vector<ResourceInfo> discovered() {
  auto core = parse_resource_list(Json::parse(R"({"resources":[
      {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","shortNames":["po"],"categories":["all"]},
      {"name":"pods/log","singularName":"","namespaced":true,"kind":"Pod"},
      {"name":"events","singularName":"event","namespaced":true,"kind":"Event","shortNames":["ev"]},
      {"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","shortNames":["no"]}]})"),
                                  "", "v1");
  auto apps = parse_resource_list(Json::parse(R"({"resources":[
      {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","shortNames":["deploy"]}]})"),
                                  "apps", "v1");
  auto events = parse_resource_list(Json::parse(R"({"resources":[
      {"name":"events","singularName":"event","namespaced":true,"kind":"Event","shortNames":["ev"]}]})"),
                                    "events.k8s.io", "v1");
  core.insert(core.end(), apps.begin(), apps.end());
  core.insert(core.end(), events.begin(), events.end());
  return core;
}

std::vector<const ResourceInfo*> pointers(const std::vector<ResourceInfo>& all) {
  std::vector<const ResourceInfo*> out;
  for (const auto& r : all) out.push_back(&r);
  return out;
}

TEST(Discovery, MatchesLikeKubectl) {
  auto infos = discovered();
  auto all = pointers(infos);
  EXPECT_EQ(all.size(), 5u);  // pods/log is a subresource, not a type
  for (const char* n : {"pods", "pod", "po", "Pod", "PODS"}) {
    const ResourceInfo* r = match_resource(all, n);
    ASSERT_NE(r, nullptr) << n;
    EXPECT_EQ(r->resource, "pods");
  }
  for (const char* n : {"deploy", "deployment", "deployments.apps", "deployments.v1.apps", "Deployment"}) {
    const ResourceInfo* r = match_resource(all, n);
    ASSERT_NE(r, nullptr) << n;
    EXPECT_EQ(r->group, "apps") << n;
  }
  EXPECT_EQ(match_resource(all, "events")->group, "");  // the core group wins a tie
  EXPECT_EQ(match_resource(all, "events.events.k8s.io")->group, "events.k8s.io");
  EXPECT_EQ(match_resource(all, "foo"), nullptr);
  EXPECT_EQ(match_resource(all, "deployments.batch"), nullptr);
  EXPECT_EQ(match_resource(all, "deploy")->type_name(), "deployment.apps");
  EXPECT_EQ(match_resource(all, "po")->type_name(), "pod");
}

TEST(Discovery, Paths) {
  auto infos = discovered();
  auto all = pointers(infos);
  const ResourceInfo& pods = *match_resource(all, "pods");
  const ResourceInfo& deploy = *match_resource(all, "deploy");
  const ResourceInfo& nodes = *match_resource(all, "nodes");
  EXPECT_EQ(resource_path(pods, "default"), "/api/v1/namespaces/default/pods");
  EXPECT_EQ(resource_path(pods, ""), "/api/v1/pods");
  EXPECT_EQ(resource_path(pods, "ns", "x", "log"), "/api/v1/namespaces/ns/pods/x/log");
  EXPECT_EQ(resource_path(deploy, "default", "web", "scale"), "/apis/apps/v1/namespaces/default/deployments/web/scale");
  EXPECT_EQ(resource_path(nodes, "default", "n1"), "/api/v1/nodes/n1");
}

Json deployment(int generation, int observed, int replicas, int updated, int total, int available) {
  return {{"metadata", {{"name", "web"}, {"generation", generation}}},
          {"spec", {{"replicas", replicas}}},
          {"status",
           {{"observedGeneration", observed},
            {"replicas", total},
            {"updatedReplicas", updated},
            {"availableReplicas", available}}}};
}

TEST(Rollout, KubectlsDeploymentRules) {
  EXPECT_EQ(deployment_rollout_state(deployment(2, 1, 3, 3, 3, 3)).message,
            "Waiting for deployment spec update to be observed...\n");
  EXPECT_EQ(deployment_rollout_state(deployment(2, 2, 3, 1, 3, 1)).message,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...\n");
  EXPECT_EQ(deployment_rollout_state(deployment(2, 2, 3, 3, 4, 3)).message,
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...\n");
  EXPECT_EQ(deployment_rollout_state(deployment(2, 2, 3, 3, 3, 1)).message,
            "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available...\n");
  RolloutState done = deployment_rollout_state(deployment(2, 2, 3, 3, 3, 3));
  EXPECT_TRUE(done.done);
  EXPECT_EQ(done.message, "deployment \"web\" successfully rolled out\n");
  Json stuck = deployment(2, 2, 3, 1, 3, 1);
  stuck["status"]["conditions"] = {
      {{"type", "Progressing"}, {"status", "False"}, {"reason", "ProgressDeadlineExceeded"}}};
  EXPECT_TRUE(deployment_rollout_state(stuck).failed);
}

TEST(Rollout, RevisionsComeFromOwnedReplicaSets) {
  Json d = {{"metadata", {{"uid", "u1"}}}};
  auto rs = [](const char* uid, const char* revision) {
    Json r = {{"metadata", {{"ownerReferences", {{{"uid", uid}, {"controller", true}}}}}}};
    if (revision != nullptr) r["metadata"]["annotations"][kRevisionAnnotation] = revision;
    return r;
  };
  auto revs = revisions_of(d, {rs("u1", "2"), rs("u1", "10"), rs("other", "3"), rs("u1", nullptr), rs("u1", "x")});
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs.begin()->first, 2);
  EXPECT_EQ(revs.rbegin()->first, 10);
  EXPECT_EQ(match_labels_selector(Json::parse(R"({"matchLabels":{"b":"2","a":"1"}})")), "a=1,b=2");
}

TEST(Describe, SmartLabels) {
  EXPECT_EQ(smart_label("restartPolicy"), "Restart Policy");
  EXPECT_EQ(smart_label("podIP"), "Pod IP");
  EXPECT_EQ(smart_label("podIPs"), "Pod IPs");
  EXPECT_EQ(smart_label("apiVersion"), "API Version");
  EXPECT_EQ(smart_label("image"), "Image");
  EXPECT_EQ(smart_label("app.kubernetes.io/name"), "app.kubernetes.io/name");
}

TEST(Describe, RendersMetadataSpecConditionsAndEvents) {
  Json pod = Json::parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p1","namespace":"default","labels":{"app":"web","tier":"front"},
                "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"},
                "creationTimestamp":"2026-11-23T05:40:00Z","uid":"u"},
    "spec":{"restartPolicy":"Always","containers":[{"name":"c","image":"busybox","ports":[{"containerPort":80}]}]},
    "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable"}]}})");
  Json ev = Json::parse(R"({"type":"Warning","reason":"FailedScheduling","message":"no nodes","count":3,
    "firstTimestamp":"2026-11-23T05:40:00Z","lastTimestamp":"2026-11-23T05:44:00Z","source":{"component":"scheduler"}})");
  std::int64_t now = 1'795'412'700'000;  // 2026-11-23T05:45:00Z
  std::string out = describe_object(pod, {ev}, now);
  EXPECT_NE(out.find("Name:               p1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Labels:             app=web\n                    tier=front\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Annotations:        <none>\n"), std::string::npos) << out;  // last-applied is hidden
  EXPECT_NE(out.find("CreationTimestamp:  2026-11-23T05:40:00Z (5m ago)\n"), std::string::npos) << out;
  EXPECT_NE(
      out.find("Spec:\n  Containers:\n    c:\n      Image:  busybox\n      Ports:\n        - Container Port:  80\n"
               "  Restart Policy:  Always\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("Status:\n  Phase:  Pending\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Conditions:\n  Type           Status   Reason          Message\n"
                     "  ----           ------   ------          -------\n"
                     "  PodScheduled   False    Unschedulable\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Events:\n"
                     "  Type      Reason             Age                From        Message\n"
                     "  ----      ------             ----               ----        -------\n"
                     "  Warning   FailedScheduling   60s (x3 over 5m)   scheduler   no nodes\n"),
            std::string::npos)
      << out;
  std::string bare = describe_object({{"metadata", {{"name", "x"}}}}, {}, now);
  EXPECT_NE(bare.find("\nEvents:       <none>\n"), std::string::npos) << bare;  // aligned with Annotations:
}

TEST(Describe, SecretsShowSizesNotValues) {
  Json secret = Json::parse(R"({"kind":"Secret","metadata":{"name":"s"},"data":{"password":"aHVudGVyMg=="}})");
  std::string out = describe_object(secret, {}, 0);
  EXPECT_EQ(out.find("aHVudGVyMg=="), std::string::npos) << out;
  EXPECT_NE(out.find("password:  9 bytes"), std::string::npos) << out;
}

TEST(ClusterHealth, ChecksFromBothEndpointsMerge) {
  std::vector<HealthCheck> checks;
  parse_health("livez", "[+]ping ok\n[+]store ok\nlivez check passed\n", checks);
  parse_health("readyz", "[+]ping ok\n[-]store failed: disk I/O error\n[-]informers failed\nreadyz check failed\n",
               checks);
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].name, "ping");
  EXPECT_TRUE(checks[0].ok);
  EXPECT_EQ(checks[0].probes, (std::vector<std::string>{"livez", "readyz"}));
  EXPECT_EQ(checks[1].name, "store");
  EXPECT_FALSE(checks[1].ok);
  EXPECT_EQ(checks[1].message, "disk I/O error");
  EXPECT_EQ(checks[2].name, "informers");
  EXPECT_EQ(checks[2].message, "readyz failed");
  std::vector<HealthCheck> none;
  parse_health("livez", "ok", none);
  EXPECT_TRUE(none.empty());
}

TEST(CommandLine, Durations) {
  EXPECT_EQ(parse_duration("x", "--timeout", "30s"), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("x", "--timeout", "5"), std::chrono::seconds(5));
  EXPECT_EQ(parse_duration("x", "--timeout", "1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("x", "--timeout", "250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("x", "--timeout", "1.5h"), std::chrono::minutes(90));
  EXPECT_EQ(parse_duration("x", "--timeout", "0"), std::chrono::milliseconds(0));
  EXPECT_THROW(parse_duration("x", "--timeout", "soon"), UsageError);
  EXPECT_THROW(parse_duration("x", "--timeout", "5s later"), UsageError);
  EXPECT_THROW(parse_duration("x", "--timeout", ""), UsageError);
}

TEST(CommandLine, FirstPositionalSkipsGlobalFlagValues) {
  EXPECT_EQ(first_positional({"get", "pods"}), 0u);
  EXPECT_EQ(first_positional({"-n", "team-a", "get"}), 2u);
  EXPECT_EQ(first_positional({"--kubeconfig", "/x", "--insecure-skip-tls-verify", "get"}), 3u);
  EXPECT_EQ(first_positional({"--namespace=a", "-nb", "get"}), 2u);
  EXPECT_EQ(first_positional({"--context", "c", "-s", "http://x", "cluster", "status"}), 4u);
  EXPECT_EQ(first_positional({"--help"}), 1u);
  EXPECT_EQ(first_positional({}), 0u);
}

}  // namespace
}  // namespace skiff::cli
