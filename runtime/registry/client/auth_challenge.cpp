#include "runtime/registry/client/auth_challenge.h"

#include <cctype>

namespace gantry::runtime::registry {

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Scanner {
  std::string_view s;
  size_t i = 0;
  void skip_ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  bool at_end() const { return i >= s.size(); }
  std::string token() {
    size_t start = i;
    while (i < s.size() && is_token_char(s[i])) ++i;
    return std::string(s.substr(start, i - start));
  }
  // A quoted string (backslash escapes) or a token68-ish value up to ',' or space.
  std::optional<std::string> value() {
    if (i < s.size() && s[i] == '"') {
      ++i;
      std::string out;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        out += s[i++];
      }
      if (i >= s.size()) return std::nullopt;
      ++i;
      return out;
    }
    size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
    return std::string(s.substr(start, i - start));
  }
};

}  // namespace

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  Scanner sc{header};
  while (true) {
    sc.skip_ws();
    while (!sc.at_end() && sc.s[sc.i] == ',') {
      ++sc.i;
      sc.skip_ws();
    }
    if (sc.at_end()) break;
    std::string scheme = sc.token();
    if (scheme.empty()) {
      ++sc.i;  // not a token: skip a character and resynchronize
      continue;
    }
    AuthChallenge ch{lower(scheme), {}};
    // Parameters: name=value pairs separated by commas; a name not followed by '=' starts the
    // next challenge.
    while (true) {
      sc.skip_ws();
      size_t mark = sc.i;
      std::string name = sc.token();
      sc.skip_ws();
      if (name.empty() || sc.at_end() || sc.s[sc.i] != '=') {
        sc.i = mark;
        break;
      }
      ++sc.i;
      sc.skip_ws();
      auto v = sc.value();
      if (!v) {
        sc.i = sc.s.size();
        break;
      }
      ch.params[lower(name)] = *v;
      sc.skip_ws();
      if (!sc.at_end() && sc.s[sc.i] == ',') ++sc.i;
    }
    out.push_back(std::move(ch));
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a single leftover character is not base64
  return out;
}

}  // namespace gantry::runtime::registry
