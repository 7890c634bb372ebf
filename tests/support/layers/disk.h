// Model trees to real directories and back, for properties that compare the model with
// snapshotters and mounted views.
#pragma once

#include <filesystem>

#include "model/base/result.h"
#include "model/layers/tree.h"

namespace gantry::testing::layers {

// Creates every node of tree under dir (which must exist and be empty): contents, hardlink
// groups, symlinks, fifos, devices (mknod: needs root), owners (lchown), modes, user.*
// xattrs, and mtimes (utimensat, AT_SYMLINK_NOFOLLOW; directories last, deepest first).
Result<void> materialize(const model::layers::Tree& tree, const std::filesystem::path& dir);

// Reads the tree under dir (dir itself is the root). Link groups come from (st_dev, st_ino)
// of regular files with more than one link; only user.* xattrs are kept. Overlay or aufs
// artefacts (a 0/0 character device, trusted.overlay.* or user.overlay.* xattrs, .wh.
// names) are failed_precondition naming the path: a mounted view must never show them.
Result<model::layers::Tree> read_tree(const std::filesystem::path& dir);

// "" when equal; else one line per difference ("only left: p", "only right: p",
// "p: left <node> / right <node>", "p: link group {..} / {..}").
std::string tree_diff(const model::layers::Tree& left, const model::layers::Tree& right);

}  // namespace gantry::testing::layers
