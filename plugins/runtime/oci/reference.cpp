#include "reference.hpp"

#include "digest.hpp"

namespace skiff::plugins::runtime::oci {

std::string Reference::str() const {
  return name() + (digest.empty() ? ":" + tag : "@" + digest);
}

plugin::Result<Reference> parse_reference(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return plugin::invalid("image reference '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  for (char c : text)
    if (c <= ' ' || c == '\\' || c > '~') return bad("contains a space or control character");
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!valid_digest(ref.digest)) return bad("digest must be sha256:<64 lowercase hex digits>");
    rest = rest.substr(0, at);
  }
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (ref.tag.empty()) return bad("empty tag");
  }
  // The first component is a registry when it looks like a host: has a dot or a port, or is localhost.
  auto first_slash = rest.find('/');
  std::string_view first = first_slash == std::string_view::npos ? std::string_view{} : rest.substr(0, first_slash);
  if (!first.empty() && (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
                         first == "localhost")) {
    ref.registry = std::string(first);
    ref.repository = std::string(rest.substr(first_slash + 1));
  } else {
    ref.registry = "docker.io";
    ref.repository = std::string(rest);
    if (ref.repository.find('/') == std::string::npos) ref.repository = "library/" + ref.repository;
  }
  if (ref.repository.empty()) return bad("no repository name");
  for (char c : ref.repository)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/'))
      return bad("repository '" + ref.repository + "' may hold only lowercase letters, digits and . _ - /");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  if (!ref.digest.empty()) ref.tag.clear();  // name:tag@digest: the digest decides
  return ref;
}

}  // namespace skiff::plugins::runtime::oci
