#include "runtime/oci/replace_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

Result<void> replace_file(const std::filesystem::path& dir, std::string_view name,
                          std::string_view bytes, int mode) {
  auto target = dir / std::string(name);
  std::string tmpl = (dir / ("." + std::string(name) + ".tmp-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  sys::UniqueFd fd(::mkostemp(buf.data(), O_CLOEXEC));
  if (!fd) return errno_error(errno, "create temp file for '" + target.string() + "'");
  std::string tmp = buf.data();
  auto fail = [&](Error e) -> Result<void> {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return fail(errno_error(errno, "chmod '" + tmp + "'"));
  }
  if (auto r = sys::write_all(fd.get(), bytes); !r) {
    return fail(std::move(r).error().with_context("'" + tmp + "'"));
  }
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    return fail(errno_error(errno, "rename '" + tmp + "' to '" + target.string() + "'"));
  }
  return ok();
}

}  // namespace gantry::runtime::oci
