// What `gantry mount` leaves behind so that `gantry umount` and `gantry repack`, run later as
// other processes, know which snapshot a mounted directory shows: one JSON file per mount point
// under <root>/mounts/, replaced atomically.
#pragma once

#include <filesystem>
#include <string>

#include "model/base/result.h"

namespace gantry::cli {

struct MountRecord {
  std::string target;       // absolute path of the mount point
  std::string snapshotter;  // backend
  std::string key;          // the active snapshot
  std::string image;        // the image it was made from, canonical name
  std::string manifest;     // digest of that image's manifest

  friend bool operator==(const MountRecord&, const MountRecord&) = default;
};

// Absolute, symlinks resolved (the directory must exist).
Result<std::string> canonical_target(const std::string& dir);

Result<void> save_mount_record(const std::string& root, const MountRecord& record);
// not_found: "'<dir>' is not mounted by gantry".
Result<MountRecord> load_mount_record(const std::string& root, const std::string& target);
Result<void> remove_mount_record(const std::string& root, const std::string& target);

}  // namespace gantry::cli
