// Mounts as data. A snapshotter describes the mounts that make a snapshot's view; one function
// performs them. Types:
//   "bind"        source is a directory; options may hold "ro", "rbind".
//   "overlay"     kernel overlayfs; options "lowerdir=a:b", "upperdir=", "workdir=", "ro"...
//   "fuse.gantry" our union filesystem: the gantry-fuse program is started with the same
//                 lowerdir/upperdir options and serves the mount until it is unmounted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model/base/result.h"

namespace gantry::runtime::sys {

struct Mount {
  std::string type;
  std::string source;
  std::vector<std::string> options;

  friend bool operator==(const Mount&, const Mount&) = default;
};

// Performs the mounts, in order, on target (an existing directory). On failure nothing stays
// mounted at target.
Result<void> mount_all(const std::vector<Mount>& mounts, const std::filesystem::path& target);

// Unmounts target (and a FUSE server behind it, waiting for the server to exit).
Result<void> unmount(const std::filesystem::path& target);

}  // namespace gantry::runtime::sys
