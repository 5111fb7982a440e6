#include "cli/skiff/kubeconfig.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/skiff/errors.hpp"

namespace skiff::cli {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure(what + ": cannot read \"" + path + "\"");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string scalar(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.Scalar() : std::string();
}

bool boolean(const YAML::Node& map, const char* key) {
  std::string v = scalar(map, key);
  return v == "true" || v == "True" || v == "TRUE";
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute() || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).string();
}

// "*-data" (base64) wins over the file form, as in client-go.
std::string data_or_file(const YAML::Node& map, const char* data_key, const char* file_key, const std::string& base_dir,
                         const std::string& where) {
  std::string data = scalar(map, data_key);
  if (!data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded) throw Failure(where + ": " + data_key + " is not valid base64");
    return *decoded;
  }
  std::string file = scalar(map, file_key);
  if (file.empty()) return {};
  return read_file(resolve_path(file, base_dir), where + ": " + file_key);
}

// Each of clusters/users/contexts is a list of {name, <kind>: {...}}.
template <class F>
void each_named(const YAML::Node& root, const char* list_key, const char* item_key, const std::string& source, F&& f) {
  const YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) throw Failure(source + ": " + list_key + " must be a list");
  for (const auto& item : list) {
    if (!item.IsMap()) throw Failure(source + ": every entry of " + list_key + " must be a map");
    std::string name = scalar(item, "name");
    if (name.empty()) throw Failure(source + ": an entry of " + list_key + " has no name");
    YAML::Node body = item[item_key];
    if (body && !body.IsNull() && !body.IsMap())
      throw Failure(source + ": " + list_key + " entry \"" + name + "\": " + item_key + " must be a map");
    f(name, body && body.IsMap() ? body : YAML::Node(YAML::NodeType::Map));
  }
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding || !is_base64_char(c)) return std::nullopt;  // data after padding, or not base64
    std::uint32_t v = c >= 'A' && c <= 'Z'   ? static_cast<std::uint32_t>(c - 'A')
                      : c >= 'a' && c <= 'z' ? static_cast<std::uint32_t>(c - 'a' + 26)
                      : c >= '0' && c <= '9' ? static_cast<std::uint32_t>(c - '0' + 52)
                      : c == '+'             ? 62u
                                             : 63u;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character cannot encode a byte
  return out;
}

Kubeconfig parse_kubeconfig(std::string_view yaml, const std::string& source, const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw Failure(source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Kubeconfig config;
  config.files.push_back(source);
  if (!root || root.IsNull()) return config;  // an empty file is an empty config, as in kubectl
  if (!root.IsMap()) throw Failure(source + ": a kubeconfig must be a map");

  each_named(root, "clusters", "cluster", source, [&](const std::string& name, const YAML::Node& c) {
    std::string where = source + ": cluster \"" + name + "\"";
    KubeconfigCluster cluster;
    cluster.server = scalar(c, "server");
    cluster.ca_pem = data_or_file(c, "certificate-authority-data", "certificate-authority", base_dir, where);
    cluster.tls_server_name = scalar(c, "tls-server-name");
    cluster.insecure = boolean(c, "insecure-skip-tls-verify");
    config.clusters.emplace(name, std::move(cluster));
  });
  each_named(root, "users", "user", source, [&](const std::string& name, const YAML::Node& u) {
    std::string where = source + ": user \"" + name + "\"";
    KubeconfigUser user;
    user.token = scalar(u, "token");
    if (user.token.empty() && !scalar(u, "tokenFile").empty()) {
      user.token = read_file(resolve_path(scalar(u, "tokenFile"), base_dir), where + ": tokenFile");
      while (!user.token.empty() && (user.token.back() == '\n' || user.token.back() == '\r')) user.token.pop_back();
    }
    user.client_cert_pem = data_or_file(u, "client-certificate-data", "client-certificate", base_dir, where);
    user.client_key_pem = data_or_file(u, "client-key-data", "client-key", base_dir, where);
    config.users.emplace(name, std::move(user));
  });
  each_named(root, "contexts", "context", source, [&](const std::string& name, const YAML::Node& c) {
    config.contexts.emplace(name, KubeconfigContext{scalar(c, "cluster"), scalar(c, "user"), scalar(c, "namespace")});
  });
  config.current_context = scalar(root, "current-context");
  return config;
}

void merge_kubeconfig(Kubeconfig& into, const Kubeconfig& more) {
  for (const auto& [k, v] : more.clusters) into.clusters.emplace(k, v);
  for (const auto& [k, v] : more.users) into.users.emplace(k, v);
  for (const auto& [k, v] : more.contexts) into.contexts.emplace(k, v);
  if (into.current_context.empty()) into.current_context = more.current_context;
  into.files.insert(into.files.end(), more.files.begin(), more.files.end());
}

KubeconfigFiles kubeconfig_files(const ConnectionOverrides& overrides, const char* env_kubeconfig, const char* home) {
  KubeconfigFiles files;
  if (!overrides.kubeconfig.empty()) {
    files.paths.push_back(overrides.kubeconfig);
    files.explicit_file = true;
    return files;
  }
  if (env_kubeconfig != nullptr && *env_kubeconfig != '\0') {
    std::string_view list(env_kubeconfig);
    while (!list.empty()) {
      auto colon = list.find(':');
      std::string_view one = list.substr(0, colon);
      if (!one.empty()) files.paths.emplace_back(one);
      if (colon == std::string_view::npos) break;
      list.remove_prefix(colon + 1);
    }
    return files;
  }
  if (home != nullptr && *home != '\0') files.paths.push_back((fs::path(home) / ".kube" / "config").string());
  return files;
}

Kubeconfig load_kubeconfig(const KubeconfigFiles& files) {
  Kubeconfig merged;
  for (const auto& path : files.paths) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (files.explicit_file) throw Failure("the kubeconfig file \"" + path + "\" does not exist");
      continue;
    }
    std::string base_dir = fs::path(path).parent_path().string();
    merge_kubeconfig(merged, parse_kubeconfig(read_file(path, "kubeconfig"), path, base_dir));
  }
  return merged;
}

ClusterConfig resolve_cluster(const Kubeconfig& config, const ConnectionOverrides& overrides) {
  ClusterConfig out;
  std::string sources;
  for (const auto& f : config.files) sources += (sources.empty() ? "" : ", ") + f;
  out.source = sources;
  std::string context_name = overrides.context.empty() ? config.current_context : overrides.context;
  const KubeconfigContext* context = nullptr;
  if (!context_name.empty()) {
    auto it = config.contexts.find(context_name);
    if (it != config.contexts.end()) {
      context = &it->second;
    } else if (!overrides.context.empty() || overrides.server.empty()) {
      throw Failure("context \"" + context_name + "\" does not exist" +
                    (sources.empty() ? std::string() : " in " + sources));
    }
  }
  if (context != nullptr) {
    out.context = context_name;
    out.ns = context->ns.empty() ? "default" : context->ns;
    if (!context->cluster.empty()) {
      auto c = config.clusters.find(context->cluster);
      if (c == config.clusters.end() && overrides.server.empty()) {
        throw Failure("context \"" + context_name + "\" names cluster \"" + context->cluster + "\", which is not in " +
                      sources);
      }
      if (c != config.clusters.end()) {
        out.server = c->second.server;
        out.ca_pem = c->second.ca_pem;
        out.tls_server_name = c->second.tls_server_name;
        out.insecure = c->second.insecure;
      }
    }
    if (!context->user.empty()) {
      auto u = config.users.find(context->user);
      if (u == config.users.end()) {
        throw Failure("context \"" + context_name + "\" names user \"" + context->user + "\", which is not in " +
                      sources);
      }
      out.token = u->second.token;
      out.client_cert_pem = u->second.client_cert_pem;
      out.client_key_pem = u->second.client_key_pem;
    }
  }
  if (!overrides.server.empty()) out.server = overrides.server;
  if (!overrides.token.empty()) out.token = overrides.token;
  // As in client-go: the insecure flag drops the CA (verifying against it would be pointless).
  if (overrides.insecure) {
    out.insecure = true;
    out.ca_pem.clear();
  }
  if (!overrides.ns.empty()) {
    out.ns = overrides.ns;
    out.ns_from_flag = true;
  }
  if (out.server.empty()) {
    if (config.files.empty()) {
      throw Failure(
          "no kubeconfig found: set KUBECONFIG, create ~/.kube/config, or pass --kubeconfig FILE or "
          "--server URL (skiffd writes one to <data-dir>/kubeconfig)");
    }
    throw Failure("no server to talk to: " +
                  (context_name.empty() ? std::string("no current-context is set")
                                        : "context \"" + context_name + "\" has no cluster server") +
                  " in " + sources + " (pass --context or --server)");
  }
  return out;
}

}  // namespace skiff::cli
