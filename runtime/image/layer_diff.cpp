#include "runtime/image/layer_diff.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "runtime/image/tree_walk.h"

namespace gantry::runtime::image {

using sys::UniqueFd;

namespace {

// ---- the plan: what goes into the tar, keyed by member path (canonical order) ----

struct Planned {
  bool whiteout = false;
  WalkNode node;     // the node in U (upserts)
  int root_fd = -1;  // the tree that holds the node's content
};

using Plan = std::map<std::string, Planned, CanonicalLess>;

void plan_upsert(Plan& plan, const WalkNode& node, int root_fd) {
  plan[node.meta.path] = Planned{false, node, root_fd};
}

void plan_whiteout(Plan& plan, std::string_view deleted_path) {
  Planned p;
  p.whiteout = true;
  plan[whiteout_entry(deleted_path).path] = std::move(p);
}

// The U node of a directory above an entry, for the ancestors rule.
using AncestorLookup = std::function<Result<Planned>(std::string_view dir)>;

Result<void> write_node(LayerWriter& writer, const Planned& p,
                        std::unordered_map<LinkKey, std::string, LinkKeyHash>& first_member) {
  const TarEntry& meta = p.node.meta;
  if (meta.type != EntryType::regular) return writer.add(meta);
  if (p.node.linked()) {
    auto [it, inserted] = first_member.emplace(link_key(p.node), meta.path);
    if (!inserted) {
      TarEntry link;
      link.path = meta.path;
      link.type = EntryType::hardlink;
      link.mode = meta.mode;
      link.uid = meta.uid;
      link.gid = meta.gid;
      link.mtime_s = meta.mtime_s;
      link.link_target = it->second;
      return writer.add(link);
    }
  }
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, open_in_tree(p.root_fd, meta.path, O_RDONLY));
  posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return writer.add_file(meta, fd.get());
}

Result<DiffResult> write_plan(const Plan& plan, const AncestorLookup& ancestor,
                              const ByteSink& sink) {
  GANTRY_ASSIGN_OR_RETURN(auto writer, LayerWriter::open(sink));
  std::unordered_set<std::string> dirs_written;
  std::unordered_map<LinkKey, std::string, LinkKeyHash> first_member;
  for (const auto& [path, p] : plan) {
    // Ancestors first, top down; in canonical order an ancestor not yet written belongs
    // exactly here.
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string dir = path.substr(0, slash);
      if (dirs_written.count(dir)) continue;
      GANTRY_ASSIGN_OR_RETURN(Planned a, ancestor(dir));
      if (a.node.meta.type != EntryType::directory)
        return Error(ErrorKind::internal, "diff: ancestor '" + dir + "' is not a directory");
      GANTRY_TRY(write_node(*writer, a, first_member));
      dirs_written.insert(std::move(dir));
    }
    if (p.whiteout) {
      TarEntry e;
      e.path = path;
      e.type = EntryType::whiteout;
      GANTRY_TRY(writer->add(e));
      continue;
    }
    GANTRY_TRY(write_node(*writer, p, first_member));
    if (p.node.meta.type == EntryType::directory) dirs_written.insert(path);
  }
  return writer->finish();
}

// ---- comparing one node of L with one of U ----

Result<bool> same_content(int lower_fd, const std::string& lower_path, int upper_fd,
                          const std::string& upper_path, int64_t size_bytes) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd a, open_in_tree(lower_fd, lower_path, O_RDONLY));
  GANTRY_ASSIGN_OR_RETURN(UniqueFd b, open_in_tree(upper_fd, upper_path, O_RDONLY));
  posix_fadvise(a.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  posix_fadvise(b.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  constexpr size_t kChunk = 1 << 18;
  static thread_local std::vector<char> buf_a(kChunk), buf_b(kChunk);
  int64_t remaining = size_bytes;
  auto read_full = [](int fd, char* buf, size_t want, const std::string& path) -> Result<size_t> {
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::read(fd, buf + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(errno, "read '" + path + "'");
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  };
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining, kChunk));
    GANTRY_ASSIGN_OR_RETURN(size_t na, read_full(a.get(), buf_a.data(), want, lower_path));
    GANTRY_ASSIGN_OR_RETURN(size_t nb, read_full(b.get(), buf_b.data(), want, upper_path));
    if (na != want || nb != want) return false;  // changed under us: treat as different
    if (std::memcmp(buf_a.data(), buf_b.data(), want) != 0) return false;
    remaining -= static_cast<int64_t>(want);
  }
  return true;
}

bool same_metadata(const WalkNode& l, const WalkNode& u) {
  const TarEntry& a = l.meta;
  const TarEntry& b = u.meta;
  if (a.type != b.type || a.mode != b.mode || a.uid != b.uid || a.gid != b.gid ||
      a.mtime_s != b.mtime_s || a.xattrs != b.xattrs)
    return false;
  switch (a.type) {
    case EntryType::symlink:
      return a.link_target == b.link_target;
    case EntryType::char_device:
    case EntryType::block_device:
      return a.rdev_major == b.rdev_major && a.rdev_minor == b.rdev_minor;
    case EntryType::regular:
      return a.size_bytes == b.size_bytes;
    default:
      return true;
  }
}

// The paths of n's link group (n's own path when it has none).
std::vector<std::string> group_of(const WalkNode& n, const LinkGroups& groups) {
  if (n.linked()) {
    auto it = groups.find(link_key(n));
    if (it != groups.end()) return it->second;
  }
  return {n.meta.path};
}

struct Side {
  const WalkNode& node;
  int root_fd;
  std::vector<std::string> group;
};

Result<bool> node_differs(const Side& l, const Side& u) {
  if (!same_metadata(l.node, u.node)) return true;
  if (u.node.meta.type != EntryType::regular) return false;
  if (l.group != u.group) return true;
  GANTRY_ASSIGN_OR_RETURN(bool same, same_content(l.root_fd, l.node.meta.path, u.root_fd,
                                                  u.node.meta.path, u.node.meta.size_bytes));
  return !same;
}

// ---- two full trees ----

// An invalid fd stands for the empty tree ("" or a missing directory).
Result<UniqueFd> open_optional_tree(const std::filesystem::path& root) {
  if (root.empty()) return UniqueFd();
  auto fd = open_tree(root);
  if (!fd && fd.error().errno_value() == ENOENT) return UniqueFd();
  return fd;
}

}  // namespace

Result<DiffResult> diff_directories(const std::filesystem::path& lower,
                                    const std::filesystem::path& upper, const ByteSink& sink) {
  const std::string context = "diff '" + lower.string() + "' -> '" + upper.string() + "'";
  GANTRY_ASSIGN_OR_RETURN_CTX(UniqueFd lfd, open_optional_tree(lower), context);
  GANTRY_ASSIGN_OR_RETURN_CTX(UniqueFd ufd, open_tree(upper), context);
  std::vector<WalkNode> lnodes;
  if (lfd) {
    GANTRY_ASSIGN_OR_RETURN_CTX(lnodes, walk_tree(lfd.get()), context);
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(std::vector<WalkNode> unodes, walk_tree(ufd.get()), context);
  LinkGroups lgroups = link_groups(lnodes);
  LinkGroups ugroups = link_groups(unodes);
  std::unordered_map<std::string_view, size_t> uindex;
  uindex.reserve(unodes.size());
  for (size_t j = 0; j < unodes.size(); ++j) uindex.emplace(unodes[j].meta.path, j);
  auto is_u_dir = [&](std::string_view path) {
    if (path.empty()) return true;
    auto it = uindex.find(path);
    return it != uindex.end() && unodes[it->second].meta.type == EntryType::directory;
  };

  Plan plan;
  int l_root = lfd.get();
  size_t i = 0, j = 0;
  while (i < lnodes.size() || j < unodes.size()) {
    bool take_u = i == lnodes.size() ||
                  (j < unodes.size() && canonical_less(unodes[j].meta.path, lnodes[i].meta.path));
    bool take_l =
        !take_u && (j == unodes.size() || canonical_less(lnodes[i].meta.path, unodes[j].meta.path));
    if (take_u) {
      plan_upsert(plan, unodes[j++], ufd.get());
    } else if (take_l) {
      const WalkNode& l = lnodes[i++];
      if (is_u_dir(parent_path(l.meta.path))) plan_whiteout(plan, l.meta.path);
    } else {
      const WalkNode& l = lnodes[i++];
      const WalkNode& u = unodes[j++];
      Side ls{l, l_root, {}};
      Side us{u, ufd.get(), {}};
      if (u.meta.type == EntryType::regular) {
        ls.group = group_of(l, lgroups);
        us.group = group_of(u, ugroups);
      }
      GANTRY_ASSIGN_OR_RETURN_CTX(bool differs, node_differs(ls, us), context);
      if (differs) plan_upsert(plan, u, ufd.get());
    }
  }
  AncestorLookup ancestor = [&](std::string_view dir) -> Result<Planned> {
    auto it = uindex.find(dir);
    if (it == uindex.end())
      return Error(ErrorKind::internal, "diff: ancestor '" + std::string(dir) + "' not in upper");
    return Planned{false, unodes[it->second], ufd.get()};
  };
  GANTRY_ASSIGN_OR_RETURN_CTX(DiffResult out, write_plan(plan, ancestor, sink), context);
  return out;
}

// ---- an overlay upper over its lowers ----

namespace {

struct LowerHit {
  int layer = -1;
  WalkNode node;
};

// The union of overlay lower directories (top first), looked up path by path, as overlayfs
// itself does: a whiteout hides what is below it, a non-directory ends the merge of a
// directory, an opaque directory hides the layers below.
class MergedLower {
 public:
  explicit MergedLower(std::vector<UniqueFd> layers) : layers_(std::move(layers)) {}

  int fd(int layer) const { return layers_[static_cast<size_t>(layer)].get(); }

  // The layers whose directory at `dir` make the merged directory (empty: not a directory).
  Result<const std::vector<int>*> dir_layers(std::string_view dir) {
    auto it = dirs_.find(std::string(dir));
    if (it != dirs_.end()) return &it->second;
    std::vector<int> found;
    if (dir.empty()) {
      for (size_t i = 0; i < layers_.size(); ++i) found.push_back(static_cast<int>(i));
    } else {
      GANTRY_ASSIGN_OR_RETURN(const std::vector<int>* parent, dir_layers(parent_path(dir)));
      for (int layer : *parent) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<WalkNode> n, stat_node(fd(layer), dir, options_));
        if (!n) continue;
        if (n->whiteout || n->meta.type != EntryType::directory) break;
        GANTRY_TRY(check_supported(*n, layer));
        found.push_back(layer);
        if (n->opaque) break;
      }
    }
    return &dirs_.emplace(std::string(dir), std::move(found)).first->second;
  }

  Result<std::optional<LowerHit>> lookup(std::string_view path) {
    GANTRY_ASSIGN_OR_RETURN(const std::vector<int>* parent, dir_layers(parent_path(path)));
    for (int layer : *parent) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<WalkNode> n, stat_node(fd(layer), path, options_));
      if (!n) continue;
      if (n->whiteout) break;
      GANTRY_TRY(check_supported(*n, layer));
      return std::optional<LowerHit>(LowerHit{layer, std::move(*n)});
    }
    return std::optional<LowerHit>();
  }

  Result<std::vector<LowerHit>> children(std::string_view dir) {
    GANTRY_ASSIGN_OR_RETURN(const std::vector<int>* layers, dir_layers(dir));
    std::map<std::string, std::optional<LowerHit>> by_name;  // nullopt: whited out
    for (int layer : *layers) {
      GANTRY_ASSIGN_OR_RETURN(std::vector<WalkNode> nodes, list_dir(fd(layer), dir, options_));
      for (auto& n : nodes) {
        std::string name = n.meta.path.substr(dir.empty() ? 0 : dir.size() + 1);
        if (by_name.count(name)) continue;
        if (n.whiteout) {
          by_name.emplace(std::move(name), std::nullopt);
          continue;
        }
        GANTRY_TRY(check_supported(n, layer));
        by_name.emplace(std::move(name), LowerHit{layer, std::move(n)});
      }
    }
    std::vector<LowerHit> out;
    for (auto& [name, hit] : by_name)
      if (hit) out.push_back(std::move(*hit));
    return out;
  }

  // Every node below dir, in canonical order.
  Result<void> walk(std::string_view dir, const std::function<void(const LowerHit&)>& fn) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<LowerHit> kids, children(dir));
    for (const auto& hit : kids) {
      fn(hit);
      if (hit.node.meta.type == EntryType::directory) GANTRY_TRY(walk(hit.node.meta.path, fn));
    }
    return ok();
  }

 private:
  Result<void> check_supported(const WalkNode& n, int layer) const {
    if (!n.unsupported_overlay) return ok();
    return Error(ErrorKind::not_implemented, "lower " + std::to_string(layer) + " path '" +
                                                 n.meta.path +
                                                 "' uses overlay redirect_dir or metacopy");
  }

  std::vector<UniqueFd> layers_;
  std::unordered_map<std::string, std::vector<int>> dirs_;
  WalkOptions options_{.overlay_format = true};
};

using LowerIndex = std::unordered_map<LinkKey, std::vector<LowerHit>, LinkKeyHash>;

}  // namespace

Result<DiffResult> diff_overlay_upper(const std::filesystem::path& upper,
                                      const std::vector<std::filesystem::path>& lowers,
                                      const ByteSink& sink) {
  const std::string context = "diff overlay upper '" + upper.string() + "'";
  GANTRY_ASSIGN_OR_RETURN_CTX(UniqueFd ufd, open_tree(upper), context);
  std::vector<UniqueFd> lower_fds;
  for (const auto& l : lowers) {
    GANTRY_ASSIGN_OR_RETURN_CTX(UniqueFd fd, open_tree(l), context);
    lower_fds.push_back(std::move(fd));
  }
  MergedLower lower(std::move(lower_fds));
  GANTRY_ASSIGN_OR_RETURN_CTX(std::vector<WalkNode> unodes,
                              walk_tree(ufd.get(), "", WalkOptions{.overlay_format = true}),
                              context);
  std::unordered_map<std::string_view, size_t> uindex;
  uindex.reserve(unodes.size());
  for (size_t j = 0; j < unodes.size(); ++j) {
    if (unodes[j].unsupported_overlay)
      return Error(ErrorKind::not_implemented, context + ": '" + unodes[j].meta.path +
                                                   "' uses overlay redirect_dir or metacopy");
    uindex.emplace(unodes[j].meta.path, j);
  }
  LinkGroups ugroups = link_groups(unodes);
  auto in_upper = [&](std::string_view path) -> const WalkNode* {
    auto it = uindex.find(path);
    return it == uindex.end() ? nullptr : &unodes[it->second];
  };

  // Pass 1: each upper path against L; whiteouts; directories that hide L's children.
  Plan plan;
  std::vector<std::optional<LowerHit>> lhits(unodes.size());
  std::unordered_map<std::string_view, bool> sees_lower;  // upper dirs merged with L's
  std::vector<std::string> hidden_lower_dirs;             // scanned for hardlinks that lose members
  bool need_index = false;
  for (size_t j = 0; j < unodes.size(); ++j) {
    const WalkNode& u = unodes[j];
    const std::string& path = u.meta.path;
    GANTRY_ASSIGN_OR_RETURN_CTX(lhits[j], lower.lookup(path), context);
    const std::optional<LowerHit>& l = lhits[j];
    bool l_dir = l && l->node.meta.type == EntryType::directory;
    if (l && l->node.linked()) need_index = true;
    if (u.whiteout) {
      if (l) plan_whiteout(plan, path);
      if (l_dir) hidden_lower_dirs.push_back(path);
      continue;
    }
    if (u.meta.type != EntryType::directory) {
      if (l_dir) hidden_lower_dirs.push_back(path);
      continue;
    }
    std::string_view parent = parent_path(path);
    bool parent_sees = parent.empty() || sees_lower[parent];
    bool sees = parent_sees && !u.opaque && l_dir;
    sees_lower[path] = sees;
    if (sees || !l_dir) continue;
    // U's directory holds only what the upper holds: L's other children are deleted.
    GANTRY_ASSIGN_OR_RETURN_CTX(std::vector<LowerHit> kids, lower.children(path), context);
    for (const auto& kid : kids) {
      const WalkNode* there = in_upper(kid.node.meta.path);
      if (there && !there->whiteout) continue;
      plan_whiteout(plan, kid.node.meta.path);
      if (kid.node.linked()) need_index = true;
      if (kid.node.meta.type == EntryType::directory)
        hidden_lower_dirs.push_back(kid.node.meta.path);
    }
  }

  // Hardlink groups of L that lose members in U change for the members that stay.
  for (size_t k = 0; k < hidden_lower_dirs.size() && !need_index; ++k) {
    GANTRY_TRY_CTX(
        lower.walk(hidden_lower_dirs[k], [&](const LowerHit& h) { need_index |= h.node.linked(); }),
        context);
  }
  LowerIndex lindex;
  if (need_index) {
    GANTRY_TRY_CTX(lower.walk("",
                              [&](const LowerHit& h) {
                                if (h.node.linked()) lindex[link_key(h.node)].push_back(h);
                              }),
                   context);
  }
  auto visible_from_lower = [&](std::string_view path) {
    for (size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      const WalkNode* a = in_upper(path.substr(0, slash));
      if (!a) return true;
      if (a->whiteout || a->meta.type != EntryType::directory || a->opaque) return false;
    }
    return in_upper(path) == nullptr;
  };
  for (const auto& [key, members] : lindex) {
    std::vector<const LowerHit*> staying;
    for (const auto& m : members)
      if (visible_from_lower(m.node.meta.path)) staying.push_back(&m);
    if (staying.size() == members.size()) continue;
    for (const LowerHit* m : staying) plan_upsert(plan, m->node, lower.fd(m->layer));
  }

  // Pass 2: upper nodes that differ from L.
  for (size_t j = 0; j < unodes.size(); ++j) {
    const WalkNode& u = unodes[j];
    if (u.whiteout) continue;
    const std::optional<LowerHit>& l = lhits[j];
    if (!l) {
      plan_upsert(plan, u, ufd.get());
      continue;
    }
    Side ls{l->node, lower.fd(l->layer), {}};
    Side us{u, ufd.get(), {}};
    if (u.meta.type == EntryType::regular) {
      us.group = group_of(u, ugroups);
      ls.group = {l->node.meta.path};
      auto it = l->node.linked() ? lindex.find(link_key(l->node)) : lindex.end();
      if (it != lindex.end()) {
        ls.group.clear();
        for (const auto& m : it->second) ls.group.push_back(m.node.meta.path);
      }
    }
    GANTRY_ASSIGN_OR_RETURN_CTX(bool differs, node_differs(ls, us), context);
    if (differs) plan_upsert(plan, u, ufd.get());
  }

  AncestorLookup ancestor = [&](std::string_view dir) -> Result<Planned> {
    const WalkNode* u = in_upper(dir);
    if (u && !u->whiteout) return Planned{false, *u, ufd.get()};
    GANTRY_ASSIGN_OR_RETURN(std::optional<LowerHit> l, lower.lookup(dir));
    if (!l)
      return Error(ErrorKind::internal, "diff: ancestor '" + std::string(dir) + "' not found");
    return Planned{false, std::move(l->node), lower.fd(l->layer)};
  };
  GANTRY_ASSIGN_OR_RETURN_CTX(DiffResult out, write_plan(plan, ancestor, sink), context);
  return out;
}

}  // namespace gantry::runtime::image
