#include "runtime/registry/transfer/platform.h"

#include "runtime/image/media_types.h"

namespace gantry::runtime::registry::transfer {

namespace media_types = image::media_types;

Result<image::Platform> parse_platform(std::string_view text) {
  image::Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == text.npos ? text.npos : slash - start));
    if (slash == text.npos) break;
    start = slash + 1;
  }
  bool bad = parts.size() < 2 || parts.size() > 3;
  for (const auto& part : parts) {
    if (part.empty()) bad = true;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
        bad = true;
      }
    }
  }
  if (bad) {
    return Error(ErrorKind::invalid_argument,
                 "platform '" + std::string(text) + "': want os/architecture[/variant]");
  }
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

Result<image::Descriptor> select_manifest(const image::ImageIndex& index,
                                          const image::Platform& platform) {
  const image::Descriptor* best = nullptr;
  std::string have;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    if (!have.empty()) have += ", ";
    have += image::to_string(*d.platform);
    if (!d.media_type.empty() && !media_types::is_manifest(d.media_type)) continue;
    const image::Platform& p = *d.platform;
    if (p.os != platform.os || p.architecture != platform.architecture) continue;
    if (!p.variant.empty() && !platform.variant.empty() && p.variant != platform.variant) continue;
    bool exact = p.variant == platform.variant;
    if (best == nullptr || (exact && best->platform->variant != platform.variant)) best = &d;
  }
  if (best == nullptr) {
    return Error(ErrorKind::not_found,
                 "no manifest for platform " + image::to_string(platform) +
                     " (the index has: " + (have.empty() ? std::string("none") : have) + ")");
  }
  return *best;
}

}  // namespace gantry::runtime::registry::transfer
