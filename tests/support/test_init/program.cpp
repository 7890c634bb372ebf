#include "tests/support/test_init/program.h"

#include <signal.h>

#include <cstdlib>

namespace gantry::test_init {
namespace {

struct SignalName {
  int signo;
  const char* name;
};

constexpr SignalName kSignals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},     {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGSTKFLT, "SIGSTKFLT"},
    {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},
    {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},     {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"}, {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},       {SIGSYS, "SIGSYS"},
};

// A whole decimal number in [lo, hi]; false otherwise.
bool parse_int(const std::string& text, int lo, int hi, int& out) {
  if (text.empty() || text.size() > 9) return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

std::string signal_name(int signo) {
  for (const auto& s : kSignals) {
    if (s.signo == signo) return s.name;
  }
  return "SIG" + std::to_string(signo);
}

int parse_signal(const std::string& text) {
  int n = 0;
  if (parse_int(text, 1, 64, n)) return n;
  std::string upper;
  for (char c : text) upper += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
  if (upper.rfind("SIG", 0) != 0) upper = "SIG" + upper;
  for (const auto& s : kSignals) {
    if (upper == s.name) return s.signo;
  }
  return 0;
}

bool parse_program(const std::vector<std::string>& args, std::vector<Command>& program,
                   std::string& error) {
  program.clear();
  size_t i = 0;
  auto need = [&](size_t count, const char* what) {
    if (i + count <= args.size()) return true;
    error = "argument " + std::to_string(i) + " '" + args[i - 1] + "': missing " + what;
    return false;
  };
  while (i < args.size()) {
    const std::string& word = args[i++];
    Command c;
    if (word == "exit") {
      c.verb = Verb::exit;
      if (!need(1, "exit code")) return false;
      if (!parse_int(args[i], 0, 255, c.number)) {
        error = "argument " + std::to_string(i + 1) + " '" + args[i] +
                "': exit code must be a number from 0 to 255";
        return false;
      }
      ++i;
    } else if (word == "print") {
      c.verb = Verb::print;
      if (!need(1, "text")) return false;
      c.text = args[i++];
    } else if (word == "write") {
      c.verb = Verb::write;
      if (!need(2, "path and text")) return false;
      c.path = args[i++];
      c.text = args[i++];
      if (c.path.empty()) {
        error = "argument " + std::to_string(i - 1) + ": write needs a non-empty path";
        return false;
      }
    } else if (word == "cat") {
      c.verb = Verb::cat;
      if (!need(1, "path")) return false;
      c.path = args[i++];
      if (c.path.empty()) {
        error = "argument " + std::to_string(i) + ": cat needs a non-empty path";
        return false;
      }
    } else if (word == "sleep") {
      c.verb = Verb::sleep;
      c.number = -1;
      // An optional number: the next argument is taken when it is all digits.
      int n = 0;
      if (i < args.size() && parse_int(args[i], 0, 1000000000, n)) {
        c.number = n;
        ++i;
      }
    } else if (word == "trap") {
      c.verb = Verb::trap;
      if (!need(2, "signal and action")) return false;
      c.number = parse_signal(args[i]);
      if (c.number == 0) {
        error = "argument " + std::to_string(i + 1) + " '" + args[i] + "': unknown signal";
        return false;
      }
      if (c.number == SIGKILL || c.number == SIGSTOP) {
        error = "argument " + std::to_string(i + 1) + " '" + args[i] +
                "': SIGKILL and SIGSTOP cannot be trapped";
        return false;
      }
      ++i;
      const std::string& action = args[i];
      if (action == "exit") {
        c.action = TrapAction::exit;
      } else if (action == "print") {
        c.action = TrapAction::print;
      } else if (action == "ignore") {
        c.action = TrapAction::ignore;
      } else {
        error = "argument " + std::to_string(i + 1) + " '" + action +
                "': trap action must be exit, print or ignore";
        return false;
      }
      ++i;
    } else if (word == "report") {
      c.verb = Verb::report;
    } else {
      error = "argument " + std::to_string(i) + " '" + word +
              "': unknown command (exit, print, write, cat, sleep, trap, report)";
      return false;
    }
    program.push_back(std::move(c));
  }
  return true;
}

}  // namespace gantry::test_init
