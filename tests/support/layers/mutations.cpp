#include "tests/support/layers/mutations.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "model/layers/path.h"

namespace gantry::testing::layers {

namespace fs = std::filesystem;
using model::layers::Node;
using model::layers::NodeType;
using model::layers::Tree;

std::string_view to_string(MutationKind kind) {
  switch (kind) {
    case MutationKind::write_file:
      return "write_file";
    case MutationKind::mkdir:
      return "mkdir";
    case MutationKind::remove_all:
      return "remove_all";
    case MutationKind::unlink:
      return "unlink";
    case MutationKind::symlink:
      return "symlink";
    case MutationKind::hardlink:
      return "hardlink";
    case MutationKind::chmod:
      return "chmod";
    case MutationKind::chown:
      return "chown";
    case MutationKind::set_xattr:
      return "set_xattr";
    case MutationKind::rewrite:
      return "rewrite";
    case MutationKind::set_mtime:
      return "set_mtime";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, const Mutation& m) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", m.mode);
  os << to_string(m.kind) << " '" << m.path << "'";
  switch (m.kind) {
    case MutationKind::write_file:
      os << " " << mode << " " << m.uid << ":" << m.gid << " size=" << m.content.size();
      break;
    case MutationKind::mkdir:
      os << " " << mode << " " << m.uid << ":" << m.gid;
      break;
    case MutationKind::symlink:
      os << " -> '" << m.target << "' " << m.uid << ":" << m.gid;
      break;
    case MutationKind::hardlink:
      os << " => '" << m.target << "'";
      break;
    case MutationKind::chmod:
      os << " " << mode;
      break;
    case MutationKind::chown:
      os << " " << m.uid << ":" << m.gid;
      break;
    case MutationKind::set_xattr:
      os << " " << m.xattr_name << "=(" << m.xattr_value.size() << " bytes)";
      break;
    case MutationKind::rewrite:
      os << " size=" << m.content.size();
      break;
    default:
      break;
  }
  return os << " mtime=" << m.mtime;
}

std::ostream& operator<<(std::ostream& os, const std::vector<Mutation>& ms) {
  os << ms.size() << " mutations\n";
  for (const auto& m : ms) os << "  " << m << "\n";
  return os;
}

// ---- the model ----

namespace {

Result<void> stamp_model(Tree& t, std::string_view path, const Mutation& m) {
  if (path.empty() || !t.contains(path)) return ok();
  return t.set_mtime(path, m.mtime);
}

Result<void> stamp_parent_model(Tree& t, const Mutation& m) {
  return stamp_model(t, model::layers::parent_of(m.path), m);
}

Node owned(Node n, const Mutation& m) {
  n.uid = m.uid;
  n.gid = m.gid;
  n.mtime = m.mtime;
  return n;
}

}  // namespace

Result<void> apply_to_model(Tree& t, const Mutation& m) {
  switch (m.kind) {
    case MutationKind::write_file:
      GANTRY_TRY(t.put(m.path, owned(Node::file(m.content, m.mode), m)));
      return stamp_parent_model(t, m);
    case MutationKind::mkdir:
      GANTRY_TRY(t.put(m.path, owned(Node::dir(m.mode), m)));
      return stamp_parent_model(t, m);
    case MutationKind::symlink:
      GANTRY_TRY(t.put(m.path, owned(Node::symlink(m.target), m)));
      return stamp_parent_model(t, m);
    case MutationKind::remove_all:
    case MutationKind::unlink:
      if (!t.remove(m.path)) return Error(ErrorKind::not_found, "'" + m.path + "'");
      return stamp_parent_model(t, m);
    case MutationKind::hardlink:
      GANTRY_TRY(t.link(m.path, m.target));
      GANTRY_TRY(stamp_model(t, m.path, m));
      return stamp_parent_model(t, m);
    case MutationKind::chmod:
      GANTRY_TRY(t.set_mode(m.path, m.mode));
      break;
    case MutationKind::chown: {
      const Node* n = t.find(m.path);
      if (!n) return Error(ErrorKind::not_found, "'" + m.path + "'");
      uint32_t mode = n->mode;
      bool kills = n->type != NodeType::directory && n->type != NodeType::symlink;
      GANTRY_TRY(t.set_owner(m.path, m.uid, m.gid));
      if (kills) {
        mode &= ~uint32_t{04000};
        if (mode & 0010) mode &= ~uint32_t{02000};
        GANTRY_TRY(t.set_mode(m.path, mode));
      }
      break;
    }
    case MutationKind::set_xattr:
      GANTRY_TRY(t.set_xattr(m.path, m.xattr_name, m.xattr_value));
      break;
    case MutationKind::rewrite:
      GANTRY_TRY(t.set_content(m.path, m.content));
      break;
    case MutationKind::set_mtime:
      break;
  }
  return stamp_model(t, m.path, m);
}

// ---- the real directory ----

namespace {

Error sys_error(const char* what, const fs::path& p) {
  return errno_error(errno, std::string(what) + " '" + p.string() + "'");
}

Result<void> stamp_path(const fs::path& p, int64_t mtime) {
  timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(mtime);
  times[1].tv_nsec = 0;
  if (::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error("utimensat", p);
  return ok();
}

Result<void> stamp_parent(const fs::path& root, const Mutation& m) {
  std::string_view parent = model::layers::parent_of(m.path);
  if (parent.empty()) return ok();
  return stamp_path(root / std::string(parent), m.mtime);
}

Result<void> write_all(int fd, const std::string& content, const fs::path& p) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write", p);
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

Result<void> create_file(const fs::path& p, const Mutation& m) {
  struct stat st;
  if (::lstat(p.c_str(), &st) == 0 && ::unlink(p.c_str()) != 0) return sys_error("unlink", p);
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("create", p);
  auto written = write_all(fd, m.content, p);
  Result<void> owned = ok();
  if (written && ::fchown(fd, m.uid, m.gid) != 0) owned = sys_error("fchown", p);
  // After the chown, which may clear setuid/setgid.
  if (written && owned && ::fchmod(fd, m.mode) != 0) owned = sys_error("fchmod", p);
  ::close(fd);
  GANTRY_TRY(written);
  return owned;
}

Result<void> make_dir(const fs::path& p, const Mutation& m) {
  if (::mkdir(p.c_str(), 0700) != 0) return sys_error("mkdir", p);
  if (::lchown(p.c_str(), m.uid, m.gid) != 0) return sys_error("lchown", p);
  // Exact mode: neither the umask nor a setgid parent decide it.
  if (::chmod(p.c_str(), m.mode) != 0) return sys_error("chmod", p);
  return ok();
}

Result<void> rewrite_file(const fs::path& p, const Mutation& m) {
  int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return sys_error("open", p);
  auto written = write_all(fd, m.content, p);
  ::close(fd);
  return written;
}

}  // namespace

Result<void> apply_to_directory(const fs::path& root, const Mutation& m) {
  fs::path p = root / m.path;
  switch (m.kind) {
    case MutationKind::write_file:
      GANTRY_TRY(create_file(p, m));
      GANTRY_TRY(stamp_path(p, m.mtime));
      return stamp_parent(root, m);
    case MutationKind::mkdir:
      GANTRY_TRY(make_dir(p, m));
      GANTRY_TRY(stamp_path(p, m.mtime));
      return stamp_parent(root, m);
    case MutationKind::symlink:
      if (::symlink(m.target.c_str(), p.c_str()) != 0) return sys_error("symlink", p);
      if (::lchown(p.c_str(), m.uid, m.gid) != 0) return sys_error("lchown", p);
      GANTRY_TRY(stamp_path(p, m.mtime));
      return stamp_parent(root, m);
    case MutationKind::remove_all: {
      std::error_code ec;
      fs::remove_all(p, ec);
      if (ec) return errno_error(ec.value(), "remove_all '" + p.string() + "'");
      return stamp_parent(root, m);
    }
    case MutationKind::unlink:
      if (::unlink(p.c_str()) != 0) return sys_error("unlink", p);
      return stamp_parent(root, m);
    case MutationKind::hardlink:
      if (::link((root / m.target).c_str(), p.c_str()) != 0) return sys_error("link", p);
      GANTRY_TRY(stamp_path(p, m.mtime));
      return stamp_parent(root, m);
    case MutationKind::chmod:
      if (::chmod(p.c_str(), m.mode) != 0) return sys_error("chmod", p);
      break;
    case MutationKind::chown:
      if (::lchown(p.c_str(), m.uid, m.gid) != 0) return sys_error("lchown", p);
      break;
    case MutationKind::set_xattr:
      if (::lsetxattr(p.c_str(), m.xattr_name.c_str(), m.xattr_value.data(), m.xattr_value.size(),
                      0) != 0)
        return sys_error("lsetxattr", p);
      break;
    case MutationKind::rewrite:
      GANTRY_TRY(rewrite_file(p, m));
      break;
    case MutationKind::set_mtime:
      break;
  }
  return stamp_path(p, m.mtime);
}

// ---- the generator ----

namespace {

std::string gen_new_name() {
  return *rc::gen::element<std::string>("a", "b", "c", "new", "n1", "sp ace", "x=y%", "Z", "dir",
                                        "f.txt");
}

uint32_t gen_owner_id() {
  return *rc::gen::element<uint32_t>(0, 0, 1, 1000, 65534, 262144);
}

int64_t gen_stamp() {
  return *rc::gen::element<int64_t>(1, 1700000000, *rc::gen::inRange<int64_t>(1, 0x7ffffffe));
}

std::string gen_content() {
  int len = *rc::gen::element(0, 1, 5, 300, 1500);
  std::string s;
  for (int i = 0; i < len; ++i) s += static_cast<char>(*rc::gen::inRange(0, 256));
  return s;
}

struct Candidates {
  std::vector<std::string> dirs;        // "" (the root) and every directory
  std::vector<std::string> any;         // every path
  std::vector<std::string> non_dirs;    // every path that is not a directory
  std::vector<std::string> lone_files;  // regular files with one link
  std::vector<std::string> xattr_ok;    // lone files and directories
  std::vector<std::string> chmod_ok;    // no symlinks, no linked files
  std::vector<std::string> chown_ok;    // no linked files
};

Candidates candidates_of(const Tree& t) {
  Candidates c;
  c.dirs.push_back("");
  for (const auto& p : t.paths()) {
    const Node& n = *t.find(p);
    c.any.push_back(p);
    bool lone = n.is_regular() && t.link_group(p).size() == 1;
    bool linked = n.is_regular() && !lone;
    if (n.is_dir()) c.dirs.push_back(p);
    if (!n.is_dir()) c.non_dirs.push_back(p);
    if (lone) c.lone_files.push_back(p);
    if (lone || n.is_dir()) c.xattr_ok.push_back(p);
    if (!linked && n.type != NodeType::symlink) c.chmod_ok.push_back(p);
    if (!linked) c.chown_ok.push_back(p);
  }
  return c;
}

// A path where nothing is yet, or "" when the generator picked a taken one.
std::string gen_free_path(const Tree& t, const Candidates& c) {
  std::string p = model::layers::join_path(*rc::gen::elementOf(c.dirs), gen_new_name());
  return t.contains(p) ? std::string() : p;
}

// One mutation valid on t, or none (kind == set_mtime with an empty path) when the pick
// does not fit the tree.
bool gen_one(const Tree& t, Mutation& m) {
  Candidates c = candidates_of(t);
  m = Mutation{};
  m.kind = *rc::gen::element(MutationKind::write_file, MutationKind::write_file,
                             MutationKind::mkdir, MutationKind::remove_all, MutationKind::unlink,
                             MutationKind::symlink, MutationKind::hardlink, MutationKind::chmod,
                             MutationKind::chown, MutationKind::set_xattr, MutationKind::rewrite,
                             MutationKind::rewrite, MutationKind::set_mtime);
  m.mtime = gen_stamp();
  auto pick = [](const std::vector<std::string>& from) {
    return from.empty() ? std::string() : *rc::gen::elementOf(from);
  };
  switch (m.kind) {
    case MutationKind::write_file:
      m.path = *rc::gen::element(0, 1) == 0 ? gen_free_path(t, c) : pick(c.non_dirs);
      m.content = gen_content();
      m.mode = *rc::gen::element<uint32_t>(0644, 0600, 0755, 04755, 02711, 0444);
      m.uid = gen_owner_id();
      m.gid = gen_owner_id();
      break;
    case MutationKind::mkdir:
      m.path = gen_free_path(t, c);
      m.mode = *rc::gen::element<uint32_t>(0755, 0700, 01777, 02755, 0555);
      m.uid = gen_owner_id();
      m.gid = gen_owner_id();
      break;
    case MutationKind::remove_all:
      m.path = pick(c.any);
      break;
    case MutationKind::unlink:
      m.path = pick(c.non_dirs);
      break;
    case MutationKind::symlink:
      m.path = gen_free_path(t, c);
      m.target = *rc::gen::element<std::string>("a", "../x", "/etc/passwd", "dir/f.txt");
      m.uid = gen_owner_id();
      m.gid = gen_owner_id();
      break;
    case MutationKind::hardlink:
      m.path = gen_free_path(t, c);
      m.target = pick(c.lone_files);
      if (m.target.empty()) m.path.clear();
      break;
    case MutationKind::chmod:
      m.path = pick(c.chmod_ok);
      m.mode = *rc::gen::element<uint32_t>(0600, 0755, 04711, 02755, 01777, 0);
      break;
    case MutationKind::chown:
      m.path = pick(c.chown_ok);
      m.uid = gen_owner_id();
      m.gid = gen_owner_id();
      break;
    case MutationKind::set_xattr:
      m.path = pick(c.xattr_ok);
      m.xattr_name = *rc::gen::element<std::string>("user.a", "user.new", "user.b");
      m.xattr_value = *rc::gen::element<std::string>("", "v", std::string(100, 'x'));
      break;
    case MutationKind::rewrite:
      m.path = pick(c.lone_files);
      m.content = gen_content();
      break;
    case MutationKind::set_mtime:
      m.path = pick(c.chown_ok);
      break;
  }
  return !m.path.empty();
}

}  // namespace

rc::Gen<std::vector<Mutation>> gen_mutations(const Tree& base, int max_count) {
  return rc::gen::exec([base, max_count] {
    Tree t = base;
    std::vector<Mutation> out;
    int n = *rc::gen::inRange(0, max_count + 1);
    for (int i = 0; i < n; ++i) {
      Mutation m;
      if (!gen_one(t, m)) continue;
      auto applied = apply_to_model(t, m);
      RC_ASSERT(applied.has_value());
      out.push_back(std::move(m));
    }
    return out;
  });
}

}  // namespace gantry::testing::layers
