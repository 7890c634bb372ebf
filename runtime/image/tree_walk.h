// Tree walk: the metadata of a directory tree in canonical order (docs/layers.md), read the
// way a layer sees it: lstat semantics (symlinks are never followed, neither at the end nor in
// the middle of a path), mtime in whole seconds, user.* xattrs only, fd-relative throughout.
//
//   root      an open directory; paths are relative to it, without leading or trailing '/'.
//   node      one file, directory, symlink, fifo or device below the root (never the root).
//   link key  (st_dev, st_ino) of a regular file with st_nlink > 1; the paths of a walk that
//             share a key are one link group.
//   overlay format  the walk also reports what overlayfs keeps in an upper or lower dir:
//             whiteouts (0:0 character devices, or files with trusted.overlay.whiteout),
//             opaque directories (trusted.overlay.opaque=y) and the features we do not
//             support in a diff (redirect_dir, metacopy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/base/result.h"
#include "runtime/image/tar_entry.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::image {

struct WalkOptions {
  bool overlay_format = false;
};

struct WalkNode {
  // type is regular, directory, symlink, fifo, char_device or block_device; size_bytes is set
  // for regular files, link_target for symlinks, rdev for devices, xattrs holds user.* only.
  TarEntry meta;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t nlink = 1;
  // Overlay format only.
  bool whiteout = false;
  bool opaque = false;
  bool unsupported_overlay = false;  // trusted.overlay.redirect or trusted.overlay.metacopy

  bool linked() const { return meta.type == EntryType::regular && nlink > 1; }
};

struct LinkKey {
  uint64_t dev = 0;
  uint64_t ino = 0;
  friend bool operator==(const LinkKey&, const LinkKey&) = default;
};
struct LinkKeyHash {
  size_t operator()(const LinkKey& k) const { return k.ino * 0x9E3779B97F4A7C15ull ^ k.dev; }
};
inline LinkKey link_key(const WalkNode& n) {
  return {n.dev, n.ino};
}

// Paths of each link group, in canonical order (only regular files with nlink > 1 appear).
using LinkGroups = std::unordered_map<LinkKey, std::vector<std::string>, LinkKeyHash>;
LinkGroups link_groups(const std::vector<WalkNode>& nodes);

// Opens a tree's root directory (O_DIRECTORY|O_NOFOLLOW).
Result<sys::UniqueFd> open_tree(const std::filesystem::path& root);

// Opens rel below root_fd without following any symlink (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS); rel "" is the root itself.
Result<sys::UniqueFd> open_in_tree(int root_fd, std::string_view rel, int flags);

// Every node below `start` ("" = the whole tree), in canonical order, paths relative to root.
Result<std::vector<WalkNode>> walk_tree(int root_fd, std::string_view start = "",
                                        const WalkOptions& options = {});
Result<std::vector<WalkNode>> walk_tree(const std::filesystem::path& root,
                                        const WalkOptions& options = {});

// The children of directory `dir` (not recursive), sorted by name.
Result<std::vector<WalkNode>> list_dir(int root_fd, std::string_view dir,
                                       const WalkOptions& options = {});

// The node at rel, or nullopt when nothing is there (or a component on the way is not a
// directory, or is a symlink).
Result<std::optional<WalkNode>> stat_node(int root_fd, std::string_view rel,
                                          const WalkOptions& options = {});

}  // namespace gantry::runtime::image
