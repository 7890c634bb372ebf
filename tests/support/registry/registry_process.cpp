#include "tests/support/registry/registry_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "runtime/sys/fd.h"
#include "tests/support/temp_dir.h"

namespace gantry::testing {

namespace sys = runtime::sys;

namespace {

// A port nobody listens on now (the kernel's choice for port 0).
Result<int> free_port() {
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error(errno, "bind 127.0.0.1:0");
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return errno_error(errno, "getsockname");
  return static_cast<int>(ntohs(addr.sin_port));
}

// One GET /v2/ on a fresh connection: true when any HTTP answer comes back.
bool answers_http(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  ::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  std::string req = "GET /v2/ HTTP/1.1\r\nHost: " + host_port + "\r\nConnection: close\r\n\r\n";
  if (::write(fd.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return false;
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return false;
  char buf[16];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  return n >= 5 && std::memcmp(buf, "HTTP/", 5) == 0;
}

// Reads stdout of the child until a line "listening on http://ADDR" or "listening on
// https://ADDR" comes (or timeout); the address and whether it is TLS.
struct ListenAddress {
  std::string host_port;
  bool tls = false;
};
Result<ListenAddress> read_listen_address(int fd, int timeout_ms) {
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      return Error(ErrorKind::unavailable, "gantry-registry exited before listening: " + seen);
    seen.append(buf, static_cast<size_t>(n));
    for (const std::string scheme : {"http", "https"}) {
      const std::string key = "listening on " + scheme + "://";
      auto at = seen.find(key);
      if (at == std::string::npos) continue;
      auto end = seen.find('\n', at);
      if (end == std::string::npos) break;  // the rest of the line is still to come
      std::string addr = seen.substr(at + key.size(), end - at - key.size());
      while (!addr.empty() && (addr.back() == '/' || addr.back() == '\r')) addr.pop_back();
      return ListenAddress{addr, scheme == "https"};
    }
  }
  return Error(ErrorKind::unavailable, "gantry-registry did not say where it listens: " + seen);
}

}  // namespace

Result<std::filesystem::path> RegistryProcess::program(RegistryKind kind) {
  if (kind == RegistryKind::gantry) return sys::find_program("gantry-registry", "GANTRY_REGISTRY");
  for (const char* p : {"/usr/bin/docker-registry", "/usr/local/bin/docker-registry"})
    if (::access(p, X_OK) == 0) return std::filesystem::path(p);
  return Error(ErrorKind::not_found, "docker-registry (Debian package docker-registry) not found");
}

Result<std::unique_ptr<RegistryProcess>> RegistryProcess::start(RegistryProcessOptions options) {
  std::unique_ptr<RegistryProcess> r(new RegistryProcess(std::move(options)));
  if (r->options_.root.empty()) {
    char tmpl[] = "/tmp/gantry-registry-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return errno_error(errno, "mkdtemp");
    r->root_ = tmpl;
    r->own_root_ = true;
  } else {
    r->root_ = r->options_.root;
    std::error_code ec;
    std::filesystem::create_directories(r->root_, ec);
  }
  if (r->options_.kind == RegistryKind::distribution) {
    auto port = free_port();
    if (!port) return port.error();
    r->host_port_ = "127.0.0.1:" + std::to_string(*port);
  }
  if (auto l = r->launch(); !l) return l.error();
  return r;
}

Result<void> RegistryProcess::launch() {
  auto prog = program(options_.kind);
  if (!prog) return prog.error();
  std::vector<std::string> argv;
  sys::SpawnOptions spawn_options;
  if (options_.kind == RegistryKind::gantry) {
    std::string addr = host_port_.empty() ? "127.0.0.1:0" : host_port_;
    argv = {prog->string(), "serve", "--addr", addr, "--root", (root_ / "data").string()};
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    spawn_options.capture_stdout = true;
  } else {
    std::filesystem::path config = root_ / "config.yml";
    std::ofstream out(config);
    out << "version: 0.1\n"
        << "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        << "storage:\n  filesystem:\n    rootdirectory: " << (root_ / "data").string() << "\n"
        << "  delete:\n    enabled: true\n"
        << "  maintenance:\n    uploadpurging:\n      enabled: false\n"
        << "http:\n  addr: " << host_port_ << "\n"
        << options_.distribution_config_extra;
    out.close();
    if (!out) return Error(ErrorKind::internal, "cannot write " + config.string());
    argv = {prog->string(), "serve", config.string()};
    // distribution logs every refused request even at level error: to a file, not the test's
    // output (the file stays in the root for a look after a failure).
    log_fd_.reset(::open((root_ / "distribution.log").c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log_fd_) return errno_error(errno, "open " + (root_ / "distribution.log").string());
    spawn_options.stderr_fd = log_fd_.get();
  }
  auto child = sys::spawn(argv, spawn_options);
  if (!child) return child.error().with_context("start " + argv[0]);
  child_ = std::move(*child);
  running_ = true;
  if (options_.kind == RegistryKind::gantry) {
    auto addr = read_listen_address(child_.stdout_fd().get(), options_.ready_timeout_ms);
    if (!addr) {
      (void)stop(SIGKILL);
      return addr.error();
    }
    host_port_ = addr->host_port;
    // It prints the line once it listens; the readiness probe below speaks plain HTTP.
    if (addr->tls) return ok();
  }
  if (auto ready = wait_ready(); !ready) {
    (void)stop(SIGKILL);
    return ready.error();
  }
  return ok();
}

Result<void> RegistryProcess::wait_ready() {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.ready_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers_http(host_port_)) return ok();
    if (::kill(child_.pid(), 0) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Error(ErrorKind::unavailable, "registry on " + host_port_ + " did not answer /v2/");
}

Result<void> RegistryProcess::stop(int sig) {
  if (!running_) return ok();
  ::kill(child_.pid(), sig);
  auto waited = sys::wait(child_, 10000);
  running_ = false;
  if (!waited) return waited.error();
  return ok();
}

Result<void> RegistryProcess::restart() {
  if (running_) return Error(ErrorKind::failed_precondition, "registry is still running");
  return launch();
}

RegistryProcess::~RegistryProcess() {
  (void)stop(SIGTERM);
  if (own_root_) remove_tree_with_mounts(root_);
}

}  // namespace gantry::testing
