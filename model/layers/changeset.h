// Changesets: a layer as an ordered list of entries (docs/layers.md).
//
// Vocabulary:
// - upsert p: put node at p (a directory onto a directory keeps its children).
// - hardlink p -> t: p becomes one more name of the regular file t; the entry carries the
//   file's mode, uid, gid and mtime (written into the tar), never content or xattrs.
// - whiteout p: remove p and all below it; written in a tar as "dir(p)/.wh.base(p)".
// - opaque d: every child of d that does not come from this layer goes; written in a tar as
//   "d/.wh..wh..opq".
// - canonical order: by tar name, component by component, bytewise, except that an opaque
//   marker comes right after its directory.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "model/layers/tree.h"

namespace gantry::model::layers {

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

enum class EntryKind : uint8_t { upsert, hardlink, whiteout, opaque };

std::string_view to_string(EntryKind kind);
std::ostream& operator<<(std::ostream& os, EntryKind kind);

struct Entry {
  EntryKind kind = EntryKind::upsert;
  std::string path;         // the path the entry is about (for opaque: the directory)
  Node node;                // upsert: the node; hardlink: the file's metadata; else default
  std::string link_target;  // hardlink only

  static Entry upsert(std::string path, Node node);
  static Entry hardlink(std::string path, std::string target, const Node& file);
  static Entry whiteout(std::string path);
  static Entry opaque(std::string dir);

  // The name in a tar: "d/.wh.x", "d/.wh..wh..opq", directories with a trailing '/'.
  std::string tar_name() const;

  friend bool operator==(const Entry&, const Entry&) = default;
};

std::ostream& operator<<(std::ostream& os, const Entry& entry);

// Canonical order of entries (see above).
bool entry_less(const Entry& a, const Entry& b);

struct Changeset {
  std::vector<Entry> entries;

  // Sorts the entries into canonical order (stable for equal names).
  void sort();
  bool is_sorted() const;
  friend bool operator==(const Changeset&, const Changeset&) = default;
};

std::ostream& operator<<(std::ostream& os, const Changeset& changeset);

}  // namespace gantry::model::layers
