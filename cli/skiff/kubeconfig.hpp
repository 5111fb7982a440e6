// Where skiff finds its cluster: kubeconfig files as kubectl reads them, plus the command-line
// overrides kubectl has (--kubeconfig, --context, -n, --server, --token, --insecure-skip-tls-verify).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skiff::cli {

// The flags that override what the kubeconfig says. Empty strings mean "not given".
struct ConnectionOverrides {
  std::string kubeconfig;  // --kubeconfig FILE
  std::string context;     // --context NAME
  std::string ns;          // -n/--namespace NS
  std::string server;      // -s/--server URL
  std::string token;       // --token TOKEN
  bool insecure = false;   // --insecure-skip-tls-verify
};

struct KubeconfigCluster {
  std::string server;
  std::string ca_pem;  // certificate-authority-data (decoded) or the certificate-authority file
  std::string tls_server_name;
  bool insecure = false;
};

struct KubeconfigUser {
  std::string token;            // token, or the contents of tokenFile
  std::string client_cert_pem;  // client-certificate(-data)
  std::string client_key_pem;   // client-key(-data)
};

struct KubeconfigContext {
  std::string cluster;
  std::string user;
  std::string ns;
};

// One or more kubeconfig files merged the way kubectl merges $KUBECONFIG: for each name the first
// file that defines it wins, and so does the first non-empty current-context.
struct Kubeconfig {
  std::map<std::string, KubeconfigCluster> clusters;
  std::map<std::string, KubeconfigUser> users;
  std::map<std::string, KubeconfigContext> contexts;
  std::string current_context;
  std::vector<std::string> files;  // the files read, in order
};

// What a command needs to talk to the API server.
struct ClusterConfig {
  std::string server;  // https://127.0.0.1:6443
  std::string ca_pem;
  std::string tls_server_name;
  bool insecure = false;
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string ns = "default";
  bool ns_from_flag = false;  // -n was given
  std::string context;        // the context used ("" with --server and no kubeconfig)
  std::string source;         // the kubeconfig file(s) it came from, for error messages
};

// Parses one kubeconfig document. `source` names the file in errors; relative certificate and token
// file paths are read relative to `base_dir`. Throws Failure naming the file and what is wrong.
Kubeconfig parse_kubeconfig(std::string_view yaml, const std::string& source, const std::string& base_dir);

// Adds `more` under `into` with kubectl's precedence (what `into` already has wins).
void merge_kubeconfig(Kubeconfig& into, const Kubeconfig& more);

// The files to read: --kubeconfig, else every entry of $KUBECONFIG (':'-separated), else
// $HOME/.kube/config. `explicit_file` tells whether a missing file is an error (the flag) or not.
struct KubeconfigFiles {
  std::vector<std::string> paths;
  bool explicit_file = false;
};
KubeconfigFiles kubeconfig_files(const ConnectionOverrides& overrides, const char* env_kubeconfig, const char* home);

// Reads and merges the files (missing ones are skipped unless explicit). Throws Failure.
Kubeconfig load_kubeconfig(const KubeconfigFiles& files);

// Picks the context (--context, else current-context) and applies the overrides. Throws Failure when
// there is nothing to connect to, or the context names a cluster or user that does not exist.
ClusterConfig resolve_cluster(const Kubeconfig& config, const ConnectionOverrides& overrides);

// Standard base64 (RFC 4648, padding optional, whitespace ignored). nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace skiff::cli
