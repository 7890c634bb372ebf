#include "runtime/registry/server/net/http_server.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <iostream>
#include <limits>
#include <thread>
#include <vector>

namespace gantry::runtime::registry::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kBodySliceBytes = 256 * 1024;
constexpr size_t kReadBufferBytes = 256 * 1024;

tcp::socket& raw_socket(beast::tcp_stream& s) {
  return s.socket();
}
beast::tcp_stream& tcp_layer(beast::tcp_stream& s) {
  return s;
}
beast::tcp_stream& tcp_layer(beast::ssl_stream<beast::tcp_stream>& s) {
  return s.next_layer();
}

// A handler that throws (a bug) answers 500 and closes the connection instead of ending the
// process.
HttpResponse internal_error(const std::exception& e) {
  HttpResponse r = error_response(api::RegistryError(api::RegistryErrorCode::unsupported, 500,
                                                     std::string("internal error: ") + e.what()));
  r.set("Docker-Distribution-API-Version", "registry/2.0");
  r.close = true;
  return r;
}

struct Shared {
  RequestHandler& handler;
  ServerOptions options;
};

// One connection: read a head, hand it to the handler, stream the body into the pending
// request, write the answer, and again while the client keeps the connection alive. One
// operation at a time, on the connection's strand.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Stream stream, const Shared& shared)
      : stream_(std::move(stream)), shared_(shared), slice_(kBodySliceBytes) {
    // Beast reads at most the buffer's free capacity (64 KiB at most) per call: without room,
    // a body arrives in reads of a few hundred bytes.
    buffer_.reserve(kReadBufferBytes);
  }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read_head();
    } else {
      tcp_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->read_head();
                              });
    }
  }

 private:
  using Self = Connection<Stream>;

  void read_head() {
    parser_.emplace();
    parser_->header_limit(shared_.options.header_limit_bytes);
    // No limit (Boost 1.74 compares against an empty optional as if it were 0).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    tcp_layer(stream_).expires_after(std::chrono::seconds(shared_.options.idle_timeout_seconds));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return close();
    if (ec) {
      int status = ec == http::error::header_limit ? 431 : 400;
      HttpResponse r = error_response(api::RegistryError(api::RegistryErrorCode::unsupported,
                                                         status, "bad request: " + ec.message()));
      r.set("Docker-Distribution-API-Version", "registry/2.0");
      r.close = true;
      return respond(std::move(r), false);
    }
    auto& req = parser_->get();
    started_ = std::chrono::steady_clock::now();
    RequestHead head;
    head.method = std::string_view(req.method_string().data(), req.method_string().size());
    head.target = std::string_view(req.target().data(), req.target().size());
    auto field = [&](http::field f) {
      auto v = req[f];
      return std::string_view(v.data(), v.size());
    };
    head.authorization = field(http::field::authorization);
    head.content_type = field(http::field::content_type);
    head.content_range = field(http::field::content_range);
    head.range = field(http::field::range);
    if (!parser_->chunked()) head.content_length = parser_->content_length().value_or(0);
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    is_head_ = req.method() == http::verb::head;
    if (shared_.options.access_log)
      log_line_ = std::string(head.method) + " " + std::string(head.target);
    bool expects_continue = beast::iequals(req[http::field::expect], "100-continue");

    try {
      pending_ = shared_.handler.begin(head);
      if (parser_->is_done()) return finish();
      if (!pending_->wants_body()) {
        bool small =
            head.content_length && *head.content_length <= shared_.options.drain_limit_bytes;
        if (expects_continue || !small) {
          HttpResponse r = pending_->finish();
          pending_.reset();
          r.close = true;
          return respond(std::move(r), false);
        }
      }
    } catch (const std::exception& e) {
      pending_.reset();
      return respond(internal_error(e), false);
    }
    if (expects_continue) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont,
                        [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
                          if (ec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    auto& body = parser_->get().body();
    body.data = slice_.data();
    body.size = slice_.size();
    body.more = true;
    tcp_layer(stream_).expires_after(std::chrono::seconds(shared_.options.idle_timeout_seconds));
    http::async_read_some(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return close();  // the client went away: the pending request is dropped
    size_t got = slice_.size() - parser_->get().body().size;
    try {
      if (got > 0) pending_->write({reinterpret_cast<const uint8_t*>(slice_.data()), got});
    } catch (const std::exception& e) {
      pending_.reset();
      return respond(internal_error(e), false);
    }
    if (parser_->is_done()) return finish();
    read_body();
  }

  void finish() {
    HttpResponse r;
    try {
      r = pending_->finish();
    } catch (const std::exception& e) {
      r = internal_error(e);
    }
    pending_.reset();
    respond(std::move(r), keep_alive_);
  }

  void respond(HttpResponse r, bool keep_alive) {
    keep_alive_ = keep_alive && !r.close;
    if (shared_.options.access_log && !log_line_.empty()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started_)
                    .count();
      std::cerr << log_line_ + " " + std::to_string(r.status) + " " + std::to_string(ms) + "ms\n";
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    // The request's version: an HTTP/1.0 client (ab) then sees `Connection: keep-alive`.
    res->version(version_);
    res->result(static_cast<unsigned>(r.status));
    for (auto& [k, v] : r.headers) res->insert(k, v);
    uint64_t length = r.file ? r.file->length_bytes : r.content_length.value_or(r.body.size());
    res->content_length(length);
    res->keep_alive(keep_alive_);
    if (r.file) {
      file_ = std::move(r.file);
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(
          stream_, *sr, [self = this->shared_from_this(), res, sr](beast::error_code ec, size_t) {
            if (ec) return self->close();
            self->send_file();
          });
      return;
    }
    // A HEAD answer announces a length but carries no body: write the head only.
    if (is_head_ || r.body.empty()) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(
          stream_, *sr, [self = this->shared_from_this(), res, sr](beast::error_code ec, size_t) {
            self->after_response(ec);
          });
      return;
    }
    res->body() = std::move(r.body);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        self->after_response(ec);
                      });
  }

  void send_file() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      tcp::socket& sock = raw_socket(stream_);
      if (!sock.native_non_blocking()) sock.native_non_blocking(true);
      while (file_->length_bytes > 0) {
        off_t off = static_cast<off_t>(file_->offset_bytes);
        size_t want = static_cast<size_t>(std::min<uint64_t>(file_->length_bytes, 1u << 30));
        ssize_t n = ::sendfile(sock.native_handle(), file_->fd.get(), &off, want);
        if (n > 0) {
          file_->offset_bytes += static_cast<uint64_t>(n);
          file_->length_bytes -= static_cast<uint64_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          tcp_layer(stream_).expires_after(
              std::chrono::seconds(shared_.options.idle_timeout_seconds));
          sock.async_wait(tcp::socket::wait_write,
                          [self = this->shared_from_this()](beast::error_code ec) {
                            if (ec) return self->close();
                            self->send_file();
                          });
          return;
        }
        return close();  // the file ended early or the socket failed: the length was promised
      }
      file_.reset();
      after_response({});
    } else {
      if (file_->length_bytes == 0) {
        file_.reset();
        return after_response({});
      }
      size_t want = static_cast<size_t>(std::min<uint64_t>(file_->length_bytes, slice_.size()));
      ssize_t n =
          ::pread(file_->fd.get(), slice_.data(), want, static_cast<off_t>(file_->offset_bytes));
      if (n <= 0) return close();
      file_->offset_bytes += static_cast<uint64_t>(n);
      file_->length_bytes -= static_cast<uint64_t>(n);
      tcp_layer(stream_).expires_after(std::chrono::seconds(shared_.options.idle_timeout_seconds));
      net::async_write(stream_, net::buffer(slice_.data(), static_cast<size_t>(n)),
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->send_file();
                       });
    }
  }

  void drain() {
    constexpr uint64_t kDrainLimitBytes = 64ull << 20;
    tcp_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_read_some(net::buffer(slice_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (!ec && self->drained_ < kDrainLimitBytes) self->drain();
                            });
  }

  void after_response(beast::error_code ec) {
    if (ec || !keep_alive_) return close();
    read_head();
  }

  void close() {
    pending_.reset();
    file_.reset();
    beast::error_code ignored;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      // Half-close, then read what the client still sends (a body we refused) for a moment:
      // closing with unread data would send a reset that can destroy our answer in flight.
      raw_socket(stream_).shutdown(tcp::socket::shutdown_send, ignored);
      drained_ = 0;
      drain();
    } else {
      tcp_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    }
  }

  Stream stream_;
  const Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::unique_ptr<PendingRequest> pending_;
  std::vector<char> slice_;
  std::optional<FileBody> file_;
  bool keep_alive_ = false;
  bool is_head_ = false;
  unsigned version_ = 11;
  uint64_t drained_ = 0;
  std::string log_line_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(RequestHandler& handler, ServerOptions options)
      : shared{handler, std::move(options)},
        threads(shared.options.threads ? shared.options.threads
                                       : std::max(1u, std::thread::hardware_concurrency())),
        ioc(static_cast<int>(threads)),
        acceptor(net::make_strand(ioc)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        if (tls_context) {
          std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
              beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), *tls_context),
              shared)
              ->start();
        } else {
          std::make_shared<Connection<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), shared)
              ->start();
        }
      }
      accept();
    });
  }

  Shared shared;
  unsigned threads;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls_context;
  uint16_t port = 0;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::create(RequestHandler& handler,
                                                       ServerOptions options) {
  auto impl = std::make_unique<Impl>(handler, std::move(options));
  const ServerOptions& o = impl->shared.options;
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    if (o.tls_cert.empty() || o.tls_key.empty())
      return Error(ErrorKind::invalid_argument, "--tls-cert and --tls-key go together");
    impl->tls_context.emplace(ssl::context::tls_server);
    beast::error_code ec;
    impl->tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                   ssl::context::no_tlsv1_1);
    impl->tls_context->use_certificate_chain_file(o.tls_cert.string(), ec);
    if (ec)
      return Error(ErrorKind::invalid_argument,
                   "tls cert " + o.tls_cert.string() + ": " + ec.message());
    impl->tls_context->use_private_key_file(o.tls_key.string(), ssl::context::pem, ec);
    if (ec)
      return Error(ErrorKind::invalid_argument,
                   "tls key " + o.tls_key.string() + ": " + ec.message());
  }
  beast::error_code ec;
  auto address = net::ip::make_address(o.host, ec);
  if (ec) return Error(ErrorKind::invalid_argument, "address '" + o.host + "': " + ec.message());
  tcp::endpoint endpoint(address, o.port);
  auto& acc = impl->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(kind_from_errno(ec.value()),
                 "listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message(),
                 ec.value());
  impl->port = acc.local_endpoint().port();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  return impl_->port;
}
bool HttpServer::tls() const {
  return impl_->tls_context.has_value();
}

void HttpServer::run() {
  impl_->accept();
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < impl_->threads; ++i) pool.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : pool) t.join();
}

void HttpServer::stop() {
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->ioc.stop();
}

}  // namespace gantry::runtime::registry::server
