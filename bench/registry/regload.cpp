// regload: a small load generator for registry servers (bench/run_registry.sh). Plain POSIX
// sockets and HTTP/1.1 keep-alive, one connection per thread, so that the client costs little
// next to the server it measures. Every command prints one JSON line on stdout.
//
//   regload push-big   HOST:PORT REPO FILE          POST, one streaming PATCH (sendfile), PUT
//   ?digest= regload pull-big   HOST:PORT REPO DIGEST        GET of the blob, bytes counted and
//   dropped regload push-small HOST:PORT REPO N C SIZE      N distinct blobs of SIZE bytes by C
//   threads
//                                                   (POST then PUT ?digest= with the body)
//   regload head       HOST:PORT REPO DIGEST N C    N HEADs of a blob by C threads
//
// Exit status 1 with a message on stderr when any request gets an unexpected status.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "regload: %s\n", msg.c_str());
  std::exit(1);
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::string sha256_of(const std::string& bytes) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return "sha256:" + hex(md, len);
}

std::string sha256_of_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open " + path);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0)
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  ::close(fd);
  return "sha256:" + hex(md, len);
}

struct Response {
  int status = 0;
  std::string location;
  uint64_t body_bytes = 0;
  std::string body;  // kept only when small
};

// One keep-alive connection to HOST:PORT.
class Conn {
 public:
  explicit Conn(const std::string& host_port) : host_port_(host_port) { open(); }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Sends a request with `body` (or, when file_fd >= 0, file_size bytes of that file).
  Response request(const std::string& method, const std::string& target,
                   const std::vector<std::string>& headers, const std::string& body,
                   int file_fd = -1, uint64_t file_size = 0) {
    uint64_t len = file_fd >= 0 ? file_size : body.size();
    std::string head =
        method + " " + target + " HTTP/1.1\r\nHost: " + host_port_ + "\r\nUser-Agent: regload\r\n";
    for (const auto& h : headers) head += h + "\r\n";
    if (method != "GET" && method != "HEAD")
      head += "Content-Length: " + std::to_string(len) + "\r\n";
    head += "\r\n";
    if (file_fd < 0 && body.size() < 65536) {
      head += body;
      send_all(head.data(), head.size());
    } else {
      send_all(head.data(), head.size());
      if (file_fd >= 0) {
        off_t off = 0;
        while (static_cast<uint64_t>(off) < file_size) {
          ssize_t n = ::sendfile(fd_, file_fd, &off, file_size - static_cast<uint64_t>(off));
          if (n <= 0) die("sendfile: " + std::string(std::strerror(errno)));
        }
      } else {
        send_all(body.data(), body.size());
      }
    }
    return read_response(method == "HEAD");
  }

 private:
  void open() {
    auto colon = host_port_.rfind(':');
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port_.substr(colon + 1))));
    ::inet_pton(AF_INET, host_port_.substr(0, colon).c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      die("connect " + host_port_ + ": " + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  void send_all(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w <= 0) die("send: " + std::string(std::strerror(errno)));
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  // Fills buf_ until it holds at least `need` bytes past pos_.
  bool fill(size_t need) {
    while (buf_.size() - pos_ < need) {
      if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
      }
      char tmp[1 << 16];
      ssize_t r = ::recv(fd_, tmp, sizeof tmp, 0);
      if (r <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(r));
    }
    return true;
  }
  std::string read_line() {
    for (;;) {
      auto at = buf_.find("\r\n", pos_);
      if (at != std::string::npos) {
        std::string line = buf_.substr(pos_, at - pos_);
        pos_ = at + 2;
        return line;
      }
      if (!fill(buf_.size() - pos_ + 1)) die("connection closed in the headers");
    }
  }
  void consume(uint64_t n, Response& r) {
    while (n > 0) {
      if (pos_ == buf_.size() && r.body.size() >= 4096) {
        // Past what is kept: the bytes go straight from the socket into a scratch buffer, one
        // copy, in reads of up to 1 MiB (the load generator must cost less than the server).
        ssize_t got = ::recv(fd_, scratch_.data(), std::min<uint64_t>(n, scratch_.size()), 0);
        if (got <= 0) die("connection closed in the body");
        n -= static_cast<uint64_t>(got);
        r.body_bytes += static_cast<uint64_t>(got);
        continue;
      }
      if (pos_ == buf_.size() && !fill(1)) die("connection closed in the body");
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, buf_.size() - pos_));
      if (r.body.size() < 4096) r.body.append(buf_, pos_, std::min<size_t>(take, 4096));
      pos_ += take;
      n -= take;
      r.body_bytes += take;
      if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
      }
    }
  }
  Response read_response(bool head_only) {
    Response r;
    std::string status = read_line();
    if (status.size() < 12) die("bad status line: " + status);
    r.status = std::atoi(status.c_str() + 9);
    uint64_t length = 0;
    bool chunked = false;
    for (;;) {
      std::string h = read_line();
      if (h.empty()) break;
      auto colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string name = h.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(c));
      std::string value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-length") length = std::stoull(value);
      if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) chunked = true;
      if (name == "location") r.location = value;
    }
    if (head_only || r.status == 204 || r.status == 304) return r;
    if (!chunked) {
      consume(length, r);
      return r;
    }
    for (;;) {
      uint64_t n = std::stoull(read_line(), nullptr, 16);
      if (n == 0) {
        while (!read_line().empty()) {
        }
        return r;
      }
      consume(n, r);
      read_line();
    }
  }

  std::string host_port_;
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
  std::vector<char> scratch_ = std::vector<char>(1 << 20);
};

// The path (and query) of a Location, absolute or not.
std::string path_of(const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    auto slash = location.find('/', location.find("//") + 2);
    return slash == std::string::npos ? "/" : location.substr(slash);
  }
  return location;
}

std::string with_digest(const std::string& location, const std::string& digest) {
  std::string p = path_of(location);
  return p + (p.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
}

void expect(const Response& r, int status, const std::string& what) {
  if (r.status != status)
    die(what + ": status " + std::to_string(r.status) + " (wanted " + std::to_string(status) +
        "): " + r.body.substr(0, 300));
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void report(const char* op, double seconds, uint64_t ops, uint64_t bytes) {
  std::printf(
      "{\"op\":\"%s\",\"seconds\":%.6f,\"ops\":%llu,\"bytes\":%llu,\"ops_per_s\":%.1f,"
      "\"mb_per_s\":%.1f}\n",
      op, seconds, static_cast<unsigned long long>(ops), static_cast<unsigned long long>(bytes),
      static_cast<double>(ops) / seconds, static_cast<double>(bytes) / seconds / 1e6);
}

// Runs fn(thread, count) on C threads that share N operations.
template <class F>
double parallel(uint64_t n, unsigned c, F fn) {
  std::vector<std::thread> threads;
  double t0 = now_s();
  for (unsigned t = 0; t < c; ++t) {
    uint64_t share = n / c + (t < n % c ? 1 : 0);
    threads.emplace_back([=] { fn(t, share); });
  }
  for (auto& th : threads) th.join();
  return now_s() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) die("usage: see the comment at the top of bench/registry/regload.cpp");
  std::string cmd = argv[1], host = argv[2], repo = argv[3];
  const std::string uploads = "/v2/" + repo + "/blobs/uploads/";
  if (cmd == "push-big") {
    std::string file = argv[4];
    std::string digest = sha256_of_file(file);
    struct stat st {};
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fstat(fd, &st) != 0) die("open " + file);
    auto size = static_cast<uint64_t>(st.st_size);
    Conn conn(host);
    double t0 = now_s();
    Response r = conn.request("POST", uploads, {}, "");
    expect(r, 202, "POST " + uploads);
    r = conn.request(
        "PATCH", path_of(r.location),
        {"Content-Type: application/octet-stream", "Content-Range: 0-" + std::to_string(size - 1)},
        "", fd, size);
    expect(r, 202, "PATCH");
    r = conn.request("PUT", with_digest(r.location, digest), {}, "");
    expect(r, 201, "PUT ?digest=");
    report("push-big", now_s() - t0, 1, size);
    std::fprintf(stderr, "%s\n", digest.c_str());
    return 0;
  }
  if (cmd == "pull-big") {
    std::string digest = argv[4];
    Conn conn(host);
    double t0 = now_s();
    Response r = conn.request("GET", "/v2/" + repo + "/blobs/" + digest, {}, "");
    expect(r, 200, "GET blob");
    report("pull-big", now_s() - t0, 1, r.body_bytes);
    return 0;
  }
  if (cmd == "push-small") {
    if (argc < 7) die("push-small HOST:PORT REPO N C SIZE");
    uint64_t n = std::stoull(argv[4]);
    unsigned c = static_cast<unsigned>(std::stoul(argv[5]));
    size_t size = std::stoul(argv[6]);
    // Distinct contents (a random run prefix, the thread and the counter), digests ahead of time.
    std::random_device rd;
    std::string run = std::to_string(rd()) + "-" + std::to_string(rd());
    std::vector<std::vector<std::pair<std::string, std::string>>> blobs(c);
    for (unsigned t = 0; t < c; ++t) {
      uint64_t share = n / c + (t < n % c ? 1 : 0);
      for (uint64_t i = 0; i < share; ++i) {
        std::string b = run + "/" + std::to_string(t) + "/" + std::to_string(i) + "/";
        b.resize(size, 'x');
        blobs[t].emplace_back(sha256_of(b), std::move(b));
      }
    }
    double secs = parallel(n, c, [&](unsigned t, uint64_t share) {
      Conn conn(host);
      for (uint64_t i = 0; i < share; ++i) {
        Response r = conn.request("POST", uploads, {}, "");
        expect(r, 202, "POST " + uploads);
        r = conn.request("PUT", with_digest(r.location, blobs[t][i].first),
                         {"Content-Type: application/octet-stream"}, blobs[t][i].second);
        expect(r, 201, "PUT ?digest=");
      }
    });
    report("push-small", secs, n, n * size);
    return 0;
  }
  if (cmd == "head") {
    if (argc < 7) die("head HOST:PORT REPO DIGEST N C");
    std::string digest = argv[4];
    uint64_t n = std::stoull(argv[5]);
    unsigned c = static_cast<unsigned>(std::stoul(argv[6]));
    std::string target = "/v2/" + repo + "/blobs/" + digest;
    double secs = parallel(n, c, [&](unsigned, uint64_t share) {
      Conn conn(host);
      for (uint64_t i = 0; i < share; ++i)
        expect(conn.request("HEAD", target, {}, ""), 200, "HEAD");
    });
    report("head", secs, n, 0);
    return 0;
  }
  die("unknown command " + cmd);
}
