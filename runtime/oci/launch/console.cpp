// process.terminal: a pty made inside the container (its devpts), the slave as the controlling
// terminal and stdio, the master sent to the caller over the console socket (runc's protocol:
// one message, SCM_RIGHTS with the master, the pty name as payload).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "runtime/oci/launch/steps.h"

namespace gantry::runtime::oci::launch {
namespace {

Result<void> send_fd(int socket_fd, int fd, const std::string& name) {
  struct msghdr msg {};
  struct iovec iov {};
  iov.iov_base = const_cast<char*>(name.data());
  iov.iov_len = name.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof control);
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  if (::sendmsg(socket_fd, &msg, MSG_NOSIGNAL) < 0)
    return errno_error(errno, "send the pty master over the console socket");
  return ok();
}

}  // namespace

Result<void> setup_console(int console_socket, const spec::Process& process) {
  if (console_socket < 0)
    return Error(ErrorKind::invalid_argument,
                 "process.terminal: true, but no console socket was given");
  sys::UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return errno_error(errno, "open /dev/ptmx (is devpts mounted at /dev/pts?)");
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return errno_error(errno, "unlock the pty");
  unsigned int n = 0;
  if (::ioctl(master.get(), TIOCGPTN, &n) < 0) return errno_error(errno, "pty number");
  std::string name = "/dev/pts/" + std::to_string(n);
  sys::UniqueFd slave(::open(name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return errno_error(errno, "open " + name);
  if (process.console_size) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(process.console_size->height);
    ws.ws_col = static_cast<unsigned short>(process.console_size->width);
    if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) return errno_error(errno, "consoleSize");
  }
  // /dev/console shows the same terminal, as runc does.
  int console = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (console >= 0) {
    ::close(console);
    if (::mount(name.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) < 0)
      return errno_error(errno, "bind " + name + " on /dev/console");
  }
  GANTRY_TRY(send_fd(console_socket, master.get(), name));
  master.reset();
  if (::setsid() < 0 && errno != EPERM) return errno_error(errno, "setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) return errno_error(errno, "TIOCSCTTY");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup3(slave.get(), fd, 0) < 0) return errno_error(errno, "dup the pty slave");
  return ok();
}

}  // namespace gantry::runtime::oci::launch
