// Platforms on the command line ("linux/arm64/v8") and the choice of one manifest in an index.
//
// Matching, as docker and containerd do it: os and architecture equal; the variant equal when
// both name one, and an entry with the exact variant preferred over one without. Entries that
// are not images (attestations: platform "unknown/unknown", or not a manifest media type) are
// never chosen.
#pragma once

#include <string_view>

#include "model/base/result.h"
#include "runtime/image/manifest.h"

namespace gantry::runtime::registry::transfer {

// "os/arch[/variant]"; invalid_argument naming the text otherwise.
Result<image::Platform> parse_platform(std::string_view text);

// The entry of index for platform; not_found listing the platforms the index has.
Result<image::Descriptor> select_manifest(const image::ImageIndex& index,
                                          const image::Platform& platform);

}  // namespace gantry::runtime::registry::transfer
