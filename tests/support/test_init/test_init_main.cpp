// test_init: the process inside test containers. Its arguments are a small program
// (tests/support/test_init/program.h, docs/test_init.md) that the model interprets too, so the
// model can predict exit codes, output and file effects. Output goes straight to the file
// descriptors (no stdio buffering), so nothing is lost when a signal ends the process.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/test_init/program.h"
#include "tests/support/test_init/report.h"

namespace {

using gantry::test_init::Command;
using gantry::test_init::TrapAction;
using gantry::test_init::Verb;

// "signal SIGTERM\n" per signal, prepared before the handler is installed (the handler may
// only call async-signal-safe functions).
char g_signal_lines[65][32];

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= size_t(n);
  }
  return true;
}

void on_signal_exit(int signo) {
  _exit(128 + signo);
}

void on_signal_print(int signo) {
  const int saved = errno;
  write_all(STDOUT_FILENO, g_signal_lines[signo], strlen(g_signal_lines[signo]));
  errno = saved;
}

void fail(const std::string& message) {
  std::string line = "test_init: " + message + "\n";
  write_all(STDERR_FILENO, line.data(), line.size());
  _exit(1);
}

void install_trap(const Command& c) {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  switch (c.action) {
    case TrapAction::exit:
      sa.sa_handler = on_signal_exit;
      break;
    case TrapAction::print:
      snprintf(g_signal_lines[c.number], sizeof g_signal_lines[c.number], "signal %s\n",
               gantry::test_init::signal_name(c.number).c_str());
      sa.sa_handler = on_signal_print;
      break;
    case TrapAction::ignore:
      sa.sa_handler = SIG_IGN;
      break;
  }
  if (sigaction(c.number, &sa, nullptr) != 0) fail("trap: " + std::string(strerror(errno)));
}

void sleep_seconds(int seconds) {
  if (seconds < 0) {
    for (;;) pause();
  }
  timespec left{seconds, 0};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

void run(const Command& c) {
  switch (c.verb) {
    case Verb::exit:
      _exit(c.number);
    case Verb::print: {
      std::string line = c.text + "\n";
      write_all(STDOUT_FILENO, line.data(), line.size());
      return;
    }
    case Verb::write: {
      int fd = open(c.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) fail("write " + c.path + ": " + strerror(errno));
      const bool ok = write_all(fd, c.text.data(), c.text.size());
      const int err = errno;
      if (close(fd) != 0 || !ok) fail("write " + c.path + ": " + strerror(ok ? errno : err));
      return;
    }
    case Verb::cat: {
      int fd = open(c.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail("cat " + c.path + ": " + strerror(errno));
      char buf[8192];
      for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cat " + c.path + ": " + strerror(errno));
        if (n == 0) break;
        write_all(STDOUT_FILENO, buf, size_t(n));
      }
      close(fd);
      return;
    }
    case Verb::sleep:
      sleep_seconds(c.number);
      return;
    case Verb::trap:
      install_trap(c);
      return;
    case Verb::report: {
      std::string text = gantry::test_init::build_report().dump() + "\n";
      write_all(STDOUT_FILENO, text.data(), text.size());
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<Command> program;
  std::string error;
  if (!gantry::test_init::parse_program(args, program, error)) {
    std::string line = "test_init: " + error + "\n";
    write_all(STDERR_FILENO, line.data(), line.size());
    return 2;
  }
  for (const auto& c : program) run(c);
  return 0;
}
