#include "model/layers/apply.h"

#include <set>

namespace gantry::model::layers {

namespace {

using PathSet = std::set<std::string, PathLess>;

// Makes the parents of path (remembering them as written by this layer).
Result<void> parents(Tree& tree, std::string_view path, PathSet& written) {
  GANTRY_ASSIGN_OR_RETURN(auto created, tree.make_parents(path));
  written.insert(created.begin(), created.end());
  return ok();
}

Result<void> apply_entry(Tree& tree, const Entry& e, PathSet& written, PathSet& opaque_dirs) {
  GANTRY_TRY(check_path(e.path));
  switch (e.kind) {
    case EntryKind::upsert:
      GANTRY_TRY(parents(tree, e.path, written));
      GANTRY_TRY(tree.put(e.path, e.node));
      written.insert(e.path);
      return ok();
    case EntryKind::hardlink:
      GANTRY_TRY(parents(tree, e.path, written));
      GANTRY_TRY(tree.link(e.path, e.link_target));
      written.insert(e.path);
      return ok();
    case EntryKind::whiteout:
      tree.remove(e.path);
      return ok();
    case EntryKind::opaque: {
      // The marker is an entry inside e.path: make the directory when it is missing.
      std::string marker = join_path(e.path, "x");
      GANTRY_TRY(parents(tree, marker, written));
      opaque_dirs.insert(e.path);
      return ok();
    }
  }
  return ok();
}

bool holds_written(const PathSet& written, const Tree& tree, const std::string& dir) {
  for (auto it = written.upper_bound(dir); it != written.end() && is_ancestor(dir, *it); ++it) {
    if (tree.contains(*it)) return true;
  }
  return false;
}

Result<void> apply_opaque(Tree& tree, const std::string& dir, const PathSet& written) {
  if (!tree.is_dir(dir)) return ok();  // replaced or removed later in the same layer
  for (const auto& p : tree.subtree(dir)) {
    if (p == dir || !tree.contains(p) || written.count(p)) continue;
    if (tree.is_dir(p) && holds_written(written, tree, p)) {
      // Kept for what this layer wrote below it, but without its metadata from below.
      GANTRY_TRY(tree.put(p, Node::dir(0755)));
      continue;
    }
    tree.remove(p);
  }
  return ok();
}

}  // namespace

Result<Tree> apply(Tree tree, const Changeset& layer) {
  PathSet written;
  PathSet opaque_dirs;
  for (size_t i = 0; i < layer.entries.size(); ++i) {
    const Entry& e = layer.entries[i];
    GANTRY_TRY_CTX(apply_entry(tree, e, written, opaque_dirs),
                   "entry " + std::to_string(i) + " '" + e.tar_name() + "'");
  }
  for (const auto& dir : opaque_dirs) {
    GANTRY_TRY_CTX(apply_opaque(tree, dir, written), "opaque '" + dir + "'");
  }
  return tree;
}

Result<Tree> union_of(const std::vector<Changeset>& stack) {
  Tree tree;
  for (size_t i = 0; i < stack.size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN_CTX(tree, apply(std::move(tree), stack[i]),
                                "layer " + std::to_string(i));
  }
  return tree;
}

}  // namespace gantry::model::layers
