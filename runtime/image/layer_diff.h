// Layer diff: turns two trees into the canonical changeset D(L, U) of docs/layers.md, written
// as the canonical tar (runtime/image/layer_writer.h) to a ByteSink.
//
//   lower (L)  the tree the layer applies onto: a plain directory, or for an overlay upper the
//              union of its lower directories (top first, with their whiteouts and opaque dirs).
//   upper (U)  the tree after the changes: a plain directory (diff_directories) or an overlay
//              upper directory whose merged view over the lowers is U (diff_overlay_upper).
//
// Both functions give the same bytes for the same L and U: the overlay diff walks only the
// upper directory and looks each path up in the lowers, so its cost follows the size of the
// change rather than of the image (except when hardlinks in the lowers lose or gain members,
// where the lowers are walked once to find the groups).
//
// Overlay features that move content out of the upper directory (redirect_dir, metacopy) are
// not supported: an upper or lower that uses them is not_implemented.
#pragma once

#include <filesystem>
#include <vector>

#include "model/base/result.h"
#include "runtime/image/layer_writer.h"

namespace gantry::runtime::image {

using DiffResult = WrittenLayer;  // diff_id, size_bytes, entry_count

// lower may be "" or a missing directory: the empty tree.
Result<DiffResult> diff_directories(const std::filesystem::path& lower,
                                    const std::filesystem::path& upper, const ByteSink& sink);

// upper in overlay's format; lowers top first (none: the empty tree).
Result<DiffResult> diff_overlay_upper(const std::filesystem::path& upper,
                                      const std::vector<std::filesystem::path>& lowers,
                                      const ByteSink& sink);

}  // namespace gantry::runtime::image
