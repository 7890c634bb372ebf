#include "model/layers/tree.h"

#include <cstdio>
#include <ostream>

namespace gantry::model::layers {

namespace {

Error invalid(std::string_view path, std::string_view why) {
  return Error(ErrorKind::invalid_argument, "'" + std::string(path) + "': " + std::string(why));
}

Result<void> check_name(std::string_view path) {
  GANTRY_TRY(check_path(path));
  if (base_of(path).starts_with(".wh."))
    return invalid(path, "names starting with .wh. are reserved");
  return ok();
}

bool carries_xattrs(NodeType t) {
  return t == NodeType::regular || t == NodeType::directory || t == NodeType::symlink;
}

std::string quoted(std::string_view s, size_t max = 40) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = s[i];
    if (c >= 32 && c < 127 && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out + "'";
}

}  // namespace

std::string_view to_string(NodeType type) {
  switch (type) {
    case NodeType::regular:
      return "regular";
    case NodeType::directory:
      return "directory";
    case NodeType::symlink:
      return "symlink";
    case NodeType::fifo:
      return "fifo";
    case NodeType::char_device:
      return "char_device";
    case NodeType::block_device:
      return "block_device";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, NodeType type) {
  return os << to_string(type);
}

Node Node::file(std::string content, uint32_t mode) {
  Node n;
  n.type = NodeType::regular;
  n.mode = mode;
  n.content = std::move(content);
  return n;
}
Node Node::dir(uint32_t mode) {
  Node n;
  n.type = NodeType::directory;
  n.mode = mode;
  return n;
}
Node Node::symlink(std::string target, uint32_t mode) {
  Node n;
  n.type = NodeType::symlink;
  n.mode = mode;
  n.target = std::move(target);
  return n;
}
Node Node::fifo(uint32_t mode) {
  Node n;
  n.type = NodeType::fifo;
  n.mode = mode;
  return n;
}
Node Node::char_device(uint32_t major, uint32_t minor, uint32_t mode) {
  Node n;
  n.type = NodeType::char_device;
  n.mode = mode;
  n.major = major;
  n.minor = minor;
  return n;
}
Node Node::block_device(uint32_t major, uint32_t minor, uint32_t mode) {
  Node n = char_device(major, minor, mode);
  n.type = NodeType::block_device;
  return n;
}

Node Node::normalized() const {
  Node n = *this;
  n.mode &= 07777;
  if (type != NodeType::regular) n.content.clear();
  if (type != NodeType::symlink) n.target.clear();
  if (type != NodeType::char_device && type != NodeType::block_device) n.major = n.minor = 0;
  return n;
}

bool Node::same_metadata(const Node& o) const {
  return type == o.type && mode == o.mode && uid == o.uid && gid == o.gid && mtime == o.mtime &&
         xattrs == o.xattrs;
}

std::ostream& operator<<(std::ostream& os, const Node& n) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", n.mode);
  os << n.type << " " << mode << " " << n.uid << ":" << n.gid << " mtime=" << n.mtime;
  switch (n.type) {
    case NodeType::regular:
      os << " size=" << n.content.size() << " " << quoted(n.content);
      break;
    case NodeType::symlink:
      os << " -> " << quoted(n.target, 200);
      break;
    case NodeType::char_device:
    case NodeType::block_device:
      os << " dev=" << n.major << "," << n.minor;
      break;
    default:
      break;
  }
  for (const auto& [k, v] : n.xattrs) os << " " << k << "=" << quoted(v);
  return os;
}

Result<void> check_xattr_name(std::string_view name) {
  if (!name.starts_with("user.") || name.size() == 5)
    return Error(ErrorKind::invalid_argument, "xattr " + quoted(name) + ": only user.* is carried");
  if (name.find('\0') != std::string_view::npos)
    return Error(ErrorKind::invalid_argument, "xattr " + quoted(name) + ": holds a NUL byte");
  return ok();
}

Result<void> Tree::check_parent(std::string_view path) const {
  if (!is_dir(parent_of(path))) return invalid(path, "parent is not a directory");
  return ok();
}

void Tree::unlink_one(std::map<std::string, uint64_t, PathLess>::iterator it) {
  auto ino = inodes_.find(it->second);
  ino->second.paths.erase(it->first);
  if (ino->second.paths.empty()) inodes_.erase(ino);
  paths_.erase(it);
}

Result<void> Tree::put(std::string_view path, Node node) {
  GANTRY_TRY(check_name(path));
  GANTRY_TRY(check_parent(path));
  for (const auto& [name, value] : node.xattrs) {
    GANTRY_TRY_CTX(check_xattr_name(name), "'" + std::string(path) + "'");
    if (!carries_xattrs(node.type)) return invalid(path, "a fifo or device carries no xattrs");
  }
  node = node.normalized();
  auto it = paths_.find(path);
  if (it != paths_.end()) {
    Inode& ino = inodes_.at(it->second);
    if (ino.node.is_dir() && node.is_dir()) {
      ino.node = std::move(node);
      return ok();
    }
    remove(path);
  }
  uint64_t id = next_inode_++;
  inodes_[id] = Inode{std::move(node), {std::string(path)}};
  paths_.emplace(std::string(path), id);
  return ok();
}

Result<std::vector<std::string>> Tree::make_parents(std::string_view path) {
  std::vector<std::string> created;
  std::string_view parent = parent_of(path);
  if (parent.empty()) return created;
  size_t pos = 0;
  while (true) {
    size_t slash = parent.find('/', pos);
    std::string_view dir = parent.substr(0, slash);
    const Node* n = find(dir);
    if (n == nullptr) {
      GANTRY_TRY(put(dir, Node::dir(0755)));
      created.emplace_back(dir);
    } else if (!n->is_dir()) {
      return invalid(path, "'" + std::string(dir) + "' above it is not a directory");
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return created;
}

Result<void> Tree::link(std::string_view path, std::string_view target) {
  GANTRY_TRY(check_name(path));
  GANTRY_TRY(check_parent(path));
  if (path == target) return invalid(path, "hardlink to itself");
  if (is_ancestor(path, target)) return invalid(path, "hardlink to a path below itself");
  auto t = paths_.find(target);
  if (t == paths_.end())
    return invalid(path, "hardlink target '" + std::string(target) + "' is missing");
  uint64_t id = t->second;
  if (!inodes_.at(id).node.is_regular())
    return invalid(path, "hardlink target '" + std::string(target) + "' is not a regular file");
  remove(path);
  inodes_.at(id).paths.emplace(path);
  paths_.emplace(std::string(path), id);
  return ok();
}

bool Tree::remove(std::string_view path) {
  auto it = paths_.find(path);
  if (it == paths_.end()) return false;
  while (it != paths_.end() && (it->first == path || is_ancestor(path, it->first))) {
    auto next = std::next(it);
    unlink_one(it);
    it = next;
  }
  return true;
}

Result<Node*> Tree::mutable_node(std::string_view path) {
  auto it = paths_.find(path);
  if (it == paths_.end())
    return Error(ErrorKind::not_found, "'" + std::string(path) + "': no such path");
  return &inodes_.at(it->second).node;
}

Result<void> Tree::set_mode(std::string_view path, uint32_t mode) {
  GANTRY_ASSIGN_OR_RETURN(Node * n, mutable_node(path));
  n->mode = mode & 07777;
  return ok();
}

Result<void> Tree::set_owner(std::string_view path, uint32_t uid, uint32_t gid) {
  GANTRY_ASSIGN_OR_RETURN(Node * n, mutable_node(path));
  n->uid = uid;
  n->gid = gid;
  return ok();
}

Result<void> Tree::set_mtime(std::string_view path, int64_t mtime) {
  GANTRY_ASSIGN_OR_RETURN(Node * n, mutable_node(path));
  n->mtime = mtime;
  return ok();
}

Result<void> Tree::set_xattr(std::string_view path, std::string name, std::string value) {
  GANTRY_TRY_CTX(check_xattr_name(name), "'" + std::string(path) + "'");
  GANTRY_ASSIGN_OR_RETURN(Node * n, mutable_node(path));
  if (!carries_xattrs(n->type)) return invalid(path, "a fifo or device carries no xattrs");
  n->xattrs[std::move(name)] = std::move(value);
  return ok();
}

Result<void> Tree::remove_xattr(std::string_view path, std::string_view name) {
  GANTRY_ASSIGN_OR_RETURN(Node * n, mutable_node(path));
  auto it = n->xattrs.find(std::string(name));
  if (it == n->xattrs.end())
    return Error(ErrorKind::not_found, "'" + std::string(path) + "': no xattr " + quoted(name));
  n->xattrs.erase(it);
  return ok();
}

Result<void> Tree::set_content(std::string_view path, std::string content) {
  GANTRY_ASSIGN_OR_RETURN(Node * n, mutable_node(path));
  if (!n->is_regular()) return invalid(path, "not a regular file");
  n->content = std::move(content);
  return ok();
}

const Node* Tree::find(std::string_view path) const {
  auto it = paths_.find(path);
  return it == paths_.end() ? nullptr : &inodes_.at(it->second).node;
}

bool Tree::is_dir(std::string_view path) const {
  if (path.empty()) return true;
  const Node* n = find(path);
  return n != nullptr && n->is_dir();
}

std::vector<std::string> Tree::link_group(std::string_view path) const {
  auto it = paths_.find(path);
  if (it == paths_.end()) return {};
  const auto& ps = inodes_.at(it->second).paths;
  return {ps.begin(), ps.end()};
}

bool Tree::same_inode(std::string_view path, std::string_view other) const {
  auto a = paths_.find(path);
  auto b = paths_.find(other);
  return a != paths_.end() && b != paths_.end() && a->second == b->second;
}

std::vector<std::string> Tree::children(std::string_view dir) const {
  std::vector<std::string> out;
  auto it = dir.empty() ? paths_.begin() : paths_.upper_bound(dir);
  for (; it != paths_.end() && (dir.empty() || is_ancestor(dir, it->first)); ++it) {
    if (parent_of(it->first) == dir) out.push_back(it->first);
  }
  return out;
}

std::vector<std::string> Tree::paths() const {
  std::vector<std::string> out;
  out.reserve(paths_.size());
  for (const auto& [p, id] : paths_) out.push_back(p);
  return out;
}

std::vector<std::string> Tree::subtree(std::string_view path) const {
  std::vector<std::string> out;
  for (auto it = paths_.lower_bound(path);
       it != paths_.end() && (it->first == path || is_ancestor(path, it->first)); ++it) {
    out.push_back(it->first);
  }
  return out;
}

bool operator==(const Tree& a, const Tree& b) {
  if (a.paths_.size() != b.paths_.size()) return false;
  for (auto ia = a.paths_.begin(), ib = b.paths_.begin(); ia != a.paths_.end(); ++ia, ++ib) {
    if (ia->first != ib->first) return false;
    const auto& na = a.inodes_.at(ia->second);
    const auto& nb = b.inodes_.at(ib->second);
    if (!(na.node == nb.node) || na.paths != nb.paths) return false;
  }
  return true;
}

std::ostream& operator<<(std::ostream& os, const Tree& tree) {
  os << "tree (" << tree.size() << " paths)\n";
  for (const auto& p : tree.paths()) {
    os << "  " << p << ": " << *tree.find(p);
    auto group = tree.link_group(p);
    if (group.size() > 1) {
      os << " links={";
      for (size_t i = 0; i < group.size(); ++i) os << (i ? "," : "") << group[i];
      os << "}";
    }
    os << "\n";
  }
  return os;
}

}  // namespace gantry::model::layers
