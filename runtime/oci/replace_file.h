// Replacing a file of gantry-oci's run-time state (state.json, config.json, --pid-file) so that
// a concurrent reader sees the old or the new bytes, never a part: write a temp file in the same
// directory, rename it over the name.
//
// Deliberately without fsync (unlike sys::write_file_atomic, which is for state that must
// survive a crash): this state describes processes, and processes do not survive a crash
// either, so durability buys nothing, while on a disk-backed --root each fsync costs ~10 ms,
// several times per container start (runc does not fsync its state either). A state file
// damaged by a crash is cleared by `delete --force`.
#pragma once

#include <filesystem>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::oci {

Result<void> replace_file(const std::filesystem::path& dir, std::string_view name,
                          std::string_view bytes, int mode);

}  // namespace gantry::runtime::oci
