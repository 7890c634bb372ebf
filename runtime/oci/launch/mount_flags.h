// The mount options of a config mount as mount(2) arguments.
// TODO(H4): replace by runtime/oci/spec/mount_options.h (H2) when it lands.
#pragma once

#include <string>
#include <vector>

#include "model/base/result.h"

namespace gantry::runtime::oci::launch {

struct MountFlags {
  unsigned long flags = 0;                 // MS_* to set
  std::vector<unsigned long> propagation;  // MS_PRIVATE|MS_REC ..., applied after the mount
  std::string data;                        // the file system's own options, comma-joined
  bool bind = false;                       // "bind" or "rbind" (rbind sets MS_REC)
};

Result<MountFlags> translate_mount_options(const std::vector<std::string>& options);

}  // namespace gantry::runtime::oci::launch
