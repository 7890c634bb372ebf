// Parses arbitrary bytes as an image reference. Must never crash; a reference that parses
// prints (to_string) to text that parses back to the same reference.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/image/image_ref.h"

namespace img = gantry::runtime::image;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto ref = img::parse_image_ref(input);
  if (!ref) {
    auto kind = ref.error().kind();
    if (kind != gantry::ErrorKind::invalid_argument && kind != gantry::ErrorKind::not_implemented) {
      std::abort();
    }
    return 0;
  }
  if (ref->transport == img::Transport::oci && !img::is_valid_tag(ref->tag)) std::abort();
  auto again = img::parse_image_ref(img::to_string(*ref));
  if (!again || !(*again == *ref)) {
    std::fprintf(stderr, "fuzz_image_ref: round trip of '%s' failed\n",
                 img::to_string(*ref).c_str());
    std::abort();
  }
  return 0;
}
