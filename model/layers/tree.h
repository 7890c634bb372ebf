// File trees, the values layers are made of and applied to.
//
// Vocabulary:
// - node: what a path names: a regular file (content), a directory, a symlink (target, any
//   string; it may point outside the root), a fifo, a character or block device (major,
//   minor). Every node has mode (& 07777), uid, gid, mtime (whole seconds) and xattrs (only
//   names in the "user." namespace; none on fifos and devices).
// - link group: the paths of one regular file (one inode). Members share content and
//   metadata by construction: a change through one path is seen through all of them.
// - Tree: a copyable, comparable value mapping paths (see path.h) to nodes; the root is
//   implicit, every other path's parent must be a directory in the tree. Names starting
//   with ".wh." are reserved for whiteouts and refused.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "model/layers/path.h"

namespace gantry::model::layers {

enum class NodeType : uint8_t { regular, directory, symlink, fifo, char_device, block_device };

std::string_view to_string(NodeType type);
std::ostream& operator<<(std::ostream& os, NodeType type);

using Xattrs = std::map<std::string, std::string>;

struct Node {
  NodeType type = NodeType::regular;
  uint32_t mode = 0644;  // & 07777
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 0;  // seconds since the epoch
  Xattrs xattrs;
  std::string content;  // regular
  std::string target;   // symlink
  uint32_t major = 0;   // devices
  uint32_t minor = 0;

  static Node file(std::string content, uint32_t mode = 0644);
  static Node dir(uint32_t mode = 0755);
  static Node symlink(std::string target, uint32_t mode = 0777);
  static Node fifo(uint32_t mode = 0644);
  static Node char_device(uint32_t major, uint32_t minor, uint32_t mode = 0600);
  static Node block_device(uint32_t major, uint32_t minor, uint32_t mode = 0600);

  bool is_dir() const { return type == NodeType::directory; }
  bool is_regular() const { return type == NodeType::regular; }
  // The same node without the fields its type does not carry, mode masked to 07777.
  Node normalized() const;
  // Same type and metadata (mode, uid, gid, mtime, xattrs), ignoring content and target.
  bool same_metadata(const Node& other) const;

  friend bool operator==(const Node&, const Node&) = default;
};

std::ostream& operator<<(std::ostream& os, const Node& node);

class Tree {
 public:
  // Puts node at path, whose parent must be a directory. A directory put onto a directory
  // updates its metadata and keeps its children; anything else first removes what is at
  // the path (a directory with all it holds). The node is normalized.
  Result<void> put(std::string_view path, Node node);
  // Creates the missing directories above path as 0755 root:root, mtime 0. A non-directory
  // in the way is invalid_argument. Returns the paths it created, top first.
  Result<std::vector<std::string>> make_parents(std::string_view path);
  // Makes path one more name of the regular file at target (replacing what was at path).
  Result<void> link(std::string_view path, std::string_view target);
  // Removes path and everything below it; false when nothing was there.
  bool remove(std::string_view path);

  // Metadata and content changes; on a regular file they apply to its whole link group.
  Result<void> set_mode(std::string_view path, uint32_t mode);
  Result<void> set_owner(std::string_view path, uint32_t uid, uint32_t gid);
  Result<void> set_mtime(std::string_view path, int64_t mtime);
  Result<void> set_xattr(std::string_view path, std::string name, std::string value);
  Result<void> remove_xattr(std::string_view path, std::string_view name);
  Result<void> set_content(std::string_view path, std::string content);

  const Node* find(std::string_view path) const;
  bool contains(std::string_view path) const { return find(path) != nullptr; }
  bool is_dir(std::string_view path) const;  // the root ("") is a directory
  // Every path of the node at path (itself included) in path order; empty when missing.
  std::vector<std::string> link_group(std::string_view path) const;
  // True when path and other name the same inode.
  bool same_inode(std::string_view path, std::string_view other) const;
  // Direct children of dir ("" is the root), in path order.
  std::vector<std::string> children(std::string_view dir) const;
  // Every path, in path order.
  std::vector<std::string> paths() const;
  // Every path at and below path, in path order.
  std::vector<std::string> subtree(std::string_view path) const;
  size_t size() const { return paths_.size(); }
  bool empty() const { return paths_.empty(); }

  friend bool operator==(const Tree& a, const Tree& b);

 private:
  struct Inode {
    Node node;
    std::set<std::string, PathLess> paths;
  };
  Result<Node*> mutable_node(std::string_view path);
  Result<void> check_parent(std::string_view path) const;
  void unlink_one(std::map<std::string, uint64_t, PathLess>::iterator it);

  std::map<std::string, uint64_t, PathLess> paths_;  // path -> inode id
  std::map<uint64_t, Inode> inodes_;
  uint64_t next_inode_ = 1;
};

// One line per path: "a/b: regular 0644 0:0 mtime=5 size=3 'abc' links={a/b,c}".
std::ostream& operator<<(std::ostream& os, const Tree& tree);

// invalid_argument unless name is "user.<something>" without NUL bytes.
Result<void> check_xattr_name(std::string_view name);

}  // namespace gantry::model::layers
