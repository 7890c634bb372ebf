// TarEntry: the runtime's description of one member of a layer tar, independent of the model.
//
//   path     relative, no leading or trailing '/', exactly the member's name otherwise: a
//            whiteout is "d/.wh.x" and an opaque marker "d/.wh..wh..opq" (so the canonical
//            order of entries is the order of their paths).
//   type     what the member is; hardlink means "regular file that is the same inode as
//            link_target, an earlier member".
//   mtime_s  whole seconds; layers carry no sub-second times.
//   xattrs   names in the user. namespace only, sorted bytewise (std::map<std::string>).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>

namespace gantry::runtime::image {

enum class EntryType {
  regular,
  directory,
  symlink,
  hardlink,
  fifo,
  char_device,
  block_device,
  whiteout,
  opaque,
};

std::string_view to_string(EntryType type);
std::ostream& operator<<(std::ostream& os, EntryType type);

struct TarEntry {
  std::string path;
  EntryType type = EntryType::regular;
  uint32_t mode = 0;  // permission bits, & 07777
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_s = 0;
  int64_t size_bytes = 0;   // regular only
  std::string link_target;  // symlink target, or the hardlink's first member
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::map<std::string, std::string> xattrs;

  friend bool operator==(const TarEntry&, const TarEntry&) = default;
};

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueName = ".wh..wh..opq";

// The whiteout entry that deletes `deleted_path` ("d/x" -> "d/.wh.x"), as a layer writes it.
TarEntry whiteout_entry(std::string_view deleted_path);
// The opaque marker of directory `dir` ("d" -> "d/.wh..wh..opq").
TarEntry opaque_entry(std::string_view dir);
// The path a whiteout deletes ("d/.wh.x" -> "d/x"); the path itself for other entries.
std::string whiteout_target(const TarEntry& entry);

// Canonical order of paths: component by component, bytewise ("a" < "a/b" < "a-b").
bool canonical_less(std::string_view a, std::string_view b);
struct CanonicalLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return canonical_less(a, b); }
};

// "d/x" -> "d"; "x" -> "" (the root).
std::string_view parent_path(std::string_view path);

std::string describe(const TarEntry& entry);  // one line, for test failures and logs

// libarchive 3.6 writes an xattr as LIBARCHIVE.xattr.<url-encoded name> and as
// SCHILY.xattr.<url-encoded name>, and reading decodes only the first: a name that needs
// encoding ("user.x y") comes back twice, once as "user.x%20y". Removes such encoded twins,
// so each xattr of the layer is there once, under its real name.
void drop_encoded_xattr_twins(std::map<std::string, std::string>& xattrs);

}  // namespace gantry::runtime::image
