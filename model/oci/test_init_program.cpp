#include "model/oci/test_init_program.h"

#include <array>
#include <utility>

namespace gantry::model::oci {
namespace {

// Linux x86-64 numbers of the standard signals (the model has no <signal.h>: it describes the
// runtime's platform, not the host it is compiled on).
constexpr std::array<std::pair<int, std::string_view>, 31> kSignals = {{
    {1, "SIGHUP"},     {2, "SIGINT"},   {3, "SIGQUIT"},   {4, "SIGILL"},   {5, "SIGTRAP"},
    {6, "SIGABRT"},    {7, "SIGBUS"},   {8, "SIGFPE"},    {9, "SIGKILL"},  {10, "SIGUSR1"},
    {11, "SIGSEGV"},   {12, "SIGUSR2"}, {13, "SIGPIPE"},  {14, "SIGALRM"}, {15, "SIGTERM"},
    {16, "SIGSTKFLT"}, {17, "SIGCHLD"}, {18, "SIGCONT"},  {19, "SIGSTOP"}, {20, "SIGTSTP"},
    {21, "SIGTTIN"},   {22, "SIGTTOU"}, {23, "SIGURG"},   {24, "SIGXCPU"}, {25, "SIGXFSZ"},
    {26, "SIGVTALRM"}, {27, "SIGPROF"}, {28, "SIGWINCH"}, {29, "SIGIO"},   {30, "SIGPWR"},
    {31, "SIGSYS"},
}};

constexpr int kSigKill = 9;
constexpr int kSigStop = 19;

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

Error bad(size_t position, const std::string& arg, const std::string& why) {
  return Error(ErrorKind::invalid_argument,
               "test_init argument " + std::to_string(position) + " '" + arg + "': " + why);
}

}  // namespace

int signal_from_string(const std::string& text) {
  int n = 0;
  if (parse_int(text, 1, 64, n)) return n;
  std::string upper;
  for (char c : text) upper += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
  if (upper.rfind("SIG", 0) != 0) upper = "SIG" + upper;
  for (const auto& [signo, name] : kSignals) {
    if (upper == name) return signo;
  }
  return 0;
}

std::string signal_name(int signo) {
  for (const auto& [number, name] : kSignals) {
    if (number == signo) return std::string(name);
  }
  return "SIG" + std::to_string(signo);
}

Result<Program> parse_test_init(const std::vector<std::string>& args) {
  Program program;
  size_t i = 0;
  while (i < args.size()) {
    const std::string& word = args[i++];
    const size_t position = i;  // 1-based position of `word`
    auto missing = [&](const char* what) {
      return bad(position, word, std::string("missing ") + what);
    };
    Command c;
    if (word == "exit") {
      c.verb = Verb::exit;
      if (i >= args.size()) return missing("exit code");
      if (!parse_int(args[i], 0, 255, c.number)) {
        return bad(i + 1, args[i], "exit code must be a number from 0 to 255");
      }
      ++i;
    } else if (word == "print") {
      c.verb = Verb::print;
      if (i >= args.size()) return missing("text");
      c.text = args[i++];
    } else if (word == "write") {
      c.verb = Verb::write;
      if (i + 2 > args.size()) return missing("path and text");
      c.path = args[i++];
      c.text = args[i++];
      if (c.path.empty()) return bad(i - 1, c.path, "write needs a non-empty path");
    } else if (word == "cat") {
      c.verb = Verb::cat;
      if (i >= args.size()) return missing("path");
      c.path = args[i++];
      if (c.path.empty()) return bad(i, c.path, "cat needs a non-empty path");
    } else if (word == "sleep") {
      c.verb = Verb::sleep;
      c.number = -1;
      int n = 0;
      if (i < args.size() && parse_int(args[i], 0, 1000000000, n)) {
        c.number = n;
        ++i;
      }
    } else if (word == "trap") {
      c.verb = Verb::trap;
      if (i + 2 > args.size()) return missing("signal and action");
      c.number = signal_from_string(args[i]);
      if (c.number == 0) return bad(i + 1, args[i], "unknown signal");
      if (c.number == kSigKill || c.number == kSigStop) {
        return bad(i + 1, args[i], "SIGKILL and SIGSTOP cannot be trapped");
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
        return bad(i + 1, action, "trap action must be exit, print or ignore");
      }
      ++i;
    } else if (word == "report") {
      c.verb = Verb::report;
    } else {
      return bad(position, word, "unknown command (exit, print, write, cat, sleep, trap, report)");
    }
    program.push_back(std::move(c));
  }
  return program;
}

std::string normalize_output(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool has_newline = end != std::string::npos;
    if (!has_newline) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (line.size() >= 2 && line.front() == '{' && line.back() == '}') {
      out += kReportLine;
    } else {
      out += line;
    }
    if (has_newline) out += '\n';
    start = end + 1;
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Command& c) {
  switch (c.verb) {
    case Verb::exit:
      return os << "exit " << c.number;
    case Verb::print:
      return os << "print '" << c.text << "'";
    case Verb::write:
      return os << "write " << c.path << " '" << c.text << "'";
    case Verb::cat:
      return os << "cat " << c.path;
    case Verb::sleep:
      return c.number < 0 ? os << "sleep" : os << "sleep " << c.number;
    case Verb::trap:
      return os << "trap " << signal_name(c.number) << ' '
                << (c.action == TrapAction::exit    ? "exit"
                    : c.action == TrapAction::print ? "print"
                                                    : "ignore");
    case Verb::report:
      return os << "report";
  }
  return os;
}

}  // namespace gantry::model::oci
