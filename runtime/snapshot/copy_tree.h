// copy_tree: a faithful copy of a directory tree, what the "copy" snapshotter makes of a parent.
//
// Kept: the type of every entry (directories, regular files, symlinks, character and block
// devices, fifos, sockets), mode (setuid/setgid/sticky included), owner, every xattr the
// destination accepts (security.* ones it refuses are skipped), atime/mtime with nanoseconds
// (a directory's after its children, so filling it does not disturb them), and hardlinks
// between files inside the tree. File data is cloned (FICLONE) where the file system can share
// extents, else copied in the kernel (copy_file_range).
#pragma once

#include <filesystem>

#include "model/base/result.h"

namespace gantry::runtime::snapshot {

// Copies the directory src to dst, which must not exist (its parent must). On failure dst is
// removed again; the error names the entry and the step that failed.
Result<void> copy_tree(const std::filesystem::path& src, const std::filesystem::path& dst);

}  // namespace gantry::runtime::snapshot
