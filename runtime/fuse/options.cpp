#include "runtime/fuse/options.h"

#include <sys/stat.h>

#include <cerrno>

namespace gantry::runtime::fuse {
namespace {

// Splits on sep, honouring a backslash escape of any character.
std::vector<std::string> split_escaped(std::string_view s, char sep) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      parts.back() += s[++i];
    } else if (s[i] == sep) {
      parts.emplace_back();
    } else {
      parts.back() += s[i];
    }
  }
  return parts;
}

// Like split_escaped but keeps the escapes, so a later split still sees them.
std::vector<std::string> split_keep_escapes(std::string_view s, char sep) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      parts.back() += s[i];
      parts.back() += s[++i];
    } else if (s[i] == sep) {
      parts.emplace_back();
    } else {
      parts.back() += s[i];
    }
  }
  return parts;
}

Result<void> require_dir(const std::filesystem::path& p, std::string_view what) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) {
    return errno_error(errno, std::string(what) + " '" + p.string() + "'");
  }
  if (!S_ISDIR(st.st_mode)) {
    return errno_error(ENOTDIR, std::string(what) + " '" + p.string() + "'");
  }
  return ok();
}

}  // namespace

Result<void> parse_mount_options(std::string_view value, Options& opts) {
  for (const std::string& opt : split_keep_escapes(value, ',')) {
    if (opt.empty()) continue;
    auto eq = opt.find('=');
    std::string key = opt.substr(0, eq);
    std::string val = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (key == "lowerdir" && eq != std::string::npos) {
      opts.lowers.clear();
      for (const std::string& l : split_escaped(val, ':')) {
        if (l.empty()) {
          return Error(ErrorKind::invalid_argument, "empty layer in lowerdir='" + val + "'");
        }
        opts.lowers.emplace_back(l);
      }
    } else if (key == "upperdir" && eq != std::string::npos) {
      auto parts = split_escaped(val, ',');
      if (parts.size() != 1 || parts[0].empty()) {
        return Error(ErrorKind::invalid_argument, "bad upperdir='" + val + "'");
      }
      opts.upper = parts[0];
    } else if (key == "workdir" && eq != std::string::npos) {
      // overlay needs one; we do not.
    } else if (key == "ro" && eq == std::string::npos) {
      opts.read_only = true;
    } else if (key == "rw" && eq == std::string::npos) {
      opts.read_only = false;
    } else {
      return Error(ErrorKind::invalid_argument, "unknown mount option '" + opt + "'");
    }
  }
  return ok();
}

Result<Options> parse_args(const std::vector<std::string>& args) {
  Options opts;
  bool have_o = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&](std::string_view flag) -> Result<std::string> {
      if (i + 1 >= args.size()) {
        return Error(ErrorKind::invalid_argument, std::string(flag) + " needs a value");
      }
      return args[++i];
    };
    if (a == "-o") {
      GANTRY_ASSIGN_OR_RETURN(std::string v, next("-o"));
      GANTRY_TRY(parse_mount_options(v, opts));
      have_o = true;
    } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      GANTRY_TRY(parse_mount_options(std::string_view(a).substr(2), opts));
      have_o = true;
    } else if (a == "--pid-file") {
      GANTRY_ASSIGN_OR_RETURN(std::string v, next("--pid-file"));
      opts.pid_file = v;
    } else if (a.rfind("--pid-file=", 0) == 0) {
      opts.pid_file = a.substr(11);
    } else if (a == "--foreground" || a == "-f") {
      opts.foreground = true;
    } else if (!a.empty() && a[0] == '-') {
      return Error(ErrorKind::invalid_argument, "unknown flag '" + a + "'");
    } else if (opts.mountpoint.empty()) {
      opts.mountpoint = a;
    } else {
      return Error(ErrorKind::invalid_argument, "unexpected argument '" + a + "'");
    }
  }
  if (!have_o || opts.lowers.empty()) {
    return Error(ErrorKind::invalid_argument, "missing -o lowerdir=...");
  }
  if (opts.mountpoint.empty()) {
    return Error(ErrorKind::invalid_argument, "missing mountpoint");
  }
  return opts;
}

Result<void> validate(const Options& opts) {
  for (const auto& l : opts.lowers) GANTRY_TRY(require_dir(l, "lowerdir"));
  if (opts.upper) GANTRY_TRY(require_dir(*opts.upper, "upperdir"));
  GANTRY_TRY(require_dir(opts.mountpoint, "mountpoint"));
  return ok();
}

}  // namespace gantry::runtime::fuse
