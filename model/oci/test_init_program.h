// test_init's arguments as the model reads them: the same grammar as the program itself
// (tests/support/test_init/program.h, docs/test_init.md), parsed independently so the two can
// be compared. The model never runs anything; OciModel interprets these commands.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "model/base/result.h"

namespace gantry::model::oci {

enum class Verb { exit, print, write, cat, sleep, trap, report };
enum class TrapAction { exit, print, ignore };

struct Command {
  Verb verb = Verb::exit;
  int number = 0;    // exit: code; sleep: seconds, -1 forever; trap: signal number
  std::string path;  // write, cat
  std::string text;  // print, write
  TrapAction action = TrapAction::exit;

  bool operator==(const Command&) const = default;
};

using Program = std::vector<Command>;

// The program for these arguments, or invalid_argument (test_init would exit 2 having run
// nothing) with a message naming the argument.
Result<Program> parse_test_init(const std::vector<std::string>& args);

// Signal numbers: "TERM", "SIGTERM", "15" -> 15; 0 when unknown. Names: 15 -> "SIGTERM".
int signal_from_string(const std::string& text);
std::string signal_name(int signo);

// What `report` prints is not predicted (it describes the real process); the model writes this
// line instead, and normalize_output replaces each report line of a real output with it.
inline constexpr std::string_view kReportLine = "<report>";
std::string normalize_output(const std::string& text);

std::ostream& operator<<(std::ostream& os, const Command& command);

}  // namespace gantry::model::oci
