#include "runtime/registry/transfer/temp_blob.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace gantry::runtime::registry::transfer {

Result<sys::UniqueFd> make_temp_file(const std::filesystem::path& dir_in) {
  std::filesystem::path dir = dir_in;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = t && *t ? t : "/tmp";
  }
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return sys::UniqueFd(fd);
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return errno_error(errno, "temp file in '" + dir.string() + "'");
  }
  std::string tmpl = dir.string() + "/.gantry-blob-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "temp file in '" + dir.string() + "'");
  ::unlink(buf.data());
  return sys::UniqueFd(fd);
}

Result<size_t> PreadSource::read(std::span<uint8_t> buf) {
  for (;;) {
    ssize_t n = ::pread(fd_->get(), buf.data(), buf.size(), static_cast<off_t>(offset_));
    if (n >= 0) {
      offset_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
    if (errno != EINTR) return errno_error(errno, "read temp blob");
  }
}

}  // namespace gantry::runtime::registry::transfer
