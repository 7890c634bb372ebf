// Parses arbitrary bytes as each kind of image document. Must never crash; whenever a parse
// succeeds, to_json then parse again must succeed, give an equal value, and the same bytes
// again (to_json is canonical).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/image/manifest.h"

namespace img = gantry::runtime::image;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_manifest: %s: %s\n", what, detail.c_str());
  std::abort();
}

template <class T, class Parse>
void round_trip(std::string_view input, const char* what, Parse parse) {
  gantry::Result<T> first = parse(input);
  if (!first) {
    if (first.error().kind() != gantry::ErrorKind::invalid_argument) {
      fail(what, "unexpected error kind: " + first.error().to_string());
    }
    return;
  }
  std::string text = img::to_json(*first);
  gantry::Result<T> second = parse(text);
  if (!second) fail(what, "re-parse failed: " + second.error().to_string() + " on " + text);
  if (!(*second == *first)) fail(what, "re-parse differs: " + text);
  if (img::to_json(*second) != text) fail(what, "to_json not canonical: " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  round_trip<img::ImageManifest>(input, "manifest", img::parse_manifest);
  round_trip<img::ImageIndex>(input, "index", img::parse_index);
  round_trip<img::ImageConfig>(input, "config", img::parse_config);
  round_trip<img::Descriptor>(input, "descriptor", img::parse_descriptor);
  auto either = img::parse_manifest_or_index(input);
  if (either) {
    bool is_index = std::holds_alternative<img::ImageIndex>(*either);
    std::string text = is_index ? img::to_json(std::get<img::ImageIndex>(*either))
                                : img::to_json(std::get<img::ImageManifest>(*either));
    auto again = img::parse_manifest_or_index(text);
    if (!again) fail("manifest or index", "re-parse failed: " + again.error().to_string());
    if (!(*again == *either)) fail("manifest or index", "re-parse differs: " + text);
  }
  return 0;
}
