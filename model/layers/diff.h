// diff(L, U): the canonical changeset that turns lower tree L into upper tree U
// (docs/layers.md, "The changeset D(L, U)").
#pragma once

#include "model/layers/changeset.h"
#include "model/layers/tree.h"

namespace gantry::model::layers {

// Upserts of what is new or changed in U (hardlink entries for later members of a link
// group), whiteouts at the top of what U deleted, every ancestor directory of those with
// its node in U; in canonical order. Never produces opaque markers.
Changeset diff(const Tree& lower, const Tree& upper);

// True when the node at path differs between the trees: type, metadata, content, target,
// device numbers or (regular files) the set of paths of its link group.
bool node_changed(const Tree& lower, const Tree& upper, std::string_view path);

}  // namespace gantry::model::layers
