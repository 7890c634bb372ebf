// The test_init grammar (docs/test_init.md): arguments are a list of commands run in order.
//
//   exit N             exit with code N (0..255)
//   print TEXT         TEXT and a newline on stdout
//   write PATH TEXT    create or truncate PATH (mode 0644) and write TEXT (no newline)
//   cat PATH           PATH's bytes on stdout, as they are
//   sleep [SECONDS]    sleep SECONDS (a whole number); without a number: forever
//   trap SIG ACTION    from now on, SIG (TERM, SIGTERM or 15) runs ACTION:
//                        exit   exit with code 128 + signal number
//                        print  print "signal SIGTERM" (the name) and go on where it was
//                        ignore ignore the signal (SIG_IGN)
//   report             one JSON object describing the process (docs/test_init.md) on stdout
//
// After the last command the program exits 0. The whole argument list is checked before the
// first command runs: bad arguments run nothing and exit 2 with a message on stderr.
#pragma once

#include <string>
#include <vector>

namespace gantry::test_init {

enum class Verb { exit, print, write, cat, sleep, trap, report };
enum class TrapAction { exit, print, ignore };

struct Command {
  Verb verb = Verb::exit;
  int number = 0;    // exit: code; sleep: seconds (-1: forever); trap: signal number
  std::string path;  // write, cat
  std::string text;  // print, write
  TrapAction action = TrapAction::exit;  // trap
};

// Parses the arguments (argv without the program name). On error returns false and sets
// `error` to a message naming the offending argument.
bool parse_program(const std::vector<std::string>& args, std::vector<Command>& program,
                   std::string& error);

// "SIGTERM" for 15; "SIG<n>" when unknown. Signal from "TERM", "SIGTERM" or "15"; 0 if none.
std::string signal_name(int signo);
int parse_signal(const std::string& text);

}  // namespace gantry::test_init
