#include "runtime/oci/pid_file.h"

#include <string>

#include "runtime/oci/replace_file.h"

namespace gantry::runtime::oci {

Result<void> write_pid_file(const std::filesystem::path& path, pid_t pid) {
  auto absolute = std::filesystem::absolute(path);
  auto dir = absolute.parent_path();
  auto name = absolute.filename().string();
  if (name.empty()) {
    return Error(ErrorKind::invalid_argument, "pid-file: '" + path.string() + "' names no file");
  }
  GANTRY_TRY_CTX(replace_file(dir, name, std::to_string(pid), 0644),
                 "write pid-file '" + path.string() + "'");
  return ok();
}

}  // namespace gantry::runtime::oci
