// Arbitrary bytes as a mount options array (one option per line) and as a rootfsPropagation
// value. Must never crash; refusals are invalid_argument or not_implemented naming the entry;
// an accepted translation is deterministic, binds set MS_BIND, and only options the
// translator does not know reach the file system's data.
#include <sys/mount.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/oci/spec/mount_options.h"

namespace spec = gantry::runtime::oci::spec;

namespace {

[[noreturn]] void fail(const std::string& detail) {
  std::fprintf(stderr, "fuzz_oci_mount_options: %s\n", detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> options;
  while (!input.empty()) {
    size_t nl = input.find('\n');
    options.emplace_back(input.substr(0, nl));
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  }
  auto r = spec::parse_mount_options(options, "mounts[0].options");
  if (!r) {
    auto k = r.error().kind();
    if (k != gantry::ErrorKind::invalid_argument && k != gantry::ErrorKind::not_implemented)
      fail("unexpected error kind: " + r.error().to_string());
    if (r.error().message().rfind("mounts[0].options[", 0) != 0)
      fail("error does not name the entry: " + r.error().message());
  } else {
    auto again = spec::parse_mount_options(options, "mounts[0].options");
    if (!again || again->mount_flags() != r->mount_flags() || again->data != r->data)
      fail("not deterministic");
    if (r->bind != ((r->mount_flags() & MS_BIND) != 0)) fail("bind and MS_BIND disagree");
    if ((r->flags_set & r->flags_clear) != 0) fail("a flag both set and cleared");
    if ((r->attr_set & r->attr_clear & ~uint64_t{MOUNT_ATTR__ATIME}) != 0)
      fail("an attribute both set and cleared");
    const auto& known = spec::known_mount_option_names();
    for (const auto& o : options) {
      bool is_known = std::find(known.begin(), known.end(), o) != known.end();
      if (is_known && !o.empty() && r->data.find(o) != std::string::npos) {
        // A known option may still appear inside an unknown one ("ro" in "errors=remount-ro").
        bool inside_unknown = false;
        for (const auto& u : options)
          if (u != o && u.find(o) != std::string::npos &&
              std::find(known.begin(), known.end(), u) == known.end())
            inside_unknown = true;
        if (!inside_unknown) fail("known option '" + o + "' reached the data");
      }
    }
  }
  std::string whole(reinterpret_cast<const char*>(data), size);
  auto prop = spec::rootfs_propagation_flags(whole);
  if (!prop && prop.error().kind() != gantry::ErrorKind::invalid_argument)
    fail("rootfsPropagation: unexpected error kind");
  return 0;
}
