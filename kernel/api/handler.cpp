#include "kernel/api/handler.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <variant>

#include "kernel/api/apply.hpp"
#include "kernel/api/defaults.hpp"
#include "kernel/api/exec_stream.hpp"
#include "kernel/api/openapi.hpp"
#include "kernel/api/patch.hpp"
#include "kernel/api/protobuf.hpp"
#include "kernel/api/remote_node_services.hpp"
#include "kernel/api/schema.hpp"
#include "kernel/api/service_allocator.hpp"
#include "kernel/api/table.hpp"
#include "kernel/api/validation.hpp"
#include "kernel/api/yaml.hpp"
#include "kernel/util/json_parse.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::kernel::api {

int http_code(plugin::Code code) {
  switch (code) {
    case plugin::Code::kOk: return 200;
    case plugin::Code::kInvalid: return 422;
    case plugin::Code::kBadRequest: return 400;
    case plugin::Code::kNotFound: return 404;
    case plugin::Code::kAlreadyExists:
    case plugin::Code::kConflict: return 409;
    case plugin::Code::kExpired: return 410;
    case plugin::Code::kUnavailable: return 503;
    case plugin::Code::kUnsupportedMediaType: return 415;
    case plugin::Code::kUnschedulable:
    case plugin::Code::kInternal: return 500;
  }
  return 500;
}

// Kubernetes' Status reason for a code: the code's own name, but for the two Kubernetes spells otherwise.
std::string reason_of(plugin::Code code) {
  if (code == plugin::Code::kUnavailable) return "ServiceUnavailable";
  if (code == plugin::Code::kInternal || code == plugin::Code::kUnschedulable || code == plugin::Code::kOk) return "InternalError";
  return std::string(plugin::code_name(code));
}

namespace {

using plugin::Code;
using plugin::Status;

constexpr std::string_view kKubeVersion = "v1.32.0";
constexpr std::string_view kSkiffVersion = "0.1.0";

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    std::size_t start = path.find_first_not_of('/');
    if (start == std::string_view::npos) break;
    path.remove_prefix(start);
    std::size_t end = path.find('/');
    out.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return out;
}

Json status_object(int code, std::string_view reason, std::string_view message, Json details = nullptr) {
  Json j = {{"kind", "Status"},    {"apiVersion", "v1"},  {"metadata", Json::object()}, {"status", "Failure"},
            {"message", message},  {"reason", reason},    {"code", code}};
  if (!details.is_null()) j["details"] = std::move(details);
  return j;
}

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse raw_json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A stored object as the response.
HttpResponse object_json(int status, ObjectPtr object) {
  HttpResponse r = raw_json(status, object->json);
  r.object = std::move(object);
  return r;
}

HttpResponse error_response(const Status& st, const ResourceType* type = nullptr, std::string_view name = {}) {
  int code = http_code(st.code());
  Json details = nullptr;
  if (type != nullptr) {
    details = {{"kind", type->id.resource}};
    if (!type->id.group.empty()) details["group"] = type->id.group;
    if (!name.empty()) details["name"] = name;
  }
  return json_response(code, status_object(code, reason_of(st.code()), st.message(), std::move(details)));
}

HttpResponse error_response(int code, std::string_view reason, std::string_view message) {
  return json_response(code, status_object(code, reason, message));
}

HttpResponse text_response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8") {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

bool wants_table(const HttpRequest& req) {
  std::string accept = req.header("accept");
  return accept.find("as=Table") != std::string::npos && accept.find("g=meta.k8s.io") != std::string::npos;
}

std::string include_object_param(const HttpRequest& req) {
  auto v = req.param("includeObject");
  return v && !v->empty() ? *v : std::string("Metadata");
}

bool dry_run(const HttpRequest& req) {
  for (const auto& v : req.params("dryRun"))
    if (v == "All") return true;
  return false;
}

// A watch as a stream: JSON lines, at most 256 events a pull so one busy watch cannot hog the executor.
class WatchSource final : public StreamSource {
 public:
  WatchSource(std::unique_ptr<Watch> watch, std::function<std::string(const WatchEvent&)> encode)
      : watch_(std::move(watch)), encode_(std::move(encode)) {}
  std::string poll() override {
    std::string out;
    for (const auto& ev : watch_->poll(256)) out += encode_(ev);
    return out;
  }
  bool done() override { return watch_->done(); }
  void set_notify(std::function<void()> wake) override { watch_->set_notify(std::move(wake)); }
  void stop() override { watch_->stop(); }

 private:
  std::unique_ptr<Watch> watch_;
  std::function<std::string(const WatchEvent&)> encode_;
};

}  // namespace

struct ApiHandler::Impl {
  ObjectStore& store;
  MetricsRegistry& metrics;
  plugin::Logger& logger;
  const plugin::Clock& clock;
  HandlerOptions options;
  const ResourceRegistry& registry;
  const ResourceType* namespaces = nullptr;
  const ResourceType* pods = nullptr;
  const ResourceType* services = nullptr;
  std::unique_ptr<ServiceAllocator> service_allocator;
  // OpenAPI documents depend only on the (fixed) registry and take tens of ms to build: built once.
  std::mutex openapi_mutex;
  std::map<std::string, std::string> openapi_cache;  // "" = the root, "group/version" otherwise

  Impl(ObjectStore& s, MetricsRegistry& m, plugin::Logger& l, const plugin::Clock& c, HandlerOptions o)
      : store(s), metrics(m), logger(l), clock(c), options(std::move(o)), registry(s.registry()) {
    namespaces = registry.find("", "v1", "namespaces");
    pods = registry.find("", "v1", "pods");
    services = registry.find("", "v1", "services");
    auto cidr = parse_ipv4_cidr(options.service_cluster_ip_range);
    auto ports = parse_port_range(options.service_node_port_range);
    service_allocator = std::make_unique<ServiceAllocator>(
        cidr ? *cidr : *parse_ipv4_cidr("10.96.0.0/12"), ports ? *ports : PortRange{}, [this] { return stored_services(); });
  }

  std::vector<Json> stored_services() const {
    std::vector<Json> out;
    if (services == nullptr) return out;
    auto listed = store.list(*services, ListOptions{});
    if (!listed) {
      logger.warn("service allocation: cannot list services", {{"error", listed.status().message()}});
      return out;
    }
    for (const auto& o : listed->items) out.push_back(parse_json(o->json));
    return out;
  }

  // ---------------------------------------------------------------- discovery

  HttpResponse version() const {
    return json_response(200, {{"major", "1"},
                               {"minor", "32"},
                               {"gitVersion", kKubeVersion},
                               {"gitCommit", std::string("skiff-") + std::string(kSkiffVersion)},
                               {"gitTreeState", "clean"},
                               {"buildDate", "2026-11-23T00:00:00Z"},
                               {"goVersion", "none (C++20)"},
                               {"compiler", "gcc"},
                               {"platform", "linux/amd64"}});
  }

  std::vector<std::pair<std::string, std::string>> group_versions() const {
    std::set<std::pair<std::string, std::string>> gvs;
    for (const ResourceType* t : registry.all())
      if (!t->id.group.empty()) gvs.emplace(t->id.group, t->id.version);
    return {gvs.begin(), gvs.end()};
  }

  HttpResponse api_versions() const {
    return json_response(200, {{"kind", "APIVersions"},
                               {"versions", {"v1"}},
                               {"serverAddressByClientCIDRs",
                                {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", options.server_address}}}}});
  }

  static Json group_json(const std::string& group, const std::string& version) {
    Json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
    return {{"name", group}, {"versions", {gv}}, {"preferredVersion", gv}};
  }

  HttpResponse api_groups() const {
    Json groups = Json::array();
    for (const auto& [g, v] : group_versions()) groups.push_back(group_json(g, v));
    return json_response(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
  }

  HttpResponse resource_list(std::string_view group, std::string_view version) const {
    Json resources = Json::array();
    static const Json kVerbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
    bool any = false;
    for (const ResourceType* t : registry.all()) {
      if (t->id.group != group || t->id.version != version) continue;
      any = true;
      Json r = {{"name", t->id.resource}, {"singularName", t->singular}, {"namespaced", t->namespaced},
                {"kind", t->kind},        {"verbs", kVerbs}};
      if (!t->short_names.empty()) r["shortNames"] = t->short_names;
      if (!t->categories.empty()) r["categories"] = t->categories;
      resources.push_back(std::move(r));
      auto sub = [&](std::string name, std::string kind, Json verbs, std::string g = {}, std::string v = {}) {
        Json s = {{"name", t->id.resource + "/" + name}, {"singularName", ""}, {"namespaced", t->namespaced},
                  {"kind", std::move(kind)}, {"verbs", std::move(verbs)}};
        if (!g.empty()) {
          s["group"] = std::move(g);
          s["version"] = std::move(v);
        }
        resources.push_back(std::move(s));
      };
      if (t->has_status) sub("status", t->kind, {"get", "patch", "update"});
      if (t->id.resource == "deployments" || t->id.resource == "replicasets" || t->id.resource == "statefulsets")
        sub("scale", "Scale", {"get", "patch", "update"}, "autoscaling", "v1");
      if (t == pods) {
        sub("eviction", "Eviction", {"create"}, "policy", "v1");
        sub("binding", "Binding", {"create"});
        sub("log", "Pod", {"get"});
        sub("exec", "PodExecOptions", {"create", "get"});
      }
    }
    if (!any) return error_response(404, "NotFound", "the server could not find the requested resource");
    std::string gv = group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
    return json_response(200, {{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv},
                               {"resources", resources}});
  }

  // ---------------------------------------------------------------- request decoding

  // The body as JSON: JSON, YAML when the content type says so, or Kubernetes' protobuf (typed-client
  // commands such as `kubectl create deployment` send it), decoded into the JSON Kubernetes gives the
  // same object; a protobuf body of a kind without a schema stays a 415. Errors carry the position.
  plugin::Result<Json> decode_body(const HttpRequest& req) const {
    std::string ct = req.header("content-type");
    if (ct.rfind(kProtobufContentType, 0) == 0) return decode_protobuf_body(req.body);
    if (req.body.empty()) return plugin::bad_request("the request body is empty");
    bool yaml = ct.find("yaml") != std::string::npos;
    if (yaml) {
      // apply-patch+yaml bodies are usually JSON, which is YAML too; try JSON first for exact numbers.
      Json j = parse_json_or_discarded(req.body);
      if (!j.is_discarded()) return j;
      return yaml_to_json(req.body);
    }
    try {
      return parse_json(req.body);
    } catch (const Json::parse_error& e) {
      return plugin::bad_request(std::string("the request body is not valid JSON: ") + e.what());
    }
  }

  // fieldValidation: Strict refuses unknown fields, Warn reports them in Warning headers, Ignore
  // drops them silently; values of the wrong type are refused in every mode, as Go's decoder does.
  // Unknown fields never reach storage.
  Status check_fields(const HttpRequest& req, const ResourceType& type, Json& obj, HttpResponse& warnings) const {
    const TypeSchema* schema = schema_for(type.id.group, type.id.version, type.kind);
    if (schema == nullptr) return Status::ok();
    std::string mode = req.param("fieldValidation").value_or("Warn");
    if (auto st = check_decode(*schema, obj, mode == "Strict"); !st) return st;
    auto unknown = unknown_fields(*schema, obj);
    for (const auto& path : unknown) {
      if (mode == "Warn") warnings.headers.emplace_back("Warning", "299 - \"unknown field \\\"" + path + "\\\"\"");
      erase_path(obj, path);
    }
    return Status::ok();
  }

  // Removes the value at a strict-decoder path ("spec.template.spec.containers[0].foo").
  static void erase_path(Json& root, std::string_view path) {
    Json* node = &root;
    while (!path.empty() && node != nullptr) {
      std::size_t cut = path.find_first_of(".[");
      std::string_view key = path.substr(0, cut);
      bool last = cut == std::string_view::npos;
      if (last) {
        if (node->is_object()) node->erase(std::string(key));
        return;
      }
      if (!node->is_object() || !node->contains(key)) return;
      node = &(*node)[std::string(key)];
      path.remove_prefix(cut);
      while (!path.empty() && path.front() == '[') {
        std::size_t close = path.find(']');
        if (close == std::string_view::npos || !node->is_array()) return;
        std::size_t index = static_cast<std::size_t>(std::atoll(std::string(path.substr(1, close - 1)).c_str()));
        if (index >= node->size()) return;
        node = &(*node)[index];
        path.remove_prefix(close + 1);
      }
      if (!path.empty() && path.front() == '.') path.remove_prefix(1);
    }
  }

  // The field manager of a write: ?fieldManager, else the client's name from its User-Agent
  // ("kubectl/v1.32.4 (linux/amd64) …" → "kubectl"), as Kubernetes defaults it.
  static std::string field_manager(const HttpRequest& req) {
    if (auto m = req.param("fieldManager"); m && !m->empty()) return *m;
    std::string ua = req.header("user-agent");
    std::size_t cut = ua.find_first_of("/ ");
    std::string name = ua.substr(0, cut);
    return name.empty() ? "unknown" : name;
  }

  // ---------------------------------------------------------------- admission

  Status namespace_allows_create(std::string_view ns) const {
    if (ns.empty() || namespaces == nullptr) return Status::ok();
    auto n = store.get(*namespaces, "", ns);
    if (!n) return plugin::not_found("namespaces \"" + std::string(ns) + "\" not found");
    if ((*n)->deleting)
      return {Code::kConflict, "unable to create new content in namespace " + std::string(ns) +
                                   " because it is being terminated"};
    return Status::ok();
  }

  // Defaults + validation for a create. Returns the error response, or nothing.
  std::optional<HttpResponse> admit_create(const ResourceType& type, Json& obj) const {
    apply_defaults(type.id.group, type.kind, obj);
    auto errors = validate(type.id.group, type.kind, obj, nullptr);
    if (!errors.empty()) return invalid_response(type, obj, errors);
    return std::nullopt;
  }

  // A /status write keeps the stored spec (the store enforces it) and, as Kubernetes' status
  // strategies do, is judged on metadata and status only.
  std::optional<HttpResponse> admit_update(const ResourceType& type, Json& obj, const Json& old, bool status_sub) const {
    if (status_sub && old.contains("spec")) obj["spec"] = old["spec"];
    apply_defaults(type.id.group, type.kind, obj, Operation::kUpdate);
    auto errors = validate(type.id.group, type.kind, obj, &old);
    if (status_sub)
      std::erase_if(errors, [](const FieldError& e) { return e.field == "spec" || e.field.starts_with("spec."); });
    if (!errors.empty()) return invalid_response(type, obj, errors);
    return std::nullopt;
  }

  HttpResponse invalid_response(const ResourceType& type, const Json& obj, const std::vector<FieldError>& errors) const {
    std::string name;
    if (obj.contains("metadata") && obj["metadata"].is_object() && obj["metadata"].contains("name") &&
        obj["metadata"]["name"].is_string())
      name = obj["metadata"]["name"].get<std::string>();
    return json_response(422, invalid_status(type.id.group, type.kind, name, errors));
  }

  // ---------------------------------------------------------------- verbs

  HttpResponse get(const HttpRequest& req, const ResourceType& type, std::string_view ns, std::string_view name) const {
    auto obj = store.get(type, ns, name);
    if (!obj) return error_response(obj.status(), &type, name);
    if (wants_table(req))
      return json_response(200, to_table(type, {*obj}, clock.now_ms(), include_object_param(req),
                                         std::to_string((*obj)->resource_version)));
    return object_json(200, *obj);
  }

  ListOptions list_options(const HttpRequest& req, std::string_view ns) const {
    ListOptions o;
    o.ns = ns;
    o.label_selector = req.param("labelSelector").value_or("");
    o.field_selector = req.param("fieldSelector").value_or("");
    if (auto l = req.param("limit")) o.limit = static_cast<std::size_t>(std::max(0LL, std::atoll(l->c_str())));
    o.continue_token = req.param("continue").value_or("");
    return o;
  }

  HttpResponse list(const HttpRequest& req, const ResourceType& type, std::string_view ns) const {
    auto result = store.list(type, list_options(req, ns));
    if (!result) return error_response(result.status(), &type);
    if (wants_table(req)) {
      return raw_json(200, to_table_text(type, result->items, clock.now_ms(), include_object_param(req),
                                         std::to_string(result->resource_version), result->continue_token));
    }
    // Built from the cached JSON text: a list is never parsed and re-serialized.
    std::string body;
    std::size_t total = 128;
    for (const auto& o : result->items) total += o->json.size() + 1;
    body.reserve(total);
    body += R"({"kind":")" + type.list_kind() + R"(","apiVersion":")" + type.api_version() +
            R"(","metadata":{"resourceVersion":")" + std::to_string(result->resource_version) + "\"";
    if (!result->continue_token.empty()) body += R"(,"continue":")" + result->continue_token + "\"";
    body += R"(},"items":[)";
    for (std::size_t i = 0; i < result->items.size(); ++i) {
      if (i) body += ',';
      body += result->items[i]->json;
    }
    body += "]}";
    return raw_json(200, std::move(body));
  }

  HttpResponse watch(const HttpRequest& req, const ResourceType& type, std::string_view ns) const {
    WatchOptions o;
    o.ns = ns;
    o.label_selector = req.param("labelSelector").value_or("");
    o.field_selector = req.param("fieldSelector").value_or("");
    std::string rv = req.param("resourceVersion").value_or("");
    if (!rv.empty() && rv != "0") {
      char* end = nullptr;
      long long v = std::strtoll(rv.c_str(), &end, 10);
      if (end == rv.c_str() || *end != '\0' || v < 0)
        return error_response(400, "BadRequest", "resourceVersion: Invalid value: \"" + rv + "\": must be a number");
      o.resource_version = v;
    }
    o.bookmarks = req.param("allowWatchBookmarks").value_or("") == "true";
    o.bookmark_interval = options.bookmark_interval;
    auto w = store.watch(type, o);
    if (!w) return error_response(w.status(), &type);

    auto timeout = options.max_watch_timeout;
    if (auto t = req.param("timeoutSeconds")) {
      long long secs = std::atoll(t->c_str());
      if (secs > 0) timeout = std::min<std::chrono::seconds>(timeout, std::chrono::seconds(secs));
    } else {
      // Like Kubernetes: spread unbounded watches between the limit and twice it so they do not
      // all end at once.
      thread_local std::minstd_rand rng{std::random_device{}()};
      timeout += std::chrono::seconds(rng() % static_cast<unsigned>(std::max<long long>(1, timeout.count())));
    }

    auto stream = std::make_shared<StreamBody>();
    stream->deadline = std::chrono::steady_clock::now() + timeout;
    stream->tick = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), options.bookmark_interval);
    bool table = wants_table(req);
    std::string include = include_object_param(req);
    const plugin::Clock* clk = &clock;
    const ResourceType* t = &type;
    auto encode = [table, include, clk, t](const WatchEvent& ev) {
      std::string line = R"({"type":")" + std::string(watch_event_type_name(ev.type)) + R"(","object":)";
      switch (ev.type) {
        case WatchEventType::kBookmark:
          line += Json{{"kind", t->kind},
                       {"apiVersion", t->api_version()},
                       {"metadata", {{"resourceVersion", std::to_string(ev.revision)}}}}
                      .dump();
          break;
        case WatchEventType::kError: {
          int code = http_code(ev.error.code());
          line += status_object(code, reason_of(ev.error.code()), ev.error.message()).dump();
          break;
        }
        default:
          if (table) {
            line += to_table(*t, {ev.object}, clk->now_ms(), include, std::to_string(ev.revision)).dump();
          } else {
            line += ev.object->json;
          }
      }
      line += "}\n";
      return line;
    };
    stream->source = std::make_unique<WatchSource>(std::move(*w), std::move(encode));
    HttpResponse r;
    r.status = 200;
    r.stream = std::move(stream);
    return r;
  }

  HttpResponse create(const HttpRequest& req, const ResourceType& type, std::string_view ns) {
    auto body = decode_body(req);
    if (!body) return error_response(body.status());
    Json obj = std::move(*body);
    if (!obj.is_object()) return error_response(400, "BadRequest", "the request body must be a JSON object");
    HttpResponse warnings;
    if (auto st = check_fields(req, type, obj, warnings); !st) return error_response(st, &type);
    return finish_create(req, type, ns, std::move(obj), std::move(warnings));
  }

  HttpResponse finish_create(const HttpRequest& req, const ResourceType& type, std::string_view ns, Json obj,
                             HttpResponse warnings) {
    // Kind and apiVersion must name this resource (missing ones are filled in by the store).
    if (obj.contains("kind") && obj["kind"] != type.kind)
      return error_response(400, "BadRequest",
                            "the kind in the data (" + obj["kind"].dump() + ") does not match the kind of the "
                            "resource (" + type.kind + ")");
    obj["apiVersion"] = type.api_version();
    obj["kind"] = type.kind;
    if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
    if (type.namespaced) {
      Json& meta = obj["metadata"];
      if (!meta.contains("namespace") || meta["namespace"] == "") meta["namespace"] = ns;
      if (meta["namespace"] != ns && !ns.empty())
        return error_response(400, "BadRequest",
                              "the namespace of the provided object does not match the namespace sent on the request");
      if (auto st = namespace_allows_create(meta["namespace"].is_string() ? meta["namespace"].get<std::string>() : "");
          !st) {
        if (st.code() == Code::kConflict) return error_response(403, "Forbidden", st.message());
        return error_response(st);
      }
    }
    // Like Kubernetes, the uid exists before defaulting (a Job's generated selector uses it).
    obj["metadata"]["uid"] = new_uid();
    if (auto bad = admit_create(type, obj)) return *bad;
    ServiceReservation reserved;
    if (&type == services) {
      auto errors = service_allocator->allocate(obj, nullptr, reserved);
      if (!errors.empty()) return invalid_response(type, obj, errors);
    }
    if (req.header("content-type").find("apply-patch") == std::string::npos)
      record_update(obj, nullptr, field_manager(req), clock.now_ms());
    if (dry_run(req)) {
      service_allocator->release(reserved);
      return json_response(201, obj);
    }
    std::string name = obj["metadata"].value("name", "");
    auto created = store.create(type, ns, std::move(obj));
    if (!created) {
      service_allocator->release(reserved);
      return error_response(created.status(), &type, name);
    }
    service_allocator->commit(reserved);
    HttpResponse r = object_json(201, *created);
    r.headers = std::move(warnings.headers);
    return r;
  }

  // Writes `next` (the whole object) as an update of `current`, with admission.
  HttpResponse finish_update(const HttpRequest& req, const ResourceType& type, Json next, const Json& current,
                             bool status_sub, HttpResponse warnings) {
    if (auto bad = admit_update(type, next, current, status_sub)) return *bad;
    ServiceReservation reserved;
    const bool allocates = &type == services && !status_sub;
    if (allocates) {
      auto errors = service_allocator->allocate(next, &current, reserved);
      if (!errors.empty()) return invalid_response(type, next, errors);
    }
    if (req.header("content-type").find("apply-patch") == std::string::npos)
      record_update(next, &current, field_manager(req), clock.now_ms(),
                    status_sub ? FieldManagerOptions{"status", {"spec"}} : FieldManagerOptions{});
    if (dry_run(req)) {
      service_allocator->release(reserved);
      return json_response(200, next);
    }
    auto updated = store.update(type, std::move(next), UpdateOptions{.status = status_sub});
    if (!updated) {
      service_allocator->release(reserved);
      std::string name = current["metadata"].value("name", "");
      return error_response(updated.status(), &type, name);
    }
    if (allocates) {
      service_allocator->commit(reserved);
      service_allocator->release_unused(current, parse_json((*updated)->json));
    }
    HttpResponse r = object_json(200, *updated);
    r.headers = std::move(warnings.headers);
    return r;
  }

  HttpResponse update(const HttpRequest& req, const ResourceType& type, std::string_view ns, std::string_view name,
                      bool status_sub) {
    auto body = decode_body(req);
    if (!body) return error_response(body.status());
    Json obj = std::move(*body);
    if (!obj.is_object()) return error_response(400, "BadRequest", "the request body must be a JSON object");
    HttpResponse warnings;
    if (auto st = check_fields(req, type, obj, warnings); !st) return error_response(st, &type);
    Json& meta = obj["metadata"];
    if (!meta.is_object()) return error_response(400, "BadRequest", "metadata must be an object");
    if (meta.contains("name") && meta["name"] != name)
      return error_response(400, "BadRequest",
                            "the name of the object (" + meta["name"].dump() +
                                ") does not match the name on the URL (" + std::string(name) + ")");
    meta["name"] = name;
    if (type.namespaced) meta["namespace"] = ns;
    auto current = store.get(type, ns, name);
    if (!current) return error_response(current.status(), &type, name);
    Json cur = parse_json((*current)->json);
    return finish_update(req, type, std::move(obj), cur, status_sub, std::move(warnings));
  }

  HttpResponse patch(const HttpRequest& req, const ResourceType& type, std::string_view ns, std::string_view name,
                     bool status_sub) {
    std::string ct = req.header("content-type");
    if (auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
    auto body = decode_body(req);
    if (!body) return error_response(body.status());
    const TypeSchema* schema = schema_for(type.id.group, type.id.version, type.kind);
    const std::string manager = req.param("fieldManager").value_or("");

    if (ct == "application/apply-patch+yaml") {
      if (manager.empty())
        return error_response(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                                              "value: is required for apply patch");
      bool force = req.param("force").value_or("") == "true";
      HttpResponse warnings;
      Json applied = std::move(*body);
      if (!applied.is_object()) return error_response(400, "BadRequest", "the apply body must be an object");
      if (auto st = check_fields(req, type, applied, warnings); !st) return error_response(st, &type);
      for (int attempt = 0; attempt < 8; ++attempt) {
        auto current = store.get(type, ns, name);
        if (!current && current.status().code() != Code::kNotFound) return error_response(current.status(), &type, name);
        if (!current) {
          if (applied.contains("metadata") && applied["metadata"].is_object()) {
            applied["metadata"]["name"] = name;
          } else {
            applied["metadata"] = {{"name", name}};
          }
          auto result = server_side_apply(nullptr, applied, manager, force, clock.now_ms());
          if (!result) return error_response(result.status(), &type, name);
          HttpResponse r = finish_create(req, type, ns, std::move(result->object), std::move(warnings));
          if (r.status == 409 && attempt < 7) continue;  // created concurrently: apply again as an update
          return r;
        }
        Json live = parse_json((*current)->json);
        auto result = server_side_apply(&live, applied, manager, force, clock.now_ms());
        if (!result) return error_response(result.status(), &type, name);
        Json next = std::move(result->object);
        next["metadata"]["resourceVersion"] = std::to_string((*current)->resource_version);
        HttpResponse r = finish_update(req, type, std::move(next), live, status_sub, warnings);
        if (r.status == 409 && attempt < 7) continue;
        return r;
      }
      return error_response(409, "Conflict", "too many concurrent writers");
    }

    for (int attempt = 0; attempt < 8; ++attempt) {
      auto current = store.get(type, ns, name);
      if (!current) return error_response(current.status(), &type, name);
      Json live = parse_json((*current)->json);
      plugin::Result<Json> patched = plugin::bad_request("");
      if (ct == "application/merge-patch+json" || ct == "application/json") {
        patched = merge_patch(live, *body);
      } else if (ct == "application/strategic-merge-patch+json") {
        patched = strategic_merge_patch(live, *body, schema);
      } else if (ct == "application/json-patch+json") {
        patched = json_patch(live, *body);
      } else {
        return error_response(415, "UnsupportedMediaType",
                              "the body of the request was in an unknown format - accepted media types include: "
                              "application/json-patch+json, application/merge-patch+json, "
                              "application/apply-patch+yaml, application/strategic-merge-patch+json");
      }
      if (!patched) return error_response(patched.status(), &type, name);
      Json next = std::move(*patched);
      if (!next.is_object() || !next.contains("metadata") || !next["metadata"].is_object())
        return error_response(422, "Invalid", "the patch removed metadata");
      // A patch that carries a resourceVersion makes it a precondition; otherwise the read one is.
      auto& meta = next["metadata"];
      if (!meta.contains("resourceVersion") || meta["resourceVersion"].is_null())
        meta["resourceVersion"] = std::to_string((*current)->resource_version);
      bool explicit_rv = meta["resourceVersion"] != std::to_string((*current)->resource_version);
      meta["name"] = name;
      if (type.namespaced) meta["namespace"] = ns;
      HttpResponse warnings;
      if (auto st = check_fields(req, type, next, warnings); !st) return error_response(st, &type);
      HttpResponse r = finish_update(req, type, std::move(next), live, status_sub, std::move(warnings));
      if (r.status == 409 && !explicit_rv && attempt < 7) continue;  // lost a race: patch the new state
      return r;
    }
    return error_response(409, "Conflict", "too many concurrent writers");
  }

  // DeleteOptions.gracePeriodSeconds of a request: the body's, else the query parameter's. An
  // error response when it is not an integer.
  static std::variant<std::optional<std::int64_t>, HttpResponse> requested_grace(const HttpRequest& req,
                                                                               const Json& body) {
    auto invalid = [](const std::string& value) {
      return error_response(400, "BadRequest",
                            "DeleteOptions.meta.k8s.io \"\" is invalid: gracePeriodSeconds: Invalid value: " + value +
                                ": must be an integer number of seconds");
    };
    if (body.is_object() && body.contains("gracePeriodSeconds") && !body["gracePeriodSeconds"].is_null()) {
      const Json& g = body["gracePeriodSeconds"];
      if (!g.is_number_integer()) return invalid(g.dump());
      return std::optional<std::int64_t>(g.get<std::int64_t>());
    }
    if (auto q = req.param("gracePeriodSeconds")) {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(q->data(), q->data() + q->size(), v);
      if (ec != std::errc() || end != q->data() + q->size() || q->empty()) return invalid("\"" + *q + "\"");
      return std::optional<std::int64_t>(v);
    }
    return std::optional<std::int64_t>();
  }

  // The grace period a pod is deleted with, as Kubernetes' pod strategy decides it
  // (CheckGracefulDelete): the request's, else spec.terminationGracePeriodSeconds (30); 0, that is
  // at once, when no node runs it (unbound) or its containers are done (Succeeded, Failed). A pod
  // already being deleted keeps its own deadline unless the request shortens it (the store decides).
  static std::optional<std::int64_t> pod_grace(const ObjectPtr& pod, std::optional<std::int64_t> requested) {
    if (pod->deleting) return requested;
    Json j = parse_json(pod->json);
    const Json& spec = j.contains("spec") && j["spec"].is_object() ? j["spec"] : Json::object();
    std::int64_t grace = requested ? *requested : 30;
    if (!requested && spec.contains("terminationGracePeriodSeconds") && spec["terminationGracePeriodSeconds"].is_number_integer())
      grace = spec["terminationGracePeriodSeconds"].get<std::int64_t>();
    std::string phase = j.contains("status") && j["status"].is_object() ? j["status"].value("phase", "") : "";
    if (spec.value("nodeName", "").empty() || phase == "Succeeded" || phase == "Failed") grace = 0;
    return grace;
  }

  HttpResponse remove(const HttpRequest& req, const ResourceType& type, std::string_view ns, std::string_view name) {
    DeleteOptions opts;
    std::string policy = req.param("propagationPolicy").value_or("");
    Json body;
    if (!req.body.empty() && req.header("content-type").find("json") != std::string::npos) {
      body = parse_json_or_discarded(req.body);
      if (body.is_object() && body.contains("preconditions") && body["preconditions"].is_object()) {
        const Json& p = body["preconditions"];
        if (p.contains("uid") && p["uid"].is_string()) opts.precondition_uid = p["uid"].get<std::string>();
        if (p.contains("resourceVersion") && p["resourceVersion"].is_string())
          opts.precondition_resource_version = std::atoll(p["resourceVersion"].get<std::string>().c_str());
      }
      if (body.is_object() && body.contains("propagationPolicy") && body["propagationPolicy"].is_string())
        policy = body["propagationPolicy"].get<std::string>();
      else if (body.is_object() && body.value("orphanDependents", false))
        policy = "Orphan";  // the pre-1.7 spelling, still accepted by Kubernetes
    }
    if (!policy.empty() && policy != "Background" && policy != "Foreground" && policy != "Orphan")
      return error_response(422, "Invalid",
                            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" + policy +
                                "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
    if (&type == namespaces) return delete_namespace(name);
    auto grace = requested_grace(req, body);
    if (auto* bad = std::get_if<HttpResponse>(&grace)) return std::move(*bad);
    if (dry_run(req)) {
      auto obj = store.get(type, ns, name);
      if (!obj) return error_response(obj.status(), &type, name);
      return object_json(200, *obj);
    }
    // Foreground and Orphan keep the object (with its deletionTimestamp) behind a finalizer the garbage
    // collector removes once the dependents are deleted, or released.
    if (policy == "Foreground" || policy == "Orphan") {
      const std::string finalizer = policy == "Foreground" ? "foregroundDeletion" : "orphan";
      auto guarded = store.update_with(type, ns, name, [&](Json& j) {
        const Json& meta = j["metadata"];
        if (opts.precondition_uid && meta.value("uid", "") != *opts.precondition_uid)
          return Status(Code::kConflict, "Precondition failed: UID in precondition: " + *opts.precondition_uid +
                                             ", UID in object meta: " + meta.value("uid", ""));
        if (meta.contains("deletionTimestamp")) return Status::ok();  // no new finalizers while deleting
        Json& fin = j["metadata"]["finalizers"];
        if (!fin.is_array()) fin = Json::array();
        if (std::find(fin.begin(), fin.end(), finalizer) == fin.end()) fin.push_back(finalizer);
        return Status::ok();
      });
      if (!guarded) return error_response(guarded.status(), &type, name);
      opts.precondition_resource_version.reset();  // our own write moved it on
    }
    if (&type == pods) {
      auto pod = store.get(type, ns, name);
      if (!pod) return error_response(pod.status(), &type, name);
      opts.grace_period_seconds = pod_grace(*pod, std::get<std::optional<std::int64_t>>(grace));
    }
    auto result = store.remove(type, ns, name, opts);
    if (!result) return error_response(result.status(), &type, name);
    if (&type == services && result->deleted) service_allocator->release_service(parse_json(result->object->json));
    return object_json(200, result->object);
  }

  // A namespace is not deleted at once: it turns Terminating (deletionTimestamp set, phase
  // Terminating) and the namespace controller empties it, then removes the "kubernetes" finalizer,
  // at which point the store deletes it.
  HttpResponse delete_namespace(std::string_view name) {
    auto guarded = store.update_with(*namespaces, "", name, [](Json& j) {
      Json& fin = j["metadata"]["finalizers"];
      if (!fin.is_array()) fin = Json::array();
      if (std::find(fin.begin(), fin.end(), "kubernetes") == fin.end()) fin.push_back("kubernetes");
      return Status::ok();
    });
    if (!guarded) return error_response(guarded.status(), namespaces, name);
    auto del = store.remove(*namespaces, "", name);
    if (!del) return error_response(del.status(), namespaces, name);
    if (del->deleted) return object_json(200, del->object);
    auto terminating = store.update_with(
        *namespaces, "", name,
        [](Json& j) {
          j["status"]["phase"] = "Terminating";
          return Status::ok();
        },
        UpdateOptions{.status = true});
    // The namespace controller may have emptied an empty namespace and dropped its finalizer between
    // the two writes: it is gone, and the delete succeeded. Answer with the object as deleted, as
    // Kubernetes does, not 404.
    if (!terminating && terminating.status().code() == Code::kNotFound) return object_json(200, del->object);
    if (!terminating) return error_response(terminating.status(), namespaces, name);
    return object_json(200, *terminating);
  }

  HttpResponse delete_collection(const HttpRequest& req, const ResourceType& type, std::string_view ns) {
    ListOptions o = list_options(req, ns);
    o.limit = 0;
    o.continue_token.clear();
    auto items = store.list(type, o);
    if (!items) return error_response(items.status(), &type);
    Json out = {{"kind", type.list_kind()}, {"apiVersion", type.api_version()}, {"metadata", Json::object()},
                {"items", Json::array()}};
    Json body =
        req.header("content-type").find("json") != std::string::npos ? parse_json_or_discarded(req.body) : Json();
    auto grace = requested_grace(req, body);
    if (auto* bad = std::get_if<HttpResponse>(&grace)) return std::move(*bad);
    for (const auto& obj : items->items) {
      DeleteOptions opts;
      if (&type == pods) opts.grace_period_seconds = pod_grace(obj, std::get<std::optional<std::int64_t>>(grace));
      auto r = store.remove(type, obj->ns, obj->name, opts);
      if (!r) continue;
      out["items"].push_back(parse_json(r->object->json));
      if (&type == services && r->deleted) service_allocator->release_service(out["items"].back());
    }
    return json_response(200, out);
  }

  // ---------------------------------------------------------------- subresources

  static Json scale_of(const ResourceType& type, const Json& obj) {
    const Json& meta = obj["metadata"];
    Json scale = {{"kind", "Scale"},
                  {"apiVersion", "autoscaling/v1"},
                  {"metadata",
                   {{"name", meta.value("name", "")},
                    {"namespace", meta.value("namespace", "")},
                    {"uid", meta.value("uid", "")},
                    {"resourceVersion", meta.value("resourceVersion", "")},
                    {"creationTimestamp", meta.value("creationTimestamp", "")}}},
                  {"spec", {{"replicas", obj.contains("spec") ? obj["spec"].value("replicas", 0) : 0}}},
                  {"status", {{"replicas", obj.contains("status") ? obj["status"].value("replicas", 0) : 0}}}};
    if (obj.contains("spec") && obj["spec"].contains("selector")) {
      auto sel = LabelSelector::from_json(obj["spec"]["selector"]);
      if (sel) scale["status"]["selector"] = sel->to_string();
    }
    (void)type;
    return scale;
  }

  HttpResponse scale(const HttpRequest& req, const ResourceType& type, std::string_view ns, std::string_view name) {
    auto current = store.get(type, ns, name);
    if (!current) return error_response(current.status(), &type, name);
    Json live = parse_json((*current)->json);
    if (req.method == "GET") return json_response(200, scale_of(type, live));
    Json desired;
    if (req.method == "PUT") {
      auto body = decode_body(req);
      if (!body) return error_response(body.status());
      desired = std::move(*body);
    } else {
      auto body = decode_body(req);
      if (!body) return error_response(body.status());
      std::string ct = req.header("content-type");
      Json sc = scale_of(type, live);
      auto patched = ct.find("json-patch") != std::string::npos ? json_patch(sc, *body) : merge_patch(sc, *body);
      if (!patched) return error_response(patched.status());
      desired = std::move(*patched);
    }
    if (!desired.contains("spec") || !desired["spec"].contains("replicas") ||
        !desired["spec"]["replicas"].is_number_integer())
      return error_response(422, "Invalid", "Scale.autoscaling \"" + std::string(name) +
                                                "\" is invalid: spec.replicas: Required value");
    std::int64_t replicas = desired["spec"]["replicas"].get<std::int64_t>();
    if (replicas < 0)
      return error_response(422, "Invalid", "Scale.autoscaling \"" + std::string(name) +
                                                "\" is invalid: spec.replicas: Invalid value: " +
                                                std::to_string(replicas) + ": must be greater than or equal to 0");
    auto updated = store.update_with(type, ns, name, [&](Json& j) {
      j["spec"]["replicas"] = replicas;
      return Status::ok();
    });
    if (!updated) return error_response(updated.status(), &type, name);
    return json_response(200, scale_of(type, parse_json((*updated)->json)));
  }

  HttpResponse eviction(const HttpRequest& req, std::string_view ns, std::string_view name) {
    // An eviction deletes the pod as a DELETE would, gracefully, with the Eviction's deleteOptions.
    Json body = parse_json_or_discarded(req.body);
    Json delete_options = body.is_object() && body.contains("deleteOptions") ? body["deleteOptions"] : Json();
    auto grace = requested_grace(HttpRequest{}, delete_options);
    if (auto* bad = std::get_if<HttpResponse>(&grace)) return std::move(*bad);
    auto pod = store.get(*pods, ns, name);
    if (!pod) return error_response(pod.status(), pods, name);
    DeleteOptions opts;
    opts.grace_period_seconds = pod_grace(*pod, std::get<std::optional<std::int64_t>>(grace));
    auto result = store.remove(*pods, ns, name, opts);
    if (!result) return error_response(result.status(), pods, name);
    Json st = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"},
               {"code", 201}};
    HttpResponse r = json_response(201, st);
    r.object = result->object;
    return r;
  }

  // The pod, container and node agent a pods/log or pods/exec request is for; `error` is set instead
  // when there is none (Kubernetes' messages).
  struct PodTarget {
    std::optional<HttpResponse> error;
    std::string ns, pod, uid, container;
    std::shared_ptr<NodeServices> agent;
  };

  PodTarget pod_target(const HttpRequest& req, std::string_view ns, std::string_view name) const {
    PodTarget t;
    auto got = store.get(*pods, ns, name);
    if (!got) {
      t.error = error_response(got.status(), pods, name);
      return t;
    }
    Json pod = parse_json((*got)->json);
    t.ns = std::string(ns);
    t.pod = std::string(name);
    t.uid = pod["metadata"].value("uid", "");
    std::vector<std::string> containers;
    for (const char* list : {"containers", "initContainers"})
      for (const Json& c : pod["spec"].value(list, Json::array())) containers.push_back(c.value("name", ""));
    t.container = req.param("container").value_or("");
    if (t.container.empty()) {
      const Json& regular = pod["spec"].value("containers", Json::array());
      if (regular.size() != 1) {
        std::string names;
        for (const Json& c : regular) names += (names.empty() ? "" : " ") + c.value("name", "");
        t.error = error_response(400, "BadRequest", "a container name must be specified for pod " + t.pod +
                                                        ", choose one of: [" + names + "]");
        return t;
      }
      t.container = regular[0].value("name", "");
    } else if (std::find(containers.begin(), containers.end(), t.container) == containers.end()) {
      t.error = error_response(400, "BadRequest", "container " + t.container + " is not valid for pod " + t.pod);
      return t;
    }
    std::string node = pod["spec"].value("nodeName", "");
    if (node.empty()) {
      t.error = error_response(400, "BadRequest", "container \"" + t.container + "\" in pod \"" + t.pod +
                                                      "\" is waiting to start: the pod is not scheduled yet");
      return t;
    }
    t.agent = options.nodes ? options.nodes->find(node) : nullptr;
    if (t.agent) return t;
    // Not an agent of this process: the one the Node advertises (`skiffd agent` on another machine).
    const ResourceType* nodes = registry.find("", "v1", "nodes");
    auto node_object = nodes != nullptr ? store.get(*nodes, "", node) : Result<ObjectPtr>(plugin::not_found(node));
    if (node_object) {
      auto remote = remote_node_services(parse_json((*node_object)->json), options.agent_token);
      if (remote) {
        t.agent = std::move(*remote);
        return t;
      }
      t.error = error_response(503, "ServiceUnavailable", remote.status().message() + ", so pod " + t.pod + " cannot be reached");
      return t;
    }
    t.error = error_response(503, "ServiceUnavailable",
                             "no node agent serves node \"" + node + "\", so pod " + t.pod + " cannot be reached");
    return t;
  }

  static bool flag(const HttpRequest& req, const char* key) {
    std::string v = req.param(key).value_or("");
    return v == "true" || v == "1";
  }

  // GET pods/NAME/log: the container's log from the agent of the pod's node, as plain text; with
  // follow=true a chunked stream that ends when the container stops.
  HttpResponse pod_log(const HttpRequest& req, std::string_view ns, std::string_view name) {
    PodTarget t = pod_target(req, ns, name);
    if (t.error) return std::move(*t.error);
    PodLogRequest log{.ns = t.ns, .pod = t.pod, .uid = t.uid, .container = t.container};
    log.follow = flag(req, "follow");
    log.previous = flag(req, "previous");
    log.timestamps = flag(req, "timestamps");
    for (auto [key, field] : {std::pair{"tailLines", &log.tail_lines}, std::pair{"limitBytes", &log.limit_bytes},
                              std::pair{"sinceSeconds", &log.since_seconds}}) {
      auto v = req.param(key);
      if (!v) continue;
      char* end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      bool positive_only = std::string_view(key) != "tailLines";
      if (v->empty() || *end != '\0' || n < 0 || (positive_only && n == 0))
        return error_response(400, "BadRequest", std::string(key) + ": Invalid value: \"" + *v + "\": must be " +
                                                     (positive_only ? "greater than 0" : "0 or greater"));
      *field = n;
    }
    auto source = t.agent->pod_log(log);
    if (!source) return error_response(source.status());
    if (!log.follow) {
      // Without follow the agent's source reads the file once; a few pulls are more than enough.
      std::string text;
      for (int i = 0; i < 4 && !(*source)->done(); ++i) text += (*source)->poll();
      return text_response(200, std::move(text));
    }
    auto stream = std::make_shared<StreamBody>();
    stream->source = std::move(*source);
    stream->deadline = std::chrono::steady_clock::now() + options.max_watch_timeout;
    stream->tick = std::chrono::milliseconds(100);
    stream->is_watch = false;
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/plain; charset=utf-8";
    r.stream = std::move(stream);
    return r;
  }

  // GET pods/NAME/exec with a WebSocket upgrade (kubectl's v5.channel.k8s.io): the command runs in the
  // container through the node agent, with stdin (-i) and a terminal (-t) when asked; see
  // exec_stream.hpp for the channels.
  HttpResponse pod_exec(const HttpRequest& req, std::string_view ns, std::string_view name) {
    std::string upgrade = req.header("upgrade");
    std::transform(upgrade.begin(), upgrade.end(), upgrade.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string protocols = req.header("sec-websocket-protocol");
    std::string protocol;
    for (const char* p : {"v5.channel.k8s.io", "v4.channel.k8s.io"})
      if (protocols.find(p) != std::string::npos) {
        protocol = p;
        break;
      }
    // The request is checked before the transport: when the WebSocket is refused kubectl retries
    // with SPDY and prints that answer, so it must carry the real reason.
    PodExecRequest exec;
    exec.stdin = flag(req, "stdin");
    exec.tty = flag(req, "tty");
    exec.command = req.params("command");
    if (exec.command.empty())
      return error_response(400, "BadRequest", "you must specify at least one command for the container");
    PodTarget t = pod_target(req, ns, name);
    if (t.error) return std::move(*t.error);
    if (req.method != "GET" || upgrade != "websocket" || protocol.empty() || req.header("sec-websocket-key").empty())
      return error_response(400, "BadRequest",
                            "exec needs a WebSocket upgrade with the v5.channel.k8s.io or v4.channel.k8s.io protocol");
    exec.ns = t.ns;
    exec.pod = t.pod;
    exec.uid = t.uid;
    exec.container = t.container;
    auto stream = std::make_shared<StreamBody>();
    stream->source = exec_websocket_source(t.agent, std::move(exec));
    stream->deadline = std::chrono::steady_clock::now() + options.max_watch_timeout;
    stream->is_watch = false;
    stream->raw = true;
    HttpResponse r;
    r.status = 101;
    r.headers = {{"Upgrade", "websocket"},
                 {"Connection", "Upgrade"},
                 {"Sec-WebSocket-Accept", websocket_accept(req.header("sec-websocket-key"))},
                 {"Sec-WebSocket-Protocol", protocol}};
    r.stream = std::move(stream);
    return r;
  }

  HttpResponse binding(const HttpRequest& req, std::string_view ns, std::string_view name) {
    auto body = decode_body(req);
    if (!body) return error_response(body.status());
    const Json& b = *body;
    if (!b.contains("target") || !b["target"].is_object() || !b["target"].contains("name") ||
        !b["target"]["name"].is_string() || b["target"]["name"] == "")
      return error_response(422, "Invalid", "Binding \"" + std::string(name) + "\" is invalid: target.name: Required value");
    std::string node = b["target"]["name"].get<std::string>();
    // One write, like Kubernetes' binding storage: nodeName is set and PodScheduled turns True.
    auto updated = store.update_with(
        *pods, ns, name,
        [&](Json& j) {
          auto& spec = j["spec"];
          if (spec.contains("nodeName") && spec["nodeName"].is_string() && spec["nodeName"] != "" &&
              spec["nodeName"] != node)
            return Status(Code::kConflict, "pod " + std::string(name) + " is already assigned to node \"" +
                                               spec["nodeName"].get<std::string>() + "\"");
          spec["nodeName"] = node;
          Json& conditions = j["status"]["conditions"];
          if (!conditions.is_array()) conditions = Json::array();
          Json condition = {{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr},
                            {"lastTransitionTime", format_rfc3339(clock.now_ms())}};
          for (Json& c : conditions)
            if (c.is_object() && c.value("type", "") == "PodScheduled") {
              if (c.value("status", "") != "True") c = std::move(condition);
              return Status::ok();
            }
          conditions.push_back(std::move(condition));
          return Status::ok();
        },
        UpdateOptions{.with_status = true});
    if (!updated) return error_response(updated.status(), pods, name);
    Json st = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"},
               {"code", 201}};
    HttpResponse r = json_response(201, st);
    r.object = *updated;
    return r;
  }

  // ---------------------------------------------------------------- routing

  // GET, PUT, PATCH (and DELETE, for the main resource) of one object or of its /status.
  HttpResponse item(const HttpRequest& req, const ResourceType& type, std::string_view ns, std::string_view name,
                    bool status_sub) {
    HttpResponse r;
    const std::string& m = req.method;
    if (m == "GET") {
      r = get(req, type, ns, name);
      r.verb = "get";
    } else if (m == "PUT") {
      r = update(req, type, ns, name, status_sub);
      r.verb = "update";
    } else if (m == "PATCH") {
      r = patch(req, type, ns, name, status_sub);
      r.verb = "patch";
    } else if (m == "DELETE" && !status_sub) {
      r = remove(req, type, ns, name);
      r.verb = "delete";
    } else {
      r = error_response(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    }
    return r;
  }

  HttpResponse resource_request(const HttpRequest& req, std::string_view group, std::string_view version,
                                std::vector<std::string_view> rest) {
    std::string ns;
    if (rest.size() >= 3 && rest[0] == "namespaces") {
      const ResourceType* inner = registry.find(group, version, rest[2]);
      if (inner != nullptr && inner->namespaced) {
        ns = rest[1];
        rest.erase(rest.begin(), rest.begin() + 2);
      }
    }
    if (rest.empty()) return error_response(404, "NotFound", "the server could not find the requested resource");
    const ResourceType* type = registry.find(group, version, rest[0]);
    if (type == nullptr) return error_response(404, "NotFound", "the server could not find the requested resource");
    if (!type->namespaced && !ns.empty())
      return error_response(404, "NotFound", "the server could not find the requested resource");
    std::string_view name = rest.size() > 1 ? rest[1] : std::string_view{};
    std::string_view sub = rest.size() > 2 ? rest[2] : std::string_view{};
    if (rest.size() > 3) return error_response(404, "NotFound", "the server could not find the requested resource");
    if (type->namespaced && !name.empty() && ns.empty())
      return error_response(404, "NotFound", "the server could not find the requested resource");

    HttpResponse r;
    std::string resource = type->qualified_name();
    const std::string& m = req.method;
    if (sub.empty()) {
      if (name.empty()) {
        if (m == "GET") {
          bool is_watch = req.param("watch").value_or("") == "true" || req.param("watch").value_or("") == "1";
          r = is_watch ? watch(req, *type, ns) : list(req, *type, ns);
          r.verb = is_watch ? "watch" : "list";
        } else if (m == "POST") {
          r = create(req, *type, ns);
          r.verb = "create";
        } else if (m == "DELETE") {
          r = delete_collection(req, *type, ns);
          r.verb = "deletecollection";
        } else {
          r = error_response(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }
      } else {
        r = item(req, *type, ns, name, false);
      }
    } else if (sub == "status" && type->has_status) {
      resource += "/status";
      r = item(req, *type, ns, name, true);
    } else if (sub == "scale" && (type->id.resource == "deployments" || type->id.resource == "replicasets" ||
                                  type->id.resource == "statefulsets")) {
      resource += "/scale";
      r = (m == "GET" || m == "PUT" || m == "PATCH")
              ? scale(req, *type, ns, name)
              : error_response(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
      r.verb = m == "GET" ? "get" : (m == "PUT" ? "update" : "patch");
    } else if (type == pods && sub == "eviction" && m == "POST") {
      resource += "/eviction";
      r = eviction(req, ns, name);
      r.verb = "create";
    } else if (type == pods && sub == "exec" && (m == "GET" || m == "POST")) {
      resource += "/exec";
      r = pod_exec(req, ns, name);
      r.verb = m == "GET" ? "get" : "create";
    } else if (type == pods && sub == "log" && m == "GET") {
      resource += "/log";
      r = pod_log(req, ns, name);
      r.verb = "get";
    } else if (type == pods && sub == "binding" && m == "POST") {
      resource += "/binding";
      r = binding(req, ns, name);
      r.verb = "create";
    } else {
      r = error_response(404, "NotFound", "the server could not find the requested resource");
    }
    r.resource = resource;
    return r;
  }

  // Kubernetes' health endpoints: "ok", or with ?verbose one "[+]name ok" / "[-]name failed: why" line
  // per check. Any failing check makes the answer 500.
  HttpResponse health(const HttpRequest& req, bool readiness) const {
    std::vector<std::pair<std::string, Status>> results;
    results.emplace_back("ping", Status::ok());
    auto rev = store.backend().current_revision();
    results.emplace_back("store", rev.is_ok() ? Status::ok() : rev.status());
    if (readiness)
      for (const auto& c : options.ready_checks) results.emplace_back(c.name, c.check());
    bool ok = true;
    std::string text;
    for (const auto& [name, st] : results) {
      ok = ok && st.is_ok();
      text += st.is_ok() ? "[+]" + name + " ok\n" : "[-]" + name + " failed: " + st.message() + "\n";
    }
    std::string kind = readiness ? "readyz" : "livez";
    text += ok ? kind + " check passed\n" : kind + " check failed\n";
    bool verbose = req.param("verbose").has_value();
    return text_response(ok ? 200 : 500, verbose || !ok ? text : "ok");
  }

  // Root when version is empty, else one group-version document.
  HttpResponse openapi(std::string_view group, std::string_view version) {
    std::string key = version.empty() ? std::string() : std::string(group) + "/" + std::string(version);
    std::lock_guard lock(openapi_mutex);
    auto it = openapi_cache.find(key);
    if (it == openapi_cache.end()) {
      Json doc = version.empty() ? openapi_v3_root(registry) : openapi_v3_group_version(registry, group, version);
      it = openapi_cache.emplace(key, doc.dump()).first;
    }
    return raw_json(200, it->second);
  }

  HttpResponse route(const HttpRequest& req) {
    auto seg = split_path(req.path);
    if (seg.empty()) return json_response(200, {{"paths", {"/api", "/apis", "/healthz", "/livez", "/readyz", "/metrics",
                                                            "/openapi/v3", "/version"}}});
    std::string_view first = seg[0];
    if (first == "version" && seg.size() == 1) return version();
    if (first == "healthz" || first == "livez" || first == "readyz") return health(req, first == "readyz");
    if (first == "skiff" && seg.size() == 3 && seg[1] == "v1") {
      auto it = options.skiff_endpoints.find(std::string(seg[2]));
      if (it != options.skiff_endpoints.end()) return it->second(req);
    }
    if (first == "metrics" && seg.size() == 1)
      return text_response(200, metrics.expose(), "text/plain; version=0.0.4; charset=utf-8");
    if (first == "openapi") {
      if (seg.size() >= 2 && seg[1] == "v3") {
        if (seg.size() == 2) return openapi("", "");
        if (seg.size() == 4 && seg[2] == "api") return openapi("", seg[3]);
        if (seg.size() == 5 && seg[2] == "apis") return openapi(seg[3], seg[4]);
      }
      return error_response(404, "NotFound", "the server could not find the requested resource");
    }
    if (first == "api") {
      if (seg.size() == 1) return api_versions();
      if (seg[1] != "v1") return error_response(404, "NotFound", "the server could not find the requested resource");
      if (seg.size() == 2) return resource_list("", "v1");
      return resource_request(req, "", "v1", {seg.begin() + 2, seg.end()});
    }
    if (first == "apis") {
      if (seg.size() == 1) return api_groups();
      if (seg.size() == 2) {
        for (const auto& [g, v] : group_versions())
          if (g == seg[1]) {
            Json group = group_json(g, v);
            group["kind"] = "APIGroup";
            group["apiVersion"] = "v1";
            return json_response(200, group);
          }
        return error_response(404, "NotFound", "the server could not find the requested resource");
      }
      if (seg.size() == 3) return resource_list(seg[1], seg[2]);
      return resource_request(req, seg[1], seg[2], {seg.begin() + 3, seg.end()});
    }
    return error_response(404, "NotFound", "the server could not find the requested resource");
  }
};

ApiHandler::ApiHandler(ObjectStore& store, MetricsRegistry& metrics, plugin::Logger& logger,
                       const plugin::Clock& clock, HandlerOptions options)
    : impl_(std::make_unique<Impl>(store, metrics, logger, clock, std::move(options))) {}

ApiHandler::~ApiHandler() = default;

HttpResponse ApiHandler::handle(const HttpRequest& request) { return impl_->route(request); }

bool ApiHandler::answers_at_once(const HttpRequest& request) const {
  if (request.method != "GET" || request.param("watch")) return false;
  auto seg = split_path(request.path);
  // What follows /api/v1 or /apis/GROUP/VERSION: RESOURCE/NAME, or namespaces/NS/RESOURCE/NAME.
  std::size_t at = 0;
  if (seg.size() >= 2 && seg[0] == "api")
    at = 2;
  else if (seg.size() >= 3 && seg[0] == "apis")
    at = 3;
  else
    return false;
  std::size_t rest = seg.size() - at;
  if (rest == 2) return seg[at] != "watch";  // not the legacy /api/v1/watch/RESOURCE
  return rest == 4 && seg[at] == "namespaces";
}

plugin::Status ApiHandler::bootstrap() {
  // Stored Services keep their addresses across restarts.
  impl_->service_allocator->rebuild();
  if (impl_->namespaces == nullptr) return Status::ok();
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (impl_->store.get(*impl_->namespaces, "", name)) continue;
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    apply_defaults("", "Namespace", ns);
    auto r = impl_->store.create(*impl_->namespaces, "", std::move(ns));
    if (!r && r.status().code() != Code::kAlreadyExists) return r.status().with_context("creating namespace");
  }
  return Status::ok();
}

}  // namespace skiff::kernel::api
