#include "runtime/image/image_ref.h"

#include <array>

namespace gantry::runtime::image {

namespace {

constexpr std::string_view kOciPrefix = "oci:";
constexpr std::string_view kDockerPrefix = "docker://";
constexpr std::string_view kDockerArchivePrefix = "docker-archive:";
constexpr std::array<std::string_view, 4> kOtherTransports = {
    "oci-archive:", "dir:", "containers-storage:", "docker-daemon:"};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_separator(char c) {
  return c == '-' || c == '.' || c == '_' || c == '@' || c == '+';
}

// component ::= alphanum+ (separator alphanum+)*, where separator may also be "--".
bool is_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (is_alnum(s[i])) continue;
    if (!is_separator(s[i])) return false;
    bool double_dash = s[i] == '-' && i + 1 < s.size() && s[i + 1] == '-';
    size_t next = i + (double_dash ? 2 : 1);
    if (next >= s.size() || !is_alnum(s[next])) return false;
    i = next - 1;
  }
  return true;
}

Error invalid(std::string_view text, const std::string& reason) {
  return Error(ErrorKind::invalid_argument,
               "image reference '" + std::string(text.substr(0, 256)) + "': " + reason);
}

// "@N" (an index) or "name:tag" with no whitespace or control characters; the registry
// reference grammar itself is checked where the name is used.
Result<void> check_archive_ref(std::string_view text, std::string_view ref) {
  if (ref.starts_with('@')) {
    std::string_view n = ref.substr(1);
    if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != n.npos) {
      return invalid(text, "'" + std::string(ref) + "' is not an image index (@N)");
    }
    return ok();
  }
  for (char c : ref) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return invalid(text, "image name '" + std::string(ref) + "' contains whitespace");
    }
  }
  if (ref.find('@') != ref.npos) {
    return invalid(text, "image name '" + std::string(ref) + "' may not have a digest");
  }
  return ok();
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty()) return false;
  size_t start = 0;
  for (;;) {
    size_t slash = tag.find('/', start);
    std::string_view part =
        tag.substr(start, slash == std::string_view::npos ? tag.npos : slash - start);
    if (!is_component(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

Result<ImageRef> parse_image_ref(std::string_view text) {
  if (text.empty()) return invalid(text, "empty");
  ImageRef ref;
  if (text.starts_with(kDockerPrefix)) {
    ref.transport = Transport::docker;
    ref.remote = std::string(text.substr(kDockerPrefix.size()));
    if (ref.remote.empty()) return invalid(text, "nothing after docker://");
    return ref;
  }
  if (text.starts_with(kDockerArchivePrefix)) {
    ref.transport = Transport::docker_archive;
    std::string_view rest = text.substr(kDockerArchivePrefix.size());
    size_t colon = rest.find(':');
    ref.archive_path = std::string(rest.substr(0, colon));
    if (ref.archive_path.empty()) return invalid(text, "empty archive path");
    if (colon != std::string_view::npos) {
      std::string_view name = rest.substr(colon + 1);
      if (name.empty()) return invalid(text, "empty image name after ':'");
      GANTRY_TRY(check_archive_ref(text, name));
      ref.archive_ref = std::string(name);
    }
    return ref;
  }
  for (std::string_view other : kOtherTransports) {
    if (text.starts_with(other)) {
      return Error(ErrorKind::not_implemented,
                   "image reference '" + std::string(text.substr(0, 256)) + "': transport '" +
                       std::string(other.substr(0, other.size() - 1)) + "' is not supported");
    }
  }
  std::string_view rest = text.starts_with(kOciPrefix) ? text.substr(kOciPrefix.size()) : text;
  size_t colon = rest.rfind(':');
  std::string_view dir = rest.substr(0, colon);
  std::string_view tag = colon == std::string_view::npos ? kDefaultTag : rest.substr(colon + 1);
  if (dir.empty()) return invalid(text, "empty layout directory");
  if (tag.empty()) return invalid(text, "empty tag after ':'");
  if (!is_valid_tag(tag)) return invalid(text, "tag '" + std::string(tag) + "' is not valid");
  ref.layout_dir = std::string(dir);
  ref.tag = std::string(tag);
  return ref;
}

std::string to_string(const ImageRef& ref) {
  if (ref.transport == Transport::docker) return std::string(kDockerPrefix) + ref.remote;
  if (ref.transport == Transport::docker_archive) {
    return std::string(kDockerArchivePrefix) + ref.archive_path +
           (ref.archive_ref.empty() ? "" : ":" + ref.archive_ref);
  }
  return std::string(kOciPrefix) + ref.layout_dir + ":" + ref.tag;
}

}  // namespace gantry::runtime::image
