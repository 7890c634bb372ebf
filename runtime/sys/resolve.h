// Safe path resolution inside a root directory.
//
// Vocabulary:
//   root     a directory that plays "/" for the paths resolved below it: a layer's target, an
//            overlay upper, a container's rootfs. Held as a directory fd (root_fd).
//   relpath  a path inside the root. Leading '/' are ignored; "." and empty components are
//            ignored; ".." is clamped at the root (as "/.." is "/"); symlinks met on the way,
//            absolute or relative, are followed as if the root were "/". Nothing a relpath
//            or a symlink under the root says can name a file outside it.
//
// The kernel does this with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); where openat2
// is missing (ENOSYS, old kernels, some seccomp profiles) a component-by-component walk with
// O_NOFOLLOW does the same, one symlink at a time, up to 40 of them (then ELOOP).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::sys {

// Opens the directory that will act as the root (O_RDONLY | O_DIRECTORY | O_CLOEXEC).
Result<UniqueFd> open_root(const std::filesystem::path& dir);

// Opens relpath inside the root with openat-style flags (O_CLOEXEC is always added). A final
// symlink is followed inside the root unless flags hold O_NOFOLLOW. With O_CREAT the file is
// created inside the root; an existing final symlink under O_CREAT without O_NOFOLLOW is
// followed inside the root, as open(2) does.
Result<UniqueFd> open_in_root(int root_fd, std::string_view relpath, int flags, mode_t mode = 0);

struct ParentAndName {
  UniqueFd dir;      // the directory that holds the final component (inside the root)
  std::string name;  // the final component: one name, never "", "." or ".."
};

// Opens the directory that holds relpath's final component. The final component itself is
// not looked at (the caller creates, replaces or removes it with *at calls and O_NOFOLLOW).
// With create_missing_parents, missing directories on the way are created with mode 0755
// (umask ignored), owned by the caller; their relpaths (as written in relpath, cleaned) are
// appended to created_dirs when it is given. A relpath that names the root itself, or whose
// final component is "..", is invalid_argument.
Result<ParentAndName> open_parent_in_root(int root_fd, std::string_view relpath,
                                          bool create_missing_parents,
                                          std::vector<std::string>* created_dirs = nullptr);

// Splits a relpath into its components, dropping empty and "." ones (".." is kept).
std::vector<std::string_view> split_relpath(std::string_view relpath);

// For tests: resolve with the openat walk even where openat2 works.
void force_resolve_walk_for_testing(bool on);

}  // namespace gantry::runtime::sys
