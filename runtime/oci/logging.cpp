#include "runtime/oci/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

namespace {

struct LogSink {
  LogOptions options;
  int fd = STDERR_FILENO;
  bool to_file = false;  // fd is a file: errors also go to stderr, bare
};

LogSink& sink() {
  static LogSink s;
  return s;
}

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "error";
}

// logrus quotes a value unless every byte is one of [A-Za-z0-9-._/@^+].
bool needs_quoting(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
    if (!plain) return true;
  }
  return false;
}

// Go's %q for the bytes logrus would print.
std::string quote(std::string_view v) {
  std::string out = "\"";
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string text_value(std::string_view v) {
  return needs_quoting(v) ? quote(v) : std::string(v);
}

}  // namespace

Result<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return Error(ErrorKind::invalid_argument,
               "invalid log-format: " + std::string(text) + " (want text or json)");
}

Result<void> configure_logging(const LogOptions& options) {
  auto& s = sink();
  if (s.to_file && s.fd >= 0) ::close(s.fd);
  s = LogSink{};
  s.options = options;
  if (!options.file.empty() && options.file != "/dev/stderr") {
    int fd = ::open(options.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_error(errno, "open log file '" + options.file + "'");
    s.fd = fd;
    s.to_file = true;
  }
  return ok();
}

bool debug_enabled() {
  return sink().options.debug;
}

std::string format_log_line(LogFormat format, LogLevel level, std::string_view message,
                            std::string_view time) {
  if (format == LogFormat::json) {
    // logrus's JSON formatter: keys sorted.
    nlohmann::ordered_json j;
    j["level"] = level_name(level);
    j["msg"] = message;
    j["time"] = time;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return "time=" + text_value(time) + " level=" + std::string(level_name(level)) +
         " msg=" + text_value(message);
}

std::string rfc3339_now() {
  time_t now = ::time(nullptr);
  tm t{};
  ::gmtime_r(&now, &t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
  return buf;
}

void log_line(LogLevel level, std::string_view message) {
  auto& s = sink();
  if (level == LogLevel::debug && !s.options.debug) return;
  std::string line = format_log_line(s.options.format, level, message, rfc3339_now()) + "\n";
  (void)sys::write_all(s.fd, line);
  if (s.to_file && level == LogLevel::error) {
    (void)sys::write_all(STDERR_FILENO, std::string(message) + "\n");
  }
}

}  // namespace gantry::runtime::oci
