// gantry-registry's network layer: HTTP/1.1 with keep-alive over TCP or TLS (Boost.Beast on a
// multi-threaded io_context), feeding each request to a RequestHandler as it arrives: the head
// first, then the body in slices (never a whole blob in memory), and sending blob answers with
// sendfile(2) (plain TCP) or in slices through TLS. Beast is included only in the .cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "model/base/result.h"
#include "runtime/registry/server/request_handler.h"

namespace gantry::runtime::registry::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;            // 0: the kernel picks one (see HttpServer::port)
  unsigned threads = 0;            // 0: one per CPU
  std::filesystem::path tls_cert;  // both set: HTTPS
  std::filesystem::path tls_key;
  uint32_t header_limit_bytes = 64 * 1024;  // larger heads get 431 and the connection closes
  uint64_t drain_limit_bytes = 1 << 20;     // unwanted bodies up to this are read and dropped
  uint32_t idle_timeout_seconds = 300;
  bool access_log = false;  // one line per request on stderr
};

class HttpServer {
 public:
  // Binds and listens (errors: the address is taken or invalid, the TLS files are unusable).
  static Result<std::unique_ptr<HttpServer>> create(RequestHandler& handler, ServerOptions options);
  ~HttpServer();

  uint16_t port() const;
  bool tls() const;
  // Serves on `threads` threads (this one included) until stop().
  void run();
  // Stops accepting and ends every connection; run() returns. Callable from any thread.
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::runtime::registry::server
