// URLs of registry requests: parsing the base URL and Location headers, percent-encoding of
// path segments and query values, and which scheme a registry host gets.
//
// Vocabulary:
//   origin   scheme://host:port (what a pooled connection is for)
//   target   the request-target: absolute path and query ("/v2/x/blobs/uploads/?digest=...")
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::registry {

struct Url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;  // always set ("443" / "80" when the URL had none)
  std::string target = "/";

  bool default_port() const { return port == (tls ? "443" : "80"); }
  // "host" or "host:port" (brackets around IPv6), as the Host header wants it.
  std::string authority() const;
  std::string origin() const;  // "https://host:port"
  std::string str() const;     // origin + target
  friend bool operator==(const Url&, const Url&) = default;
};

// http(s)://host[:port][/path[?query]]; invalid_argument otherwise.
Result<Url> parse_url(std::string_view text);
// A Location header: an absolute URL, or an absolute path on base's origin.
Result<Url> resolve_location(const Url& base, std::string_view location);

// Percent-encodes what may not appear in a path ('/' kept) or in a query value.
std::string escape_path(std::string_view text);
std::string escape_query(std::string_view text);
// Appends "name=value" (value escaped) to target with '?' or '&'.
std::string with_query(std::string target, std::string_view name, std::string_view value);

// localhost, 127.0.0.0/8, ::1 (with or without a port or brackets).
bool is_loopback_host(std::string_view host_port);
// The base URL of a registry (host[:port]): docker.io -> https://registry-1.docker.io; plain
// http for loopback hosts unless plain_http says otherwise.
Result<Url> registry_base_url(std::string_view registry, std::optional<bool> plain_http);

}  // namespace gantry::runtime::registry
