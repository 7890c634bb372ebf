// WWW-Authenticate challenges (RFC 7235) as registries send them on a 401:
//   Bearer
//   realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="Registry Realm"
// and the base64 of basic credentials.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::runtime::registry {

struct AuthChallenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercase, values unquoted
  friend bool operator==(const AuthChallenge&, const AuthChallenge&) = default;
};

// Every challenge in the header (several may share one header, separated by commas);
// malformed parts are skipped.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

std::string base64_encode(std::string_view bytes);
// nullopt when text is not base64 (padding optional).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace gantry::runtime::registry
