// Two tar readers on the same bytes: the model's (model/layers read_tar) and the runtime's
// (libarchive, runtime/image read_tar_entries). Neither may crash on any input; whatever the
// model accepts it must write back canonically and read again to the same changeset; and a
// tar the model accepts must not be refused by libarchive.
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
  if (!runtime) {
    // The model accepted a tar that libarchive refuses: one of them is wrong.
    std::abort();
  }
  auto again = gantry::model::layers::canonical_tar(*model);
  if (!again) return 0;  // not_implemented cases (non-ASCII names), or invalid changesets
  auto reread = gantry::model::layers::read_tar(*again);
  if (!reread || !(*reread == *model)) std::abort();
  return 0;
}
