// Manifests for apply and delete -f: files, directories (every .yaml/.yml/.json, sorted) and stdin
// ("-"), each split into its YAML documents, with kind List expanded. Every object remembers its file
// and the line its document starts on, for messages.
#pragma once

#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::cli {

struct ManifestObject {
  nlohmann::json object;
  std::string file;  // as given; "STDIN" for "-"
  int line = 1;
  // "\"dir/a.yaml\" (document at line 12)": where messages say the object came from.
  std::string where() const;
};

struct Manifests {
  std::vector<ManifestObject> objects;
  std::vector<std::string> errors;  // files that could not be read or parsed, one message each
};

// Throws Failure when a path does not exist (nothing should be applied then); problems inside a file
// (bad YAML, a document that is not an object) are collected so the other files still go through.
Manifests load_manifests(const std::vector<std::string>& paths, bool recursive, std::istream& in);

// The local checks before sending: apiVersion, kind and metadata.name present. Empty when fine.
std::string manifest_problem(const nlohmann::json& object);

}  // namespace skiff::cli
