#include "tests/support/layers/disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <sstream>
#include <vector>

#include "runtime/sys/fd.h"

namespace gantry::testing::layers {

using model::layers::Node;
using model::layers::NodeType;
using model::layers::Tree;
using runtime::sys::UniqueFd;

namespace {

Error sys_error(std::string_view what, const std::filesystem::path& p) {
  return errno_error(errno, std::string(what) + " '" + p.string() + "'");
}

Result<void> write_file(const std::filesystem::path& p, const std::string& content) {
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return sys_error("create", p);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write", p);
    done += static_cast<size_t>(n);
  }
  return ok();
}

Result<void> set_mtime(const std::filesystem::path& p, int64_t mtime) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(mtime);
  times[1].tv_nsec = 0;
  if (::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error("utimensat", p);
  return ok();
}

Result<void> create_node(const Tree& tree, const std::string& rel, const Node& n,
                         const std::filesystem::path& p, const std::filesystem::path& dir) {
  switch (n.type) {
    case NodeType::directory:
      if (::mkdir(p.c_str(), 0700) != 0) return sys_error("mkdir", p);
      break;
    case NodeType::regular: {
      auto group = tree.link_group(rel);
      if (group.front() != rel) {
        if (::link((dir / group.front()).c_str(), p.c_str()) != 0) return sys_error("link", p);
        return ok();  // metadata came with the first name
      }
      GANTRY_TRY(write_file(p, n.content));
      break;
    }
    case NodeType::symlink:
      if (::symlink(n.target.c_str(), p.c_str()) != 0) return sys_error("symlink", p);
      break;
    case NodeType::fifo:
      if (::mkfifo(p.c_str(), 0600) != 0) return sys_error("mkfifo", p);
      break;
    case NodeType::char_device:
    case NodeType::block_device: {
      mode_t kind = n.type == NodeType::char_device ? S_IFCHR : S_IFBLK;
      if (::mknod(p.c_str(), kind | 0600, makedev(n.major, n.minor)) != 0)
        return sys_error("mknod", p);
      break;
    }
  }
  if (::lchown(p.c_str(), n.uid, n.gid) != 0) return sys_error("lchown", p);
  if (n.type != NodeType::symlink && !n.is_dir() && ::chmod(p.c_str(), n.mode) != 0)
    return sys_error("chmod", p);
  for (const auto& [name, value] : n.xattrs) {
    if (::lsetxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
      return sys_error("lsetxattr " + name, p);
  }
  if (!n.is_dir()) GANTRY_TRY(set_mtime(p, n.mtime));
  return ok();
}

Result<model::layers::Xattrs> read_xattrs(const std::filesystem::path& p) {
  model::layers::Xattrs out;
  ssize_t len = ::llistxattr(p.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return out;
    return sys_error("llistxattr", p);
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(p.c_str(), names.data(), names.size());
  if (len < 0) return sys_error("llistxattr", p);
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.starts_with("trusted.overlay.") || name.starts_with("user.overlay."))
      return Error(ErrorKind::failed_precondition,
                   "overlay artefact '" + name + "' on '" + p.string() + "'");
    if (!name.starts_with("user.")) continue;
    ssize_t vlen = ::lgetxattr(p.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) return sys_error("lgetxattr " + name, p);
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(p.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) return sys_error("lgetxattr " + name, p);
    value.resize(static_cast<size_t>(vlen));
    out[name] = value;
  }
  return out;
}

Result<std::string> read_file(const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return sys_error("open", p);
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read", p);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<Node> read_node(const std::filesystem::path& p, const struct stat& st) {
  Node n;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
      n.type = NodeType::regular;
      GANTRY_ASSIGN_OR_RETURN(n.content, read_file(p));
      break;
    }
    case S_IFDIR:
      n.type = NodeType::directory;
      break;
    case S_IFLNK: {
      n.type = NodeType::symlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t len = ::readlink(p.c_str(), target.data(), target.size());
      if (len < 0) return sys_error("readlink", p);
      target.resize(static_cast<size_t>(len));
      n.target = target;
      break;
    }
    case S_IFIFO:
      n.type = NodeType::fifo;
      break;
    case S_IFCHR:
    case S_IFBLK:
      n.type = S_ISCHR(st.st_mode) ? NodeType::char_device : NodeType::block_device;
      n.major = major(st.st_rdev);
      n.minor = minor(st.st_rdev);
      if (n.type == NodeType::char_device && n.major == 0 && n.minor == 0)
        return Error(ErrorKind::failed_precondition,
                     "overlay whiteout device at '" + p.string() + "'");
      break;
    default:
      return Error(ErrorKind::failed_precondition,
                   "socket or unknown file type at '" + p.string() + "'");
  }
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.mtime = st.st_mtim.tv_sec;
  GANTRY_ASSIGN_OR_RETURN(n.xattrs, read_xattrs(p));
  if (n.type == NodeType::fifo || n.type == NodeType::char_device ||
      n.type == NodeType::block_device)
    n.xattrs.clear();
  return n;
}

Result<void> read_dir(const std::filesystem::path& root, const std::string& rel, Tree& tree,
                      std::map<std::pair<dev_t, ino_t>, std::string>& inodes) {
  std::error_code ec;
  std::vector<std::string> names;
  for (auto it = std::filesystem::directory_iterator(rel.empty() ? root : root / rel, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return Error(kind_from_errno(ec.value()), "list '" + (root / rel).string() + "'");
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string path = model::layers::join_path(rel, name);
    std::filesystem::path p = root / path;
    if (name.starts_with(".wh."))
      return Error(ErrorKind::failed_precondition, "whiteout name visible at '" + p.string() + "'");
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return sys_error("lstat", p);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = inodes.emplace(std::make_pair(st.st_dev, st.st_ino), path);
      if (!fresh) {
        GANTRY_TRY(tree.link(path, it->second));
        continue;
      }
    }
    GANTRY_ASSIGN_OR_RETURN(Node n, read_node(p, st));
    GANTRY_TRY(tree.put(path, std::move(n)));
    if (S_ISDIR(st.st_mode)) GANTRY_TRY(read_dir(root, path, tree, inodes));
  }
  return ok();
}

}  // namespace

Result<void> materialize(const Tree& tree, const std::filesystem::path& dir) {
  std::vector<std::string> dirs;
  for (const auto& rel : tree.paths()) {
    const Node& n = *tree.find(rel);
    GANTRY_TRY_CTX(create_node(tree, rel, n, dir / rel, dir), "materialize");
    if (n.is_dir()) dirs.push_back(rel);
  }
  // Modes and mtimes of directories once nothing more is created in them, deepest first.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    std::filesystem::path p = dir / *it;
    const Node& n = *tree.find(*it);
    if (::chmod(p.c_str(), n.mode) != 0) return sys_error("chmod", p);
    GANTRY_TRY(set_mtime(p, n.mtime));
  }
  return ok();
}

Result<Tree> read_tree(const std::filesystem::path& dir) {
  Tree tree;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  GANTRY_TRY_CTX(read_dir(dir, "", tree, inodes), "read tree '" + dir.string() + "'");
  return tree;
}

std::string tree_diff(const Tree& left, const Tree& right) {
  std::ostringstream os;
  auto lp = left.paths();
  auto rp = right.paths();
  size_t i = 0, j = 0;
  model::layers::PathLess less;
  while (i < lp.size() || j < rp.size()) {
    if (j == rp.size() || (i < lp.size() && less(lp[i], rp[j]))) {
      os << "only left: " << lp[i] << ": " << *left.find(lp[i]) << "\n";
      ++i;
    } else if (i == lp.size() || less(rp[j], lp[i])) {
      os << "only right: " << rp[j] << ": " << *right.find(rp[j]) << "\n";
      ++j;
    } else {
      const std::string& p = lp[i];
      if (!(*left.find(p) == *right.find(p)))
        os << p << ": left " << *left.find(p) << " / right " << *right.find(p) << "\n";
      auto lg = left.link_group(p), rg = right.link_group(p);
      if (lg != rg) {
        os << p << ": link group {";
        for (const auto& m : lg) os << m << ",";
        os << "} / {";
        for (const auto& m : rg) os << m << ",";
        os << "}\n";
      }
      ++i;
      ++j;
    }
  }
  return os.str();
}

}  // namespace gantry::testing::layers
