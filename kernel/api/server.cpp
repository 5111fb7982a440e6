#include "kernel/api/server.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <utility>
#include <thread>

#include <nlohmann/json.hpp>

// TCP_NODELAY on every accepted API connection. NNG 1.5's TCP listener turns Nagle's algorithm on for
// each connection it accepts unless the listener's "tcp-nodelay" option is set, and its HTTP server
// creates its listener internally with no way to set that option. NNG writes a response as a head and
// a body; over TLS these leave as two small records, Nagle holds the second until the client ACKs the
// first, the client delays that ACK, and every keep-alive request took about 40 ms. The HTTP server
// allocates its listener through the public nng_stream_listener_alloc_url (a PLT call), so defining it
// here interposes on that call: we call NNG's own and set the option, as Go's and Kubernetes' servers
// switch Nagle off for every connection. Listeners of other transports refuse the option harmlessly.
extern "C" int nng_stream_listener_alloc_url(nng_stream_listener** listener, const nng_url* url) {
  using AllocFn = int (*)(nng_stream_listener**, const nng_url*);
  static const auto nng_alloc = reinterpret_cast<AllocFn>(dlsym(RTLD_NEXT, "nng_stream_listener_alloc_url"));
  if (nng_alloc == nullptr) return NNG_ENOTSUP;
  int rv = nng_alloc(listener, url);
  if (rv == 0) (void)nng_stream_listener_set_bool(*listener, NNG_OPT_TCP_NODELAY, true);
  return rv;
}

namespace skiff::kernel::api {
namespace {

// NNG refuses bodies above its own cap with a bare 400; we set its cap well above ours so that a body
// over the API's limit gets a proper 413 Status from us instead.
constexpr std::size_t kNngBodyCap = 64 * 1024 * 1024;

std::string nng_error(const char* what, int rv) { return std::string(what) + ": " + nng_strerror(rv); }

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_public_path(std::string_view path) {
  for (std::string_view p : {"/healthz", "/livez", "/readyz", "/version"}) {
    if (path == p) return true;
    if (path.size() > p.size() && path.substr(0, p.size()) == p && path[p.size()] == '/') return true;
  }
  return false;
}

std::string status_json(int code, std::string_view reason, std::string_view message) {
  nlohmann::json j = {{"kind", "Status"},     {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                      {"status", "Failure"},  {"message", message}, {"reason", reason},
                      {"code", code}};
  return j.dump();
}

const char* reason_phrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// A fixed pool of threads running queued tasks.
class TaskPool {
 public:
  void start(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace

// One hijacked connection streaming a watch or a followed log in chunks. NNG callbacks only set flags and
// hand the stream to the executor; all real work (polling, encoding, writing, closing) happens there,
// one stream at a time, so no lock is held across NNG calls and nng_aio_stop is never called from an
// aio's own callback.
struct Stream {
  Server::Impl* server = nullptr;
  nng_http_conn* conn = nullptr;
  nng_http_req* req = nullptr;  // ours after the hijack
  nng_aio* write_aio = nullptr;
  nng_aio* read_aio = nullptr;
  nng_aio* timer_aio = nullptr;
  std::shared_ptr<StreamBody> body;
  std::string head;  // the response head, sent first

  std::mutex mutex;
  bool queued = false;   // in the executor's queue
  // An executor thread is pumping it; a wake meanwhile sets `again` and it is queued once more when
  // that pump ends (several executor threads must never pump one stream at once: two writes would
  // be started on one aio).
  bool pumping = false;
  bool again = false;
  bool writing = false;  // a write is in flight
  bool closing = false;  // end the stream as soon as no write is in flight
  bool ended = false;    // resources released
  // start_stream has issued the read and armed the timer. No pump runs before: the source may be
  // done (and the client gone) at once, and an end meanwhile would free the aios being armed.
  bool armed = false;
  bool head_sent = false;
  bool timer_due = false;  // the timer fired and must be re-armed
  std::string out;       // bytes to write next
  std::string in_flight; // bytes being written (kept alive for the aio)
  // What the client sends: one byte at a time is enough to notice it going away; an upgraded stream
  // reads in blocks and hands them to its source.
  char read_buffer[4096];
};

struct Server::Impl {
  Handler& handler;
  MetricsRegistry& metrics;
  plugin::Logger& logger;
  ServerOptions options;

  nng_http_server* server = nullptr;
  nng_http_handler* nng_handler = nullptr;
  nng_tls_config* tls = nullptr;
  nng_url* url = nullptr;
  int bound_port = 0;
  std::string scheme;
  std::string host;

  // Reads and writes get separate pools: writes park a thread for the durable commit, and a read must
  // never wait behind them (GET latency under write load).
  TaskPool read_pool;
  TaskPool write_pool;
  std::mutex exec_mutex;
  std::condition_variable exec_cv;
  std::deque<std::shared_ptr<Stream>> exec_queue;
  std::vector<std::thread> exec_threads;
  bool exec_stopping = false;

  std::mutex streams_mutex;
  std::set<std::shared_ptr<Stream>> streams;

  GaugeImpl* open_watches = nullptr;

  Impl(Handler& h, MetricsRegistry& m, plugin::Logger& l, ServerOptions o)
      : handler(h), metrics(m), logger(l), options(std::move(o)) {
    open_watches = &metrics.gauge("skiff_apiserver_open_watches", "Watch streams currently open", "");
  }

  // ---- request path ----

  static void on_request(nng_aio* aio) {
    auto* h = static_cast<nng_http_handler*>(nng_aio_get_input(aio, 1));
    auto* self = static_cast<Impl*>(nng_http_handler_get_data(h));
    auto* req = static_cast<nng_http_req*>(nng_aio_get_input(aio, 0));
    auto started = std::chrono::steady_clock::now();
    auto request = std::make_shared<HttpRequest>(parse_request(req));
    if (self->handler.answers_at_once(*request)) {
      self->serve(aio, std::move(*request), started);
      return;
    }
    bool read = request->method == "GET";
    (read ? self->read_pool : self->write_pool).post([self, aio, request, started] {
      self->serve(aio, std::move(*request), started);
    });
  }

  static HttpRequest parse_request(nng_http_req* req) {
    HttpRequest request;
    request.method = nng_http_req_get_method(req);
    std::string_view uri = nng_http_req_get_uri(req);
    std::size_t q = uri.find('?');
    request.path = url_decode(uri.substr(0, q), false);
    if (q != std::string_view::npos) request.query = parse_query(uri.substr(q + 1));
    for (const char* name : {"Authorization", "Accept", "Content-Type", "User-Agent", "Upgrade", "Connection",
                             "Sec-WebSocket-Key", "Sec-WebSocket-Protocol", "Sec-WebSocket-Version"}) {
      if (const char* v = nng_http_req_get_header(req, name)) {
        std::string lower(name);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        request.headers[lower] = v;
      }
    }
    return request;
  }

  void serve(nng_aio* aio, HttpRequest request, std::chrono::steady_clock::time_point started) {
    auto* req = static_cast<nng_http_req*>(nng_aio_get_input(aio, 0));
    auto* conn = static_cast<nng_http_conn*>(nng_aio_get_input(aio, 2));

    HttpResponse response;
    void* data = nullptr;
    std::size_t size = 0;
    nng_http_req_get_data(req, &data, &size);
    if (!authenticated(request)) {
      response.status = 401;
      response.body = status_json(401, "Unauthorized", "Unauthorized");
      response.verb = "unknown";
    } else if (size > options.max_body_bytes) {
      response.status = 413;
      response.body = status_json(413, "RequestEntityTooLarge",
                                  "the request body is " + std::to_string(size) + " bytes; the limit is " +
                                      std::to_string(options.max_body_bytes) + " bytes");
      response.verb = "unknown";
    } else {
      if (size > 0) request.body.assign(static_cast<const char*>(data), size);
      try {
        response = handler.handle(request);
      } catch (const std::exception& e) {
        logger.error("request failed", {{"method", request.method}, {"path", request.path}, {"error", e.what()}});
        response = HttpResponse{};
        response.status = 500;
        response.body = status_json(500, "InternalError", std::string("an internal error occurred: ") + e.what());
      }
    }

    record(response, started);
    if (response.stream) {
      start_stream(aio, conn, req, std::move(response));
      return;
    }
    nng_http_res* res = nullptr;
    if (nng_http_res_alloc(&res) != 0) {
      nng_aio_finish(aio, NNG_ENOMEM);
      return;
    }
    nng_http_res_set_status(res, static_cast<std::uint16_t>(response.status));
    nng_http_res_set_reason(res, reason_phrase(response.status));
    if (!response.content_type.empty()) nng_http_res_set_header(res, "Content-Type", response.content_type.c_str());
    nng_http_res_set_header(res, "Cache-Control", "no-cache, private");
    for (const auto& [k, v] : response.headers) nng_http_res_set_header(res, k.c_str(), v.c_str());
    // NNG sets Content-Length only when it copies data, and copying zero bytes fails (it cannot
    // allocate them): an empty body must say its length itself, or the client waits for one that
    // never comes (kubectl logs of a container that has written nothing hung so). A 204 or 304 has
    // no body by definition and must not carry the header (RFC 9110).
    if (response.body.empty()) {
      if (response.status != 204 && response.status != 304) nng_http_res_set_header(res, "Content-Length", "0");
    } else if (nng_http_res_copy_data(res, response.body.data(), response.body.size()) != 0) {
      nng_http_res_free(res);
      nng_aio_finish(aio, NNG_ENOMEM);
      return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
  }

  bool authenticated(HttpRequest& request) const {
    if (is_public_path(request.path)) return true;
    if (options.token.empty()) return true;
    std::string auth = request.header("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() && std::string_view(auth).substr(0, kBearer.size()) == kBearer &&
        constant_time_equal(std::string_view(auth).substr(kBearer.size()), options.token)) {
      request.user = "admin";
      return true;
    }
    return false;
  }

  void record(const HttpResponse& r, std::chrono::steady_clock::time_point started) {
    std::string code = std::to_string(r.status);
    std::string verb = r.verb.empty() ? "unknown" : r.verb;
    metrics
        .counter("apiserver_request_total", "API requests by verb, resource and HTTP code",
                 render_labels({{"verb", verb}, {"resource", r.resource}, {"code", code}}))
        .add(1);
    if (!r.stream) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics
          .histogram("apiserver_request_duration_seconds", "API request latency by verb and resource",
                     render_labels({{"verb", verb}, {"resource", r.resource}}))
          .observe(secs);
    }
  }

  // ---- streams (watches, followed logs) ----

  void start_stream(nng_aio* aio, nng_http_conn* conn, nng_http_req* req, HttpResponse response) {
    auto s = std::make_shared<Stream>();
    s->server = this;
    s->conn = conn;
    s->body = response.stream;
    s->head = "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
    if (!s->body->raw)
      s->head += "Content-Type: " + response.content_type + "\r\nCache-Control: no-cache, private\r\nTransfer-Encoding: chunked\r\n";
    for (const auto& [k, v] : response.headers) s->head += k + ": " + v + "\r\n";
    s->head += "\r\n";
    if (nng_aio_alloc(&s->write_aio, on_write_done, s.get()) != 0 ||
        nng_aio_alloc(&s->read_aio, on_read_done, s.get()) != 0 ||
        nng_aio_alloc(&s->timer_aio, on_timer, s.get()) != 0) {
      if (s->write_aio) nng_aio_free(s->write_aio);
      if (s->read_aio) nng_aio_free(s->read_aio);
      nng_aio_finish(aio, NNG_ENOMEM);
      return;
    }
    nng_http_hijack(conn);
    s->req = req;  // the hijack handed the request to us
    nng_aio_set_output(aio, 0, nullptr);
    nng_aio_finish(aio, 0);
    {
      std::lock_guard lock(streams_mutex);
      streams.insert(s);
    }
    if (s->body->is_watch) open_watches->add(1);
    std::weak_ptr<Stream> weak = s;
    s->body->source->set_notify([this, weak] {
      if (auto locked = weak.lock()) schedule(locked);
    });
    // A pending read tells us when the client goes away (and brings an upgraded client's input).
    nng_iov iov{s->read_buffer, s->body->raw ? sizeof s->read_buffer : 1};
    nng_aio_set_iov(s->read_aio, 1, &iov);
    nng_http_conn_read(conn, s->read_aio);
    arm_timer(*s);
    {
      std::lock_guard lock(s->mutex);
      s->armed = true;
    }
    schedule(s);  // whatever woke it before it was armed was put off until now
  }

  void arm_timer(Stream& s) {
    auto now = std::chrono::steady_clock::now();
    auto wait = std::min<std::chrono::steady_clock::duration>(s.body->tick, s.body->deadline - now);
    auto ms = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    nng_sleep_aio(static_cast<nng_duration>(ms), s.timer_aio);
  }

  std::shared_ptr<Stream> find(Stream* raw) {
    std::lock_guard lock(streams_mutex);
    for (const auto& s : streams)
      if (s.get() == raw) return s;
    return nullptr;
  }

  static void on_write_done(void* arg) {
    auto* raw = static_cast<Stream*>(arg);
    Impl* self = raw->server;
    int rv = nng_aio_result(raw->write_aio);
    {
      std::lock_guard lock(raw->mutex);
      raw->writing = false;
      if (rv != 0) raw->closing = true;
    }
    if (auto s = self->find(raw)) self->schedule(s);
  }

  static void on_read_done(void* arg) {
    auto* raw = static_cast<Stream*>(arg);
    Impl* self = raw->server;
    if (nng_aio_result(raw->read_aio) == 0 && raw->body->raw) {
      // An upgraded connection: the client's bytes go to the source (exec's stdin); only the
      // connection going away ends the stream early.
      raw->body->source->input(std::string_view(raw->read_buffer, nng_aio_count(raw->read_aio)));
      std::lock_guard lock(raw->mutex);
      if (!raw->ended && !raw->closing) {
        nng_iov iov{raw->read_buffer, sizeof raw->read_buffer};
        nng_aio_set_iov(raw->read_aio, 1, &iov);
        nng_http_conn_read(raw->conn, raw->read_aio);
        return;
      }
    }
    {
      std::lock_guard lock(raw->mutex);
      raw->closing = true;  // the client sent data or went away: either way the stream is over
    }
    if (auto s = self->find(raw)) self->schedule(s);
  }

  static void on_timer(void* arg) {
    auto* raw = static_cast<Stream*>(arg);
    Impl* self = raw->server;
    if (nng_aio_result(raw->timer_aio) != 0) return;  // cancelled: the stream is ending
    {
      std::lock_guard lock(raw->mutex);
      raw->timer_due = true;
    }
    if (auto s = self->find(raw)) self->schedule(s);
  }

  void schedule(const std::shared_ptr<Stream>& s) {
    {
      std::lock_guard lock(s->mutex);
      if (s->queued || s->ended) return;
      if (s->pumping) {
        s->again = true;
        return;
      }
      s->queued = true;
    }
    {
      std::lock_guard lock(exec_mutex);
      exec_queue.push_back(s);
    }
    exec_cv.notify_one();
  }

  void executor() {
    while (true) {
      std::shared_ptr<Stream> s;
      {
        std::unique_lock lock(exec_mutex);
        exec_cv.wait(lock, [&] { return exec_stopping || !exec_queue.empty(); });
        if (exec_queue.empty()) return;
        s = std::move(exec_queue.front());
        exec_queue.pop_front();
      }
      {
        std::lock_guard lock(s->mutex);
        s->queued = false;
        s->pumping = true;
      }
      pump(s);
      bool again = false;
      {
        std::lock_guard lock(s->mutex);
        s->pumping = false;
        again = std::exchange(s->again, false);
      }
      if (again) schedule(s);
    }
  }

  static void append_chunk(std::string& out, std::string_view data) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    out += size;
    out += data;
    out += "\r\n";
  }

  void pump(const std::shared_ptr<Stream>& s) {
    bool timer_fired = false;
    {
      std::lock_guard lock(s->mutex);
      if (s->ended || s->writing || !s->armed) return;
      if (s->closing) {
        end(s);
        return;
      }
      timer_fired = s->timer_due;
      s->timer_due = false;
    }
    bool finished = false;
    std::string out;
    if (!s->head_sent) {
      out = s->head;
      s->head_sent = true;
    }
    if (std::string data = s->body->source->poll(); !data.empty()) {
      if (s->body->raw)
        out += data;
      else
        append_chunk(out, data);
    }
    if (s->body->source->done() || std::chrono::steady_clock::now() >= s->body->deadline) {
      if (!s->body->raw) out += "0\r\n\r\n";  // the last chunk: the response is complete
      finished = true;
    }
    std::lock_guard lock(s->mutex);
    if (finished) s->closing = true;
    if (timer_fired && !finished) arm_timer(*s);
    if (out.empty()) return;
    s->in_flight = std::move(out);
    s->writing = true;
    nng_iov iov{s->in_flight.data(), s->in_flight.size()};
    nng_aio_set_iov(s->write_aio, 1, &iov);
    nng_http_conn_write_all(s->conn, s->write_aio);
  }

  // Called on the executor with s->mutex held and no write in flight.
  void end(const std::shared_ptr<Stream>& s) {
    s->ended = true;
    s->body->source->stop();
    nng_http_conn_close(s->conn);
    // Stopping waits for callbacks; none of them takes s->mutex for long, and none runs on this thread.
    s->mutex.unlock();
    nng_aio_stop(s->read_aio);
    nng_aio_stop(s->timer_aio);
    nng_aio_stop(s->write_aio);
    s->mutex.lock();
    nng_aio_free(s->read_aio);
    nng_aio_free(s->timer_aio);
    nng_aio_free(s->write_aio);
    s->read_aio = s->timer_aio = s->write_aio = nullptr;
    if (s->req) nng_http_req_free(s->req);
    s->req = nullptr;
    if (s->body->is_watch) open_watches->add(-1);
    std::lock_guard lock(streams_mutex);
    streams.erase(s);
  }
};

Server::Server(Handler& handler, MetricsRegistry& metrics, plugin::Logger& logger, ServerOptions options)
    : impl_(std::make_unique<Impl>(handler, metrics, logger, std::move(options))) {}

Server::~Server() { stop(); }

plugin::Status Server::start() {
  Impl& s = *impl_;
  auto colon = s.options.listen.rfind(':');
  if (colon == std::string::npos) return plugin::invalid("listen: expected HOST:PORT, got '" + s.options.listen + "'");
  s.host = s.options.listen.substr(0, colon);
  std::string port = s.options.listen.substr(colon + 1);
  s.scheme = s.options.tls ? "https" : "http";
  std::string host_part = s.host.find(':') != std::string::npos && s.host.front() != '[' ? "[" + s.host + "]" : s.host;
  std::string url = s.scheme + "://" + host_part + ":" + port;
  int rv = nng_url_parse(&s.url, url.c_str());
  if (rv != 0) return plugin::invalid(nng_error(("listen: cannot parse " + url).c_str(), rv));
  if ((rv = nng_http_server_hold(&s.server, s.url)) != 0) return plugin::internal(nng_error("http server", rv));
  if (s.options.tls) {
    if ((rv = nng_tls_config_alloc(&s.tls, NNG_TLS_MODE_SERVER)) != 0) return plugin::internal(nng_error("tls", rv));
    nng_tls_config_version(s.tls, NNG_TLS_1_2, NNG_TLS_1_3);
    if ((rv = nng_tls_config_own_cert(s.tls, s.options.cert_pem.c_str(), s.options.key_pem.c_str(), nullptr)) != 0)
      return plugin::internal(nng_error("tls: serving certificate", rv));
    if ((rv = nng_http_server_set_tls(s.server, s.tls)) != 0) return plugin::internal(nng_error("tls", rv));
  }
  if ((rv = nng_http_handler_alloc(&s.nng_handler, "/", Impl::on_request)) != 0)
    return plugin::internal(nng_error("http handler", rv));
  nng_http_handler_set_method(s.nng_handler, nullptr);  // every method comes to us
  nng_http_handler_set_tree(s.nng_handler);
  nng_http_handler_collect_body(s.nng_handler, true, kNngBodyCap);
  nng_http_handler_set_data(s.nng_handler, impl_.get(), nullptr);
  if ((rv = nng_http_server_add_handler(s.server, s.nng_handler)) != 0)
    return plugin::internal(nng_error("http handler", rv));
  s.read_pool.start(std::max<std::size_t>(1, s.options.workers / 2));
  s.write_pool.start(std::max<std::size_t>(1, s.options.workers));
  for (std::size_t i = 0; i < std::max<std::size_t>(1, s.options.stream_threads); ++i)
    s.exec_threads.emplace_back([&s] { s.executor(); });
  if ((rv = nng_http_server_start(s.server)) != 0)
    return plugin::unavailable(nng_error(("cannot listen on " + s.options.listen).c_str(), rv));
  nng_sockaddr sa{};
  if (nng_http_server_get_addr(s.server, &sa) == 0) {
    if (sa.s_family == NNG_AF_INET) s.bound_port = ntohs(sa.s_in.sa_port);
    if (sa.s_family == NNG_AF_INET6) s.bound_port = ntohs(sa.s_in6.sa_port);
  }
  if (s.bound_port == 0) s.bound_port = std::atoi(port.c_str());
  return plugin::Status::ok();
}

void Server::stop() {
  Impl& s = *impl_;
  if (s.server == nullptr) return;
  nng_http_server_stop(s.server);
  // Close every open stream, then stop the executors and the pool.
  std::vector<std::shared_ptr<Stream>> open;
  {
    std::lock_guard lock(s.streams_mutex);
    open.assign(s.streams.begin(), s.streams.end());
  }
  for (auto& st : open) {
    {
      std::lock_guard lock(st->mutex);
      st->closing = true;
      // A write to a client that stopped reading never finishes, and a stream ends only between
      // writes. Cancelled, it completes with an error (its callback runs on NNG's task threads, not
      // here, so holding the mutex is safe) and the stream ends.
      if (st->writing && st->write_aio != nullptr) nng_aio_cancel(st->write_aio);
    }
    s.schedule(st);
  }
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(s.streams_mutex);
      if (s.streams.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard lock(s.exec_mutex);
    s.exec_stopping = true;
  }
  s.exec_cv.notify_all();
  for (auto& t : s.exec_threads) t.join();
  s.exec_threads.clear();
  s.read_pool.stop();
  s.write_pool.stop();
  nng_http_server_release(s.server);
  s.server = nullptr;
  if (s.tls) nng_tls_config_free(s.tls);
  s.tls = nullptr;
  if (s.url) nng_url_free(s.url);
  s.url = nullptr;
}

std::string Server::url() const {
  const Impl& s = *impl_;
  std::string host = s.host.find(':') != std::string::npos && s.host.front() != '[' ? "[" + s.host + "]" : s.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  return s.scheme + "://" + host + ":" + std::to_string(s.bound_port);
}

int Server::port() const { return impl_->bound_port; }

}  // namespace skiff::kernel::api
