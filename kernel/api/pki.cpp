#include "kernel/api/pki.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

namespace skiff::kernel::api {
namespace fs = std::filesystem;
using plugin::Result;
using plugin::Status;

namespace {

std::string mbed_error(const std::string& what, int rc) {
  return what + " failed (mbedtls error -0x" + [&] {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(-rc));
    return std::string(buf);
  }() + ")";
}

// mbedtls objects with their init/free pairs, so every exit path cleans up.
struct Rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  Rng() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  int seed() {
    static const char personalization[] = "skiff-pki";
    return mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                 reinterpret_cast<const unsigned char*>(personalization), sizeof personalization - 1);
  }
};

struct Key {
  mbedtls_pk_context pk;
  Key() { mbedtls_pk_init(&pk); }
  ~Key() { mbedtls_pk_free(&pk); }
};

struct Cert {
  mbedtls_x509_crt crt;
  Cert() { mbedtls_x509_crt_init(&crt); }
  ~Cert() { mbedtls_x509_crt_free(&crt); }
};

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return plugin::internal("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_private(const fs::path& path, const std::string& content, mode_t mode) {
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return plugin::internal("cannot write " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, mode);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) {
      ::close(fd);
      return plugin::internal("cannot write " + tmp + ": " + std::strerror(errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return plugin::internal("cannot rename " + tmp + ": " + ec.message());
  return Status::ok();
}

Status generate_key(Key& key, Rng& rng) {
  int rc = mbedtls_pk_setup(&key.pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (rc != 0) return plugin::internal(mbed_error("pk_setup", rc));
  rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key.pk), mbedtls_ctr_drbg_random, &rng.drbg);
  if (rc != 0) return plugin::internal(mbed_error("ecp_gen_key", rc));
  return Status::ok();
}

Result<std::string> key_pem(Key& key) {
  std::vector<unsigned char> buf(4096);
  int rc = mbedtls_pk_write_key_pem(&key.pk, buf.data(), buf.size());
  if (rc != 0) return plugin::internal(mbed_error("pk_write_key_pem", rc));
  return std::string(reinterpret_cast<char*>(buf.data()));
}

Status parse_key(Key& key, const std::string& pem, const std::string& where) {
  int rc = mbedtls_pk_parse_key(&key.pk, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1, nullptr, 0);
  if (rc != 0) return plugin::internal(where + ": " + mbed_error("pk_parse_key", rc));
  return Status::ok();
}

Status parse_cert(Cert& cert, const std::string& pem, const std::string& where) {
  int rc = mbedtls_x509_crt_parse(&cert.crt, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1);
  if (rc != 0) return plugin::internal(where + ": " + mbed_error("x509_crt_parse", rc));
  return Status::ok();
}

// DER of a SubjectAltName extension value: SEQUENCE OF GeneralName, where a DNS name is [2] IA5String
// and an IP address [7] OCTET STRING.
std::string san_der(const std::vector<std::string>& names) {
  std::string body;
  auto append = [&body](unsigned char tag, const std::string& value) {
    body += static_cast<char>(tag);
    if (value.size() < 128) {
      body += static_cast<char>(value.size());
    } else {
      body += static_cast<char>(0x81);
      body += static_cast<char>(value.size());
    }
    body += value;
  };
  for (const auto& n : names) {
    unsigned char v4[4], v6[16];
    if (inet_pton(AF_INET, n.c_str(), v4) == 1) {
      append(0x87, std::string(reinterpret_cast<char*>(v4), 4));
    } else if (inet_pton(AF_INET6, n.c_str(), v6) == 1) {
      append(0x87, std::string(reinterpret_cast<char*>(v6), 16));
    } else {
      append(0x82, n);
    }
  }
  std::string out;
  out += static_cast<char>(0x30);
  if (body.size() < 128) {
    out += static_cast<char>(body.size());
  } else if (body.size() < 256) {
    out += static_cast<char>(0x81);
    out += static_cast<char>(body.size());
  } else {
    out += static_cast<char>(0x82);
    out += static_cast<char>(body.size() >> 8);
    out += static_cast<char>(body.size() & 0xff);
  }
  return out + body;
}

std::string validity_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

Result<std::string> issue(Rng& rng, Key& subject_key, Key& issuer_key, const std::string& subject,
                          const std::string& issuer, bool is_ca, const std::vector<std::string>& sans) {
  mbedtls_x509write_cert crt;
  mbedtls_x509write_crt_init(&crt);
  struct Free {
    mbedtls_x509write_cert* c;
    ~Free() { mbedtls_x509write_crt_free(c); }
  } free_crt{&crt};
  mbedtls_mpi serial;
  mbedtls_mpi_init(&serial);
  struct FreeMpi {
    mbedtls_mpi* m;
    ~FreeMpi() { mbedtls_mpi_free(m); }
  } free_serial{&serial};
  unsigned char serial_bytes[16];
  mbedtls_ctr_drbg_random(&rng.drbg, serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;  // positive
  mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof serial_bytes);

  std::time_t now = std::time(nullptr);
  std::string not_before = validity_time(now - 3600);
  std::string not_after = validity_time(now + (is_ca ? 10 : 5) * 365LL * 24 * 3600);

  mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&crt, &subject_key.pk);
  mbedtls_x509write_crt_set_issuer_key(&crt, &issuer_key.pk);
  int rc = mbedtls_x509write_crt_set_subject_name(&crt, subject.c_str());
  if (rc == 0) rc = mbedtls_x509write_crt_set_issuer_name(&crt, issuer.c_str());
  if (rc == 0) rc = mbedtls_x509write_crt_set_serial(&crt, &serial);
  if (rc == 0) rc = mbedtls_x509write_crt_set_validity(&crt, not_before.c_str(), not_after.c_str());
  if (rc == 0) rc = mbedtls_x509write_crt_set_basic_constraints(&crt, is_ca ? 1 : 0, is_ca ? 0 : -1);
  if (rc == 0)
    rc = mbedtls_x509write_crt_set_key_usage(
        &crt, is_ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN | MBEDTLS_X509_KU_DIGITAL_SIGNATURE)
                    : (MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT));
  if (rc == 0) rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt);
  if (rc == 0) rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt);
  if (rc == 0 && !is_ca) {
    std::string der = san_der(sans);
    rc = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                             reinterpret_cast<const unsigned char*>(der.data()), der.size());
    // serverAuth extended key usage: Go clients accept certificates without it, others insist.
    static const unsigned char kEkuServerAuth[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
                                                   0x05, 0x05, 0x07, 0x03, 0x01};
    if (rc == 0)
      rc = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, kEkuServerAuth,
                                               sizeof kEkuServerAuth);
  }
  if (rc != 0) return plugin::internal(mbed_error("building certificate " + subject, rc));
  std::vector<unsigned char> buf(8192);
  rc = mbedtls_x509write_crt_pem(&crt, buf.data(), buf.size(), mbedtls_ctr_drbg_random, &rng.drbg);
  if (rc != 0) return plugin::internal(mbed_error("writing certificate " + subject, rc));
  return std::string(reinterpret_cast<char*>(buf.data()));
}

// True when every name is among the certificate's SANs. mbedtls keeps each GeneralName with its
// context tag: [2] for a DNS name, [7] for an IP address (raw 4 or 16 bytes).
bool covers(const mbedtls_x509_crt& crt, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    unsigned char v4[4], v6[16];
    int want_tag = 2;
    std::string want = n;
    if (inet_pton(AF_INET, n.c_str(), v4) == 1) {
      want_tag = 7;
      want.assign(reinterpret_cast<char*>(v4), 4);
    } else if (inet_pton(AF_INET6, n.c_str(), v6) == 1) {
      want_tag = 7;
      want.assign(reinterpret_cast<char*>(v6), 16);
    }
    bool found = false;
    for (const mbedtls_x509_sequence* s = &crt.subject_alt_names; s != nullptr && !found; s = s->next) {
      if (s->buf.p == nullptr || (s->buf.tag & 0x1f) != want_tag) continue;
      found = std::string(reinterpret_cast<const char*>(s->buf.p), s->buf.len) == want;
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

Result<ServingCertificate> self_signed_certificate(const std::string& common_name,
                                                  const std::vector<std::string>& san_names) {
  Rng rng;
  if (int rc = rng.seed(); rc != 0) return plugin::internal(mbed_error("seeding the random generator", rc));
  Key key;
  if (auto st = generate_key(key, rng); !st) return st;
  std::string subject = "CN=" + common_name + ",O=skiff";
  auto pem = issue(rng, key, key, subject, subject, false, san_names);
  if (!pem) return pem.status();
  auto kp = key_pem(key);
  if (!kp) return kp.status();
  return ServingCertificate{*pem, *kp};
}

std::string random_token(std::size_t bytes) {
  std::random_device rd;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rd() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<Credentials> ensure_credentials(const std::string& data_dir, const std::vector<std::string>& san_names) {
  fs::path pki = fs::path(data_dir) / "pki";
  std::error_code ec;
  fs::create_directories(pki, ec);
  if (ec) return plugin::internal("cannot create " + pki.string() + ": " + ec.message());
  ::chmod(pki.c_str(), 0700);

  Rng rng;
  if (int rc = rng.seed(); rc != 0) return plugin::internal(mbed_error("seeding the random generator", rc));

  Credentials out;
  Key ca_key;
  fs::path ca_crt_path = pki / "ca.crt", ca_key_path = pki / "ca.key";
  if (fs::exists(ca_crt_path) && fs::exists(ca_key_path)) {
    auto crt = read_file(ca_crt_path);
    auto key = read_file(ca_key_path);
    if (!crt) return crt.status();
    if (!key) return key.status();
    if (auto st = parse_key(ca_key, *key, ca_key_path.string()); !st) return st;
    Cert check;
    if (auto st = parse_cert(check, *crt, ca_crt_path.string()); !st) return st;
    out.ca_pem = *crt;
  } else {
    if (auto st = generate_key(ca_key, rng); !st) return st;
    auto pem = issue(rng, ca_key, ca_key, "CN=skiff-ca,O=skiff", "CN=skiff-ca,O=skiff", true, {});
    if (!pem) return pem.status();
    auto kp = key_pem(ca_key);
    if (!kp) return kp.status();
    if (auto st = write_private(ca_key_path, *kp, 0600); !st) return st;
    if (auto st = write_private(ca_crt_path, *pem, 0644); !st) return st;
    out.ca_pem = *pem;
  }

  fs::path crt_path = pki / "apiserver.crt", key_path = pki / "apiserver.key";
  bool reuse = false;
  if (fs::exists(crt_path) && fs::exists(key_path)) {
    auto crt = read_file(crt_path);
    auto key = read_file(key_path);
    if (crt && key) {
      Cert c;
      if (parse_cert(c, *crt, crt_path.string()) && covers(c.crt, san_names)) {
        out.serving_cert_pem = *crt;
        out.serving_key_pem = *key;
        reuse = true;
      }
    }
  }
  if (!reuse) {
    Key key;
    if (auto st = generate_key(key, rng); !st) return st;
    auto pem = issue(rng, key, ca_key, "CN=skiffd,O=skiff", "CN=skiff-ca,O=skiff", false, san_names);
    if (!pem) return pem.status();
    auto kp = key_pem(key);
    if (!kp) return kp.status();
    if (auto st = write_private(key_path, *kp, 0600); !st) return st;
    if (auto st = write_private(crt_path, *pem, 0644); !st) return st;
    out.serving_cert_pem = *pem;
    out.serving_key_pem = *kp;
  }

  fs::path token_path = fs::path(data_dir) / "admin-token";
  if (fs::exists(token_path)) {
    auto t = read_file(token_path);
    if (!t) return t.status();
    out.admin_token = *t;
    while (!out.admin_token.empty() && std::isspace(static_cast<unsigned char>(out.admin_token.back())))
      out.admin_token.pop_back();
  }
  if (out.admin_token.empty()) {
    out.admin_token = random_token();
    if (auto st = write_private(token_path, out.admin_token + "\n", 0600); !st) return st;
  }
  return out;
}

Status write_kubeconfig(const std::string& path, const std::string& server_url, const std::string& ca_pem,
                        const std::string& token) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (std::size_t i = 0; i < ca_pem.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint8_t>(ca_pem[i]) << 16;
    if (i + 1 < ca_pem.size()) n |= static_cast<std::uint8_t>(ca_pem[i + 1]) << 8;
    if (i + 2 < ca_pem.size()) n |= static_cast<std::uint8_t>(ca_pem[i + 2]);
    b64 += kB64[(n >> 18) & 63];
    b64 += kB64[(n >> 12) & 63];
    b64 += i + 1 < ca_pem.size() ? kB64[(n >> 6) & 63] : '=';
    b64 += i + 2 < ca_pem.size() ? kB64[n & 63] : '=';
  }
  std::string y;
  y += "apiVersion: v1\nkind: Config\nclusters:\n- name: skiff\n  cluster:\n    server: " + server_url + "\n";
  if (!ca_pem.empty()) y += "    certificate-authority-data: " + b64 + "\n";
  y += "users:\n- name: skiff-admin\n  user:\n";
  y += token.empty() ? "    {}\n" : "    token: " + token + "\n";
  y += "contexts:\n- name: skiff\n  context:\n    cluster: skiff\n    user: skiff-admin\n    namespace: default\n";
  y += "current-context: skiff\npreferences: {}\n";
  return write_private(path, y, 0600);
}

}  // namespace skiff::kernel::api
