#include "kernel/api/http_client.hpp"

#include <curl/curl.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace skiff::kernel::api {
namespace {

[[noreturn]] void fail_config(const std::string& message) { throw HttpClientError(message, false); }

}  // namespace

// ------------------------------------------------------------------------------------------------
// Chunked transfer coding

bool ChunkedDecoder::feed(std::string_view in, const std::function<void(std::string_view)>& out) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::kDone) {
    char c = in[i];
    switch (state_) {
      case State::kSize:
        if (std::isxdigit(static_cast<unsigned char>(c))) {
          if (remaining_ > (SIZE_MAX >> 4)) return false;
          int digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
          remaining_ = remaining_ * 16 + static_cast<std::size_t>(digit);
          size_digits_ = true;
        } else if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
          if (!size_digits_) return false;
          state_ = State::kSizeLineEnd;
          continue;  // look at this character again in kSizeLineEnd
        } else if (c == '\n') {
          if (!size_digits_) return false;
          state_ = remaining_ == 0 ? State::kTrailer : State::kData;
          line_.clear();
        } else {
          return false;
        }
        ++i;
        break;
      case State::kSizeLineEnd:  // chunk extensions up to the end of the line are ignored
        if (c == '\n') state_ = remaining_ == 0 ? State::kTrailer : State::kData;
        line_.clear();
        ++i;
        break;
      case State::kData: {
        std::size_t n = std::min(remaining_, in.size() - i);
        out(in.substr(i, n));
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd:  // the CRLF after the data
        if (c == '\n') {
          state_ = State::kSize;
          size_digits_ = false;
        } else if (c != '\r') {
          return false;
        }
        ++i;
        break;
      case State::kTrailer:  // trailer fields, then an empty line
        if (c == '\n') {
          if (line_.empty()) state_ = State::kDone;
          line_.clear();
        } else if (c != '\r') {
          line_ += c;
        }
        ++i;
        break;
      case State::kDone:
        break;
    }
  }
  return true;
}

// ------------------------------------------------------------------------------------------------
// The client, on libcurl (OpenSSL).
//
// Why not NNG's HTTP client, which the server side uses: NNG 1.5.2's TLS layer wedges an operation
// started after its TCP connection failed (tls_tcp_error() in tls_common.c closes the TCP aios
// without marking the connection closed), and nng_http_conn_close() then waits for it forever. A
// kept-alive connection the server closed while idle (a restart) is exactly that, and NNG's API
// cannot tell it died; CI saw a remote agent and a RemoteClient hang on it. A new connection per
// request avoids it but costs ~50 ms here (mbedtls' ECDSA/ECDHE). libcurl checks a kept-alive
// connection before reusing it, retries a request whose reused connection died, and verifies the
// server's IP address against the certificate's IP SANs as kubectl does.

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

struct HttpClient::Impl {
  using Clock = HttpClient::Clock;
  std::string server;  // without a trailing '/'
  std::string token;
  std::string timeout_hint;
  std::string user_agent;
  std::string peer;
  std::string ca_pem, client_cert_pem, client_key_pem;
  std::string connect_to;  // "name:port:host:port" when tls_server_name differs from the URL's host
  std::string url_base;    // server, with tls_server_name as its host when one is given
  bool https = false;
  bool insecure = false;
  std::chrono::milliseconds timeout;
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  // cancel() from another thread: sets `cancelled` and wakes the transfer loop (curl_multi_wakeup is
  // thread-safe); every later transfer ends at once.
  std::mutex cancel_mutex;
  bool cancelled = false;

  ~Impl() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  bool is_cancelled() {
    std::lock_guard lock(cancel_mutex);
    return cancelled;
  }

  // A message that says which server, what went wrong, and what to check.
  [[noreturn]] void fail(CURLcode code, const std::string& what) const {
    std::string why = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
    std::string hint;
    switch (code) {
      case CURLE_COULDNT_CONNECT:
        hint = " (is skiffd running, and is this its address?)";
        break;
      case CURLE_OPERATION_TIMEDOUT:
        why = "no answer";
        hint = " (no answer within " + std::to_string(timeout.count()) + "ms" +
               (timeout_hint.empty() ? std::string() : "; " + timeout_hint + " sets the limit") + ")";
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CONNECT_ERROR:
        hint =
            " (the server's certificate was not accepted: is certificate-authority-data this cluster's CA? "
            "--insecure-skip-tls-verify skips the check)";
        break;
      case CURLE_COULDNT_RESOLVE_HOST:
        hint = " (cannot resolve the host)";
        break;
      case CURLE_ABORTED_BY_CALLBACK:
        why = "cancelled";
        break;
      default:
        break;
    }
    throw HttpClientError("cannot reach the " + peer + " at " + server + ": " + what + ": " + why + hint, true);
  }

  // The options every transfer has (curl_easy_reset() clears them; the connection cache stays).
  void setup(const std::string& target, curl_slist* headers) {
    curl_easy_reset(easy);
    error[0] = '\0';
    std::string url = url_base + target;
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_PROXY, "");  // skiff talks to its own servers directly
    curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    if (timeout.count() > 0) curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    if (!https) return;
    if (insecure) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!ca_pem.empty()) {
      curl_blob ca{ca_pem.data(), ca_pem.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
      curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);  // this CA only, not the system's as well
    }
    if (!connect_to.empty()) {
      // connect_to is fixed at construction: the list is built on the first request and kept.
      if (!connect_to_list_) connect_to_list_.reset(curl_slist_append(nullptr, connect_to.c_str()));
      curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to_list_.get());
    }
    if (!client_cert_pem.empty()) {
      curl_blob cert{client_cert_pem.data(), client_cert_pem.size(), CURL_BLOB_NOCOPY};
      curl_blob key{client_key_pem.data(), client_key_pem.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
  }

  curl_slist* headers(const std::string& accept, const std::string& content_type, bool has_body) const {
    curl_slist* h = nullptr;
    h = curl_slist_append(h, ("Accept: " + (accept.empty() ? std::string("*/*") : accept)).c_str());
    if (!token.empty()) h = curl_slist_append(h, ("Authorization: Bearer " + token).c_str());
    if (has_body)
      h = curl_slist_append(h, ("Content-Type: " + (content_type.empty() ? "application/json" : content_type)).c_str());
    h = curl_slist_append(h, "Expect:");  // no 100-continue round trip before a large body
    return h;
  }

  // Runs the configured transfer until it ends, cancel() is called, or `limit()` (re-evaluated as
  // the transfer goes: the head and the body may have different limits) passes.
  enum class End { kDone, kCancelled, kTimedOut };
  struct Outcome {
    End end = End::kDone;
    CURLcode code = CURLE_OK;
  };
  Outcome perform(const std::function<std::optional<Clock::time_point>()>& limit) {
    Outcome out;
    if (is_cancelled()) return {End::kCancelled, CURLE_ABORTED_BY_CALLBACK};
    curl_multi_add_handle(multi, easy);
    while (true) {
      int running = 0;
      curl_multi_perform(multi, &running);
      int queued = 0;
      bool done = false;
      while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
        if (m->msg == CURLMSG_DONE) {
          out.code = m->data.result;
          done = true;
        }
      }
      if (done || running == 0) break;
      if (is_cancelled()) {
        out = {End::kCancelled, CURLE_ABORTED_BY_CALLBACK};
        break;
      }
      int wait_ms = 1000;
      if (auto until = limit()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - Clock::now()).count();
        if (left <= 0) {
          out = {End::kTimedOut, CURLE_OPERATION_TIMEDOUT};
          break;
        }
        wait_ms = static_cast<int>(std::min<std::int64_t>(left, wait_ms));
      }
      curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
    }
    curl_multi_remove_handle(multi, easy);
    return out;
  }

  struct SlistFree {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  std::unique_ptr<curl_slist, SlistFree> connect_to_list_;
};

HttpClient::HttpClient(const HttpClientConfig& config, std::chrono::milliseconds request_timeout)
    : impl_(std::make_unique<Impl>()), server_(config.server) {
  global_init();
  Impl& s = *impl_;
  s.server = config.server;
  while (!s.server.empty() && s.server.back() == '/') s.server.pop_back();
  s.token = config.token;
  s.timeout_hint = config.timeout_hint;
  s.user_agent = config.user_agent;
  s.peer = config.peer;
  s.timeout = request_timeout;
  s.insecure = config.insecure;

  CURLU* url = curl_url();
  std::unique_ptr<CURLU, void (*)(CURLU*)> url_guard(url, curl_url_cleanup);
  if (curl_url_set(url, CURLUPART_URL, s.server.c_str(), 0) != CURLUE_OK)
    fail_config("the server URL \"" + config.server + "\" cannot be parsed");
  auto part = [&](CURLUPart which) {
    char* text = nullptr;
    std::string value;
    if (curl_url_get(url, which, &text, 0) == CURLUE_OK && text != nullptr) value = text;
    curl_free(text);
    return value;
  };
  std::string scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    fail_config("the server URL \"" + config.server + "\" must start with https:// or http://");
  s.https = scheme == "https";
  // A bearer token is never sent in clear text; skiffd's plain-HTTP mode (loopback only) checks none.
  if (!s.https) s.token.clear();
  s.url_base = s.server;

  if (s.https && !config.insecure) {
    if (!config.ca_pem.empty()) {
      // Checked here, as a configuration error, rather than as a failed handshake later.
      mbedtls_x509_crt crt;
      mbedtls_x509_crt_init(&crt);
      int rc = mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(config.ca_pem.c_str()),
                                      config.ca_pem.size() + 1);
      mbedtls_x509_crt_free(&crt);
      if (rc != 0)
        fail_config("the certificate authority in " + config.ca_source + " is not a usable PEM certificate");
      s.ca_pem = config.ca_pem;
    }
    // The name the certificate must carry, when it is not the URL's host: connect to the URL's
    // host but verify (and send SNI for) this name.
    if (!config.tls_server_name.empty()) {
      std::string host = part(CURLUPART_HOST);
      std::string port = part(CURLUPART_PORT);
      if (port.empty()) port = "443";
      s.connect_to = config.tls_server_name + ":" + port + ":" + host + ":" + port;
      curl_url_set(url, CURLUPART_HOST, config.tls_server_name.c_str(), 0);
      s.url_base = part(CURLUPART_URL);
      while (!s.url_base.empty() && s.url_base.back() == '/') s.url_base.pop_back();
    }
  }
  if (s.https && !config.client_cert_pem.empty()) {
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int rc = mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(config.client_cert_pem.c_str()),
                                    config.client_cert_pem.size() + 1);
    mbedtls_x509_crt_free(&crt);
    if (rc != 0) fail_config("the kubeconfig's client certificate or key is not usable: the certificate is not PEM");
    s.client_cert_pem = config.client_cert_pem;
    s.client_key_pem = config.client_key_pem;
  }
  s.multi = curl_multi_init();
  s.easy = curl_easy_init();
  if (s.multi == nullptr || s.easy == nullptr) fail_config("cannot create an HTTP client for " + config.server);
  // One connection kept alive per client.
  curl_multi_setopt(s.multi, CURLMOPT_MAXCONNECTS, 1L);
}

HttpClient::~HttpClient() = default;

void HttpClient::cancel() {
  std::lock_guard lock(impl_->cancel_mutex);
  impl_->cancelled = true;
  curl_multi_wakeup(impl_->multi);
}

namespace {

// The head as libcurl hands it over, line by line: the status, Content-Type, and its end.
struct Head {
  int status = 0;
  std::string content_type;
  bool complete = false;
  std::function<void(int)> on_complete;

  static std::size_t line(char* data, std::size_t size, std::size_t count, void* self) {
    auto* h = static_cast<Head*>(self);
    std::string_view text(data, size * count);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (text.starts_with("HTTP/")) {
      // A new head (after a 100 Continue, or a retried request): start over.
      auto sp = text.find(' ');
      h->status = sp == std::string_view::npos ? 0 : std::atoi(std::string(text.substr(sp + 1, 3)).c_str());
      h->content_type.clear();
    } else if (text.empty()) {
      if (h->status >= 200 && !h->complete) {
        h->complete = true;
        if (h->on_complete) h->on_complete(h->status);
      }
    } else if (auto colon = text.find(':'); colon != std::string_view::npos) {
      std::string name(text.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (name == "content-type") {
        std::string_view value = text.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        h->content_type = std::string(value);
      }
    }
    return size * count;
  }
};

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

}  // namespace

HttpReply HttpClient::request(std::string_view method, const std::string& target, const std::string& body,
                              const std::string& content_type, const std::string& accept) {
  Impl& s = *impl_;
  std::unique_ptr<curl_slist, Impl::SlistFree> headers(s.headers(accept, content_type, !body.empty()));
  s.setup(target, headers.get());
  std::string m(method);
  if (m == "GET") {
    curl_easy_setopt(s.easy, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(s.easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(s.easy, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  if (!body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
    curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(s.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  HttpReply reply;
  Head head;
  curl_easy_setopt(s.easy, CURLOPT_HEADERFUNCTION, &Head::line);
  curl_easy_setopt(s.easy, CURLOPT_HEADERDATA, &head);
  curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &reply.body);
  std::optional<Clock::time_point> until;
  if (s.timeout.count() > 0) until = Clock::now() + s.timeout;
  auto outcome = s.perform([&] { return until; });
  if (outcome.end != Impl::End::kDone || outcome.code != CURLE_OK) s.fail(outcome.code, m + " " + target);
  reply.status = head.status;
  reply.content_type = head.content_type;
  return reply;
}

HttpReply HttpClient::stream(const std::string& target, const std::string& accept,
                             const std::function<bool(std::string_view)>& on_data,
                             std::optional<Clock::time_point> deadline, const std::function<void(int status)>& on_head) {
  Impl& s = *impl_;
  std::unique_ptr<curl_slist, Impl::SlistFree> headers(s.headers(accept, {}, false));
  s.setup(target, headers.get());
  curl_easy_setopt(s.easy, CURLOPT_HTTPGET, 1L);

  HttpReply reply;
  // Until the head arrives: the request timeout (or the deadline, if sooner). Then the deadline for
  // a streamed body, or again the request timeout for an error answer, which is read whole.
  auto with_timeout = [&](Clock::time_point from) -> std::optional<Clock::time_point> {
    std::optional<Clock::time_point> t;
    if (s.timeout.count() > 0) t = from + s.timeout;
    if (deadline && (!t || *deadline < *t)) t = deadline;
    return t;
  };
  std::optional<Clock::time_point> limit = with_timeout(Clock::now());
  Head head;
  head.on_complete = [&](int status) {
    if (status >= 400) {
      limit = with_timeout(Clock::now());
    } else {
      limit = deadline;
    }
    if (on_head) on_head(status);
  };
  struct Sink {
    Head* head;
    HttpReply* reply;
    const std::function<bool(std::string_view)>* on_data;
    bool stopped = false;
    static std::size_t write(char* data, std::size_t size, std::size_t count, void* self) {
      auto* k = static_cast<Sink*>(self);
      std::string_view got(data, size * count);
      if (k->head->status >= 400) {
        k->reply->body.append(got);
      } else if (!got.empty() && !(*k->on_data)(got)) {
        k->stopped = true;
        return 0;  // ends the transfer (CURLE_WRITE_ERROR)
      }
      return size * count;
    }
  } sink{&head, &reply, &on_data};
  curl_easy_setopt(s.easy, CURLOPT_HEADERFUNCTION, &Head::line);
  curl_easy_setopt(s.easy, CURLOPT_HEADERDATA, &head);
  curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, &Sink::write);
  curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &sink);
  auto outcome = s.perform([&] { return limit; });
  reply.status = head.status;
  reply.content_type = head.content_type;
  if (outcome.end == Impl::End::kCancelled) {
    reply.cancelled = true;
    return reply;
  }
  if (outcome.end == Impl::End::kTimedOut) {
    // The deadline ending a stream is how a follow ends; the request timeout passing before the
    // head arrived is a failure (one passing while an error answer is read returns what came).
    if ((deadline && Clock::now() >= *deadline) || head.complete) {
      reply.timed_out = true;
      return reply;
    }
    s.fail(CURLE_OPERATION_TIMEDOUT, "GET " + target);
  }
  if (outcome.code != CURLE_OK && !sink.stopped && !head.complete) s.fail(outcome.code, "GET " + target);
  // After the head, an error is the server closing the connection: the body is over.
  return reply;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace skiff::kernel::api
