// Applying a layer (a tar, possibly gzip or zstd compressed) onto a directory, as
// docs/layers.md "Apply" says, with hostile entries refused or contained.
//
// Vocabulary:
//   root         the directory the layer is applied onto (the union of the layers below, for
//                WhiteoutFormat::plain; an overlay upper, for WhiteoutFormat::overlay).
//   entry name   a tar path. Leading '/' are stripped (as tar does: "/etc/passwd" is
//                root/etc/passwd); "." and empty components are dropped; a ".." component is
//                refused. Every name is resolved inside the root (runtime/sys/resolve.h), so a
//                symlink in the layer or below (x -> /) can redirect a write only to another
//                place inside the root.
//   whiteout     "d/.wh.x": plain removes d/x (nothing when missing); overlay writes a 0:0
//                character device d/x, which overlayfs reads as "deleted".
//   opaque       "d/.wh..wh..opq": plain removes every child of d that this layer did not
//                create, wherever the marker stands in the tar; overlay sets
//                trusted.overlay.opaque=y on d.
//
// On error the root holds what was applied before it; the caller discards it (snapshots are
// prepared, applied, then committed, so a failed apply is never visible).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "runtime/image/compression.h"

namespace gantry::runtime::image {

enum class WhiteoutFormat { plain, overlay };

struct ApplyOptions {
  WhiteoutFormat whiteout_format = WhiteoutFormat::plain;
  // Overlay only: the lower directories, top first. A hardlink to a file that is not in the
  // upper but in a lower copies the file up first. Missing parents that a lower holds are
  // copied up with the lower's metadata (instead of 0755 root:root).
  std::vector<std::filesystem::path> lowers;
  // Bounds: an entry larger than this (by its header) is refused before it is written.
  uint64_t max_entry_size_bytes = 64ull << 30;
  // Bounds on the uncompressed stream (0: none). An entry whose declared size would cross
  // max_expanded_bytes is refused before it is written; the stream itself is checked as it
  // inflates.
  uint64_t max_expanded_bytes = 256ull << 30;
  uint64_t max_ratio = 0;
  uint64_t ratio_grace_bytes = 16ull << 20;
  // Device nodes: created when this is set and the process may (CAP_MKNOD); otherwise
  // skipped and counted in ApplyResult::skipped_device_count.
  bool create_devices = true;
  // lchown to the entry's uid/gid (needs CAP_CHOWN for ids other than ours).
  bool preserve_owners = true;
  // false: the caller verifies the stream itself (it hashed it while decoding it elsewhere),
  // so nothing is hashed here and ApplyResult's two digests stay empty. sha256 without SHA-NI
  // costs more than the inflate and the writes together.
  bool compute_digests = true;
};

struct ApplyResult {
  Digest compressed_digest;  // sha256 of the bytes read (== diff_id when uncompressed)
  Digest diff_id;            // sha256 of the tar
  Compression compression = Compression::none;
  uint64_t compressed_size_bytes = 0;
  uint64_t uncompressed_size_bytes = 0;
  uint64_t entry_count = 0;  // tar entries read, whiteouts and skipped ones included
  uint64_t skipped_device_count = 0;
  uint64_t skipped_entry_count = 0;  // sockets, aufs metadata (.wh..wh.*), the root itself
};

Result<ApplyResult> apply_layer(Source& input, const std::filesystem::path& root,
                                const ApplyOptions& options = {});
// Reads the fd (not owned) to its end.
Result<ApplyResult> apply_layer(int input_fd, const std::filesystem::path& root,
                                const ApplyOptions& options = {});

}  // namespace gantry::runtime::image
