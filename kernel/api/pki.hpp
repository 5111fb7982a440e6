// The cluster's credentials, created on first start under DATA_DIR and kept across restarts:
//   pki/ca.crt, pki/ca.key            the cluster CA (ECDSA P-256, 10 years)
//   pki/apiserver.crt, apiserver.key  the serving certificate, signed by the CA, with the listen
//                                     address, 127.0.0.1, ::1, localhost and the host name as SANs
//   admin-token                       the bearer token of the admin user (0600)
//   kubeconfig                        server URL + CA + admin token (0600), ready for kubectl
#pragma once

#include <string>
#include <vector>

#include "skiff/plugin/status.hpp"

namespace skiff::kernel::api {

struct Credentials {
  std::string ca_pem;
  std::string serving_cert_pem;
  std::string serving_key_pem;
  std::string admin_token;
};

// Loads what exists and creates what is missing. The serving certificate is re-issued (from the same
// CA) when it does not cover every name in `san_names` (DNS names or IP literals).
plugin::Result<Credentials> ensure_credentials(const std::string& data_dir, const std::vector<std::string>& san_names);

// Writes DATA_DIR/kubeconfig for `server_url` ("https://127.0.0.1:6443"). `ca_pem` empty for plain http.
plugin::Status write_kubeconfig(const std::string& path, const std::string& server_url, const std::string& ca_pem,
                                const std::string& token);

struct ServingCertificate {
  std::string cert_pem, key_pem;
};
// A self-signed serving certificate (ECDSA P-256) for `san_names`, kept in memory only: a node
// agent's endpoint, whose certificate the API server learns from the agent's Node object.
plugin::Result<ServingCertificate> self_signed_certificate(const std::string& common_name,
                                                           const std::vector<std::string>& san_names);

// A random hex token of `bytes` bytes of entropy.
std::string random_token(std::size_t bytes = 32);

}  // namespace skiff::kernel::api
