// The grammar of repository names, tags and manifest references (distribution-spec 1.1,
// "Pulling manifests"; the distribution registry's 255-character limit on names).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "model/api/registry.h"

namespace gantry::api {

inline constexpr size_t kNameLimitChars = 255;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 chars.
bool valid_repository_name(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool valid_tag(std::string_view tag);

// A reference is a digest when it contains ':', else a tag.
struct Tag {
  std::string name;
};
using Reference = std::variant<Tag, Digest>;

// DIGEST_INVALID for a malformed digest; `bad_tag` is the code for a malformed tag (a push
// gets MANIFEST_INVALID, a read MANIFEST_UNKNOWN: no such tag can exist).
api::RegistryResult<Reference> parse_reference(std::string_view reference,
                                               api::RegistryErrorCode bad_tag);

// DIGEST_INVALID unless "sha256:<64 lowercase hex>" (the one algorithm Gantry accepts).
api::RegistryResult<Digest> parse_digest(std::string_view digest);

}  // namespace gantry::api
