// UnionFs: the filesystem behind gantry-fuse, on libfuse's low-level API.
//
//   node      one name in the merged tree that the kernel holds (a FUSE inode id); it knows
//             its parent and name (its path), the topmost layer holding it, and for a
//             directory its dir layers (see layer_stack.h). Nodes are per path, so two
//             hardlinks are two nodes that report the same st_ino.
//   copy-up   before anything in a lower layer changes, it moves to the upper layer
//             (copy_up.h), with the missing parent directories.
//
// Everything the kernel sees comes from the layers; the upper layer is written only through
// this filesystem, so the kernel may cache long: entries and attributes of what comes from a
// lower layer for a day, file pages across opens (keep_cache).
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/fuse/layer_stack.h"

struct fuse_lowlevel_ops;

namespace gantry::runtime::fuse {

struct UnionFsConfig {
  bool writable = true;            // false: every change fails with EROFS
  double lower_timeout_s = 86400;  // entry/attr cache time of what comes from lowers
  double upper_timeout_s = 1;      // ... and of what lives in the upper layer
  // The kernel opens files without asking (no OPEN/RELEASE round trips per file); reads and
  // writes then use one fd per node, at most max_cached_fds of them open at a time. A file
  // is copied up at its first write or truncation rather than at an open for writing.
  bool zero_message_open = true;
  size_t max_cached_fds = 4096;
  // On the first read of a lower file, read ahead this many of the files after it in its
  // directory (0: off); see prefetcher.h.
  size_t prefetch_files = 32;
  bool splice = true;            // move file data to /dev/fuse with splice
  unsigned max_background = 64;  // async requests (read-ahead) the kernel keeps in flight
};

class UnionFs {
 public:
  UnionFs(LayerStack layers, UnionFsConfig config);
  ~UnionFs();
  UnionFs(const UnionFs&) = delete;
  UnionFs& operator=(const UnionFs&) = delete;

  // What fuse_session_new wants: the operations and their userdata.
  static const fuse_lowlevel_ops& operations();
  void* userdata();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::runtime::fuse
