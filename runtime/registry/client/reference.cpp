#include "runtime/registry/client/reference.h"

#include <cctype>

#include "model/api/registry_names.h"

namespace gantry::runtime::registry {

namespace {

Error invalid(std::string_view what, std::string_view part, std::string_view text) {
  return Error(ErrorKind::invalid_argument, "invalid " + std::string(what) + " '" +
                                                std::string(part) + "' in reference '" +
                                                std::string(text) + "'");
}

// A domain component: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?
bool valid_domain_component(std::string_view c) {
  if (c.empty() || c.front() == '-' || c.back() == '-') return false;
  for (char ch : c)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-')) return false;
  return true;
}

// host[:port], host a dotted name or a bracketed IPv6 address.
bool valid_registry(std::string_view r) {
  std::string_view host = r;
  std::string_view port;
  if (r.starts_with("[")) {
    size_t close = r.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char ch : r.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':')) return false;
    std::string_view rest = r.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
    if (port.empty()) return false;
    host = {};
  } else if (size_t colon = r.find(':'); colon != std::string_view::npos) {
    host = r.substr(0, colon);
    port = r.substr(colon + 1);
    if (port.empty()) return false;
  }
  for (char ch : port)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  if (!r.starts_with("[")) {
    if (host.empty()) return false;
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      if (!valid_domain_component(host.substr(start, dot - start))) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  return true;
}

}  // namespace

std::string Reference::manifest_reference() const {
  if (digest) return digest->str();
  return tag.value_or("latest");
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.empty()) return invalid("reference", text, text);
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view d = rest.substr(at + 1);
    auto digest = Digest::parse(d);
    if (!digest) return invalid("digest", d, text);
    ref.digest = *digest;
    rest = rest.substr(0, at);
  }
  // The tag follows the last ':' after the last '/' (a ':' before it is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!api::valid_tag(tag)) return invalid("tag", tag, text);
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  std::string_view path = rest;
  size_t first = rest.find('/');
  if (first != std::string_view::npos) {
    std::string_view head = rest.substr(0, first);
    if (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
        head.starts_with("[") || head == "localhost") {
      if (!valid_registry(head)) return invalid("registry", head, text);
      ref.registry = std::string(head);
      path = rest.substr(first + 1);
    }
  }
  if (ref.registry.empty() || ref.registry == "index.docker.io") ref.registry = kDockerHub;
  if (path.empty()) return invalid("repository name", path, text);
  ref.repository = std::string(path);
  if (ref.registry == kDockerHub && path.find('/') == std::string_view::npos)
    ref.repository = "library/" + ref.repository;
  if (!api::valid_repository_name(ref.repository)) {
    for (char ch : path)
      if (std::isupper(static_cast<unsigned char>(ch)))
        return invalid("repository name (must be lowercase)", path, text);
    return invalid("repository name", path, text);
  }
  if (ref.registry.size() + 1 + ref.repository.size() > api::kNameLimitChars)
    return invalid("name (longer than 255 characters)", rest, text);
  if (!ref.tag && !ref.digest) ref.tag = "latest";
  return ref;
}

std::string to_string(const Reference& ref) {
  std::string out = ref.registry + "/" + ref.repository;
  if (ref.tag) out += ":" + *ref.tag;
  if (ref.digest) out += "@" + ref.digest->str();
  return out;
}

}  // namespace gantry::runtime::registry
