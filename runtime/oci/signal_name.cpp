// Signal names and numbers as runc's kill takes them: "KILL", "SIGKILL", "kill", "9",
// "SIGRTMIN+3".
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <tuple>

#include "runtime/oci/operations.h"

namespace gantry::runtime::oci {

namespace {

struct SignalName {
  const char* name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"SIGABRT", SIGABRT}, {"SIGALRM", SIGALRM}, {"SIGBUS", SIGBUS},       {"SIGCHLD", SIGCHLD},
    {"SIGCLD", SIGCHLD},  {"SIGCONT", SIGCONT}, {"SIGFPE", SIGFPE},       {"SIGHUP", SIGHUP},
    {"SIGILL", SIGILL},   {"SIGINT", SIGINT},   {"SIGIO", SIGIO},         {"SIGIOT", SIGIOT},
    {"SIGKILL", SIGKILL}, {"SIGPIPE", SIGPIPE}, {"SIGPOLL", SIGPOLL},     {"SIGPROF", SIGPROF},
    {"SIGPWR", SIGPWR},   {"SIGQUIT", SIGQUIT}, {"SIGSEGV", SIGSEGV},     {"SIGSTKFLT", SIGSTKFLT},
    {"SIGSTOP", SIGSTOP}, {"SIGSYS", SIGSYS},   {"SIGTERM", SIGTERM},     {"SIGTRAP", SIGTRAP},
    {"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},
    {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGVTALRM", SIGVTALRM}, {"SIGWINCH", SIGWINCH},
    {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},
};

}  // namespace

Result<int> parse_signal(const std::string& text) {
  auto bad = [&] { return Error(ErrorKind::invalid_argument, "unknown signal \"" + text + "\""); };
  if (text.empty()) return bad();
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (text.size() > 3) return bad();
    int n = std::stoi(text);
    if (n <= 0 || n > SIGRTMAX) return bad();
    return n;
  }
  std::string upper;
  for (unsigned char c : text) upper += static_cast<char>(std::toupper(c));
  if (upper.rfind("SIG", 0) != 0) upper = "SIG" + upper;
  for (const auto& s : kSignals) {
    if (upper == s.name) return s.number;
  }
  // SIGRTMIN+N / SIGRTMAX-N
  for (auto [base, value, sign] :
       {std::tuple{"SIGRTMIN", SIGRTMIN, 1}, {"SIGRTMAX", SIGRTMAX, -1}}) {
    std::string b = base;
    if (upper == b) return value;
    if (upper.rfind(b, 0) == 0 && upper.size() > b.size() + 1 &&
        upper[b.size()] == (sign > 0 ? '+' : '-')) {
      std::string digits = upper.substr(b.size() + 1);
      if (digits.size() > 2 || !std::all_of(digits.begin(), digits.end(),
                                            [](unsigned char c) { return std::isdigit(c); }))
        return bad();
      int n = value + sign * std::stoi(digits);
      if (n < SIGRTMIN || n > SIGRTMAX) return bad();
      return n;
    }
  }
  return bad();
}

}  // namespace gantry::runtime::oci
