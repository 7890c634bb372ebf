// LayerStack: the directories of a union, and how a path resolves across them.
//
//   layer index  0 is the upper (writable) layer, 1..n the lowers top first. Without an upper,
//                index 0 is an empty slot that nothing resolves to.
//   whiteout     a 0:0 character device: hides the name in every layer below it.
//   opaque dir   a directory with trusted.overlay.opaque=y: hides the children of the same
//                directory in every layer below it.
//   dir layers   for a directory, the layers that contribute children, top first: each layer
//                where the path is a directory, down to the first opaque one, stopping at a
//                layer where the path is a whiteout or not a directory.
//
// Paths are relative to a layer root ("" is the root). Lowers never change; only the union
// filesystem writes the upper layer.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::fuse {

inline constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
inline constexpr const char* kOverlayXattrPrefix = "trusted.overlay.";

inline bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

// How a name resolves: where it is found first, and, for a directory, its dir layers.
struct Resolved {
  bool exists = false;
  int layer = -1;  // topmost layer holding it
  struct stat st {};
  std::vector<int> dir_layers;  // directories only
  bool whiteout_seen = false;   // a whiteout hid the name (or an older one) somewhere
};

class LayerStack {
 public:
  static Result<LayerStack> open(const std::optional<std::filesystem::path>& upper,
                                 const std::vector<std::filesystem::path>& lowers);

  bool has_upper() const { return fds_[0].valid(); }
  int count() const { return static_cast<int>(fds_.size()); }
  int fd(int layer) const { return fds_[layer].get(); }
  const std::string& root(int layer) const { return roots_[layer]; }

  // "root/rel" for path-based calls (xattrs); the root itself for "".
  std::string absolute(int layer, const std::string& rel) const;

  // The dir layers of the root directory.
  std::vector<int> root_dir_layers() const;

  // Resolves parent/name, looking only in parent's dir layers from position `from` on.
  Resolved resolve(const std::vector<int>& parent_dir_layers, const std::string& rel,
                   size_t from = 0) const;

  bool is_opaque(int layer, const std::string& rel) const;

  // A stable inode number: the same file in the same layer always gets the same number, and
  // hardlinks inside a layer share it.
  static uint64_t inode_number(int layer, ino_t backing) {
    return (static_cast<uint64_t>(layer) << 48) ^ static_cast<uint64_t>(backing);
  }

 private:
  std::vector<sys::UniqueFd> fds_;
  std::vector<std::string> roots_;
};

// "." for the root, rel otherwise: what the *at() calls want.
inline const char* at_path(const std::string& rel) {
  return rel.empty() ? "." : rel.c_str();
}

inline std::string join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

}  // namespace gantry::runtime::fuse
