// Parses arbitrary bytes as a registry image reference. Must never crash; an accepted reference
// prints (to_string) to text that parses back to the same reference.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/registry/client/reference.h"

namespace rc = gantry::runtime::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto ref = rc::parse_reference(input);
  if (!ref) {
    if (ref.error().kind() != gantry::ErrorKind::invalid_argument) std::abort();
    return 0;
  }
  if (ref->registry.empty() || ref->repository.empty() || (!ref->tag && !ref->digest)) std::abort();
  auto again = rc::parse_reference(rc::to_string(*ref));
  if (!again || !(*again == *ref)) {
    std::fprintf(stderr, "fuzz_registry_reference: round trip of '%s' failed\n",
                 rc::to_string(*ref).c_str());
    std::abort();
  }
  return 0;
}
