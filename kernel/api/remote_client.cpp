#include "kernel/api/remote_client.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <nlohmann/json.hpp>
#include <thread>

#include "kernel/api/client.hpp"
#include "kernel/store/object_json.hpp"
#include "kernel/util/json_parse.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

// An error answer into a Status that says which server answered.
plugin::Status answer_error(int status, const std::string& body, const std::string& server, std::string_view what) {
  plugin::Status st = status_from_response(status, body);
  return plugin::Status(st.code(), std::string(what) + ": the API server at " + server + " answered " +
                                       std::to_string(status) + ": " + st.message());
}

// The path of a list or watch: every namespace when `ns` is empty.
std::string list_path(const ResourceType& type, std::string_view ns) {
  if (!ns.empty() || !type.namespaced) return resource_path(type, ns, {}, {});
  ResourceType everywhere = type;
  everywhere.namespaced = false;
  return resource_path(everywhere, {}, {}, {});
}

// A watch over HTTP (see remote_client.hpp). Its thread owns the connection; stop() cancels it.
class HttpWatch final : public Watch {
 public:
  HttpWatch(const RemoteClientOptions& options, const ResourceType& type, std::string base_target,
            std::int64_t resource_version)
      : options_(options), type_(type), base_target_(std::move(base_target)), rv_(resource_version),
        http_(std::make_unique<HttpClient>(options.http, options.request_timeout)) {
    thread_ = std::thread([this] { run(); });
  }
  ~HttpWatch() override { stop(); }

  std::vector<WatchEvent> poll(std::size_t max) override {
    std::lock_guard lock(mutex_);
    return take_locked(max);
  }
  std::vector<WatchEvent> wait(std::size_t max, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty() || finished_; });
    return take_locked(max);
  }
  void set_notify(std::function<void()> notify) override {
    std::lock_guard lock(mutex_);
    notify_ = std::move(notify);
  }
  bool done() const override {
    std::lock_guard lock(mutex_);
    return finished_ && events_.empty();
  }
  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      notify_ = nullptr;
    }
    cv_.notify_all();
    http_->cancel();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  std::vector<WatchEvent> take_locked(std::size_t max) {
    std::vector<WatchEvent> out;
    while (!events_.empty() && out.size() < max) {
      out.push_back(std::move(events_.front()));
      events_.pop_front();
    }
    return out;
  }

  void push(WatchEvent event) {
    std::function<void()> notify;
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
      notify = notify_;
    }
    cv_.notify_all();
    if (notify) notify();
  }

  // The last event: an error the informer acts on (kExpired: list again).
  void finish(plugin::Status error) {
    WatchEvent e;
    e.type = WatchEventType::kError;
    e.error = std::move(error);
    push(std::move(e));
    std::lock_guard lock(mutex_);
    finished_ = true;
  }

  bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  void log(plugin::LogLevel level, std::string_view message, const std::string& detail) const {
    if (options_.logger == nullptr) return;
    plugin::LogField fields[] = {{"resource", type_.qualified_name()},
                                 {"server", options_.http.server},
                                 {"resourceVersion", std::to_string(rv_)},
                                 {"detail", detail}};
    options_.logger->log(level, message, fields);
  }

  // One JSON line of the stream. False when the watch must end (the event said so).
  bool line(std::string_view text) {
    Json j = parse_json_or_discarded(text);
    if (!j.is_object() || !j.contains("type") || !j.contains("object") || !j["object"].is_object()) {
      log(plugin::LogLevel::kWarn, "watch: unreadable event skipped", std::string(text.substr(0, 200)));
      return true;
    }
    std::string type = j.value("type", "");
    Json& object = j["object"];
    if (type == "ERROR") {
      int code = object.value("code", 500);
      if (code == 410) {
        finish(plugin::Status(plugin::Code::kExpired, object.value("message", "resourceVersion too old")));
      } else {
        finish(answer_error(code, object.dump(), options_.http.server, "watch " + type_.qualified_name()));
      }
      return false;
    }
    WatchEvent e;
    if (type == "BOOKMARK") {
      e.type = WatchEventType::kBookmark;
      const Json& meta = object.value("metadata", Json::object());
      std::string rv = meta.is_object() ? meta.value("resourceVersion", "") : "";
      e.revision = std::strtoll(rv.c_str(), nullptr, 10);
    } else {
      if (type == "ADDED") e.type = WatchEventType::kAdded;
      else if (type == "MODIFIED") e.type = WatchEventType::kModified;
      else if (type == "DELETED") e.type = WatchEventType::kDeleted;
      else return true;  // a type newer than this client: nothing it can apply
      if (!object.contains("kind")) object["kind"] = type_.kind;
      if (!object.contains("apiVersion")) object["apiVersion"] = type_.api_version();
      e.object = object_from_json(type_, std::move(object));
      e.revision = e.object->resource_version;
    }
    if (e.revision > 0) rv_ = e.revision;
    push(std::move(e));
    return true;
  }

  void run() {
    auto backoff = options_.reconnect_backoff;
    while (!stopping()) {
      std::string target = base_target_ + "&resourceVersion=" + std::to_string(rv_) +
                           "&timeoutSeconds=" + std::to_string(options_.watch_timeout.count());
      std::string pending;  // a line not complete yet
      bool keep = true;
      bool got_data = false;
      try {
        HttpReply reply = http_->stream(
            target, "application/json",
            [&](std::string_view data) {
              got_data = true;
              pending.append(data);
              std::size_t start = 0;
              for (std::size_t nl; keep && (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
                if (nl > start) keep = line(std::string_view(pending).substr(start, nl - start));
              pending.erase(0, start);
              return keep && !stopping();
            },
            // The server ends the watch after timeoutSeconds; a little longer covers a slow answer.
            HttpClient::Clock::now() + options_.watch_timeout + std::chrono::seconds(30));
        if (reply.cancelled || stopping()) break;
        if (reply.status == 410) {
          finish(plugin::Status(plugin::Code::kExpired, "watch " + type_.qualified_name() + " from resourceVersion " +
                                                            std::to_string(rv_) + ": 410 Gone"));
          return;
        }
        if (reply.status >= 400) {
          // 401/403 will not mend by retrying; the informer reports it and lists again after its backoff.
          finish(answer_error(reply.status, reply.body, options_.http.server, "watch " + type_.qualified_name()));
          return;
        }
        if (!keep) return;  // an ERROR event ended it
        log(plugin::LogLevel::kDebug, "watch: the server ended the stream; reconnecting", {});
      } catch (const std::exception& e) {
        if (stopping()) break;
        log(plugin::LogLevel::kWarn, "watch: connection failed; reconnecting", e.what());
        got_data = false;
      }
      if (got_data) {
        backoff = options_.reconnect_backoff;
        continue;
      }
      // Nothing came back: wait before the next attempt (stop() wakes us).
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, options_.reconnect_backoff_max);
    }
    std::lock_guard lock(mutex_);
    finished_ = true;
  }

  const RemoteClientOptions& options_;
  const ResourceType& type_;
  const std::string base_target_;
  std::int64_t rv_;  // the watch thread's own
  std::unique_ptr<HttpClient> http_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<WatchEvent> events_;
  std::function<void()> notify_;
  bool finished_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

class RemoteListerWatcher final : public ListerWatcher {
 public:
  RemoteListerWatcher(RemoteClient& client, const ResourceType& type) : client_(client), type_(type) {}
  Result<ListResult> list() override { return client_.list_at(type_, {}); }
  Result<std::unique_ptr<Watch>> watch(std::int64_t resource_version) override {
    return client_.watch(type_, {}, resource_version);
  }
  std::string describe() const override { return type_.qualified_name() + " at " + client_.server(); }

 private:
  RemoteClient& client_;
  const ResourceType& type_;
};

}  // namespace

std::string list_query(const ListOptions& filter) {
  std::string q;
  auto add = [&q](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    q += (q.empty() ? "" : "&") + std::string(key) + "=" + url_encode(value);
  };
  add("labelSelector", filter.label_selector);
  add("fieldSelector", filter.field_selector);
  if (filter.limit > 0) add("limit", std::to_string(filter.limit));
  add("continue", filter.continue_token);
  return q;
}

RemoteClient::RemoteClient(const ResourceRegistry& registry, RemoteClientOptions options)
    : registry_(registry), options_(std::move(options)) {
  // The first connection now, so an unusable URL or CA is refused at once.
  idle_.push_back(std::make_unique<HttpClient>(options_.http, options_.request_timeout));
}

RemoteClient::~RemoteClient() = default;

RemoteClient::Reply RemoteClient::send(std::string_view method, const std::string& target, const std::string& body,
                                       std::string_view content_type) {
  std::unique_ptr<HttpClient> http;
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      http = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  HttpReply r;
  if (http) {
    try {
      r = http->request(method, target, body, std::string(content_type));
    } catch (const HttpClientError&) {
      // A kept-alive connection the server closed meanwhile (it restarted, or timed it out): once
      // more on a new one. The failed request never reached a live server, so a POST is not doubled.
      http.reset();
    }
  }
  if (!http) {
    http = std::make_unique<HttpClient>(options_.http, options_.request_timeout);
    r = http->request(method, target, body, std::string(content_type));  // a throw drops the connection
  }
  std::lock_guard lock(pool_mutex_);
  idle_.push_back(std::move(http));
  return {r.status, std::move(r.body)};
}

plugin::Status RemoteClient::check() {
  try {
    // Every authenticated client may read the API groups; an unauthenticated one gets 401.
    Reply r = send("GET", "/api", {}, {});
    if (r.status == 401)
      return plugin::Status(plugin::Code::kBadRequest,
                            "the API server at " + server() + " refused the token: 401 Unauthorized");
    if (r.status >= 400) return answer_error(r.status, r.body, server(), "GET /api");
    return plugin::Status::ok();
  } catch (const std::exception& e) {
    return plugin::unavailable(e.what());
  }
}

Result<ObjectPtr> RemoteClient::call(std::string_view method, const plugin::ResourceId& resource, std::string_view ns,
                                     std::string_view name, std::string_view subresource, std::string body,
                                     std::string_view content_type) noexcept {
  std::string what = std::string(method) + " " + resource.to_string() + " " + std::string(name);
  try {
    const ResourceType* type = registry_.find(resource);
    if (type == nullptr)
      return plugin::not_found("the server could not find the requested resource " + resource.to_string());
    Reply r = send(method, resource_path(*type, ns, name, subresource), body, content_type);
    if (r.status >= 400) return status_from_response(r.status, r.body);
    Json j = parse_json_or_discarded(r.body);
    // A delete that removed the object at once answers with a Status, not the object.
    if (!j.is_object() || j.value("kind", "") == "Status" || !j.contains("metadata")) return ObjectPtr{};
    return object_from_json(*type, std::move(j));
  } catch (const HttpClientError& e) {
    return plugin::unavailable(what + ": " + e.what());
  } catch (const std::exception& e) {
    return plugin::internal(what + ": " + e.what());
  }
}

Result<ObjectPtr> RemoteClient::create(const plugin::ResourceId& resource, std::string_view ns,
                                       std::string_view json) noexcept {
  return call("POST", resource, ns, {}, {}, std::string(json));
}

Result<ObjectPtr> RemoteClient::update(const plugin::ResourceId& resource, std::string_view json) noexcept {
  std::string ns, name;
  if (!object_name_of(json, ns, name)) return plugin::invalid("update " + resource.to_string() + ": metadata.name: Required value");
  return call("PUT", resource, ns, name, {}, std::string(json));
}

Result<ObjectPtr> RemoteClient::update_status(const plugin::ResourceId& resource, std::string_view json) noexcept {
  std::string ns, name;
  if (!object_name_of(json, ns, name))
    return plugin::invalid("update status of " + resource.to_string() + ": metadata.name: Required value");
  return call("PUT", resource, ns, name, "status", std::string(json));
}

Result<ObjectPtr> RemoteClient::remove(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                       const plugin::DeleteOptions& options) noexcept {
  return remove_with_grace(resource, ns, name, options, std::nullopt);
}

Result<ObjectPtr> RemoteClient::remove_with_grace(const plugin::ResourceId& resource, std::string_view ns,
                                                  std::string_view name, const plugin::DeleteOptions& options,
                                                  std::optional<std::int64_t> grace) noexcept {
  auto body = delete_options_json(options, grace);
  if (!body) return body.status();
  return call("DELETE", resource, ns, name, {}, std::move(*body));
}

Result<ObjectPtr> RemoteClient::create_subresource(const plugin::ResourceId& resource, std::string_view ns,
                                                   std::string_view name, std::string_view subresource,
                                                   std::string_view json) noexcept {
  return call("POST", resource, ns, name, subresource, std::string(json));
}

Result<ObjectPtr> RemoteClient::get(const plugin::ResourceId& resource, std::string_view ns,
                                    std::string_view name) noexcept {
  return call("GET", resource, ns, name, {}, {});
}

Result<ObjectPtr> RemoteClient::patch(const plugin::ResourceId& resource, std::string_view ns, std::string_view name,
                                      std::string_view subresource, std::string_view patch,
                                      std::string_view content_type) noexcept {
  return call("PATCH", resource, ns, name, subresource, std::string(patch), content_type);
}

Result<std::vector<ObjectPtr>> RemoteClient::list(const plugin::ResourceId& resource,
                                                  const plugin::ListFilter& filter) noexcept {
  const ResourceType* type = registry_.find(resource);
  if (type == nullptr) return plugin::not_found("the server could not find the requested resource " + resource.to_string());
  ListOptions options;
  options.ns = std::string(filter.ns);
  options.label_selector = std::string(filter.label_selector);
  auto listed = list_at(*type, options);
  if (!listed) return listed.status();
  return std::move(listed->items);
}

Result<ListResult> RemoteClient::list_at(const ResourceType& type, const ListOptions& options) noexcept {
  try {
    std::string query = list_query(options);
    Reply r = send("GET", list_path(type, options.ns) + (query.empty() ? "" : "?" + query), {}, {});
    if (r.status >= 400) return answer_error(r.status, r.body, server(), "list " + type.qualified_name());
    Json j = parse_json(r.body);
    ListResult out;
    const Json& meta = j.value("metadata", Json::object());
    out.resource_version = std::strtoll(meta.value("resourceVersion", "0").c_str(), nullptr, 10);
    out.continue_token = meta.value("continue", "");
    for (Json& item : j["items"]) {
      // Kubernetes' lists leave kind and apiVersion out of their items; the cache keeps whole objects.
      if (!item.contains("kind")) item["kind"] = type.kind;
      if (!item.contains("apiVersion")) item["apiVersion"] = type.api_version();
      out.items.push_back(object_from_json(type, std::move(item)));
    }
    return out;
  } catch (const HttpClientError& e) {
    return plugin::unavailable("list " + type.qualified_name() + ": " + e.what());
  } catch (const std::exception& e) {
    return plugin::internal("list " + type.qualified_name() + " from " + server() + ": " + e.what());
  }
}

Result<std::unique_ptr<Watch>> RemoteClient::watch(const ResourceType& type, const ListOptions& filter,
                                                   std::int64_t resource_version) noexcept {
  try {
    std::string query = list_query(filter);
    std::string target = list_path(type, filter.ns) + "?watch=true&allowWatchBookmarks=true" +
                         (query.empty() ? "" : "&" + query);
    return std::unique_ptr<Watch>(std::make_unique<HttpWatch>(options_, type, std::move(target), resource_version));
  } catch (const std::exception& e) {
    return plugin::unavailable("watch " + type.qualified_name() + " at " + server() + ": " + e.what());
  }
}

std::unique_ptr<ListerWatcher> RemoteClient::lister_watcher(const ResourceType& type) {
  return std::make_unique<RemoteListerWatcher>(*this, type);
}

}  // namespace skiff::kernel::api
