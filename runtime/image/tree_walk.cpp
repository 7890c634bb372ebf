#include "runtime/image/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace gantry::runtime::image {

using sys::UniqueFd;

namespace {

std::string join(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  if (!dir.empty()) out.append(dir).push_back('/');
  out.append(name);
  return out;
}

std::string in_quotes(std::string_view path) {
  return "'" + std::string(path.empty() ? "." : path) + "'";
}

// The xattr calls go through /proc/self/fd/<dir>/<name> (or the node's own fd), so they stay
// relative to the fd we hold and never follow a final symlink (l* variants).
struct XattrTarget {
  int fd = -1;            // when the node itself is open
  std::string proc_path;  // otherwise
};

Result<std::string> get_xattr(const XattrTarget& t, const char* name, std::string_view path) {
  std::string value(256, '\0');
  while (true) {
    ssize_t n = t.fd >= 0 ? fgetxattr(t.fd, name, value.data(), value.size())
                          : lgetxattr(t.proc_path.c_str(), name, value.data(), value.size());
    if (n >= 0) {
      value.resize(static_cast<size_t>(n));
      return value;
    }
    if (errno != ERANGE)
      return errno_error(errno, "get xattr " + std::string(name) + " of " + in_quotes(path));
    ssize_t need = t.fd >= 0 ? fgetxattr(t.fd, name, nullptr, 0)
                             : lgetxattr(t.proc_path.c_str(), name, nullptr, 0);
    if (need < 0)
      return errno_error(errno, "get xattr " + std::string(name) + " of " + in_quotes(path));
    value.resize(static_cast<size_t>(need) + 1);
  }
}

Result<std::string> list_xattrs(const XattrTarget& t, std::string_view path) {
  std::string names(1024, '\0');
  while (true) {
    ssize_t n = t.fd >= 0 ? flistxattr(t.fd, names.data(), names.size())
                          : llistxattr(t.proc_path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      return names;
    }
    if (errno == ENOTSUP || errno == ENODATA) return std::string();
    if (errno != ERANGE) return errno_error(errno, "list xattrs of " + in_quotes(path));
    ssize_t need =
        t.fd >= 0 ? flistxattr(t.fd, nullptr, 0) : llistxattr(t.proc_path.c_str(), nullptr, 0);
    if (need < 0) return errno_error(errno, "list xattrs of " + in_quotes(path));
    names.resize(static_cast<size_t>(need) + 1);
  }
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Result<void> read_xattrs(const XattrTarget& t, WalkNode& node, const WalkOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(std::string names, list_xattrs(t, node.meta.path));
  for (size_t pos = 0; pos < names.size();) {
    const char* name = names.c_str() + pos;
    std::string_view n(name);
    pos += n.size() + 1;
    if (n.empty()) continue;
    // With userxattr, overlay keeps its own attributes as user.overlay.*.
    bool overlay_attr = starts_with(n, "trusted.overlay.") || starts_with(n, "user.overlay.");
    if (options.overlay_format && overlay_attr) {
      std::string_view key = n.substr(n.find(".overlay.") + 9);
      if (key == "opaque") {
        auto v = get_xattr(t, name, node.meta.path);
        if (!v) return std::move(v).error();
        if (v->size() == 1 && v->front() == 'y') node.opaque = true;
      } else if (key == "whiteout") {
        node.whiteout = true;
      } else if (key == "redirect" || key == "metacopy") {
        node.unsupported_overlay = true;
      }
      continue;
    }
    if (!starts_with(n, "user.")) continue;
    GANTRY_ASSIGN_OR_RETURN(std::string v, get_xattr(t, name, node.meta.path));
    node.meta.xattrs.emplace(std::string(n), std::move(v));
  }
  return ok();
}

// Fills a node from lstat data; xattrs and symlink targets are read relative to dir_fd.
Result<WalkNode> make_node(int dir_fd, const std::string& name, std::string path,
                           const struct stat& st, int own_fd, const WalkOptions& options) {
  WalkNode node;
  node.meta.path = std::move(path);
  node.meta.mode = st.st_mode & 07777;
  node.meta.uid = st.st_uid;
  node.meta.gid = st.st_gid;
  node.meta.mtime_s = st.st_mtim.tv_sec;
  node.dev = st.st_dev;
  node.ino = st.st_ino;
  node.nlink = st.st_nlink;
  bool with_xattrs = true;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      node.meta.type = EntryType::regular;
      node.meta.size_bytes = st.st_size;
      break;
    case S_IFDIR:
      node.meta.type = EntryType::directory;
      break;
    case S_IFLNK: {
      node.meta.type = EntryType::symlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      while (true) {
        ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) return errno_error(errno, "read symlink " + in_quotes(node.meta.path));
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);
      }
      node.meta.link_target = std::move(target);
      break;
    }
    case S_IFIFO:
      node.meta.type = EntryType::fifo;
      with_xattrs = false;
      break;
    case S_IFCHR:
    case S_IFBLK:
      node.meta.type = S_ISCHR(st.st_mode) ? EntryType::char_device : EntryType::block_device;
      node.meta.rdev_major = major(st.st_rdev);
      node.meta.rdev_minor = minor(st.st_rdev);
      node.whiteout = options.overlay_format && S_ISCHR(st.st_mode) && st.st_rdev == 0;
      with_xattrs = false;
      break;
    default:
      return Error(ErrorKind::invalid_argument,
                   "walk " + in_quotes(node.meta.path) + ": unsupported file type (socket?)");
  }
  if (with_xattrs) {
    XattrTarget t;
    if (own_fd >= 0) {
      t.fd = own_fd;
    } else {
      t.proc_path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
    }
    GANTRY_TRY(read_xattrs(t, node, options));
  }
  return node;
}

Result<std::vector<std::string>> sorted_names(int dir_fd, std::string_view dir_path) {
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open directory " + in_quotes(dir_path));
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return errno_error(e, "read directory " + in_quotes(dir_path));
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = readdir(d)) {
    std::string_view n(de->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  int e = errno;
  closedir(d);
  if (e != 0) return errno_error(e, "read directory " + in_quotes(dir_path));
  std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned
  return names;
}

// One child of dir_fd; when it is a directory, its fd is returned in child_fd.
Result<WalkNode> node_at(int dir_fd, const std::string& name, std::string path,
                         const WalkOptions& options, UniqueFd* child_fd) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error(errno, "lstat " + in_quotes(path));
  UniqueFd own;
  if (S_ISDIR(st.st_mode)) {
    own.reset(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!own) return errno_error(errno, "open directory " + in_quotes(path));
  }
  auto node = make_node(dir_fd, name, std::move(path), st, own.get(), options);
  if (child_fd) *child_fd = std::move(own);
  return node;
}

Result<void> walk_dir(int dir_fd, const std::string& dir_path, const WalkOptions& options,
                      std::vector<WalkNode>& out) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, sorted_names(dir_fd, dir_path));
  for (const auto& name : names) {
    UniqueFd child;
    GANTRY_ASSIGN_OR_RETURN(WalkNode node,
                            node_at(dir_fd, name, join(dir_path, name), options, &child));
    bool is_dir = node.meta.type == EntryType::directory;
    std::string path = is_dir ? node.meta.path : std::string();
    out.push_back(std::move(node));
    if (is_dir) GANTRY_TRY(walk_dir(child.get(), path, options, out));
  }
  return ok();
}

}  // namespace

LinkGroups link_groups(const std::vector<WalkNode>& nodes) {
  LinkGroups groups;
  for (const auto& n : nodes)
    if (n.linked()) groups[link_key(n)].push_back(n.meta.path);
  return groups;
}

Result<UniqueFd> open_tree(const std::filesystem::path& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open tree '" + root.string() + "'");
  return fd;
}

Result<UniqueFd> open_in_tree(int root_fd, std::string_view rel, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string p = rel.empty() ? std::string(".") : std::string(rel);
  long fd;
  do fd = syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return errno_error(errno, "open " + in_quotes(rel) + " in tree");
  return UniqueFd(static_cast<int>(fd));
}

Result<std::vector<WalkNode>> walk_tree(int root_fd, std::string_view start,
                                        const WalkOptions& options) {
  std::vector<WalkNode> out;
  if (start.empty()) {
    GANTRY_TRY(walk_dir(root_fd, std::string(), options, out));
  } else {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd dir, open_in_tree(root_fd, start, O_RDONLY | O_DIRECTORY));
    GANTRY_TRY(walk_dir(dir.get(), std::string(start), options, out));
  }
  return out;
}

Result<std::vector<WalkNode>> walk_tree(const std::filesystem::path& root,
                                        const WalkOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, open_tree(root));
  return walk_tree(fd.get(), "", options);
}

Result<std::vector<WalkNode>> list_dir(int root_fd, std::string_view dir,
                                       const WalkOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd dfd, open_in_tree(root_fd, dir, O_RDONLY | O_DIRECTORY));
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, sorted_names(dfd.get(), dir));
  std::vector<WalkNode> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    GANTRY_ASSIGN_OR_RETURN(WalkNode node,
                            node_at(dfd.get(), name, join(dir, name), options, nullptr));
    out.push_back(std::move(node));
  }
  return out;
}

Result<std::optional<WalkNode>> stat_node(int root_fd, std::string_view rel,
                                          const WalkOptions& options) {
  if (rel.empty()) return Error(ErrorKind::invalid_argument, "stat_node: the root is not a node");
  auto parent = open_in_tree(root_fd, parent_path(rel), O_PATH | O_DIRECTORY);
  if (!parent) {
    int e = parent.error().errno_value();
    if (e == ENOENT || e == ENOTDIR || e == ELOOP) return std::optional<WalkNode>();
    return std::move(parent).error();
  }
  size_t slash = rel.rfind('/');
  std::string name(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  struct stat st;
  if (fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<WalkNode>();
    return errno_error(errno, "lstat " + in_quotes(rel));
  }
  UniqueFd own;
  if (S_ISDIR(st.st_mode)) {
    own.reset(openat(parent->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!own) return errno_error(errno, "open directory " + in_quotes(rel));
  }
  GANTRY_ASSIGN_OR_RETURN(WalkNode node,
                          make_node(parent->get(), name, std::string(rel), st, own.get(), options));
  return std::optional<WalkNode>(std::move(node));
}

}  // namespace gantry::runtime::image
