// Copy-up: before anything in a lower layer changes, it is copied into the upper layer with its
// data and metadata (owner, mode, user.* and other xattrs except trusted.overlay.*, times), as
// overlay does. A regular file is built as an unnamed O_TMPFILE and linked in at the end, so a
// half-copied file is never visible.
#pragma once

#include <sys/stat.h>

#include <string>

#include "model/base/result.h"
#include "runtime/fuse/layer_stack.h"

namespace gantry::runtime::fuse {

// Copies rel (whose stat in layer `from` is st) to the same rel in the upper layer, whose
// parent directory must already exist there. with_data=false leaves a regular file empty
// (for an open with O_TRUNC).
Result<void> copy_up(const LayerStack& layers, int from, const std::string& rel,
                     const struct stat& st, bool with_data);

// Copies the xattrs of src to dst (both paths, not following symlinks), skipping overlay's.
Result<void> copy_xattrs(const std::string& src, const std::string& dst);

// Sets atime and mtime of rel in layer to those of st (not following symlinks).
Result<void> restore_times(int dirfd, const std::string& rel, const struct stat& st);

}  // namespace gantry::runtime::fuse
