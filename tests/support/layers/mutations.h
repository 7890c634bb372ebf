// Changes made to a live filesystem (a mounted snapshot) and predicted on a model tree, for
// properties that diff what a container did.
//
// Vocabulary:
// - mutation: one change at a path: write_file (create, or replace a non-directory, with a new
//   file), mkdir, remove_all (rm -r), unlink (a non-directory), symlink, hardlink (to an
//   existing regular file), chmod, chown, set_xattr (user.*, regular files and directories),
//   rewrite (new content of a file with exactly one link), set_mtime.
// - stamp: after each mutation both sides set the mtime of the touched entry (when it still
//   exists) and of every directory whose entries changed (the parent of a created or removed
//   name) to the mutation's `mtime`, so what the kernel would set from the clock is predictable.
//   The root is never stamped (it is not part of a layer).
//
// The generator only makes mutations that are valid on the current model and that every
// backend can do without breaking a hardlink group: overlayfs (without index=on) copies up one
// member of a group alone, so metadata and content changes, and new links, are only made to
// regular files with one link.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "model/layers/tree.h"

namespace gantry::testing::layers {

enum class MutationKind {
  write_file,
  mkdir,
  remove_all,
  unlink,
  symlink,
  hardlink,
  chmod,
  chown,
  set_xattr,
  rewrite,
  set_mtime,
};

std::string_view to_string(MutationKind kind);

struct Mutation {
  MutationKind kind = MutationKind::write_file;
  std::string path;
  std::string target;    // symlink: its target; hardlink: the existing file
  std::string content;   // write_file, rewrite
  uint32_t mode = 0644;  // write_file, mkdir, chmod
  uint32_t uid = 0;      // write_file, mkdir, symlink, chown
  uint32_t gid = 0;
  std::string xattr_name;  // set_xattr
  std::string xattr_value;
  int64_t mtime = 0;  // the stamp (see above); set_mtime's value

  friend bool operator==(const Mutation&, const Mutation&) = default;
};

std::ostream& operator<<(std::ostream& os, const Mutation& m);
std::ostream& operator<<(std::ostream& os, const std::vector<Mutation>& ms);

// A sequence of up to max_count mutations, each valid on `base` changed by those before it.
rc::Gen<std::vector<Mutation>> gen_mutations(const model::layers::Tree& base, int max_count = 12);

// The mutation on the model, stamps included. chown of a non-directory, non-symlink clears
// setuid, and setgid when group-execute is set, as Linux does.
Result<void> apply_to_model(model::layers::Tree& tree, const Mutation& m);

// The mutation with real syscalls under root (a mounted view), stamps included. Created
// entries get the mutation's owner and exact mode whatever the umask or a setgid parent say.
Result<void> apply_to_directory(const std::filesystem::path& root, const Mutation& m);

}  // namespace gantry::testing::layers
