#include "tests/integration/registry/server/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace gantry::testing::registry {

HttpClient::HttpClient(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  ::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect " + host_port);
  int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void HttpClient::send_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

bool HttpClient::fill_buffer() {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char tmp[65536];
  ssize_t n = ::recv(fd_.get(), tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::string HttpClient::read_line() {
  for (;;) {
    size_t nl = buf_.find("\r\n", pos_);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(pos_, nl - pos_);
      pos_ = nl + 2;
      return line;
    }
    if (!fill_buffer()) throw std::runtime_error("connection closed in a head");
  }
}

bool HttpClient::closed_by_peer() {
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return false;
  char c;
  return ::recv(fd_.get(), &c, 1, MSG_PEEK) == 0;
}

HttpAnswer HttpClient::read_answer(bool head) {
  HttpAnswer a;
  for (;;) {
    std::string status = read_line();
    if (status.size() < 12) throw std::runtime_error("bad status line: " + status);
    a.status = std::stoi(status.substr(9, 3));
    a.headers.clear();
    for (std::string line = read_line(); !line.empty(); line = read_line()) {
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      size_t v = line.find_first_not_of(' ', colon + 1);
      a.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    if (a.status != 100) break;
  }
  auto take = [&](uint64_t n) {
    while (n > 0) {
      if (pos_ == buf_.size() && !fill_buffer()) throw std::runtime_error("body cut short");
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, buf_.size() - pos_));
      if (sink_)
        sink_(buf_.data() + pos_, k);
      else
        a.body.append(buf_, pos_, k);
      pos_ += k;
      n -= k;
    }
  };
  if (head || a.status == 204 || a.status == 304) return a;
  if (a.header("transfer-encoding") == "chunked") {
    for (;;) {
      uint64_t n = std::stoull(read_line(), nullptr, 16);
      if (n == 0) {
        read_line();
        break;
      }
      take(n);
      read_line();
    }
  } else {
    take(std::stoull(a.header("content-length").empty() ? "0" : a.header("content-length")));
  }
  return a;
}

HttpAnswer HttpClient::request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view body) {
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: registry\r\n";
  bool chunked = false;
  for (const auto& [k, v] : headers) {
    head += k + ": " + v + "\r\n";
    if (k == "Transfer-Encoding") chunked = true;
  }
  if (!chunked) head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  head += "\r\n";
  send_all(head);
  if (chunked) {
    char size[32];
    if (!body.empty()) {
      std::snprintf(size, sizeof size, "%zx\r\n", body.size());
      send_all(size);
      send_all(body);
      send_all("\r\n");
    }
    send_all("0\r\n\r\n");
  } else {
    send_all(body);
  }
  return read_answer(method == "HEAD");
}

HttpAnswer HttpClient::request_streamed(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, uint64_t length,
    const std::function<void(uint64_t, char*, size_t)>& fill) {
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: registry\r\n";
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n\r\n";
  send_all(head);
  if (!fill) return read_answer(false);  // the head alone (a server that answers unread)
  std::vector<char> chunk(1 << 20);
  for (uint64_t at = 0; at < length;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), length - at));
    fill(at, chunk.data(), n);
    send_all({chunk.data(), n});
    at += n;
  }
  return read_answer(false);
}

}  // namespace gantry::testing::registry
