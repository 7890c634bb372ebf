// The HTTP request and response of gantry-registry as plain values, without sockets or Beast:
// what the network layer (runtime/registry/server/net) parses into and serializes from, and
// what unit tests and the fuzz target build by hand.
//
// Vocabulary:
//   head      the request line and the header fields the registry reads. Views into storage
//             owned by the caller (the parser's buffer), valid while the request is handled.
//   file body a range of an open file that the network layer sends with sendfile(2) (plain
//             TCP) or by reading and writing it in slices (TLS); blobs never pass through a
//             std::string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/api/registry.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::registry::server {

struct RequestHead {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view target;  // path and query, as sent
  std::string_view authorization;
  std::string_view content_type;
  std::string_view content_range;
  std::string_view range;
  std::optional<uint64_t> content_length;  // nullopt with chunked transfer-encoding
};

struct FileBody {
  sys::UniqueFd fd;
  uint64_t offset_bytes = 0;
  uint64_t length_bytes = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // HEAD answers leave both bodies empty and say the length in `content_length`.
  std::string body;
  std::optional<FileBody> file;
  // The Content-Length to announce when it is not the body's own (HEAD).
  std::optional<uint64_t> content_length;
  // Close the connection after this answer (a request body that was not read).
  bool close = false;

  // The first header of that name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  void set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// A whole request with its body in memory (tests, fuzzing).
struct HttpRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Content-Length is the body's size unless this says chunked.
  bool chunked = false;
};

// The query parameters of a target, percent-decoded, in order.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view target);
// The first value of a query parameter.
std::optional<std::string> query_param(
    const std::vector<std::pair<std::string, std::string>>& query, std::string_view key);
std::string percent_decode(std::string_view text);

// An error answer: its status, the JSON error body, Content-Type application/json.
HttpResponse error_response(const api::RegistryError& error);

}  // namespace gantry::runtime::registry::server
