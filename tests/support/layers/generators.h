// RapidCheck generators of trees, changesets and stacks of layers, for properties that
// compare the model with itself and with real filesystems.
#pragma once

#include <rapidcheck.h>

#include <vector>

#include "model/layers/changeset.h"
#include "model/layers/tree.h"

namespace gantry::testing::layers {

struct TreeGenOptions {
  bool devices = false;          // char/block devices (materializing them needs root)
  bool symlink_xattrs = false;   // Linux refuses user.* xattrs on symlinks
  bool long_names = false;       // names up to 120 bytes, paths over 100 bytes
  bool odd_numbers = false;      // uids, gids, device numbers >= 2^18, mtimes outside ustar
  bool symlink_any_mode = true;  // false: symlinks are 0777, as Linux makes them
  int max_steps = 25;
};

// An arbitrary tree: every node type, hardlink groups, xattrs.
rc::Gen<model::layers::Tree> gen_tree(TreeGenOptions options = {});

// A tree derived from `base` by random changes (add, replace, remove, relink, metadata).
rc::Gen<model::layers::Tree> gen_changed_tree(const model::layers::Tree& base,
                                              TreeGenOptions options = {});

// A canonical layer over `below`: diff(below, changed) plus, sometimes, whiteouts of missing
// names and an opaque directory that re-adds children.
rc::Gen<model::layers::Changeset> gen_layer(const model::layers::Tree& below,
                                            TreeGenOptions options = {});

// A stack of 1..max_layers layers, each generated over the union of those below it.
rc::Gen<std::vector<model::layers::Changeset>> gen_stack(int max_layers = 8,
                                                         TreeGenOptions options = {});

// Any sorted changeset whose entries a tar can carry (not necessarily applicable): every
// entry kind, long names and link targets, xattrs, large numbers when options say so.
rc::Gen<model::layers::Changeset> gen_changeset(TreeGenOptions options = {});

}  // namespace gantry::testing::layers
