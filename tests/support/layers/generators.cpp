#include "tests/support/layers/generators.h"

#include <set>

#include "model/layers/apply.h"
#include "model/layers/diff.h"

namespace gantry::testing::layers {

using model::layers::Changeset;
using model::layers::Entry;
using model::layers::EntryKind;
using model::layers::Node;
using model::layers::NodeType;
using model::layers::PathLess;
using model::layers::Tree;

namespace {

std::string gen_name(const TreeGenOptions& o) {
  if (o.long_names && *rc::gen::inRange(0, 8) == 0) {
    int len = *rc::gen::inRange(60, 121);
    return std::string(static_cast<size_t>(len), *rc::gen::element('n', 'm')) +
           std::to_string(*rc::gen::inRange(0, 3));
  }
  return *rc::gen::element<std::string>("a", "b", "c", "d", "a-b", "a.b", "dir", "f.txt", "sp ace",
                                        "x=y%", "Z");
}

uint32_t gen_id(const TreeGenOptions& o) {
  if (o.odd_numbers && *rc::gen::inRange(0, 4) == 0)
    return *rc::gen::element<uint32_t>(262143, 262144, 2097151, 2097152, 16777216, 4294967294u);
  return *rc::gen::element<uint32_t>(0, 0, 1, 1000, 65534);
}

int64_t gen_mtime(const TreeGenOptions& o) {
  if (o.odd_numbers && *rc::gen::inRange(0, 4) == 0)
    return *rc::gen::element<int64_t>(-1, -5, 0x7ffffffe, 0x7fffffff, int64_t{1} << 33,
                                      int64_t{1} << 40);
  return *rc::gen::element<int64_t>(0, 1, 1700000000, *rc::gen::inRange<int64_t>(0, 0x7ffffffe));
}

std::string gen_bytes(int max_len) {
  int len = *rc::gen::inRange(0, max_len + 1);
  std::string s;
  for (int i = 0; i < len; ++i) s += static_cast<char>(*rc::gen::inRange(0, 256));
  return s;
}

model::layers::Xattrs gen_xattrs() {
  model::layers::Xattrs x;
  int n = *rc::gen::element(0, 0, 0, 1, 2, 3);
  for (int i = 0; i < n; ++i) {
    std::string name = *rc::gen::element<std::string>("user.a", "user.b", "user.long.name",
                                                      "user.x y", "user.%=", "user.\xc3\xa9");
    x[name] = gen_bytes(40);
  }
  return x;
}

Node gen_node(const TreeGenOptions& o, bool allow_dir = true) {
  std::vector<NodeType> types = {NodeType::regular, NodeType::regular, NodeType::symlink,
                                 NodeType::fifo};
  if (allow_dir) types.insert(types.end(), {NodeType::directory, NodeType::directory});
  if (o.devices) types.insert(types.end(), {NodeType::char_device, NodeType::block_device});
  Node n;
  n.type = *rc::gen::elementOf(types);
  n.mode = *rc::gen::element<uint32_t>(0644, 0755, 0600, 0700, 04755, 02755, 01777, 0444,
                                       *rc::gen::inRange<uint32_t>(0, 010000));
  n.uid = gen_id(o);
  n.gid = gen_id(o);
  n.mtime = gen_mtime(o);
  switch (n.type) {
    case NodeType::regular:
      n.content = *rc::gen::element(0, 1, 2) == 0 ? gen_bytes(1200) : "x";
      break;
    case NodeType::symlink:
      if (!o.symlink_any_mode) n.mode = 0777;
      n.target = *rc::gen::element<std::string>("a", "../../etc/passwd", "/", "/etc/shadow",
                                                "dir/f.txt", "nowhere", std::string(150, 'l'));
      break;
    case NodeType::char_device:
    case NodeType::block_device:
      n.major = o.odd_numbers && *rc::gen::inRange(0, 3) == 0 ? 300000 : *rc::gen::inRange(1, 256);
      n.minor = o.odd_numbers && *rc::gen::inRange(0, 3) == 0 ? 5000000 : *rc::gen::inRange(0, 256);
      break;
    default:
      break;
  }
  bool xattrs_ok = n.type == NodeType::regular || n.type == NodeType::directory ||
                   (n.type == NodeType::symlink && o.symlink_xattrs);
  if (xattrs_ok) n.xattrs = gen_xattrs();
  return n;
}

std::vector<std::string> dirs_of(const Tree& t) {
  std::vector<std::string> out = {""};
  for (const auto& p : t.paths())
    if (t.is_dir(p)) out.push_back(p);
  return out;
}

std::vector<std::string> files_of(const Tree& t) {
  std::vector<std::string> out;
  for (const auto& p : t.paths())
    if (t.find(p)->is_regular()) out.push_back(p);
  return out;
}

// One random change; changes that the tree refuses are simply skipped.
void change(Tree& t, const TreeGenOptions& o, bool allow_removal) {
  auto paths = t.paths();
  int what = *rc::gen::inRange(0, allow_removal ? 10 : 3);
  if (paths.empty()) what = 0;
  auto any_path = [&] { return *rc::gen::elementOf(paths); };
  switch (what) {
    case 0:
    case 1: {
      std::string path = model::layers::join_path(*rc::gen::elementOf(dirs_of(t)), gen_name(o));
      (void)t.put(path, gen_node(o));
      break;
    }
    case 2: {
      auto files = files_of(t);
      if (files.empty()) break;
      std::string path = model::layers::join_path(*rc::gen::elementOf(dirs_of(t)), gen_name(o));
      (void)t.link(path, *rc::gen::elementOf(files));
      break;
    }
    case 3:
      t.remove(any_path());
      break;
    case 4: {
      std::string path = any_path();
      // Linux keeps symlinks at 0777: only a generator that allows other modes changes them.
      if (t.find(path)->type == NodeType::symlink && !o.symlink_any_mode) break;
      (void)t.set_mode(path, *rc::gen::element<uint32_t>(0600, 0755, 04711));
      break;
    }
    case 5:
      (void)t.set_owner(any_path(), gen_id(o), gen_id(o));
      break;
    case 6:
      (void)t.set_mtime(any_path(), gen_mtime(o));
      break;
    case 7: {
      std::string path = any_path();
      if (t.find(path)->type == NodeType::symlink && !o.symlink_xattrs) break;
      (void)t.set_xattr(path, "user.a", gen_bytes(10));
      break;
    }
    case 8:
      (void)t.set_content(any_path(), gen_bytes(700));
      break;
    case 9:
      (void)t.put(any_path(), gen_node(o));
      break;
  }
}

// Re-derives hardlink entries: a member whose group has a path outside the layer links to
// it (the file is below, unchanged); otherwise the first member in tar order is written in
// full and the others link to it.
Changeset assemble(const Tree& upper, const std::set<std::string, PathLess>& upserts,
                   const std::vector<Entry>& others) {
  Changeset out;
  std::set<std::string, PathLess> emitted;
  for (const auto& p : upserts) {
    const Node& node = *upper.find(p);
    auto group = upper.link_group(p);
    if (node.is_regular() && group.size() > 1) {
      const std::string* target = nullptr;
      for (const auto& m : group)
        if (!upserts.count(m)) target = target ? target : &m;
      for (const auto& m : group)
        if (!target && emitted.count(m)) target = &m;
      if (target) {
        out.entries.push_back(Entry::hardlink(p, *target, node));
        continue;
      }
      emitted.insert(p);
    }
    out.entries.push_back(Entry::upsert(p, node));
  }
  out.entries.insert(out.entries.end(), others.begin(), others.end());
  out.sort();
  return out;
}

}  // namespace

rc::Gen<Tree> gen_tree(TreeGenOptions options) {
  return rc::gen::exec([options] {
    Tree t;
    int steps = *rc::gen::inRange(0, options.max_steps + 1);
    for (int i = 0; i < steps; ++i) change(t, options, false);
    return t;
  });
}

rc::Gen<Tree> gen_changed_tree(const Tree& base, TreeGenOptions options) {
  return rc::gen::exec([base, options] {
    Tree t = base;
    int steps = *rc::gen::inRange(0, options.max_steps / 2 + 2);
    for (int i = 0; i < steps; ++i) change(t, options, true);
    return t;
  });
}

rc::Gen<Changeset> gen_layer(const Tree& below, TreeGenOptions options) {
  return rc::gen::exec([below, options] {
    Tree upper = *gen_changed_tree(below, options);
    Changeset d = model::layers::diff(below, upper);
    std::set<std::string, PathLess> upserts;
    std::vector<Entry> others;
    for (const auto& e : d.entries) {
      if (e.kind == EntryKind::whiteout) {
        others.push_back(e);
      } else {
        upserts.insert(e.path);
      }
    }
    // A whiteout of a name that exists nowhere.
    if (*rc::gen::inRange(0, 3) == 0) {
      std::string dir = *rc::gen::elementOf(dirs_of(upper));
      std::string path = model::layers::join_path(dir, "ghost" + gen_name(options));
      if (!below.contains(path) && !upper.contains(path)) others.push_back(Entry::whiteout(path));
    }
    // An opaque directory that re-adds what it holds in U.
    std::vector<std::string> both;
    for (const auto& p : upper.paths())
      if (upper.is_dir(p) && below.is_dir(p)) both.push_back(p);
    if (!both.empty() && *rc::gen::inRange(0, 3) == 0) {
      std::string dir = *rc::gen::elementOf(both);
      std::erase_if(others,
                    [&](const Entry& e) { return model::layers::is_ancestor(dir, e.path); });
      for (const auto& p : upper.subtree(dir)) upserts.insert(p);
      for (auto a = std::string(model::layers::parent_of(dir)); !a.empty();
           a = std::string(model::layers::parent_of(a)))
        upserts.insert(a);
      others.push_back(Entry::opaque(dir));
    }
    return assemble(upper, upserts, others);
  });
}

rc::Gen<std::vector<Changeset>> gen_stack(int max_layers, TreeGenOptions options) {
  return rc::gen::exec([max_layers, options] {
    int n = *rc::gen::inRange(1, max_layers + 1);
    std::vector<Changeset> stack;
    Tree below;
    for (int i = 0; i < n; ++i) {
      Changeset layer = *gen_layer(below, options);
      auto next = model::layers::apply(below, layer);
      RC_ASSERT(next.has_value());
      below = std::move(*next);
      stack.push_back(std::move(layer));
    }
    return stack;
  });
}

rc::Gen<Changeset> gen_changeset(TreeGenOptions options) {
  return rc::gen::exec([options] {
    Changeset c;
    int n = *rc::gen::inRange(0, 12);
    for (int i = 0; i < n; ++i) {
      int depth = *rc::gen::inRange(1, 4);
      std::string path;
      for (int k = 0; k < depth; ++k) path = model::layers::join_path(path, gen_name(options));
      switch (*rc::gen::inRange(0, 6)) {
        case 0:
          c.entries.push_back(Entry::whiteout(path));
          break;
        case 1:
          c.entries.push_back(Entry::opaque(path));
          break;
        case 2: {
          std::string target = gen_name(options) + "/" + gen_name(options);
          c.entries.push_back(Entry::hardlink(path, target, gen_node(options, false)));
          break;
        }
        default: {
          TreeGenOptions o = options;
          o.symlink_xattrs = true;
          c.entries.push_back(Entry::upsert(path, gen_node(o)));
        }
      }
    }
    c.sort();
    return c;
  });
}

}  // namespace gantry::testing::layers
