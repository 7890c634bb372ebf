#include "runtime/registry/client/http_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

namespace gantry::runtime::registry {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return std::nullopt;
}

namespace {

constexpr size_t kWriteChunkBytes = 1 << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "step: why"; a timeout names the limit that ran out.
std::string describe_failure(std::string_view step, const boost::system::error_code& ec,
                             int timeout_ms, std::string_view limit) {
  if (ec == net::error::timed_out && timeout_ms > 0)
    return std::string(step) + ": timed out: no progress in " + std::to_string(timeout_ms) +
           " ms (" + std::string(limit) + ")";
  return std::string(step) + ": " + ec.message();
}

Error net_error(const HttpRequest& req, std::string_view step, const boost::system::error_code& ec,
                int timeout_ms = 0, std::string_view limit = "io_timeout_ms") {
  return Error(ErrorKind::unavailable, req.method + " " + req.url.str() + ": " +
                                           describe_failure(step, ec, timeout_ms, limit));
}

// Milliseconds left until deadline (never negative); -1 when there is no deadline.
int remaining_ms(std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      *deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits until fd is ready for events or timeout_ms pass (< 0: forever). false with ec set to
// timed_out (or the poll error) when it is not.
bool wait_ready(int fd, short events, int timeout_ms, boost::system::error_code& ec) {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (timeout_ms >= 0)
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) {
      ec = net::error::timed_out;
      return false;
    }
    if (errno != EINTR) {
      ec = boost::system::error_code(errno, boost::system::system_category());
      return false;
    }
  }
}

// A blocking TCP socket whose reads and writes give up after io_timeout_ms without progress.
// Asio's blocking calls wait in poll() without a limit (a socket's SO_RCVTIMEO only sends them
// back to that poll), so the wait happens here, before each call, with one.
class TimedSocket {
 public:
  using lowest_layer_type = tcp::socket::lowest_layer_type;
  using executor_type = tcp::socket::executor_type;

  TimedSocket(net::io_context& ioc, int io_timeout_ms) : socket_(ioc), timeout_ms_(io_timeout_ms) {}

  tcp::socket& socket() { return socket_; }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }
  executor_type get_executor() { return socket_.get_executor(); }

  template <class Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    if (!wait_ready(socket_.native_handle(), POLLIN, timeout(), ec)) return 0;
    return socket_.read_some(buffers, ec);
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    boost::system::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    if (!wait_ready(socket_.native_handle(), POLLOUT, timeout(), ec)) return 0;
    return socket_.write_some(buffers, ec);
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers) {
    boost::system::error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  int timeout() const { return timeout_ms_ > 0 ? timeout_ms_ : -1; }
  tcp::socket socket_;
  int timeout_ms_;
};

// connect(2) of a fresh socket to one endpoint, waiting at most timeout_ms (<= 0: no limit).
void connect_within(tcp::socket& socket, const tcp::endpoint& ep, int timeout_ms,
                    boost::system::error_code& ec) {
  socket.close(ec);
  socket.open(ep.protocol(), ec);
  if (ec) return;
  int fd = socket.native_handle();
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = ::connect(fd, ep.data(), static_cast<socklen_t>(ep.size()));
  if (rc != 0 && errno == EINPROGRESS) {
    if (wait_ready(fd, POLLOUT, timeout_ms > 0 ? timeout_ms : -1, ec)) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) ec = boost::system::error_code(err, boost::system::system_category());
    }
  } else if (rc != 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
  }
  ::fcntl(fd, F_SETFL, flags);
  if (ec) socket.close();
}

struct Connection {
  std::string origin;
  bool tls = false;
  std::unique_ptr<ssl::stream<TimedSocket>> stream;
  boost::beast::flat_buffer buffer;

  template <class F>
  auto with(F&& f) {
    if (tls) return f(*stream);
    return f(stream->next_layer());
  }
  int fd() { return stream->next_layer().socket().native_handle(); }
  // An idle connection is usable when nothing is readable on it (no EOF, no stray bytes).
  bool idle_alive() {
    if (buffer.size() != 0) return false;
    pollfd p{fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
};

void copy_headers(const http::response_header<>& h, HttpResponse& out) {
  out.status = static_cast<int>(h.result_int());
  for (const auto& f : h) {
    auto name = f.name_string();
    auto value = f.value();
    out.headers.emplace_back(lower(std::string_view(name.data(), name.size())),
                             std::string(value.data(), value.size()));
  }
}

class Transport;

class BodyStream final : public HttpBodyStream {
 public:
  BodyStream(std::shared_ptr<Transport> transport, std::unique_ptr<Connection> conn,
             std::unique_ptr<http::response_parser<http::buffer_body>> parser, HttpResponse head,
             bool is_head, int io_timeout_ms)
      : transport_(std::move(transport)),
        conn_(std::move(conn)),
        parser_(std::move(parser)),
        head_(std::move(head)),
        io_timeout_ms_(io_timeout_ms) {
    if (is_head || head_.status == 204 || head_.status == 304) {
      direct_ = true;
      remaining_ = 0;
    } else if (!parser_->chunked() && parser_->content_length()) {
      direct_ = true;
      remaining_ = *parser_->content_length();
      length_ = remaining_;
    }
  }
  ~BodyStream() override;

  const HttpResponse& head() const override { return head_; }
  std::optional<uint64_t> content_length() const override { return length_; }
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  std::shared_ptr<Transport> transport_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  HttpResponse head_;
  int io_timeout_ms_;
  bool direct_ = false;
  uint64_t remaining_ = 0;
  std::optional<uint64_t> length_;
  bool done_ = false;
  bool broken_ = false;
};

class Transport final : public HttpTransport, public std::enable_shared_from_this<Transport> {
 public:
  explicit Transport(TransportOptions options)
      : options_(std::move(options)), ssl_(ssl::context::tls_client) {}

  Result<void> init() {
    boost::system::error_code ec;
    ssl_.set_default_verify_paths(ec);
    if (!options_.ca_file.empty()) {
      ssl_.load_verify_file(options_.ca_file, ec);
      if (ec)
        return Error(ErrorKind::invalid_argument,
                     "load CA file '" + options_.ca_file + "': " + ec.message());
    }
    ssl_.set_verify_mode(options_.tls_verify ? ssl::verify_peer : ssl::verify_none);
    if (options_.max_connections == 0) options_.max_connections = 1;
    return ok();
  }

  Result<HttpResponse> exchange(const HttpRequest& req, uint64_t max_body_bytes) override {
    for (int round = 0;; ++round) {
      bool reused = false;
      GANTRY_ASSIGN_OR_RETURN(auto conn, acquire(req, reused));
      auto res = exchange_on(*conn, req, max_body_bytes);
      if (!res.ok) {
        release(std::move(conn), false);
        if (reused && !res.got_head && req.body_source == nullptr && round == 0) continue;
        return std::move(res.error);
      }
      release(std::move(conn), res.keep_alive);
      return std::move(res.response);
    }
  }

  Result<std::unique_ptr<HttpBodyStream>> open(const HttpRequest& req) override {
    for (int round = 0;; ++round) {
      bool reused = false;
      GANTRY_ASSIGN_OR_RETURN(auto conn, acquire(req, reused));
      auto parser = std::make_unique<http::response_parser<http::buffer_body>>();
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      bool is_head = req.method == "HEAD";
      if (is_head) parser->skip(true);
      auto sent = send(*conn, req);
      boost::system::error_code ec;
      if (sent) conn->with([&](auto& s) { http::read_header(s, conn->buffer, *parser, ec); });
      if (!sent || ec) {
        release(std::move(conn), false);
        if (reused && req.body_source == nullptr && round == 0) continue;
        if (!sent) return std::move(sent).error();
        return net_error(req, "read response", ec, options_.io_timeout_ms);
      }
      HttpResponse head;
      copy_headers(parser->get().base(), head);
      std::unique_ptr<HttpBodyStream> out =
          std::make_unique<BodyStream>(shared_from_this(), std::move(conn), std::move(parser),
                                       std::move(head), is_head, options_.io_timeout_ms);
      return out;
    }
  }

  void release(std::unique_ptr<Connection> conn, bool reusable) {
    std::lock_guard lock(mu_);
    if (reusable && conn) {
      idle_[conn->origin].push_back(std::move(conn));
    } else {
      conn.reset();
      --open_count_;
    }
    cv_.notify_one();
  }

 private:
  struct ExchangeResult {
    bool ok = false;
    bool got_head = false;
    bool keep_alive = false;
    HttpResponse response;
    Error error{ErrorKind::internal, ""};
  };

  Result<std::unique_ptr<Connection>> acquire(const HttpRequest& req, bool& reused) {
    std::string origin = req.url.origin();
    {
      std::unique_lock lock(mu_);
      for (;;) {
        auto it = idle_.find(origin);
        while (it != idle_.end() && !it->second.empty()) {
          auto conn = std::move(it->second.back());
          it->second.pop_back();
          if (conn->idle_alive()) {
            reused = true;
            return conn;
          }
          --open_count_;  // closed by the server while idle
        }
        if (open_count_ < options_.max_connections) break;
        // Close an idle connection to another origin to make room.
        bool freed = false;
        for (auto& [o, list] : idle_) {
          if (!list.empty()) {
            list.pop_back();
            --open_count_;
            freed = true;
            break;
          }
        }
        if (freed) break;
        cv_.wait(lock);
      }
      ++open_count_;
    }
    reused = false;
    auto conn = connect(req);
    if (!conn) {
      std::lock_guard lock(mu_);
      --open_count_;
      cv_.notify_one();
    }
    return conn;
  }

  Result<std::unique_ptr<Connection>> connect(const HttpRequest& req) {
    auto conn = std::make_unique<Connection>();
    conn->origin = req.url.origin();
    conn->tls = req.url.tls;
    conn->stream =
        std::make_unique<ssl::stream<TimedSocket>>(TimedSocket(ioc_, options_.io_timeout_ms), ssl_);
    boost::system::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(req.url.host, req.url.port, ec);
    if (ec) return net_error(req, "resolve " + req.url.host, ec);
    tcp::socket& socket = conn->stream->next_layer().socket();
    ec = net::error::host_not_found;
    for (const auto& entry : endpoints) {
      connect_within(socket, entry.endpoint(), options_.connect_timeout_ms, ec);
      if (!ec) break;
    }
    if (ec) return net_error(req, "connect", ec, options_.connect_timeout_ms, "connect_timeout_ms");
    socket.set_option(tcp::no_delay(true), ec);
    if (conn->tls) {
      boost::system::error_code addr_ec;
      net::ip::make_address(req.url.host, addr_ec);
      if (addr_ec) SSL_set_tlsext_host_name(conn->stream->native_handle(), req.url.host.c_str());
      if (options_.tls_verify)
        conn->stream->set_verify_callback(ssl::host_name_verification(req.url.host));
      conn->stream->handshake(ssl::stream_base::client, ec);
      if (ec) return net_error(req, "TLS handshake", ec, options_.io_timeout_ms);
    }
    return conn;
  }

  std::string head_text(const HttpRequest& req) {
    std::string h = req.method + " " + req.url.target +
                    " HTTP/1.1\r\nHost: " + req.url.authority() +
                    "\r\nUser-Agent: " + options_.user_agent + "\r\n";
    for (const auto& [k, v] : req.headers) h += k + ": " + v + "\r\n";
    uint64_t length = req.body_source ? req.body_size : req.body.size();
    bool may_have_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (length > 0 || may_have_body) h += "Content-Length: " + std::to_string(length) + "\r\n";
    h += "\r\n";
    return h;
  }

  Result<void> send(Connection& conn, const HttpRequest& req) {
    std::string head = head_text(req);
    boost::system::error_code ec;
    if (!req.body_source) {
      std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(req.body)};
      conn.with([&](auto& s) { net::write(s, bufs, ec); });
      if (ec) return net_error(req, "send", ec, options_.io_timeout_ms);
      return ok();
    }
    conn.with([&](auto& s) { net::write(s, net::buffer(head), ec); });
    if (ec) return net_error(req, "send", ec, options_.io_timeout_ms);
    std::vector<uint8_t> chunk(
        std::min<uint64_t>(kWriteChunkBytes, std::max<uint64_t>(req.body_size, 1)));
    uint64_t left = req.body_size;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
      GANTRY_ASSIGN_OR_RETURN_CTX(size_t n, req.body_source->read({chunk.data(), want}),
                                  req.method + " " + req.url.str() + ": read the body");
      if (n == 0)
        return Error(ErrorKind::invalid_argument, req.method + " " + req.url.str() +
                                                      ": the body ended " + std::to_string(left) +
                                                      " bytes early");
      conn.with([&](auto& s) { net::write(s, net::buffer(chunk.data(), n), ec); });
      if (ec) return net_error(req, "send the body", ec, options_.io_timeout_ms);
      left -= n;
    }
    return ok();
  }

  ExchangeResult exchange_on(Connection& conn, const HttpRequest& req, uint64_t max_body_bytes) {
    ExchangeResult out;
    auto sent = send(conn, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body_bytes);
    if (req.method == "HEAD") parser.skip(true);
    boost::system::error_code ec;
    conn.with([&](auto& s) { http::read_header(s, conn.buffer, parser, ec); });
    if (!sent && (ec || parser.get().result_int() < 400)) {
      out.error = std::move(sent).error();
      return out;
    }
    // A server may refuse a request before reading its body (a manifest over the size limit):
    // its answer counts even though the body could not be sent.
    if (ec) {
      out.error = net_error(req, "read response", ec, options_.io_timeout_ms);
      return out;
    }
    out.got_head = true;
    if (!parser.is_done()) conn.with([&](auto& s) { http::read(s, conn.buffer, parser, ec); });
    if (ec == http::error::body_limit) {
      out.error = Error(ErrorKind::invalid_argument, req.method + " " + req.url.str() +
                                                         ": response body above " +
                                                         std::to_string(max_body_bytes) + " bytes");
      return out;
    }
    if (ec && parser.get().result_int() < 400) {
      out.error = net_error(req, "read response body", ec, options_.io_timeout_ms);
      return out;
    }
    // An error answer whose body broke off (distribution's 416 declares a Content-Length it
    // does not send) is still the registry's answer; the connection is not reused.
    copy_headers(parser.get().base(), out.response);
    out.response.body = std::move(parser.get().body());
    out.keep_alive = sent && !ec && parser.get().keep_alive();
    out.ok = true;
    return out;
  }

  TransportOptions options_;
  net::io_context ioc_;
  ssl::context ssl_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t open_count_ = 0;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

BodyStream::~BodyStream() {
  if (conn_) transport_->release(std::move(conn_), done_ && !broken_ && parser_->keep_alive());
}

Result<size_t> BodyStream::read(std::span<uint8_t> buf) {
  if (done_ || buf.empty()) return size_t{0};
  if (broken_) return Error(ErrorKind::unavailable, "read of a broken response");
  if (direct_) {
    if (remaining_ == 0) {
      done_ = true;
      return size_t{0};
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), remaining_));
    size_t n = 0;
    if (conn_->buffer.size() > 0) {
      n = std::min(want, conn_->buffer.size());
      std::memcpy(buf.data(), conn_->buffer.data().data(), n);
      conn_->buffer.consume(n);
    } else {
      boost::system::error_code ec;
      n = conn_->with([&](auto& s) { return s.read_some(net::buffer(buf.data(), want), ec); });
      if (ec) {
        broken_ = true;
        return Error(ErrorKind::unavailable,
                     describe_failure("read response body", ec, io_timeout_ms_, "io_timeout_ms") +
                         " with " + std::to_string(remaining_) + " bytes to go");
      }
    }
    remaining_ -= n;
    return n;
  }
  for (;;) {
    auto& body = parser_->get().body();
    body.data = buf.data();
    body.size = buf.size();
    boost::system::error_code ec;
    conn_->with([&](auto& s) { http::read(s, conn_->buffer, *parser_, ec); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      broken_ = true;
      return Error(ErrorKind::unavailable,
                   describe_failure("read response body", ec, io_timeout_ms_, "io_timeout_ms"));
    }
    size_t n = buf.size() - body.size;
    if (n > 0) return n;
    if (parser_->is_done()) {
      done_ = true;
      return size_t{0};
    }
  }
}

}  // namespace

Result<std::shared_ptr<HttpTransport>> HttpTransport::create(TransportOptions options) {
  auto t = std::make_shared<Transport>(std::move(options));
  GANTRY_TRY(t->init());
  std::shared_ptr<HttpTransport> out = t;
  return out;
}

}  // namespace gantry::runtime::registry
