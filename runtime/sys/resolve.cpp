#include "runtime/sys/resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>

namespace gantry::runtime::sys {

namespace {

std::atomic<bool> g_force_walk{false};
std::atomic<bool> g_openat2_missing{false};

constexpr int kMaxSymlinks = 40;
constexpr uint64_t kResolveFlags = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

std::string q(std::string_view relpath) {
  return "'" + std::string(relpath) + "'";
}

bool use_openat2() {
  return !g_force_walk.load() && !g_openat2_missing.load();
}

// openat2 in the root; -1 with errno on failure. Retries EAGAIN (a concurrent rename).
int openat2_in_root(int root_fd, const std::string& path, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = kResolveFlags;
  const char* p = path.empty() ? "." : path.c_str();
  for (int attempt = 0; attempt < 16; ++attempt) {
    int fd = static_cast<int>(syscall(SYS_openat2, root_fd, p, &how, sizeof how));
    if (fd >= 0) return fd;
    if (errno == ENOSYS) g_openat2_missing = true;
    if (errno != EAGAIN) return -1;
  }
  return -1;
}

std::string join(const std::vector<std::string_view>& comps, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out.append(comps[i]);
  }
  return out;
}

// The openat walk. Holds the directories from the root down to the current one, so that ".."
// pops (and stops at the root) without ever asking the file system what ".." is.
class Walk {
 public:
  explicit Walk(int root_fd) : root_fd_(root_fd) {}

  int current() const { return stack_.empty() ? root_fd_ : stack_.back().get(); }
  UniqueFd take_current() {
    if (stack_.empty()) return UniqueFd(fcntl(root_fd_, F_DUPFD_CLOEXEC, 0));
    UniqueFd fd = std::move(stack_.back());
    stack_.pop_back();
    names_.pop_back();
    return fd;
  }

  // Resolves the components. With has_final, the last one is the caller's business: it is
  // returned as the final name (expanded first when it is a symlink and follow_final), "."
  // when the path ends at a directory ("a/.."). Without has_final every component is a
  // directory to enter (created when missing and create is set) and "." is returned.
  Result<std::string> run(std::string_view relpath, bool has_final, bool follow_final, bool create,
                          std::vector<std::string>* created) {
    std::deque<std::string> pending;
    for (auto c : split_relpath(relpath)) pending.emplace_back(c);
    int links = 0;
    while (!pending.empty()) {
      std::string comp = std::move(pending.front());
      pending.pop_front();
      if (comp.empty() || comp == ".") continue;
      if (comp == "..") {
        if (!stack_.empty()) {
          stack_.pop_back();
          names_.pop_back();
        }
        continue;
      }
      bool last = has_final && pending.empty();
      if (last && !follow_final) return comp;
      int fd = openat(current(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && create && !last) {
        bool made = mkdirat(current(), comp.c_str(), 0755) == 0;
        if (!made && errno != EEXIST) {
          return errno_error(errno, "create directory " + q(comp) + " in " + q(relpath));
        }
        fd = openat(current(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && made) {
          fchmod(fd, 0755);
          if (created) created->push_back(path_to(comp));
        }
      }
      if (fd >= 0) {
        stack_.emplace_back(fd);
        names_.push_back(comp);
        continue;
      }
      int err = errno;
      if (err == ENOENT && last) return comp;  // the caller creates it
      if (err != ELOOP && err != ENOTDIR) {
        return errno_error(err, "resolve " + q(relpath) + " at " + q(comp));
      }
      // A symlink (expand it in the root) or a non-directory (final: fine; else ENOTDIR).
      char buf[4096];
      ssize_t n = readlinkat(current(), comp.c_str(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINVAL && last) return comp;  // not a symlink: a file at the end
        return errno_error(errno == EINVAL ? ENOTDIR : errno,
                           "resolve " + q(relpath) + " at " + q(comp));
      }
      if (++links > kMaxSymlinks) {
        return errno_error(ELOOP, "resolve " + q(relpath) + ": too many symlinks");
      }
      std::string_view target(buf, static_cast<size_t>(n));
      if (target.starts_with('/')) {
        stack_.clear();
        names_.clear();
      }
      auto parts = split_relpath(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.emplace_front(*it);
      if (parts.empty() && last) return std::string(".");
    }
    return std::string(".");
  }

 private:
  // The resolved path of comp in the current directory.
  std::string path_to(const std::string& comp) const {
    std::string out;
    for (const auto& n : names_) out += n + "/";
    return out + comp;
  }

  int root_fd_;
  std::vector<UniqueFd> stack_;
  std::vector<std::string> names_;  // the names that stack_ entered, for path_to
};

}  // namespace

std::vector<std::string_view> split_relpath(std::string_view relpath) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= relpath.size()) {
    size_t j = relpath.find('/', i);
    if (j == std::string_view::npos) j = relpath.size();
    std::string_view c = relpath.substr(i, j - i);
    if (!c.empty() && c != ".") out.push_back(c);
    i = j + 1;
  }
  return out;
}

void force_resolve_walk_for_testing(bool on) {
  g_force_walk = on;
}

Result<UniqueFd> open_root(const std::filesystem::path& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open root '" + dir.string() + "'");
  return UniqueFd(fd);
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view relpath, int flags, mode_t mode) {
  if (use_openat2()) {
    std::string path(relpath);
    int fd = openat2_in_root(root_fd, path, flags, mode);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOSYS) return errno_error(errno, "open " + q(relpath) + " in root");
  }
  Walk walk(root_fd);
  GANTRY_ASSIGN_OR_RETURN(std::string name,
                          walk.run(relpath, true, !(flags & O_NOFOLLOW), false, nullptr));
  int fd = openat(walk.current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return errno_error(errno, "open " + q(relpath) + " in root");
  return UniqueFd(fd);
}

Result<ParentAndName> open_parent_in_root(int root_fd, std::string_view relpath,
                                          bool create_missing_parents,
                                          std::vector<std::string>* created_dirs) {
  auto comps = split_relpath(relpath);
  if (comps.empty() || comps.back() == "..") {
    return Error(ErrorKind::invalid_argument,
                 "path " + q(relpath) + " does not name an entry below the root");
  }
  ParentAndName out;
  out.name = std::string(comps.back());
  auto walk_parent = [&]() -> Result<ParentAndName> {
    Walk walk(root_fd);
    std::string parent = join(comps, comps.size() - 1);
    GANTRY_TRY(walk.run(parent, false, true, create_missing_parents, created_dirs));
    out.dir = walk.take_current();
    if (!out.dir) return errno_error(errno, "dup root fd");
    return std::move(out);
  };
  if (!use_openat2()) return walk_parent();
  constexpr int kDirFlags = O_RDONLY | O_DIRECTORY;
  std::string parent = join(comps, comps.size() - 1);
  int fd = openat2_in_root(root_fd, parent, kDirFlags, 0);
  if (fd >= 0) {
    out.dir.reset(fd);
    return out;
  }
  if (errno == ENOSYS)
    return open_parent_in_root(root_fd, relpath, create_missing_parents, created_dirs);
  if (errno != ENOENT || !create_missing_parents) {
    return errno_error(errno, "open parent of " + q(relpath) + " in root");
  }
  // Create what is missing, one level at a time, each level resolved again from the root.
  UniqueFd prev;
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    std::string prefix = join(comps, i + 1);
    int pfd = prev ? prev.get() : root_fd;
    int next = openat2_in_root(root_fd, prefix, kDirFlags, 0);
    if (next < 0 && errno == ENOENT) {
      std::string comp(comps[i]);
      bool made = mkdirat(pfd, comp.c_str(), 0755) == 0;
      if (!made && errno != EEXIST) {
        return errno_error(errno, "create directory " + q(prefix) + " in root");
      }
      next = openat2_in_root(root_fd, prefix, kDirFlags, 0);
      // Still missing although something is there: a symlink to a missing directory. The
      // walk creates along the symlink's target (inside the root), as tar and containerd do.
      if (next < 0 && errno == ENOENT && !made) return walk_parent();
      if (next >= 0 && made) {
        fchmod(next, 0755);
        if (created_dirs) created_dirs->push_back(prefix);
      }
    }
    if (next < 0) return errno_error(errno, "open " + q(prefix) + " in root");
    prev.reset(next);
  }
  if (!prev) {
    prev.reset(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    if (!prev) return errno_error(errno, "dup root fd");
  }
  out.dir = std::move(prev);
  return out;
}

}  // namespace gantry::runtime::sys
