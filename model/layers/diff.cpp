#include "model/layers/diff.h"

#include <set>

namespace gantry::model::layers {

bool node_changed(const Tree& lower, const Tree& upper, std::string_view path) {
  const Node* l = lower.find(path);
  const Node* u = upper.find(path);
  if (l == nullptr || u == nullptr) return l != u;
  if (!(*l == *u)) return true;
  return u->is_regular() && lower.link_group(path) != upper.link_group(path);
}

Changeset diff(const Tree& lower, const Tree& upper) {
  std::set<std::string, PathLess> upserts;
  std::set<std::string, PathLess> whiteouts;
  for (const auto& p : upper.paths()) {
    if (node_changed(lower, upper, p)) upserts.insert(p);
  }
  for (const auto& p : lower.paths()) {
    if (!upper.contains(p) && upper.is_dir(parent_of(p))) whiteouts.insert(p);
  }
  // Ancestors of every entry, with their node in U (they are directories there).
  std::set<std::string, PathLess> ancestors;
  auto add_ancestors = [&](std::string_view p) {
    for (std::string_view d = parent_of(p); !d.empty(); d = parent_of(d)) {
      if (!ancestors.emplace(d).second) break;
    }
  };
  for (const auto& p : upserts) add_ancestors(p);
  for (const auto& p : whiteouts) add_ancestors(p);
  upserts.insert(ancestors.begin(), ancestors.end());

  Changeset out;
  std::set<std::string, PathLess> emitted;  // regular files written so far
  for (const auto& p : upserts) {
    const Node& node = *upper.find(p);
    if (node.is_regular()) {
      auto group = upper.link_group(p);
      if (group.size() > 1) {
        // The first member in tar order is written in full; the others link to it. Every
        // member of a changed group is in the changeset, so the first one is group[0]
        // unless it came earlier already.
        const std::string* first = nullptr;
        for (const auto& m : group) {
          if (emitted.count(m)) {
            first = &m;
            break;
          }
        }
        if (first != nullptr) {
          out.entries.push_back(Entry::hardlink(p, *first, node));
          continue;
        }
        emitted.insert(p);
      }
    }
    out.entries.push_back(Entry::upsert(p, node));
  }
  for (const auto& p : whiteouts) out.entries.push_back(Entry::whiteout(p));
  out.sort();
  return out;
}

}  // namespace gantry::model::layers
