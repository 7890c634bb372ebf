// The canonical tar of a changeset (docs/layers.md, "The tar"): byte for byte what
// libarchive 3.6.2 writes in restricted pax format with no block padding, so the model
// predicts diff_ids exactly; and a reader that turns a layer tar (ours or another tool's)
// back into a changeset.
//
// Cases the writer refuses with not_implemented (their bytes depend on libarchive's locale
// conversion): paths and link targets with bytes outside ASCII.
#pragma once

#include <string>
#include <string_view>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "model/layers/changeset.h"

namespace gantry::model::layers {

// The uncompressed tar of the entries, in the order given.
Result<std::string> canonical_tar(const Changeset& layer);

// sha256 of canonical_tar(layer).
Result<Digest> diff_id(const Changeset& layer);

// Parses a tar (ustar, pax 'x' records, GNU 'L'/'K' long names) into a changeset in tar
// order. Whiteout and opaque names become whiteout and opaque entries; only user.* xattrs
// are kept; a root entry ("./") is skipped. Malformed input is invalid_argument naming the
// entry (or its offset).
Result<Changeset> read_tar(std::string_view bytes);

}  // namespace gantry::model::layers
