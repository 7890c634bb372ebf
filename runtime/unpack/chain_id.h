// Chain ids (OCI image-spec, config.md): the name of a stack of layers, so that a snapshot
// committed for a stack can be found again and shared between images.
//   chain([L0]) = diff_id(L0)
//   chain([L0..Ln]) = sha256(chain([L0..Ln-1]).str() + " " + diff_id(Ln).str())
#pragma once

#include <span>
#include <vector>

#include "model/base/digest.h"

namespace gantry::runtime::unpack {

// One chain id per prefix of diff_ids: result[i] names the stack diff_ids[0..i].
std::vector<Digest> chain_ids(std::span<const Digest> diff_ids);

}  // namespace gantry::runtime::unpack
