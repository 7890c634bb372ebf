#include "runtime/oci/launch/sync.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace gantry::runtime::oci::launch {
namespace {

constexpr size_t kMaxMessageBytes = 16 * 1024;

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_string(std::vector<uint8_t>& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  Result<uint64_t> u(int bytes, std::string_view what) {
    if (size_ - pos_ < static_cast<size_t>(bytes))
      return Error(ErrorKind::invalid_argument, "sync message: truncated " + std::string(what));
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    return v;
  }
  Result<std::string> str(std::string_view what) {
    GANTRY_ASSIGN_OR_RETURN(uint64_t n, u(4, what));
    if (size_ - pos_ < n)
      return Error(ErrorKind::invalid_argument, "sync message: truncated " + std::string(what));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ == size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view to_string(MsgType type) {
  switch (type) {
    case MsgType::init_pid:
      return "init_pid";
    case MsgType::ids_mapped:
      return "ids_mapped";
    case MsgType::mounts_done:
      return "mounts_done";
    case MsgType::hooks_done:
      return "hooks_done";
    case MsgType::ready:
      return "ready";
    case MsgType::error:
      return "error";
  }
  return "unknown";
}

Message Message::from_error(std::string_view step, const Error& error) {
  Message m;
  m.type = MsgType::error;
  m.kind = error.kind();
  m.errno_value = error.errno_value();
  m.step = std::string(step);
  m.message = error.message();
  return m;
}

Error Message::to_error() const {
  return Error(kind, step.empty() ? message : step + ": " + message, errno_value);
}

std::vector<uint8_t> encode(const Message& m) {
  std::vector<uint8_t> out;
  out.push_back(static_cast<uint8_t>(m.type));
  put_u64(out, static_cast<uint64_t>(m.pid));
  out.push_back(static_cast<uint8_t>(m.kind));
  put_u32(out, static_cast<uint32_t>(m.errno_value));
  // Keep a message within one datagram.
  put_string(out, std::string_view(m.step).substr(0, 256));
  put_string(out, std::string_view(m.message).substr(0, kMaxMessageBytes - 512));
  return out;
}

Result<Message> decode(const uint8_t* data, size_t size) {
  Reader r(data, size);
  Message m;
  GANTRY_ASSIGN_OR_RETURN(uint64_t type, r.u(1, "type"));
  if (type < 1 || type > static_cast<uint64_t>(MsgType::error))
    return Error(ErrorKind::invalid_argument, "sync message: unknown type " + std::to_string(type));
  m.type = static_cast<MsgType>(type);
  GANTRY_ASSIGN_OR_RETURN(uint64_t pid, r.u(8, "pid"));
  m.pid = static_cast<int64_t>(pid);
  GANTRY_ASSIGN_OR_RETURN(uint64_t kind, r.u(1, "error kind"));
  if (kind > static_cast<uint64_t>(ErrorKind::internal))
    return Error(ErrorKind::invalid_argument,
                 "sync message: unknown error kind " + std::to_string(kind));
  m.kind = static_cast<ErrorKind>(kind);
  GANTRY_ASSIGN_OR_RETURN(uint64_t err, r.u(4, "errno"));
  m.errno_value = static_cast<int>(static_cast<uint32_t>(err));
  GANTRY_ASSIGN_OR_RETURN(m.step, r.str("step"));
  GANTRY_ASSIGN_OR_RETURN(m.message, r.str("message"));
  if (!r.done()) return Error(ErrorKind::invalid_argument, "sync message: trailing bytes");
  return m;
}

Result<std::pair<SyncChannel, SyncChannel>> SyncChannel::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return errno_error(errno, "socketpair for the sync channel");
  return std::pair<SyncChannel, SyncChannel>(SyncChannel(sys::UniqueFd(fds[0])),
                                             SyncChannel(sys::UniqueFd(fds[1])));
}

Result<void> SyncChannel::send(const Message& message) {
  std::vector<uint8_t> bytes = encode(message);
  for (;;) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) return ok();
    if (errno != EINTR)
      return errno_error(errno, "send sync message " + std::string(to_string(message.type)));
  }
}

Result<Message> SyncChannel::receive() {
  uint8_t buf[kMaxMessageBytes];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) return decode(buf, static_cast<size_t>(n));
    if (n == 0) return Error(ErrorKind::unavailable, "sync channel closed by the other end");
    if (errno != EINTR) return errno_error(errno, "receive sync message");
  }
}

Result<Message> SyncChannel::expect(MsgType type) {
  auto got = receive();
  if (!got) {
    if (got.error().kind() == ErrorKind::unavailable)
      return Error(ErrorKind::internal, "sync: expected " + std::string(to_string(type)) +
                                            ", got end of stream (the other side exited)");
    return std::move(got).error();
  }
  if (got->type == type) return got;
  if (got->type == MsgType::error) return got->to_error();
  return Error(ErrorKind::internal, "sync: expected " + std::string(to_string(type)) + ", got " +
                                        std::string(to_string(got->type)));
}

void SyncChannel::send_error(std::string_view step, const Error& error) {
  (void)send(Message::from_error(step, error));
}

}  // namespace gantry::runtime::oci::launch
