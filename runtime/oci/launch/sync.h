// The parent <-> child handshake of create and exec, as typed messages over a SOCK_SEQPACKET
// socket pair (one datagram per message, so a message is never split or merged).
//
// Vocabulary: the parent P is the runtime; the child C is the container init (or the exec'd
// process) before it execs. A failure in C travels as data (an `error` message with the kind,
// errno, the step's name and the message); P re-raises it as an Error with the same kind and
// errno. A message that is not the one expected is an internal error "expected X, got Y".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci::launch {

enum class MsgType : uint8_t {
  init_pid = 1,     // C1 -> P: the init's pid (when an intermediate process joined namespaces)
  ids_mapped = 2,   // P -> C: uid/gid maps written (create: the cgroup may follow): go on
  mounts_done = 3,  // C -> P: the rootfs is prepared, pivot_root is next
  hooks_done = 4,   // P -> C: prestart and createRuntime hooks ran
  ready = 5,        // C -> P: everything is set up; C now waits on the exec fifo (or execs)
  error = 6,        // C -> P: a step failed
};
std::string_view to_string(MsgType type);

struct Message {
  MsgType type = MsgType::ready;
  int64_t pid = 0;  // init_pid
  // error:
  ErrorKind kind = ErrorKind::internal;
  int errno_value = 0;
  std::string step;
  std::string message;

  static Message of(MsgType type) { return Message{.type = type}; }
  static Message from_error(std::string_view step, const Error& error);
  // The Error that an error message carries: "<step>: <message>", kind and errno kept.
  Error to_error() const;
};

std::vector<uint8_t> encode(const Message& message);
// invalid_argument naming what is wrong ("sync message: truncated string", "unknown type 9").
Result<Message> decode(const uint8_t* data, size_t size);

// One end of the socket pair.
class SyncChannel {
 public:
  SyncChannel() = default;
  explicit SyncChannel(sys::UniqueFd fd) : fd_(std::move(fd)) {}

  // A connected pair: [0] for the parent, [1] for the child (both O_CLOEXEC).
  static Result<std::pair<SyncChannel, SyncChannel>> pair();

  Result<void> send(const Message& message);
  // The next message; unavailable when the other end closed without sending one.
  Result<Message> receive();
  // The next message when it has this type. An error message comes back as its Error; another
  // type, or the other end closing, is "expected X, got Y".
  Result<Message> expect(MsgType type);
  // Sends an error message (best effort; used by a child about to exit).
  void send_error(std::string_view step, const Error& error);

  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  sys::UniqueFd fd_;
};

}  // namespace gantry::runtime::oci::launch
