// `spec [--bundle B] [--rootless]`: writes the default config.json into the bundle; refuses to
// replace one that exists (as runc).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/oci/operations.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

Result<void> write_spec(const SpecOptions& o) {
  auto path = o.bundle / "config.json";
  sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd) {
    if (errno == EEXIST) {
      return Error(ErrorKind::already_exists, "File " + path.string() + " exists. Remove it first",
                   EEXIST);
    }
    return errno_error(errno, "create '" + path.string() + "'");
  }
  std::string text = spec::default_spec_json(o.rootless);
  if (text.empty() || text.back() != '\n') text += "\n";
  GANTRY_TRY_CTX(sys::write_all(fd.get(), text), "write '" + path.string() + "'");
  return ok();
}

}  // namespace gantry::runtime::oci
