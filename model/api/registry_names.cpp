#include "model/api/registry_names.h"

namespace gantry::api {

namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: alnum runs joined by ".", "_", "__" or a run of "-".
bool valid_component(std::string_view c) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < c.size() && lower_alnum(c[i])) ++i;
    if (i == run) return false;  // a component and every separator need alnum after them
    if (i == c.size()) return true;
    size_t sep = i;
    while (i < c.size() && !lower_alnum(c[i])) ++i;
    std::string_view s = c.substr(sep, i - sep);
    bool dashes = s.find_first_not_of('-') == std::string_view::npos;
    if (!(s == "." || s == "_" || s == "__" || dashes)) return false;
  }
}

}  // namespace

bool valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > kNameLimitChars) return false;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view part =
        name.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!valid_component(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1))
    if (!(word(c) || c == '.' || c == '-')) return false;
  return true;
}

api::RegistryResult<Digest> parse_digest(std::string_view digest) {
  auto d = Digest::parse(digest);
  if (!d)
    return api::RegistryError(api::RegistryErrorCode::digest_invalid,
                              "invalid digest '" + std::string(digest) + "'");
  return *d;
}

api::RegistryResult<Reference> parse_reference(std::string_view reference,
                                               api::RegistryErrorCode bad_tag) {
  if (reference.find(':') != std::string_view::npos) {
    auto d = parse_digest(reference);
    if (!d) return d.error();
    return Reference(*d);
  }
  if (!valid_tag(reference))
    return api::RegistryError(bad_tag, "invalid tag '" + std::string(reference) + "'");
  return Reference(Tag{std::string(reference)});
}

}  // namespace gantry::api
