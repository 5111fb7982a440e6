#include "cli/skiff/manifest.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "kernel/api/yaml.hpp"

namespace skiff::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool is_manifest_file(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void add_documents(Manifests& out, const std::string& file, const std::string& text) {
  auto docs = kernel::api::yaml_documents(text);
  if (!docs) {
    out.errors.push_back("error parsing \"" + file + "\": " + docs.status().message());
    return;
  }
  for (auto& doc : *docs) {
    ManifestObject m{std::move(doc.json), file, doc.line};
    if (!m.object.is_object()) {
      out.errors.push_back("error parsing " + m.where() + ": a manifest document must be an object");
      continue;
    }
    // A List (kind: List, or any *List with items) stands for its items.
    std::string kind = str(m.object, {"kind"});
    if (kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0 && m.object.contains("items") &&
        m.object["items"].is_array()) {
      for (auto& item : m.object["items"]) out.objects.push_back({item, m.file, m.line});
      continue;
    }
    out.objects.push_back(std::move(m));
  }
}

void add_file(Manifests& out, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.errors.push_back("cannot read \"" + path + "\"");
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  add_documents(out, path, text.str());
}

}  // namespace

std::string ManifestObject::where() const { return "\"" + file + "\" (document at line " + std::to_string(line) + ")"; }

Manifests load_manifests(const std::vector<std::string>& paths, bool recursive, std::istream& in) {
  // Every path is checked before anything is read, so a typo applies nothing.
  for (const auto& p : paths) {
    std::error_code ec;
    if (p != "-" && !fs::exists(p, ec)) throw Failure("the path \"" + p + "\" does not exist");
  }
  Manifests out;
  for (const auto& p : paths) {
    if (p == "-") {
      std::ostringstream text;
      text << in.rdbuf();
      add_documents(out, "STDIN", text.str());
      continue;
    }
    if (!fs::is_directory(p)) {
      add_file(out, p);
      continue;
    }
    std::vector<fs::path> files;
    std::error_code ec;
    if (recursive) {
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->is_regular_file() && is_manifest_file(it->path())) files.push_back(it->path());
    } else {
      for (auto it = fs::directory_iterator(p, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && is_manifest_file(it->path())) files.push_back(it->path());
    }
    if (ec) out.errors.push_back("cannot list \"" + p + "\": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) add_file(out, f.string());
  }
  return out;
}

std::string manifest_problem(const Json& object) {
  if (str(object, {"apiVersion"}).empty()) return "apiVersion not set";
  if (str(object, {"kind"}).empty()) return "kind not set";
  if (str(object, {"metadata", "name"}).empty()) return "metadata.name not set";
  return {};
}

}  // namespace skiff::cli
