#include "runtime/image/layer_apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtime/image/prefetch.h"
#include "runtime/image/tar_entry.h"
#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"
#include "runtime/sys/resolve.h"

namespace gantry::runtime::image {

namespace {

using sys::UniqueFd;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";
constexpr const char* kOverlayOpaque = "trusted.overlay.opaque";
constexpr size_t kReadBufBytes = 1 << 20;

std::string shown(std::string_view name) {
  return std::string(name.substr(0, 256)) + (name.size() > 256 ? "..." : "");
}

Error bad_entry(std::string_view name, const std::string& why) {
  return Error(ErrorKind::invalid_argument, "layer entry '" + shown(name) + "': " + why);
}

std::string entry_context(std::string_view name) {
  return "layer entry '" + shown(name) + "'";
}

// "a//b/./c/" -> "a/b/c"; leading '/' stripped; ".." refused. "" is the root itself.
Result<std::string> clean_name(std::string_view raw, std::string_view what) {
  std::string out;
  for (auto c : sys::split_relpath(raw)) {
    if (c == "..") return bad_entry(raw, std::string(what) + " escapes the root ('..')");
    if (!out.empty()) out += '/';
    out.append(c);
  }
  return out;
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

size_t depth_of(const std::string& path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

// libarchive pulls the tar from here; the decompressor behind it hashes both streams.
struct Reader {
  Source* source = nullptr;
  std::vector<uint8_t> buf = std::vector<uint8_t>(kReadBufBytes);
  std::optional<Error> error;
};

la_ssize_t read_callback(struct archive* a, void* ctx, const void** out) {
  auto* r = static_cast<Reader*>(ctx);
  auto n = r->source->read(std::span(r->buf));
  if (!n) {
    r->error = n.error();
    archive_set_error(a, EIO, "%s", n.error().message().c_str());
    return -1;
  }
  *out = r->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct Meta {
  uint32_t uid = 0, gid = 0;
  mode_t perm = 0;
  int64_t mtime_s = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

class Applier {
 public:
  Applier(int root_fd, const ApplyOptions& options, ApplyResult& result)
      : root_(root_fd), options_(options), result_(result) {}

  Result<void> open_lowers() {
    for (const auto& l : options_.lowers) {
      GANTRY_ASSIGN_OR_RETURN_CTX(UniqueFd fd, sys::open_root(l), "open lower");
      lowers_.push_back(std::move(fd));
    }
    return ok();
  }

  Result<void> apply(struct archive* a, struct archive_entry* e);
  Result<void> finish();

 private:
  bool overlay() const { return options_.whiteout_format == WhiteoutFormat::overlay; }

  Result<Meta> meta_of(struct archive_entry* e, std::string_view raw, bool is_symlink);
  Result<sys::ParentAndName> parent_for(const std::string& path);
  bool lower_shows(const std::string& path);
  Result<void> clear(int dir_fd, const std::string& name, const std::string& path);
  void forget_dir_times(const std::string& path);
  void note_layer_path(const std::string& path);

  Result<void> whiteout(const std::string& dir, const std::string& name, std::string_view raw);
  Result<void> opaque(const std::string& dir);
  // Plain format: removes everything below dir (an fd of it) that this layer did not write.
  Result<void> hide_lower_below(int dfd, const std::string& dir);
  Result<void> regular(struct archive* a, struct archive_entry* e, const std::string& path,
                       std::string_view raw);
  Result<void> directory(struct archive_entry* e, const std::string& path, std::string_view raw);
  Result<void> symlink(struct archive_entry* e, const std::string& path, std::string_view raw);
  Result<void> special(struct archive_entry* e, const std::string& path, std::string_view raw,
                       mode_t type);
  Result<void> hardlink(const std::string& path, std::string_view raw, std::string_view target);
  Result<UniqueFd> copy_up(const std::string& path);

  Result<void> set_meta_fd(int fd, const Meta& m, bool dir);
  Result<void> set_meta_at(int dir_fd, const std::string& name, const Meta& m, bool is_symlink);

  int root_;
  const ApplyOptions& options_;
  ApplyResult& result_;
  std::vector<UniqueFd> lowers_;
  std::unordered_set<std::string> layer_paths_;
  std::set<std::string> opaque_dirs_;
  std::map<std::string, int64_t> dir_times_;  // path -> mtime seconds, set at the end
};

Result<Meta> Applier::meta_of(struct archive_entry* e, std::string_view raw, bool is_symlink) {
  Meta m;
  int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  if (uid < 0 || uid >= 0xffffffffll || gid < 0 || gid >= 0xffffffffll) {
    return bad_entry(raw, "uid/gid out of range");
  }
  m.uid = static_cast<uint32_t>(uid);
  m.gid = static_cast<uint32_t>(gid);
  m.perm = archive_entry_perm(e) & 07777;
  m.mtime_s = archive_entry_mtime(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  std::map<std::string, std::string> all;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    all[name ? name : ""] = std::string(static_cast<const char*>(value), size);
  }
  drop_encoded_xattr_twins(all);
  for (auto& [n, v] : all) {
    // user.* is content; the kernel refuses it on symlinks. Of trusted.overlay.* only
    // "opaque" is taken (overlay format): redirect, origin and metacopy would let a layer
    // steer overlayfs lookups.
    bool keep = (n.starts_with("user.") && n.size() > 5 && !is_symlink) ||
                (overlay() && n == kOverlayOpaque);
    if (keep) m.xattrs.emplace_back(n, std::move(v));
  }
  return m;
}

void Applier::note_layer_path(const std::string& path) {
  std::string p = path;
  while (!p.empty() && layer_paths_.insert(p).second) p = parent_of(p);
}

void Applier::forget_dir_times(const std::string& path) {
  dir_times_.erase(path);
  std::string lo = path + "/", hi = path + "0";  // '0' follows '/'
  dir_times_.erase(dir_times_.lower_bound(lo), dir_times_.lower_bound(hi));
}

// Opens the parent of path, creating what is missing: copied from a lower (overlay) when a
// lower has it as a directory, else 0755 root:root with mtime 0.
// True when a lower holds path as something other than a whiteout, and no directory above
// it in the upper is opaque (which would hide the lowers there).
bool Applier::lower_shows(const std::string& path) {
  std::string prefix;
  auto comps = sys::split_relpath(path);
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    prefix = join(prefix, std::string(comps[i]));
    auto pn = sys::open_parent_in_root(root_, prefix, false);
    if (!pn) break;
    auto opaque = sys::get_xattr_at(pn->dir.get(), pn->name, kOverlayOpaque);
    if (opaque && *opaque && **opaque == "y") return false;
  }
  for (const auto& lower : lowers_) {
    auto pn = sys::open_parent_in_root(lower.get(), path, false);
    if (!pn) continue;
    struct stat st {};
    if (fstatat(pn->dir.get(), pn->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return false;  // whited out there
    return true;
  }
  return false;
}

Result<sys::ParentAndName> Applier::parent_for(const std::string& path) {
  if (lowers_.empty()) {
    std::vector<std::string> created;
    auto r = sys::open_parent_in_root(root_, path, true, &created);
    for (const auto& c : created) {
      if (options_.preserve_owners) fchownat(root_, c.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW);
      dir_times_[c] = 0;
    }
    return r;
  }
  auto r = sys::open_parent_in_root(root_, path, false);
  if (r || r.error().errno_value() != ENOENT) return r;
  auto comps = sys::split_relpath(path);
  std::string prefix;
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    prefix = join(prefix, std::string(comps[i]));
    GANTRY_ASSIGN_OR_RETURN(auto pn, sys::open_parent_in_root(root_, prefix, false));
    struct stat st {};
    if (fstatat(pn.dir.get(), pn.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
    if (errno != ENOENT) return errno_error(errno, "stat '" + prefix + "'");
    Meta m;
    m.perm = 0755;
    for (const auto& lower : lowers_) {
      auto lfd = sys::open_in_root(lower.get(), prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      struct stat ls {};
      if (!lfd || fstat(lfd->get(), &ls) != 0) continue;
      m.perm = ls.st_mode & 07777;
      m.uid = ls.st_uid;
      m.gid = ls.st_gid;
      m.mtime_s = ls.st_mtim.tv_sec;
      // Copied up as overlay would: its user.* xattrs come along.
      GANTRY_ASSIGN_OR_RETURN(auto lpn, sys::open_parent_in_root(lower.get(), prefix, false));
      GANTRY_ASSIGN_OR_RETURN(auto xattrs, sys::list_xattrs_at(lpn.dir.get(), lpn.name));
      for (auto& kv : xattrs)
        if (kv.first.starts_with("user.")) m.xattrs.push_back(std::move(kv));
      break;
    }
    if (mkdirat(pn.dir.get(), pn.name.c_str(), 0700) != 0) {
      return errno_error(errno, "create directory '" + prefix + "'");
    }
    UniqueFd d(
        openat(pn.dir.get(), pn.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return errno_error(errno, "open directory '" + prefix + "'");
    GANTRY_TRY(set_meta_fd(d.get(), m, true));
    dir_times_[prefix] = m.mtime_s;
  }
  return sys::open_parent_in_root(root_, path, false);
}

Result<void> Applier::clear(int dir_fd, const std::string& name, const std::string& path) {
  struct stat st {};
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok();
    return errno_error(errno, "stat");
  }
  if (S_ISDIR(st.st_mode)) {
    GANTRY_TRY(sys::remove_tree_at(dir_fd, name));
    forget_dir_times(path);
  } else if (unlinkat(dir_fd, name.c_str(), 0) != 0) {
    return errno_error(errno, "remove");
  }
  return ok();
}

Result<void> Applier::set_meta_fd(int fd, const Meta& m, bool dir) {
  if (options_.preserve_owners && fchown(fd, m.uid, m.gid) != 0) {
    return errno_error(errno, "chown");
  }
  if (fchmod(fd, m.perm) != 0) return errno_error(errno, "chmod");
  for (const auto& [k, v] : m.xattrs) {
    if (fsetxattr(fd, k.c_str(), v.data(), v.size(), 0) != 0) {
      return errno_error(errno, "set xattr '" + k + "'");
    }
  }
  if (!dir) {
    struct timespec ts[2] = {{m.mtime_s, 0}, {m.mtime_s, 0}};
    if (futimens(fd, ts) != 0) return errno_error(errno, "set times");
  }
  return ok();
}

Result<void> Applier::set_meta_at(int dir_fd, const std::string& name, const Meta& m,
                                  bool is_symlink) {
  if (options_.preserve_owners &&
      fchownat(dir_fd, name.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error(errno, "chown");
  }
  // Symlinks have no permissions of their own on Linux.
  if (!is_symlink && fchmodat(dir_fd, name.c_str(), m.perm, 0) != 0) {
    return errno_error(errno, "chmod");
  }
  for (const auto& [k, v] : m.xattrs) GANTRY_TRY(sys::set_xattr_at(dir_fd, name, k, v));
  struct timespec ts[2] = {{m.mtime_s, 0}, {m.mtime_s, 0}};
  if (utimensat(dir_fd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error(errno, "set times");
  }
  return ok();
}

Result<void> Applier::apply(struct archive* a, struct archive_entry* e) {
  const char* raw_c = archive_entry_pathname(e);
  if (raw_c == nullptr) raw_c = archive_entry_pathname_utf8(e);
  if (raw_c == nullptr) return bad_entry("", "no name");
  std::string_view raw(raw_c);
  GANTRY_ASSIGN_OR_RETURN(std::string path, clean_name(raw, "path"));
  if (path.empty()) {
    ++result_.skipped_entry_count;  // the root is not part of a layer
    return ok();
  }
  std::string base = base_of(path);
  std::string dir = parent_of(path);
  if (base.starts_with(kWhiteoutPrefix)) {
    if (base == kOpaqueMarker) return opaque(dir);
    if (base.starts_with(kAufsMetaPrefix)) {
      ++result_.skipped_entry_count;
      return ok();
    }
    return whiteout(dir, base.substr(kWhiteoutPrefix.size()), raw);
  }
  note_layer_path(path);
  if (const char* link = archive_entry_hardlink(e); link != nullptr) {
    return hardlink(path, raw, link);
  }
  mode_t type = archive_entry_filetype(e);
  switch (type) {
    case AE_IFREG:
      return regular(a, e, path, raw);
    case AE_IFDIR:
      return directory(e, path, raw);
    case AE_IFLNK:
      return symlink(e, path, raw);
    case AE_IFIFO:
    case AE_IFCHR:
    case AE_IFBLK:
      return special(e, path, raw, type);
    default:
      ++result_.skipped_entry_count;  // sockets and unknown types: nothing to create
      return ok();
  }
}

Result<void> Applier::whiteout(const std::string& dir, const std::string& name,
                               std::string_view raw) {
  if (name.empty() || name == "." || name == "..") return bad_entry(raw, "whiteout of nothing");
  std::string path = join(dir, name);
  if (!overlay()) {
    auto pn = sys::open_parent_in_root(root_, path, false);
    if (!pn) {
      int e = pn.error().errno_value();
      if (e == ENOENT || e == ENOTDIR) return ok();  // nothing there to remove
      return std::move(pn).error().with_context(entry_context(raw));
    }
    GANTRY_TRY_CTX(sys::remove_tree_at(pn->dir.get(), pn->name), entry_context(raw));
    forget_dir_times(path);
    return ok();
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, parent_for(path), entry_context(raw));
  GANTRY_TRY_CTX(clear(pn.dir.get(), pn.name, path), entry_context(raw));
  // A whiteout over nothing would show: overlayfs lists whiteouts in a directory that only
  // the upper has (new, or opaque). So one is written only where a lower shows the name.
  if (!lower_shows(path)) return ok();
  if (mknodat(pn.dir.get(), pn.name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return errno_error(errno, "overlay whiteout (a 0:0 character device)")
        .with_context(entry_context(raw));
  }
  if (options_.preserve_owners) fchownat(pn.dir.get(), pn.name.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW);
  return ok();
}

Result<void> Applier::opaque(const std::string& dir) {
  opaque_dirs_.insert(dir);
  if (!overlay()) return ok();  // children are removed at the end, once the layer is known
  std::string marker = join(dir, std::string(kOpaqueMarker));
  if (dir.empty()) return sys::set_xattr_at(root_, ".", kOverlayOpaque, "y");
  note_layer_path(dir);
  // parent_for(dir/x) makes dir itself too.
  GANTRY_ASSIGN_OR_RETURN_CTX(auto inner, parent_for(join(dir, "x")), entry_context(marker));
  (void)inner;
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, sys::open_parent_in_root(root_, dir, false),
                              entry_context(marker));
  GANTRY_TRY_CTX(sys::set_xattr_at(pn.dir.get(), pn.name, kOverlayOpaque, "y"),
                 entry_context(marker));
  return ok();
}

Result<void> Applier::regular(struct archive* a, struct archive_entry* e, const std::string& path,
                              std::string_view raw) {
  int64_t declared = archive_entry_size(e);
  if (declared < 0) return bad_entry(raw, "negative size");
  uint64_t size = static_cast<uint64_t>(declared);
  if (options_.max_entry_size_bytes && size > options_.max_entry_size_bytes) {
    return bad_entry(raw, "size " + std::to_string(size) + " is above the bound of " +
                              std::to_string(options_.max_entry_size_bytes) + " bytes");
  }
  if (options_.max_expanded_bytes && size > options_.max_expanded_bytes) {
    return bad_entry(raw, "size " + std::to_string(size) + " would expand the layer beyond " +
                              std::to_string(options_.max_expanded_bytes) + " bytes");
  }
  GANTRY_ASSIGN_OR_RETURN(Meta m, meta_of(e, raw, false));
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, parent_for(path), entry_context(raw));
  GANTRY_TRY_CTX(clear(pn.dir.get(), pn.name, path), entry_context(raw));
  UniqueFd fd(openat(pn.dir.get(), pn.name.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(errno, "create").with_context(entry_context(raw));
  uint64_t end = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t n = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(a, &buf, &n, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return bad_entry(raw, std::string("read data: ") + archive_error_string(a));
    }
    if (offset < 0 || static_cast<uint64_t>(offset) + n > size) {
      return bad_entry(raw, "data beyond the declared size");
    }
    std::span<const uint8_t> data(static_cast<const uint8_t*>(buf), n);
    if (static_cast<uint64_t>(offset) == end) {
      GANTRY_TRY_CTX(sys::write_all(fd.get(), data), entry_context(raw));
    } else {
      GANTRY_TRY_CTX(sys::pwrite_all(fd.get(), data, static_cast<uint64_t>(offset)),
                     entry_context(raw));
      if (lseek(fd.get(), offset + static_cast<off_t>(n), SEEK_SET) < 0) {
        return errno_error(errno, "seek").with_context(entry_context(raw));
      }
    }
    end = static_cast<uint64_t>(offset) + n;
  }
  if (end != size && ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return errno_error(errno, "truncate").with_context(entry_context(raw));
  }
  GANTRY_TRY_CTX(set_meta_fd(fd.get(), m, false), entry_context(raw));
  return ok();
}

Result<void> Applier::directory(struct archive_entry* e, const std::string& path,
                                std::string_view raw) {
  GANTRY_ASSIGN_OR_RETURN(Meta m, meta_of(e, raw, false));
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, parent_for(path), entry_context(raw));
  struct stat st {};
  bool is_dir =
      fstatat(pn.dir.get(), pn.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  if (!is_dir) {
    GANTRY_TRY_CTX(clear(pn.dir.get(), pn.name, path), entry_context(raw));
    if (mkdirat(pn.dir.get(), pn.name.c_str(), 0700) != 0) {
      return errno_error(errno, "mkdir").with_context(entry_context(raw));
    }
  }
  UniqueFd fd(
      openat(pn.dir.get(), pn.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open directory").with_context(entry_context(raw));
  if (is_dir) {
    // The entry's metadata replaces the old one: drop xattrs that it does not carry.
    GANTRY_ASSIGN_OR_RETURN_CTX(auto old, sys::list_xattrs_at(pn.dir.get(), pn.name),
                                entry_context(raw));
    for (const auto& old_kv : old) {
      const std::string& k = old_kv.first;
      bool ours = k.starts_with("user.") || (overlay() && k == kOverlayOpaque);
      bool kept = std::any_of(m.xattrs.begin(), m.xattrs.end(),
                              [&](const auto& kv) { return kv.first == k; });
      if (ours && !kept && !(overlay() && k == kOverlayOpaque && opaque_dirs_.count(path))) {
        fremovexattr(fd.get(), k.c_str());
      }
    }
  }
  GANTRY_TRY_CTX(set_meta_fd(fd.get(), m, true), entry_context(raw));
  dir_times_[path] = m.mtime_s;
  return ok();
}

Result<void> Applier::symlink(struct archive_entry* e, const std::string& path,
                              std::string_view raw) {
  const char* target = archive_entry_symlink(e);
  if (target == nullptr) target = archive_entry_symlink_utf8(e);
  if (target == nullptr || *target == '\0') return bad_entry(raw, "symlink without a target");
  GANTRY_ASSIGN_OR_RETURN(Meta m, meta_of(e, raw, true));
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, parent_for(path), entry_context(raw));
  GANTRY_TRY_CTX(clear(pn.dir.get(), pn.name, path), entry_context(raw));
  // The target is data: it may point anywhere, since every later use resolves in the root.
  if (symlinkat(target, pn.dir.get(), pn.name.c_str()) != 0) {
    return errno_error(errno, "symlink").with_context(entry_context(raw));
  }
  GANTRY_TRY_CTX(set_meta_at(pn.dir.get(), pn.name, m, true), entry_context(raw));
  return ok();
}

Result<void> Applier::special(struct archive_entry* e, const std::string& path,
                              std::string_view raw, mode_t type) {
  GANTRY_ASSIGN_OR_RETURN(Meta m, meta_of(e, raw, false));
  bool device = type != AE_IFIFO;
  if (device && !options_.create_devices) {
    ++result_.skipped_device_count;
    return ok();
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, parent_for(path), entry_context(raw));
  GANTRY_TRY_CTX(clear(pn.dir.get(), pn.name, path), entry_context(raw));
  mode_t kind = type == AE_IFIFO ? S_IFIFO : type == AE_IFCHR ? S_IFCHR : S_IFBLK;
  dev_t dev = device ? makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e)) : 0;
  if (mknodat(pn.dir.get(), pn.name.c_str(), kind | 0600, dev) != 0) {
    if (device && errno == EPERM) {
      ++result_.skipped_device_count;  // no CAP_MKNOD (rootless, user namespace)
      return ok();
    }
    return errno_error(errno, "mknod").with_context(entry_context(raw));
  }
  GANTRY_TRY_CTX(set_meta_at(pn.dir.get(), pn.name, m, false), entry_context(raw));
  return ok();
}

// Overlay: copies lower's path (a regular file) into the upper, parents included.
Result<UniqueFd> Applier::copy_up(const std::string& path) {
  for (const auto& lower : lowers_) {
    auto src = sys::open_in_root(lower.get(), path, O_RDONLY | O_NOFOLLOW);
    if (!src) continue;
    struct stat st {};
    if (fstat(src->get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    GANTRY_ASSIGN_OR_RETURN(auto lpn, sys::open_parent_in_root(lower.get(), path, false));
    GANTRY_ASSIGN_OR_RETURN(auto xattrs, sys::list_xattrs_at(lpn.dir.get(), lpn.name));
    GANTRY_ASSIGN_OR_RETURN(auto pn, parent_for(path));
    UniqueFd dst(openat(pn.dir.get(), pn.name.c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!dst) return errno_error(errno, "copy up '" + path + "'");
    GANTRY_TRY(sys::copy_data(src->get(), dst.get()));
    Meta m;
    m.uid = st.st_uid;
    m.gid = st.st_gid;
    m.perm = st.st_mode & 07777;
    m.mtime_s = st.st_mtim.tv_sec;
    for (auto& kv : xattrs)
      if (kv.first.starts_with("user.")) m.xattrs.push_back(kv);
    GANTRY_TRY(set_meta_fd(dst.get(), m, false));
    return sys::open_in_root(root_, path, O_PATH | O_NOFOLLOW);
  }
  return Error(ErrorKind::not_found, "'" + path + "' is in no lower");
}

Result<void> Applier::hardlink(const std::string& path, std::string_view raw,
                               std::string_view target_raw) {
  auto cleaned = clean_name(target_raw, "hardlink target");
  if (!cleaned) {
    return bad_entry(raw, "hardlink target '" + shown(target_raw) + "' escapes the root ('..')");
  }
  std::string target = std::move(cleaned).value();
  if (target.empty()) return bad_entry(raw, "hardlink to the root");
  if (target == path) return bad_entry(raw, "hardlink to itself");
  auto tfd = sys::open_in_root(root_, target, O_PATH | O_NOFOLLOW);
  if (!tfd && tfd.error().errno_value() == ENOENT && !lowers_.empty()) {
    tfd = copy_up(target);
    if (!tfd && tfd.error().kind() != ErrorKind::not_found) {
      return std::move(tfd).error().with_context(entry_context(raw));
    }
  }
  if (!tfd) {
    if (tfd.error().kind() == ErrorKind::not_found) {
      return bad_entry(raw, "hardlink target '" + shown(target_raw) + "' does not exist");
    }
    return std::move(tfd).error().with_context(entry_context(raw));
  }
  struct stat st {};
  if (fstat(tfd->get(), &st) != 0) return errno_error(errno, "stat hardlink target");
  if (!S_ISREG(st.st_mode)) {
    return bad_entry(raw, "hardlink target '" + shown(target_raw) + "' is not a regular file");
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(auto pn, parent_for(path), entry_context(raw));
  GANTRY_TRY_CTX(clear(pn.dir.get(), pn.name, path), entry_context(raw));
  if (linkat(tfd->get(), "", pn.dir.get(), pn.name.c_str(), AT_EMPTY_PATH) == 0) return ok();
  if (errno == ENOENT && fstat(tfd->get(), &st) == 0 && st.st_nlink == 0) {
    return bad_entry(raw, "hardlink target '" + shown(target_raw) + "' was removed by this entry");
  }
  // Without CAP_DAC_READ_SEARCH, AT_EMPTY_PATH is refused; the /proc link does the same.
  std::string proc = "/proc/self/fd/" + std::to_string(tfd->get());
  if (linkat(AT_FDCWD, proc.c_str(), pn.dir.get(), pn.name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    return errno_error(errno, "link").with_context(entry_context(raw));
  }
  return ok();
}

// Below an opaque directory nothing of the lower layers shows, at any depth: a directory this
// layer writes again (or holds entries of) is a new directory, not the lower one merged.
Result<void> Applier::hide_lower_below(int dfd, const std::string& dir) {
  GANTRY_ASSIGN_OR_RETURN(auto children, sys::list_dir(dfd));
  for (const auto& c : children) {
    std::string p = join(dir, c);
    if (!layer_paths_.count(p)) {
      GANTRY_TRY(sys::remove_tree_at(dfd, c));
      forget_dir_times(p);
      continue;
    }
    UniqueFd sub(openat(dfd, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub) GANTRY_TRY(hide_lower_below(sub.get(), p));  // else not a directory: nothing below
  }
  return ok();
}

Result<void> Applier::finish() {
  if (!overlay()) {
    for (const auto& dir : opaque_dirs_) {
      UniqueFd dfd;
      if (dir.empty()) {
        dfd.reset(fcntl(root_, F_DUPFD_CLOEXEC, 0));
      } else if (auto r = sys::open_in_root(root_, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) {
        dfd = std::move(r).value();
      }
      if (!dfd) continue;  // gone, or not a directory: nothing to hide
      GANTRY_TRY_CTX(hide_lower_below(dfd.get(), dir), "opaque directory '" + dir + "'");
    }
  }
  std::vector<std::pair<std::string, int64_t>> dirs(dir_times_.begin(), dir_times_.end());
  std::stable_sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) {
    return depth_of(a.first) > depth_of(b.first);
  });
  for (const auto& [path, mtime] : dirs) {
    auto fd = sys::open_in_root(root_, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd) continue;  // replaced since; its replacement has its own time
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    if (futimens(fd->get(), ts) != 0) {
      return errno_error(errno, "set times of directory '" + path + "'");
    }
  }
  return ok();
}

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

}  // namespace

Result<ApplyResult> apply_layer(Source& input, const std::filesystem::path& root,
                                const ApplyOptions& options) {
  ApplyResult result;
  DecompressOptions dopts;
  dopts.max_expanded_bytes = options.max_expanded_bytes;
  dopts.max_ratio = options.max_ratio;
  dopts.ratio_grace_bytes = options.ratio_grace_bytes;
  dopts.hash_compressed = dopts.hash_uncompressed = options.compute_digests;
  GANTRY_ASSIGN_OR_RETURN_CTX(auto source, DecompressingSource::open(input, dopts), "apply layer");
  GANTRY_ASSIGN_OR_RETURN_CTX(UniqueFd root_fd, sys::open_root(root), "apply layer");
  Applier applier(root_fd.get(), options, result);
  GANTRY_TRY_CTX(applier.open_lowers(), "apply layer");

  // Reading, hashing and inflating run on a second thread, parsing and writing on this one.
  PrefetchingSource prefetch(*source);
  Reader reader;
  reader.source = &prefetch;
  std::unique_ptr<struct archive, ArchiveCloser> a(archive_read_new());
  if (!a) return Error(ErrorKind::internal, "apply layer: archive_read_new failed");
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  if (archive_read_open(a.get(), &reader, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    if (reader.error) return reader.error->with_context("apply layer");
    return Error(ErrorKind::invalid_argument,
                 std::string("apply layer: not a tar: ") + archive_error_string(a.get()));
  }
  std::string last = "(start)";
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (reader.error)
        return reader.error->with_context("apply layer: after entry '" + last + "'");
      const char* why = archive_error_string(a.get());
      return Error(ErrorKind::invalid_argument, "apply layer: after entry '" + shown(last) +
                                                    "': bad tar: " + (why ? why : "unknown"));
    }
    ++result.entry_count;
    const char* name = archive_entry_pathname(e);
    last = name ? name : "";
    auto applied = applier.apply(a.get(), e);
    if (!applied) {
      if (reader.error) {
        return reader.error->with_context("apply layer: " + entry_context(last));
      }
      return std::move(applied).error().with_context("apply layer");
    }
  }
  GANTRY_TRY_CTX(applier.finish(), "apply layer");
  // What follows the tar's end (padding) is part of the blob and of the diff_id.
  GANTRY_TRY_CTX(prefetch.drain(), "apply layer: after the tar");
  prefetch.join();
  result.compression = source->compression();
  result.compressed_size_bytes = source->compressed_bytes();
  result.uncompressed_size_bytes = source->uncompressed_bytes();
  if (options.compute_digests) {
    result.compressed_digest = source->compressed_digest();
    result.diff_id = source->uncompressed_digest();
  }
  return result;
}

Result<ApplyResult> apply_layer(int input_fd, const std::filesystem::path& root,
                                const ApplyOptions& options) {
  FdSource source(input_fd);
  return apply_layer(source, root, options);
}

}  // namespace gantry::runtime::image
