#include "runtime/registry/client/url.h"

#include <cctype>

#include "runtime/registry/client/reference.h"

namespace gantry::runtime::registry {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Splits "host[:port]" / "[v6][:port]" into host and port (port empty when absent).
bool split_host_port(std::string_view hp, std::string& host, std::string& port) {
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(hp.substr(1, close - 1));
    std::string_view rest = hp.substr(close + 1);
    if (rest.empty()) {
      port.clear();
      return !host.empty();
    }
    if (rest.front() != ':') return false;
    port = std::string(rest.substr(1));
    return !host.empty() && all_digits(port);
  }
  size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos) {
    host = std::string(hp);
    port.clear();
  } else {
    host = std::string(hp.substr(0, colon));
    port = std::string(hp.substr(colon + 1));
    if (!all_digits(port)) return false;
  }
  if (host.empty()) return false;
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
      return false;
  return true;
}

std::string escape(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool plain = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
                 (keep_slash && (c == '/' || c == ':' || c == '@'));
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port() ? h : h + ":" + port;
}

std::string Url::origin() const {
  return (tls ? "https://" : "http://") + authority();
}

std::string Url::str() const {
  return origin() + target;
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    return Error(ErrorKind::invalid_argument,
                 "invalid URL '" + std::string(text) + "': scheme must be http or https");
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view hp = rest.substr(0, slash);
  if (!split_host_port(hp, url.host, url.port))
    return Error(ErrorKind::invalid_argument,
                 "invalid URL '" + std::string(text) + "': bad host '" + std::string(hp) + "'");
  if (url.port.empty()) url.port = url.tls ? "443" : "80";
  if (slash != std::string_view::npos) {
    url.target = std::string(rest.substr(slash));
    if (url.target.front() == '?') url.target = "/" + url.target;
  }
  for (char c : url.target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return Error(ErrorKind::invalid_argument,
                   "invalid URL '" + std::string(text) + "': control or space in the path");
  return url;
}

Result<Url> resolve_location(const Url& base, std::string_view location) {
  if (location.starts_with("http://") || location.starts_with("https://"))
    return parse_url(location);
  if (location.starts_with("/") && !location.starts_with("//")) {
    Url url = base;
    url.target = std::string(location);
    return url;
  }
  return Error(ErrorKind::invalid_argument,
               "unsupported Location '" + std::string(location) + "' (not absolute)");
}

std::string escape_path(std::string_view text) {
  return escape(text, true);
}
std::string escape_query(std::string_view text) {
  return escape(text, false);
}

std::string with_query(std::string target, std::string_view name, std::string_view value) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += name;
  target += '=';
  target += escape_query(value);
  return target;
}

bool is_loopback_host(std::string_view host_port) {
  if (host_port == "::1") return true;
  std::string host, port;
  if (!split_host_port(host_port, host, port)) return false;
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  for (char c : host)
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  return true;
}

Result<Url> registry_base_url(std::string_view registry, std::optional<bool> plain_http) {
  std::string_view endpoint = registry == kDockerHub ? kDockerHubEndpoint : registry;
  bool plain = plain_http.value_or(is_loopback_host(endpoint));
  return parse_url((plain ? "http://" : "https://") + std::string(endpoint));
}

}  // namespace gantry::runtime::registry
