// HTTP/1.1 exchanges over pooled keep-alive connections (plain TCP or TLS), synchronous, for
// the registry client. Boost.Beast stays inside http_transport.cpp.
//
// Vocabulary:
//   exchange   one request and its whole response (body held in memory, bounded).
//   stream     one request whose response body is read as the caller reads (blobs); the
//              connection goes back to the pool when the body was read to its end.
//   pool       idle connections per origin; at most max_connections open at once in all
//              (a request waits for a free slot).
// A request body is either bytes or a Source of a known length (streamed in large writes).
// Connection and TLS failures are unavailable; a pooled connection that the server closed
// while idle is replaced once without counting as a failure.
//
// Timeouts: a TCP connect may take connect_timeout_ms; after that every read and write (the
// TLS handshake's included) must make progress within io_timeout_ms (a server that accepts and then
// stalls, or stops in the middle of a body, is an unavailable error that says it timed out, never a
// hang). 0 disables a timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/base/result.h"
#include "runtime/image/compression.h"
#include "runtime/registry/client/url.h"

namespace gantry::runtime::registry {

// Header names are lowercase in responses.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  Url url;
  Headers headers;
  std::string_view body;                 // when body_source is null
  image::Source* body_source = nullptr;  // streamed; exactly body_size bytes are sent
  uint64_t body_size = 0;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  // The first header of that (lowercase) name.
  std::optional<std::string> header(std::string_view name) const;
};

// A response whose body is read by the caller.
class HttpBodyStream {
 public:
  virtual ~HttpBodyStream() = default;
  virtual const HttpResponse& head() const = 0;  // status and headers; body empty
  // Content-Length when the response has one.
  virtual std::optional<uint64_t> content_length() const = 0;
  // Up to buf.size() bytes; 0 at the end (then the connection is reused).
  virtual Result<size_t> read(std::span<uint8_t> buf) = 0;
};

struct TransportOptions {
  std::string ca_file;
  bool tls_verify = true;
  size_t max_connections = 8;
  std::string user_agent = "gantry/0.1";
  int connect_timeout_ms = 30'000;
  int io_timeout_ms = 120'000;
};

class HttpTransport {
 public:
  static Result<std::shared_ptr<HttpTransport>> create(TransportOptions options);
  virtual ~HttpTransport() = default;

  // The whole response; a body above max_body_bytes is invalid_argument.
  virtual Result<HttpResponse> exchange(const HttpRequest& request,
                                        uint64_t max_body_bytes = 16 << 20) = 0;
  virtual Result<std::unique_ptr<HttpBodyStream>> open(const HttpRequest& request) = 0;
};

}  // namespace gantry::runtime::registry
