#include "runtime/oci/console_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace gantry::runtime::oci {

Result<sys::UniqueFd> connect_console_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Error(ErrorKind::invalid_argument, "console-socket: path '" + path +
                                                  "' is empty or longer than " +
                                                  std::to_string(sizeof addr.sun_path - 1));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error(errno, "console-socket: socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error(errno, "console-socket: connect to '" + path + "'");
  }
  return fd;
}

}  // namespace gantry::runtime::oci
