#include "runtime/content/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "runtime/sys/fd.h"

namespace gantry::runtime::content {

using sys::UniqueFd;

Result<void> write_all(int fd, std::span<const uint8_t> data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write '" + std::string(what) + "'");
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return ok();
}

Result<void> write_all(int fd, std::string_view data, std::string_view what) {
  return write_all(
      fd, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
      what);
}

Result<std::string> read_all(int fd, int64_t max_size_bytes, std::string_view what) {
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= max_size_bytes) {
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read '" + std::string(what) + "'");
    }
    if (n == 0) break;
    if (static_cast<int64_t>(out.size()) + n > max_size_bytes) {
      return Error(ErrorKind::invalid_argument, "read '" + std::string(what) + "': larger than " +
                                                    std::to_string(max_size_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open directory '" + dir.string() + "'");
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync '" + dir.string() + "'");
  return ok();
}

Result<void> write_file_atomic(const std::filesystem::path& dir, std::string_view name,
                               std::string_view bytes, int mode) {
  std::filesystem::path target = dir / std::string(name);
  std::string tmpl = (dir / ("." + std::string(name) + ".tmp-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  UniqueFd fd(::mkostemp(buf.data(), O_CLOEXEC));
  if (!fd) return errno_error(errno, "create temp file for '" + target.string() + "'");
  std::string tmp = buf.data();
  auto fail = [&](Error e) -> Result<void> {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return fail(errno_error(errno, "chmod '" + tmp + "'"));
  }
  if (auto r = write_all(fd.get(), bytes, tmp); !r) return fail(std::move(r).error());
  if (::fsync(fd.get()) != 0) return fail(errno_error(errno, "fsync '" + tmp + "'"));
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    return fail(errno_error(errno, "rename '" + tmp + "' to '" + target.string() + "'"));
  }
  return fsync_dir(dir);
}

}  // namespace gantry::runtime::content
