#include "model/api/registry_http.h"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

namespace gantry::api {

std::string error_body_json(const RegistryError& error) {
  nlohmann::ordered_json entry;
  entry["code"] = to_string(error.code());
  entry["message"] =
      error.message().empty() ? std::string(description(error.code())) : error.message();
  nlohmann::ordered_json body;
  body["errors"] = nlohmann::ordered_json::array({entry});
  // Messages quote what the client sent (a digest, a name), which need not be UTF-8: replace
  // bad bytes instead of throwing (found by fuzz_registry_request).
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

RegistryError error_from_response(int http_status, std::string_view body,
                                  RegistryErrorCode fallback) {
  std::optional<RegistryErrorCode> code;
  std::string message(body.substr(0, 200));
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* first = nullptr;
  if (json.is_object() && json.contains("errors") && json["errors"].is_array() &&
      !json["errors"].empty() && json["errors"][0].is_object())
    first = &json["errors"][0];
  if (first != nullptr) {
    auto c = first->find("code");
    if (c != first->end() && c->is_string())
      code = registry_error_code_from_string(c->get<std::string>());
    auto m = first->find("message");
    message = m != first->end() && m->is_string() ? m->get<std::string>() : "";
  }
  if (http_status == 416) code = RegistryErrorCode::range_invalid;
  return RegistryError(code.value_or(fallback), http_status, std::move(message));
}

namespace {

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (unreserved(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "a-b" with both parts decimal; b may be empty when `open_end`.
std::optional<ByteRange> parse_pair(std::string_view s, bool open_end) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = parse_u64(s.substr(0, dash));
  if (!first) return std::nullopt;
  std::string_view rest = s.substr(dash + 1);
  if (rest.empty() && open_end) return ByteRange{*first, std::numeric_limits<uint64_t>::max()};
  auto last = parse_u64(rest);
  if (!last || *last < *first) return std::nullopt;
  return ByteRange{*first, *last};
}

}  // namespace

std::string link_header(std::string_view path, uint32_t n, std::string_view last) {
  return "<" + std::string(path) + "?n=" + std::to_string(n) + "&last=" + percent_encode(last) +
         ">; rel=\"next\"";
}

std::optional<std::string> next_last_from_link(std::string_view header) {
  size_t open = header.find('<');
  size_t close = header.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  if (header.substr(close).find("rel=\"next\"") == std::string_view::npos) return std::nullopt;
  std::string_view url = header.substr(open + 1, close - open - 1);
  size_t q = url.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = url.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (param.starts_with("last=")) return percent_decode(param.substr(5));
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

std::string upload_range_header(uint64_t offset_bytes) {
  return "0-" + std::to_string(offset_bytes == 0 ? 0 : offset_bytes - 1);
}

std::optional<uint64_t> offset_from_upload_range(std::string_view header, bool empty_when_zero) {
  if (header.starts_with("bytes=")) header.remove_prefix(6);
  auto r = parse_pair(header, false);
  if (!r || r->first != 0) return std::nullopt;
  if (r->last == 0 && empty_when_zero) return 0;
  return r->last + 1;
}

std::string content_range_header(uint64_t offset_bytes, uint64_t size_bytes) {
  return std::to_string(offset_bytes) + "-" + std::to_string(offset_bytes + size_bytes - 1);
}

std::optional<ByteRange> parse_content_range(std::string_view header) {
  return parse_pair(header, false);
}

std::string blob_range_header(const ByteRange& range) {
  return "bytes=" + std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::optional<ByteRange> parse_blob_range(std::string_view header) {
  if (!header.starts_with("bytes=")) return std::nullopt;
  header.remove_prefix(6);
  if (header.find(',') != std::string_view::npos) return std::nullopt;
  return parse_pair(header, true);
}

}  // namespace gantry::api
