#include "model/layers/changeset.h"

#include <algorithm>
#include <ostream>

namespace gantry::model::layers {

namespace {

// Compares tar names (no trailing '/') component by component; the opaque marker sorts
// before every other name in its directory.
int compare_tar_names(std::string_view a, std::string_view b) {
  while (true) {
    if (a.empty() || b.empty()) {
      if (a.empty() && b.empty()) return 0;
      return a.empty() ? -1 : 1;
    }
    size_t sa = a.find('/');
    size_t sb = b.find('/');
    std::string_view ca = a.substr(0, sa);
    std::string_view cb = b.substr(0, sb);
    if (ca != cb) {
      if (ca == kOpaqueMarker) return -1;
      if (cb == kOpaqueMarker) return 1;
      return ca < cb ? -1 : 1;  // string_view compares bytes as unsigned (char_traits)
    }
    a = sa == std::string_view::npos ? std::string_view() : a.substr(sa + 1);
    b = sb == std::string_view::npos ? std::string_view() : b.substr(sb + 1);
  }
}

std::string sort_name(const Entry& e) {
  std::string n = e.tar_name();
  if (n.ends_with('/')) n.pop_back();
  return n;
}

}  // namespace

std::string_view to_string(EntryKind kind) {
  switch (kind) {
    case EntryKind::upsert:
      return "upsert";
    case EntryKind::hardlink:
      return "hardlink";
    case EntryKind::whiteout:
      return "whiteout";
    case EntryKind::opaque:
      return "opaque";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, EntryKind kind) {
  return os << to_string(kind);
}

Entry Entry::upsert(std::string path, Node node) {
  return Entry{EntryKind::upsert, std::move(path), node.normalized(), {}};
}

Entry Entry::hardlink(std::string path, std::string target, const Node& file) {
  Node meta;
  meta.type = NodeType::regular;
  meta.mode = file.mode & 07777;
  meta.uid = file.uid;
  meta.gid = file.gid;
  meta.mtime = file.mtime;
  return Entry{EntryKind::hardlink, std::move(path), std::move(meta), std::move(target)};
}

Entry Entry::whiteout(std::string path) {
  return Entry{EntryKind::whiteout, std::move(path), Node{}, {}};
}

Entry Entry::opaque(std::string dir) {
  return Entry{EntryKind::opaque, std::move(dir), Node{}, {}};
}

std::string Entry::tar_name() const {
  switch (kind) {
    case EntryKind::whiteout:
      return join_path(parent_of(path), std::string(kWhiteoutPrefix) + std::string(base_of(path)));
    case EntryKind::opaque:
      return join_path(path, kOpaqueMarker);
    case EntryKind::upsert:
      return node.is_dir() ? path + "/" : path;
    case EntryKind::hardlink:
      return path;
  }
  return path;
}

std::ostream& operator<<(std::ostream& os, const Entry& e) {
  os << to_string(e.kind) << " " << e.path;
  if (e.kind == EntryKind::upsert) os << ": " << e.node;
  if (e.kind == EntryKind::hardlink) os << " -> " << e.link_target << ": " << e.node;
  return os;
}

bool entry_less(const Entry& a, const Entry& b) {
  return compare_tar_names(sort_name(a), sort_name(b)) < 0;
}

void Changeset::sort() {
  std::stable_sort(entries.begin(), entries.end(), entry_less);
}

bool Changeset::is_sorted() const {
  return std::is_sorted(entries.begin(), entries.end(), entry_less);
}

std::ostream& operator<<(std::ostream& os, const Changeset& c) {
  os << "changeset (" << c.entries.size() << " entries)\n";
  for (const auto& e : c.entries) os << "  " << e << "\n";
  return os;
}

}  // namespace gantry::model::layers
