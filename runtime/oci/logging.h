// The log of gantry-oci, in the shape runc writes it, because containerd and podman read it:
// containerd's shim and podman's conmon pass `--log FILE --log-format json` and, when a command
// fails, read the last JSON line of FILE for the message.
//
//   json  {"level":"error","msg":"container does not exist","time":"2026-11-28T10:43:55Z"}
//   text  time="2026-11-28T10:43:55Z" level=error msg="container does not exist"  (logrus)
//
// Without --log (or with --log /dev/stderr) lines go to stderr in the chosen format. With a log
// file, lines go to the file and an error is also printed to stderr as its bare message, as runc
// does. Debug lines are written only with --debug. The log fd is close-on-exec: it never reaches
// a container.
#pragma once

#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::oci {

enum class LogFormat { text, json };
enum class LogLevel { debug, info, warning, error };

struct LogOptions {
  std::string file;  // empty: stderr
  LogFormat format = LogFormat::text;
  bool debug = false;
};

Result<LogFormat> parse_log_format(std::string_view text);

// Sets up the process-wide log (opens the file for appending, creating it).
Result<void> configure_logging(const LogOptions& options);

void log_line(LogLevel level, std::string_view message);
inline void log_error(std::string_view message) {
  log_line(LogLevel::error, message);
}
inline void log_warning(std::string_view message) {
  log_line(LogLevel::warning, message);
}
inline void log_debug(std::string_view message) {
  log_line(LogLevel::debug, message);
}
bool debug_enabled();

// One line in a format, without the newline (exposed for tests). time is RFC 3339 seconds.
std::string format_log_line(LogFormat format, LogLevel level, std::string_view message,
                            std::string_view time);

// The time as logrus prints it: RFC 3339, seconds, UTC.
std::string rfc3339_now();

}  // namespace gantry::runtime::oci
