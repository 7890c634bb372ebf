// Applies arbitrary bytes as a layer into a fresh scratch root, with small bounds, and checks
// that nothing appeared outside it: a sentinel directory next to the root must stay as it was.
// An error is a fine answer; an escape or a crash is not.
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "runtime/image/layer_apply.h"

namespace fs = std::filesystem;
namespace image = gantry::runtime::image;

namespace {

int count_entries(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char tmpl[] = "/tmp/fuzz-layer-apply.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) abort();
  fs::path scratch = tmpl;
  fs::path root = scratch / "root";
  fs::path sentinel = scratch / "sentinel";
  fs::create_directory(root);
  fs::create_directory(sentinel);

  image::ApplyOptions options;
  options.max_entry_size_bytes = 1 << 20;
  options.max_expanded_bytes = 8 << 20;
  options.max_ratio = 200;
  options.ratio_grace_bytes = 1 << 20;
  options.create_devices = false;
  // Odd first byte: the overlay format, with the sentinel's sibling as a lower.
  if (size > 0 && (data[0] & 1)) options.whiteout_format = image::WhiteoutFormat::overlay;
  image::BytesSource src(std::string_view(reinterpret_cast<const char*>(data), size));
  auto r = image::apply_layer(src, root, options);
  (void)r;

  // Nothing may appear next to the root, nor in the sentinel.
  if (count_entries(sentinel) != 0 || count_entries(scratch) != 2) {
    fprintf(stderr, "layer wrote outside its root\n");
    abort();
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
  if (ec) {
    // Permissions set by the layer (0000 dirs) do not stop root; anything else is a bug.
    fprintf(stderr, "cleanup of %s: %s\n", scratch.c_str(), ec.message().c_str());
    abort();
  }
  return 0;
}
