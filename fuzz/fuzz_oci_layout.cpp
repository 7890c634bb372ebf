// Writes an oci-layout file and an index.json taken from the input into a scratch layout
// directory, then opens the layout and asks it for tags, resolves and loads. Input: the
// oci-layout text, a NUL byte, then the index.json text; without a NUL, the input is
// index.json and oci-layout is the valid one. Must never crash; when the layout opens, every
// listed tag resolves, and set_tag then resolve gives back what was set.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "runtime/image/media_types.h"
#include "runtime/image/oci_layout.h"

namespace fs = std::filesystem;
namespace img = gantry::runtime::image;

namespace {

[[noreturn]] void fail(const std::string& detail) {
  std::fprintf(stderr, "fuzz_oci_layout: %s\n", detail.c_str());
  std::abort();
}

const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "fuzz_oci_layout.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp");
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view layout_text = R"({"imageLayoutVersion":"1.0.0"})";
  std::string_view index_text = input;
  if (size_t nul = input.find('\0'); nul != std::string_view::npos) {
    layout_text = input.substr(0, nul);
    index_text = input.substr(nul + 1);
  }
  const fs::path& dir = scratch();
  write_file(dir / "oci-layout", layout_text);
  write_file(dir / "index.json", index_text);

  auto layout = img::OciLayout::open(dir);
  if (!layout) return 0;
  auto tags = layout->tags();
  if (!tags) fail("tags failed after open: " + tags.error().to_string());
  for (const auto& tag : *tags) {
    auto d = layout->resolve(tag);
    if (!d) fail("listed tag '" + tag + "' does not resolve: " + d.error().to_string());
    (void)layout->load_image(tag);  // blobs are absent: an error, never a crash
  }
  if (layout->resolve("fuzz-absent-tag-x")) {
    // only possible if the input has that tag
    bool listed = false;
    for (const auto& t : *tags) listed = listed || t == "fuzz-absent-tag-x";
    if (!listed) fail("resolved a tag that tags() does not list");
  }
  img::Descriptor d;
  d.media_type = img::media_types::kOciManifest;
  d.digest = gantry::Digest::of(input);
  d.size = static_cast<int64_t>(size);
  if (auto r = layout->set_tag("fuzz", d); !r) fail("set_tag: " + r.error().to_string());
  auto back = layout->resolve("fuzz");
  if (!back) fail("resolve after set_tag: " + back.error().to_string());
  if (back->digest != d.digest || back->size != d.size) fail("resolve after set_tag differs");
  auto after = layout->tags();
  if (!after) fail("tags after set_tag: " + after.error().to_string());
  return 0;
}
