// apply(tree, layer) and the union of a stack of layers (docs/layers.md, "Apply").
#pragma once

#include <vector>

#include "model/layers/changeset.h"
#include "model/layers/tree.h"

namespace gantry::model::layers {

// Applies the entries in their order onto tree:
// - an upsert of a directory onto a directory updates its metadata, keeps its children; any
//   other upsert first removes what is at the path;
// - a hardlink links the path to an existing regular file (of this layer or below); a
//   missing or non-regular target is invalid_argument;
// - a whiteout removes the path and all below it; a missing name (or parent) is a no-op;
// - an opaque marker in d removes, after all entries, everything below d that this layer
//   did not write; a directory kept only because this layer wrote below it is reset to a
//   fresh 0755 root:root directory with mtime 0 (as if the marker had removed it first and
//   the layer had created it as a missing parent);
// - missing parents are created as 0755 root:root directories with mtime 0; a parent that
//   is not a directory is invalid_argument.
// Errors name the entry.
Result<Tree> apply(Tree tree, const Changeset& layer);

// The view of a stack of layers, bottom first: applies each onto the empty tree in turn.
Result<Tree> union_of(const std::vector<Changeset>& stack);

}  // namespace gantry::model::layers
