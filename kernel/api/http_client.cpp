#include "kernel/api/http_client.hpp"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace skiff::kernel::api {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

nng_duration to_nng(std::chrono::milliseconds ms) {
  if (ms.count() <= 0) return NNG_DURATION_INFINITE;
  return static_cast<nng_duration>(std::min<std::int64_t>(ms.count(), 0x7fffffff));
}

bool retryable(int rv) { return rv == NNG_ECLOSED || rv == NNG_ECONNSHUT || rv == NNG_ECONNRESET; }

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

struct HttpClient::Impl {
  std::string server;
  std::string prefix;  // a path in the server URL ("https://host/k8s" → "/k8s")
  std::string token;
  std::string timeout_hint;
  std::string user_agent;
  std::string peer;
  std::chrono::milliseconds timeout;
  // cancel() from another thread: every asynchronous operation starts under op_mutex after checking
  // `cancelled`, so cancel() either sees the operation and aborts it, or the operation never starts.
  std::mutex op_mutex;
  bool cancelled = false;
  nng_url* url = nullptr;
  nng_http_client* client = nullptr;
  nng_tls_config* tls = nullptr;
  nng_http_conn* conn = nullptr;
  nng_aio* aio = nullptr;

  ~Impl() {
    close();
    if (aio != nullptr) nng_aio_free(aio);
    if (client != nullptr) nng_http_client_free(client);
    if (tls != nullptr) nng_tls_config_free(tls);
    if (url != nullptr) nng_url_free(url);
  }

  void close() {
    if (conn != nullptr) nng_http_conn_close(conn);
    conn = nullptr;
  }

  // A message that says which server, what went wrong, and what to check.
  [[noreturn]] void fail(int rv, const std::string& what) const {
    std::string why = nng_strerror(rv);
    std::string hint;
    switch (rv) {
      case NNG_ECONNREFUSED:
        hint = " (is skiffd running, and is this its address?)";
        break;
      case NNG_ETIMEDOUT:
        hint = " (no answer within " + std::to_string(timeout.count()) + "ms" +
               (timeout_hint.empty() ? std::string() : "; " + timeout_hint + " sets the limit") + ")";
        break;
      case NNG_EPEERAUTH:
      case NNG_ECRYPTO:
        hint =
            " (the server's certificate was not accepted: is certificate-authority-data this cluster's CA? "
            "--insecure-skip-tls-verify skips the check)";
        break;
      case NNG_EADDRINVAL:
        hint = " (cannot resolve the host)";
        break;
      default:
        break;
    }
    throw HttpClientError("cannot reach the " + peer + " at " + server + ": " + what + ": " + why + hint, true);
  }

  // Starts one asynchronous operation on `aio` (unless cancelled) and waits for it.
  template <typename Start>
  int run(nng_duration wait, Start start) {
    {
      std::lock_guard lock(op_mutex);
      if (cancelled) return NNG_ECANCELED;
      nng_aio_set_timeout(aio, wait);
      start();
    }
    nng_aio_wait(aio);
    return nng_aio_result(aio);
  }

  int connect(nng_duration wait) {
    int rv = run(wait, [&] { nng_http_client_connect(client, aio); });
    if (rv == 0) conn = static_cast<nng_http_conn*>(nng_aio_get_output(aio, 0));
    return rv;
  }

  nng_http_req* make_request(std::string_view method, const std::string& target, const std::string& body,
                             const std::string& content_type, const std::string& accept) {
    nng_http_req* req = nullptr;
    if (nng_http_req_alloc(&req, url) != 0) fail_config("out of memory");
    std::string m(method);
    std::string uri = prefix + target;
    nng_http_req_set_method(req, m.c_str());
    nng_http_req_set_uri(req, uri.c_str());
    nng_http_req_set_header(req, "User-Agent", user_agent.c_str());
    if (!accept.empty()) nng_http_req_set_header(req, "Accept", accept.c_str());
    if (!token.empty()) nng_http_req_set_header(req, "Authorization", ("Bearer " + token).c_str());
    if (!body.empty()) {
      nng_http_req_set_header(req, "Content-Type", content_type.empty() ? "application/json" : content_type.c_str());
      nng_http_req_copy_data(req, body.data(), body.size());
    }
    return req;
  }
};

HttpClient::HttpClient(const HttpClientConfig& config, std::chrono::milliseconds request_timeout)
    : impl_(std::make_unique<Impl>()), server_(config.server) {
  Impl& s = *impl_;
  s.server = config.server;
  s.token = config.token;
  s.timeout_hint = config.timeout_hint;
  s.user_agent = config.user_agent;
  s.peer = config.peer;
  s.timeout = request_timeout;
  int rv = nng_url_parse(&s.url, config.server.c_str());
  if (rv != 0) fail_config("the server URL \"" + config.server + "\" cannot be parsed: " + nng_strerror(rv));
  std::string scheme = s.url->u_scheme;
  if (scheme != "http" && scheme != "https")
    fail_config("the server URL \"" + config.server + "\" must start with https:// or http://");
  // A bearer token is never sent in clear text; skiffd's plain-HTTP mode (loopback only) checks none.
  if (scheme == "http") s.token.clear();
  s.prefix = s.url->u_path != nullptr ? s.url->u_path : "";
  while (!s.prefix.empty() && s.prefix.back() == '/') s.prefix.pop_back();
  if ((rv = nng_http_client_alloc(&s.client, s.url)) != 0)
    fail_config("cannot create an HTTP client for " + config.server + ": " + nng_strerror(rv));
  if ((rv = nng_aio_alloc(&s.aio, nullptr, nullptr)) != 0) fail_config(std::string("nng: ") + nng_strerror(rv));

  if (scheme == "https") {
    if ((rv = nng_tls_config_alloc(&s.tls, NNG_TLS_MODE_CLIENT)) != 0)
      fail_config(std::string("tls: ") + nng_strerror(rv));
    if (config.insecure) {
      nng_tls_config_auth_mode(s.tls, NNG_TLS_AUTH_MODE_NONE);
    } else {
      nng_tls_config_auth_mode(s.tls, NNG_TLS_AUTH_MODE_REQUIRED);
      if (!config.ca_pem.empty()) {
        if ((rv = nng_tls_config_ca_chain(s.tls, config.ca_pem.c_str(), nullptr)) != 0) {
          fail_config("the certificate authority in " + config.ca_source +
                        " is not a usable PEM certificate: " + nng_strerror(rv));
        }
      } else {
        const char* system_ca = "/etc/ssl/certs/ca-certificates.crt";
        if (std::filesystem::exists(system_ca) && (rv = nng_tls_config_ca_file(s.tls, system_ca)) != 0)
          fail_config(std::string("cannot load the system CA certificates: ") + nng_strerror(rv));
      }
      // The name the certificate must carry. mbedtls 2.28 (under NNG here) matches DNS names only, so
      // for an IP address (skiffd's kubeconfig says https://127.0.0.1:PORT) the chain is verified
      // against the cluster's own CA and the name is not compared; tls-server-name restores the check.
      std::string host = s.url->u_hostname != nullptr ? s.url->u_hostname : "";
      std::string name = !config.tls_server_name.empty() ? config.tls_server_name : (is_ip_literal(host) ? "" : host);
      if (!name.empty()) nng_tls_config_server_name(s.tls, name.c_str());
    }
    if (!config.client_cert_pem.empty() && (rv = nng_tls_config_own_cert(s.tls, config.client_cert_pem.c_str(),
                                                                         config.client_key_pem.c_str(), nullptr)) != 0)
      fail_config("the kubeconfig's client certificate or key is not usable: " + std::string(nng_strerror(rv)));
    if ((rv = nng_http_client_set_tls(s.client, s.tls)) != 0) fail_config(std::string("tls: ") + nng_strerror(rv));
  }
}

HttpClient::~HttpClient() = default;

void HttpClient::cancel() {
  std::lock_guard lock(impl_->op_mutex);
  impl_->cancelled = true;
  nng_aio_cancel(impl_->aio);
}

HttpReply HttpClient::request(std::string_view method, const std::string& target, const std::string& body,
                              const std::string& content_type, const std::string& accept) {
  Impl& s = *impl_;
  // A kept-alive connection may have been closed by the server meanwhile: retry once on a new one,
  // except for POST, which is not idempotent.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = s.conn != nullptr;
    if (!reused) {
      if (int rv = s.connect(to_nng(s.timeout)); rv != 0) s.fail(rv, "connect");
    }
    nng_http_req* req = s.make_request(method, target, body, content_type, accept);
    nng_http_res* res = nullptr;
    nng_http_res_alloc(&res);
    int rv = s.run(to_nng(s.timeout), [&] { nng_http_conn_transact(s.conn, req, res, s.aio); });
    if (rv != 0) {
      nng_http_req_free(req);
      nng_http_res_free(res);
      s.close();
      if (reused && retryable(rv) && method != "POST") continue;
      s.fail(rv, std::string(method) + " " + target);
    }
    HttpReply reply;
    reply.status = nng_http_res_get_status(res);
    if (const char* ct = nng_http_res_get_header(res, "Content-Type")) reply.content_type = ct;
    void* data = nullptr;
    std::size_t size = 0;
    nng_http_res_get_data(res, &data, &size);
    if (size > 0) reply.body.assign(static_cast<const char*>(data), size);
    const char* connection = nng_http_res_get_header(res, "Connection");
    if (connection != nullptr && std::string_view(connection).find("close") != std::string_view::npos) s.close();
    nng_http_req_free(req);
    nng_http_res_free(res);
    return reply;
  }
  s.fail(NNG_ECLOSED, std::string(method) + " " + target);
}

HttpReply HttpClient::stream(const std::string& target, const std::string& accept,
                             const std::function<bool(std::string_view)>& on_data,
                             std::optional<Clock::time_point> deadline, const std::function<void(int status)>& on_head) {
  Impl& s = *impl_;
  auto remaining = [&]() -> nng_duration {
    if (!deadline) return NNG_DURATION_INFINITE;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    return static_cast<nng_duration>(std::max<std::int64_t>(1, left.count()));
  };
  auto head_wait = [&]() -> nng_duration {
    nng_duration r = remaining();
    nng_duration t = to_nng(s.timeout);
    if (r == NNG_DURATION_INFINITE) return t;
    return t == NNG_DURATION_INFINITE ? r : std::min(r, t);
  };

  HttpReply reply;
  nng_http_req* req = nullptr;
  nng_http_res* res = nullptr;
  // The connection is dropped at the end whatever happens: a stream may stop mid-body.
  struct Cleanup {
    Impl& s;
    nng_http_req*& req;
    nng_http_res*& res;
    ~Cleanup() {
      if (req != nullptr) nng_http_req_free(req);
      if (res != nullptr) nng_http_res_free(res);
      s.close();
    }
  } cleanup{s, req, res};

  int rv = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = s.conn != nullptr;
    if (!reused && (rv = s.connect(head_wait())) != 0) s.fail(rv, "connect");
    if (req != nullptr) nng_http_req_free(req);
    if (res != nullptr) nng_http_res_free(res);
    req = s.make_request("GET", target, {}, {}, accept);
    nng_http_res_alloc(&res);
    if ((rv = s.run(head_wait(), [&] { nng_http_conn_write_req(s.conn, req, s.aio); })) == 0)
      rv = s.run(head_wait(), [&] { nng_http_conn_read_res(s.conn, res, s.aio); });
    if (rv == 0) break;
    s.close();
    if (!(reused && retryable(rv))) break;
  }
  if (rv == NNG_ETIMEDOUT && deadline && Clock::now() >= *deadline) {
    reply.timed_out = true;
    return reply;
  }
  if (rv == NNG_ECANCELED) {
    reply.cancelled = true;
    return reply;
  }
  if (rv != 0) s.fail(rv, "GET " + target);

  reply.status = nng_http_res_get_status(res);
  if (on_head) on_head(reply.status);
  if (const char* ct = nng_http_res_get_header(res, "Content-Type")) reply.content_type = ct;
  const char* te = nng_http_res_get_header(res, "Transfer-Encoding");
  bool chunked = te != nullptr && std::string_view(te).find("chunked") != std::string_view::npos;
  std::optional<std::size_t> length;
  if (const char* cl = nng_http_res_get_header(res, "Content-Length"); cl != nullptr && !chunked)
    length = static_cast<std::size_t>(std::strtoull(cl, nullptr, 10));

  bool error_answer = reply.status >= 400;
  bool stop = false;
  auto deliver = [&](std::string_view data) {
    if (data.empty() || stop) return;
    if (error_answer) {
      reply.body.append(data);
    } else if (!on_data(data)) {
      stop = true;
    }
  };
  if (length && *length == 0) return reply;

  ChunkedDecoder decoder;
  std::string buffer(std::size_t{64} * 1024, '\0');
  while (!stop) {
    nng_iov iov{buffer.data(), buffer.size()};
    nng_aio_set_iov(s.aio, 1, &iov);
    rv = s.run(error_answer ? head_wait() : remaining(), [&] { nng_http_conn_read(s.conn, s.aio); });
    if (rv == NNG_ECANCELED) {
      reply.cancelled = true;
      break;
    }
    if (rv == NNG_ETIMEDOUT) {
      reply.timed_out = true;
      break;
    }
    if (rv != 0) break;  // the server closed the connection: the body is over
    std::string_view got(buffer.data(), nng_aio_count(s.aio));
    if (chunked) {
      if (!decoder.feed(got, deliver))
        fail_config("the " + s.peer + " at " + s.server + " sent a malformed chunked body");
      if (decoder.done()) break;
    } else if (length) {
      std::size_t n = std::min(*length, got.size());
      deliver(got.substr(0, n));
      *length -= n;
      if (*length == 0) break;
    } else {
      deliver(got);
    }
  }
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
