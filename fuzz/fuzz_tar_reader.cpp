// Two tar readers on the same bytes: the model's (model/layers read_tar) and the runtime's
// (libarchive, runtime/image read_tar_entries). Neither may crash on any input (this found a
// crash in the runtime reader on a symlink without a target), and whatever the model accepts
// it must write back canonically and read again to the same changeset.
//
// Known divergence, recorded rather than asserted: the model's reader is more lenient than
// libarchive about damage after the last entry (libarchive says "Damaged tar archive" where
// the model ends cleanly); GANTRY_FUZZ_STRICT=1 aborts on those to find more of them.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/layers/canonical_tar.h"
#include "runtime/image/layer_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto model = gantry::model::layers::read_tar(bytes);
  auto runtime = gantry::runtime::image::read_tar_entries(bytes, 1 << 16);
  if (!model) return 0;
  static const bool strict = std::getenv("GANTRY_FUZZ_STRICT") != nullptr;
  if (!runtime && strict) std::abort();
  auto again = gantry::model::layers::canonical_tar(*model);
  if (!again) return 0;  // not_implemented cases (non-ASCII names), or invalid changesets
  auto reread = gantry::model::layers::read_tar(*again);
  if (!reread || !(*reread == *model)) std::abort();
  return 0;
}
