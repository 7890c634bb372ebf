// Timeouts of the registry client's HTTP transport against servers on 127.0.0.1 that stall:
// one that never answers a request, one that stops in the middle of a blob, and one whose
// accept queue is full (the connect itself never completes). Each must end in an unavailable
// error that says which limit ran out, not hang.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>
#include <vector>

#include "runtime/registry/client/registry_client.h"

namespace rc = gantry::runtime::registry;
using gantry::Digest;
using gantry::ErrorKind;

namespace {

// A listening socket on 127.0.0.1 with a backlog of `backlog`.
struct Listener {
  int fd = -1;
  int port = 0;
  explicit Listener(int backlog) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    BOOST_REQUIRE(::listen(fd, backlog) == 0);
  }
  ~Listener() { ::close(fd); }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port); }
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return fd;
}

// Accepts connections and answers each request's head with `reply`, then holds the connection
// open without another byte until it is stopped.
class StallingServer {
 public:
  explicit StallingServer(std::string reply) : listener_(16), reply_(std::move(reply)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~StallingServer() {
    stop_ = true;
    ::shutdown(listener_.fd, SHUT_RDWR);
    thread_.join();
    for (int c : conns_) ::close(c);
  }
  std::string host_port() const { return listener_.host_port(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_.fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      conns_.push_back(c);
      // Read the request head, then answer (or not) and go quiet.
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 2000) <= 0) break;
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      if (!reply_.empty()) (void)!::write(c, reply_.data(), reply_.size());
    }
  }

  Listener listener_;
  std::string reply_;
  std::atomic<bool> stop_{false};
  std::vector<int> conns_;
  std::thread thread_;
};

std::shared_ptr<rc::RegistryClient> client(const std::string& registry, int connect_timeout_ms,
                                           int io_timeout_ms) {
  rc::ClientOptions o;
  o.credentials = rc::Credentials{};
  o.max_attempts = 1;
  o.connect_timeout_ms = connect_timeout_ms;
  o.io_timeout_ms = io_timeout_ms;
  auto c = rc::RegistryClient::create(registry, o);
  BOOST_REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().to_string()));
  return *c;
}

bool says_timed_out(const gantry::Error& e, const std::string& limit) {
  return e.message().find("timed out") != std::string::npos &&
         e.message().find(limit) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_timeout)

BOOST_AUTO_TEST_CASE(a_server_that_accepts_and_never_answers_times_out) {
  // Never accepted: the kernel completes the handshake, nobody reads the request.
  Listener silent(16);
  auto c = client(silent.host_port(), 5000, 300);
  auto m = c->get_manifest("app", "v1");
  BOOST_REQUIRE(!m.has_value());
  BOOST_TEST_MESSAGE(m.error().message());
  BOOST_TEST(m.error().kind() == ErrorKind::unavailable);
  BOOST_TEST(says_timed_out(m.error(), "io_timeout_ms"));
  BOOST_TEST(m.error().message().find("/v2/app/manifests/v1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_blob_that_stops_in_the_middle_times_out) {
  std::string bytes(1000, 'x');
  StallingServer server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + bytes.substr(0, 10));
  auto c = client(server.host_port(), 5000, 300);
  auto src = c->open_blob("app", Digest::of(bytes), bytes.size());
  BOOST_REQUIRE_MESSAGE(src.has_value(), (src ? "" : src.error().to_string()));
  std::vector<uint8_t> buf(4096);
  gantry::Result<size_t> n = size_t{0};
  for (int i = 0; i < 100; ++i) {
    n = (*src)->read(buf);
    if (!n || *n == 0) break;
  }
  BOOST_REQUIRE(!n.has_value());
  BOOST_TEST_MESSAGE(n.error().message());
  BOOST_TEST(n.error().kind() == ErrorKind::unavailable);
  BOOST_TEST(says_timed_out(n.error(), "io_timeout_ms"));
}

BOOST_AUTO_TEST_CASE(a_connect_that_never_completes_times_out) {
  // A backlog of 0 holds one connection; with it and a second one queued and never accepted,
  // the kernel drops further SYNs, so a new connect waits.
  Listener full(0);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) fillers.push_back(connect_to(full.port));
  ::usleep(100 * 1000);
  auto c = client(full.host_port(), 300, 5000);
  auto r = c->check_auth();
  for (int f : fillers) ::close(f);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST_MESSAGE(r.error().message());
  BOOST_TEST(r.error().kind() == ErrorKind::unavailable);
  // Either the connect waited for its limit, or the kernel had room and the request then
  // found nobody reading: both are timeouts, never a hang.
  BOOST_TEST((says_timed_out(r.error(), "connect_timeout_ms") ||
              says_timed_out(r.error(), "io_timeout_ms")));
}

BOOST_AUTO_TEST_SUITE_END()
