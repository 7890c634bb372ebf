// A small blocking HTTP/1.1 client over one TCP connection (keep-alive), for the tests of the
// real gantry-registry: requests with a body from memory or from a generator (to stream 100 MB
// without holding it), answers read by Content-Length or chunks, the body kept or consumed by a
// callback.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sys/fd.h"

namespace gantry::testing::registry {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  // Connects to "127.0.0.1:PORT"; throws std::runtime_error on failure.
  explicit HttpClient(const std::string& host_port);

  // Sends method+target with headers and body; Content-Length is added unless a
  // Transfer-Encoding header is given (then the body is sent as one chunk, and a last chunk).
  HttpAnswer request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     std::string_view body = {});
  // A body of `length` bytes produced by `fill(offset, buffer, n)` as it is sent; with no
  // `fill`, only the head is sent and the answer read.
  HttpAnswer request_streamed(const std::string& method, const std::string& target,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              uint64_t length,
                              const std::function<void(uint64_t, char*, size_t)>& fill);
  // Reads the answer's body through `sink` instead of keeping it.
  void set_sink(std::function<void(const char*, size_t)> sink) { sink_ = std::move(sink); }
  bool closed_by_peer();

 private:
  void send_all(std::string_view data);
  HttpAnswer read_answer(bool head);
  bool fill_buffer();
  std::string read_line();

  runtime::sys::UniqueFd fd_;
  std::string buf_;
  size_t pos_ = 0;
  std::function<void(const char*, size_t)> sink_;
};

}  // namespace gantry::testing::registry
