// --pid-file: the pid in decimal, no newline (as runc), written to a temp file in the same
// directory and renamed, so a reader (containerd's shim, conmon) never sees a partial file.
#pragma once

#include <sys/types.h>

#include <filesystem>

#include "model/base/result.h"

namespace gantry::runtime::oci {

Result<void> write_pid_file(const std::filesystem::path& path, pid_t pid);

}  // namespace gantry::runtime::oci
