#define FUSE_USE_VERSION 312
#include "runtime/fuse/union_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/fuse/copy_up.h"
#include "runtime/fuse/prefetcher.h"

namespace gantry::runtime::fuse {
namespace {

using sys::UniqueFd;

struct Node {
  Node* parent = nullptr;  // null once unlinked or replaced
  std::string name;
  uint64_t nlookup = 0;
  int layer = -1;
  mode_t type = 0;
  std::vector<int> dir_layers;
  std::unordered_map<std::string, Node*> children;
  // I/O without OPEN requests (zero-message opens): one fd per node, in an LRU unless pinned.
  std::shared_ptr<UniqueFd> fd;
  int fd_layer = -1;
  bool fd_pinned = false;
  std::list<Node*>::iterator lru;
  // Directories: the lower regular files in readdir order, and how far prefetching has gone.
  std::shared_ptr<const std::vector<std::pair<std::string, int>>> scan;
  size_t prefetched_to = 0;
};

// What an operation needs of a node, copied out under the tree lock.
struct NodeView {
  Node* node = nullptr;
  Node* parent = nullptr;
  std::string name;
  std::string path;
  int layer = -1;
  mode_t type = 0;
  std::vector<int> dir_layers;
  bool attached = true;
};

struct OpenFile {
  UniqueFd fd;
  int layer = 0;
};

struct DirEntry {
  std::string name;
  int layer = 0;
  size_t position = 0;  // index in the directory's dir layers where the name was found
  ino_t ino = 0;
  unsigned char type = DT_UNKNOWN;
};

struct OpenDir {
  std::mutex mu;
  std::vector<DirEntry> entries;
};

int err_of(const Error& e) {
  return e.errno_value() != 0 ? e.errno_value() : EIO;
}

bool is_overlay_xattr(const char* name) {
  return std::strncmp(name, kOverlayXattrPrefix, std::strlen(kOverlayXattrPrefix)) == 0;
}

}  // namespace

struct UnionFs::Impl {
  LayerStack layers;
  UnionFsConfig config;
  std::mutex tree_mu;   // the node tree: parents, names, layers, children, lookup counts
  std::mutex upper_mu;  // changes to the upper layer, one at a time; taken before tree_mu
  std::mutex fd_mu;     // Node::fd*, fd_lru; taken after tree_mu
  std::list<Node*> fd_lru;
  Node root;
  Prefetcher prefetcher{4u << 20};

  Impl(LayerStack l, UnionFsConfig c) : layers(std::move(l)), config(c) {
    root.layer = layers.has_upper() ? 0 : 1;
    root.type = S_IFDIR;
    root.dir_layers = layers.root_dir_layers();
    root.nlookup = 1;
  }

  ~Impl() {
    std::vector<Node*> stack;
    for (auto& [n, c] : root.children) stack.push_back(c);
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (auto& [name, c] : n->children) stack.push_back(c);
      delete n;
    }
  }

  Node* node(fuse_ino_t ino) { return ino == FUSE_ROOT_ID ? &root : reinterpret_cast<Node*>(ino); }
  fuse_ino_t id(Node* n) { return n == &root ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(n); }

  double timeout(int layer) const {
    return layer == 0 ? config.upper_timeout_s : config.lower_timeout_s;
  }

  // ---- the node tree -------------------------------------------------------------------

  std::string path_locked(const Node* n) {
    std::vector<const std::string*> parts;
    for (; n != &root && n != nullptr; n = n->parent) parts.push_back(&n->name);
    std::string p;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (!p.empty()) p += '/';
      p += **it;
    }
    return p;
  }

  NodeView view(Node* n) {
    std::lock_guard lock(tree_mu);
    NodeView v;
    v.node = n;
    v.parent = n->parent;
    v.name = n->name;
    v.layer = n->layer;
    v.type = n->type;
    v.dir_layers = n->dir_layers;
    v.attached = n == &root || n->parent != nullptr;
    if (v.attached) v.path = path_locked(n);
    return v;
  }

  Node* install_locked(Node* parent, const std::string& name, const Resolved& r) {
    auto [it, inserted] = parent->children.try_emplace(name, nullptr);
    if (inserted) {
      it->second = new Node;
      it->second->parent = parent;
      it->second->name = name;
    }
    Node* n = it->second;
    n->layer = r.layer;
    n->type = r.st.st_mode & S_IFMT;
    n->dir_layers = r.dir_layers;
    n->nlookup++;
    return n;
  }

  void maybe_free_locked(Node* n) {
    while (n != &root && n->nlookup == 0 && n->children.empty()) {
      Node* p = n->parent;
      if (p != nullptr) {
        auto it = p->children.find(n->name);
        if (it != p->children.end() && it->second == n) p->children.erase(it);
      }
      drop_fd(n);
      delete n;
      if (p == nullptr) break;
      n = p;
    }
  }

  // ---- fds of nodes (zero-message opens) ------------------------------------------------

  void drop_fd(Node* n) {
    std::lock_guard lock(fd_mu);
    if (n->fd && !n->fd_pinned) fd_lru.erase(n->lru);
    n->fd.reset();
    n->fd_pinned = false;
  }

  // The fd for reads and writes of a node that the kernel opened without asking us: the lower
  // file read-only, or the upper file read-write (copied up first when for_write).
  Result<std::shared_ptr<UniqueFd>> node_fd(Node* n, bool for_write) {
    if (for_write) {
      if (!config.writable) return errno_error(EROFS, "read-only");
      std::lock_guard upper(upper_mu);
      GANTRY_TRY(ensure_upper(view(n), true));
    }
    NodeView v = view(n);
    {
      std::lock_guard lock(fd_mu);
      if (n->fd && (n->fd_layer == v.layer || n->fd_pinned)) {
        if (!n->fd_pinned) fd_lru.splice(fd_lru.begin(), fd_lru, n->lru);
        return n->fd;
      }
    }
    if (!v.attached) return errno_error(ESTALE, "removed file");
    int flags = O_CLOEXEC | O_NOFOLLOW | (v.layer == 0 ? O_RDWR : O_RDONLY | O_NOATIME);
    int fd = ::openat(layers.fd(v.layer), at_path(v.path), flags);
    if (fd < 0 && errno == EPERM)
      fd = ::openat(layers.fd(v.layer), at_path(v.path), flags & ~O_NOATIME);
    if (fd < 0) return errno_error(errno, "open '" + v.path + "'");
    if (v.layer != 0) prefetch_after(n);
    auto shared = std::make_shared<UniqueFd>(fd);
    std::lock_guard lock(fd_mu);
    if (n->fd && !n->fd_pinned) fd_lru.erase(n->lru);
    n->fd = shared;
    n->fd_layer = v.layer;
    if (!n->fd_pinned) {
      fd_lru.push_front(n);
      n->lru = fd_lru.begin();
    }
    while (fd_lru.size() > config.max_cached_fds) {
      Node* old = fd_lru.back();
      fd_lru.pop_back();
      old->fd.reset();
    }
    return shared;
  }

  // The first read of a lower file: read ahead the files that follow it in its directory.
  void prefetch_after(Node* n) {
    if (config.prefetch_files == 0) return;
    std::map<int, Prefetcher::Job> jobs;
    {
      std::lock_guard lock(tree_mu);
      Node* dir = n->parent;
      if (dir == nullptr || !dir->scan) return;
      const auto& scan = *dir->scan;
      size_t i = dir->prefetched_to;
      // Usually the reader is at the edge of what was prefetched; look a little around it.
      size_t at = scan.size();
      size_t back = config.prefetch_files + 8;
      for (size_t k = i > back ? i - back : 0; k < scan.size() && k < i + 64; ++k) {
        if (scan[k].first == n->name) {
          at = k;
          break;
        }
      }
      if (at == scan.size()) return;
      size_t from = std::max(at + 1, dir->prefetched_to);
      size_t to = std::min(scan.size(), at + 1 + config.prefetch_files);
      if (from >= to) return;
      // Prefetch in batches: the next half window only once the reader gets close.
      if (from > at + 1 + config.prefetch_files / 2) return;
      std::string dir_path = path_locked(dir);
      for (size_t k = from; k < to; ++k) {
        auto& job = jobs[scan[k].second];
        job.layer_fd = layers.fd(scan[k].second);
        job.paths.push_back(join(dir_path, scan[k].first));
      }
      dir->prefetched_to = to;
    }
    for (auto& [layer, job] : jobs) prefetcher.submit(std::move(job));
  }

  // The fd kept for a file that lost its name, and its layer.
  std::shared_ptr<UniqueFd> pinned_fd(Node* n, int& layer) {
    std::lock_guard lock(fd_mu);
    if (!n->fd_pinned) return nullptr;
    layer = n->fd_layer;
    return n->fd;
  }

  // Before a regular file loses its name, keep its fd open so that I/O on it still works.
  void pin_fd(Node* parent, const std::string& name) {
    Node* n = nullptr;
    {
      std::lock_guard lock(tree_mu);
      auto it = parent->children.find(name);
      if (it == parent->children.end() || it->second->type != S_IFREG) return;
      n = it->second;
    }
    if (!node_fd(n, false)) return;
    std::lock_guard lock(fd_mu);
    if (n->fd && !n->fd_pinned) {
      fd_lru.erase(n->lru);
      n->fd_pinned = true;
    }
  }

  void forget(fuse_ino_t ino, uint64_t count) {
    std::lock_guard lock(tree_mu);
    Node* n = node(ino);
    n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
    maybe_free_locked(n);
  }

  // The name no longer refers to this node (unlinked, replaced).
  void detach(Node* parent, const std::string& name) {
    std::lock_guard lock(tree_mu);
    auto it = parent->children.find(name);
    if (it == parent->children.end()) return;
    Node* n = it->second;
    parent->children.erase(it);
    n->parent = nullptr;
    maybe_free_locked(n);
  }

  void move(Node* parent, const std::string& name, Node* new_parent, const std::string& new_name) {
    std::lock_guard lock(tree_mu);
    auto it = parent->children.find(name);
    if (it == parent->children.end()) return;
    Node* n = it->second;
    parent->children.erase(it);
    auto old = new_parent->children.find(new_name);
    if (old != new_parent->children.end()) {
      Node* o = old->second;
      new_parent->children.erase(old);
      o->parent = nullptr;
      maybe_free_locked(o);
    }
    n->parent = new_parent;
    n->name = new_name;
    new_parent->children[new_name] = n;
  }

  void mark_upper(Node* parent, const std::string& name) {
    std::lock_guard lock(tree_mu);
    auto it = parent->children.find(name);
    if (it == parent->children.end()) return;
    Node* n = it->second;
    if (n->layer != 0 && n->type == S_IFDIR) n->dir_layers.insert(n->dir_layers.begin(), 0);
    n->layer = 0;
  }

  // ---- replies ---------------------------------------------------------------------------

  void fill_attr(struct stat& st, int layer) {
    st.st_ino = LayerStack::inode_number(layer, st.st_ino);
  }

  fuse_entry_param entry_of(Node* n, const Resolved& r) {
    fuse_entry_param e{};
    e.ino = id(n);
    e.attr = r.st;
    fill_attr(e.attr, r.layer);
    e.attr_timeout = e.entry_timeout = timeout(r.layer);
    return e;
  }

  // Looks up parent/name and, if found, counts one kernel reference to it.
  void reply_lookup(fuse_req_t req, Node* parent, const std::string& name) {
    NodeView p = view(parent);
    if (!p.attached) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    Resolved r = layers.resolve(p.dir_layers, join(p.path, name));
    if (!r.exists) {
      fuse_entry_param e{};
      e.entry_timeout = timeout(p.dir_layers.empty() ? 1 : p.dir_layers[0]);
      fuse_reply_entry(req, &e);
      return;
    }
    Node* n;
    {
      std::lock_guard lock(tree_mu);
      n = install_locked(parent, name, r);
    }
    fuse_entry_param e = entry_of(n, r);
    fuse_reply_entry(req, &e);
  }

  // ---- copy-up ---------------------------------------------------------------------------

  bool lower_has(const NodeView& parent, const std::string& rel, bool count_whiteouts) {
    std::vector<int> lowers;
    for (int l : parent.dir_layers)
      if (l != 0) lowers.push_back(l);
    Resolved r = layers.resolve(lowers, rel);
    return r.exists || (count_whiteouts && r.whiteout_seen);
  }

  Result<void> ensure_upper_dir(Node* dir) {
    NodeView d = view(dir);
    if (!d.attached) return errno_error(ENOENT, "directory was removed");
    if (d.layer == 0) return ok();
    return copy_up_child(d.parent, d.name, true);
  }

  // Copies parent/name into the upper layer if it is not there yet. upper_mu is held.
  Result<void> copy_up_child(Node* parent, const std::string& name, bool with_data) {
    GANTRY_TRY(ensure_upper_dir(parent));
    NodeView p = view(parent);
    std::string rel = join(p.path, name);
    Resolved r = layers.resolve(p.dir_layers, rel);
    if (!r.exists) return errno_error(ENOENT, "copy up '" + rel + "'");
    if (r.layer == 0) return ok();
    struct stat pst;
    int up = layers.fd(0);
    if (::fstatat(up, at_path(p.path), &pst, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_error(errno, "stat upper '" + p.path + "'");
    }
    GANTRY_TRY(copy_up(layers, r.layer, rel, r.st, with_data));
    GANTRY_TRY(restore_times(up, p.path, pst));
    mark_upper(parent, name);
    return ok();
  }

  Result<void> ensure_upper(const NodeView& v, bool with_data) {
    if (v.layer == 0) return ok();
    if (!v.attached) return errno_error(ENOENT, "file was removed");
    return copy_up_child(v.parent, v.name, with_data);
  }

  // ---- helpers for changes ---------------------------------------------------------------

  // Removes a whiteout at rel in the upper layer; true if there was one.
  bool remove_upper_whiteout(const std::string& rel) {
    struct stat st;
    if (::fstatat(layers.fd(0), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    if (!is_whiteout(st)) return false;
    return ::unlinkat(layers.fd(0), rel.c_str(), 0) == 0;
  }

  int make_whiteout(const std::string& rel) {
    if (::mknodat(layers.fd(0), rel.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) return errno;
    return 0;
  }

  // Owner of a new file: the caller, with the group of a setgid parent.
  int set_owner(fuse_req_t req, const std::string& parent_rel, const std::string& rel) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    struct stat pst;
    gid_t gid = ctx->gid;
    if (::fstatat(layers.fd(0), at_path(parent_rel), &pst, 0) == 0 && (pst.st_mode & S_ISGID)) {
      gid = pst.st_gid;
    }
    if (::fchownat(layers.fd(0), rel.c_str(), ctx->uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno;
    }
    return 0;
  }

  // The merged children of a directory, without whiteouts and duplicates.
  std::vector<DirEntry> list(const std::vector<int>& dir_layers, const std::string& rel) {
    std::vector<DirEntry> out;
    std::unordered_set<std::string> seen;
    for (size_t pos = 0; pos < dir_layers.size(); ++pos) {
      int l = dir_layers[pos];
      int fd = ::openat(layers.fd(l), at_path(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) continue;
      DIR* d = ::fdopendir(fd);
      if (d == nullptr) {
        ::close(fd);
        continue;
      }
      while (struct dirent* de = ::readdir(d)) {
        const char* name = de->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
        if (!seen.insert(name).second) continue;
        unsigned char type = de->d_type;
        if (type == DT_CHR || type == DT_UNKNOWN) {
          struct stat st;
          if (::fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
          if (is_whiteout(st)) continue;
          type = IFTODT(st.st_mode);
        }
        out.push_back(DirEntry{name, l, pos, de->d_ino, type});
      }
      ::closedir(d);
    }
    return out;
  }

  bool refuse_readonly(fuse_req_t req) {
    if (config.writable) return false;
    fuse_reply_err(req, EROFS);
    return true;
  }

  // Replies with the attributes of rel in the upper layer as a new entry under parent.
  void reply_new_entry(fuse_req_t req, Node* parent, const std::string& name,
                       const std::string& rel, fuse_file_info* fi) {
    Resolved r;
    if (::fstatat(layers.fd(0), rel.c_str(), &r.st, AT_SYMLINK_NOFOLLOW) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    r.exists = true;
    r.layer = 0;
    if (S_ISDIR(r.st.st_mode)) {
      // A new directory over a whiteout is opaque; otherwise lowers may contribute.
      if (layers.is_opaque(0, rel)) {
        r.dir_layers = {0};
      } else {
        NodeView p = view(parent);
        std::vector<int> rest;
        for (int l : p.dir_layers)
          if (l != 0) rest.push_back(l);
        Resolved lower = layers.resolve(rest, rel);
        r.dir_layers = {0};
        if (lower.exists && S_ISDIR(lower.st.st_mode)) {
          r.dir_layers.insert(r.dir_layers.end(), lower.dir_layers.begin(), lower.dir_layers.end());
        }
      }
    }
    Node* n;
    {
      std::lock_guard lock(tree_mu);
      auto it = parent->children.find(name);
      if (it != parent->children.end()) {
        // a stale node of a name that was replaced underneath the kernel
        Node* old = it->second;
        parent->children.erase(it);
        old->parent = nullptr;
        maybe_free_locked(old);
      }
      n = install_locked(parent, name, r);
    }
    fuse_entry_param e = entry_of(n, r);
    if (fi != nullptr) {
      fuse_reply_create(req, &e, fi);
    } else {
      fuse_reply_entry(req, &e);
    }
  }

  // Common start of create, mkdir, mknod, symlink, link: the upper parent exists, the name is
  // free in the merged view, a whiteout there is gone. Returns an errno or 0, and rel.
  int prepare_new(Node* parent, const std::string& name, std::string& rel, bool& over_whiteout) {
    auto made = ensure_upper_dir(parent);
    if (!made) return err_of(made.error());
    NodeView p = view(parent);
    rel = join(p.path, name);
    Resolved r = layers.resolve(p.dir_layers, rel);
    if (r.exists) return EEXIST;
    over_whiteout = r.whiteout_seen;
    remove_upper_whiteout(rel);
    return 0;
  }

  // ---- operations ------------------------------------------------------------------------

  void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    NodeView v = view(node(ino));
    struct stat st;
    int layer = v.layer;
    if (v.attached) {
      if (::fstatat(layers.fd(layer), at_path(v.path), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    } else if (fi != nullptr && fi->fh != 0) {
      auto* f = reinterpret_cast<OpenFile*>(fi->fh);
      layer = f->layer;
      if (::fstat(f->fd.get(), &st) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    } else if (auto fd = pinned_fd(v.node, layer)) {
      if (::fstat(fd->get(), &st) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    } else {
      fuse_reply_err(req, ENOENT);
      return;
    }
    fill_attr(st, layer);
    fuse_reply_attr(req, &st, timeout(layer));
  }

  void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
    if (refuse_readonly(req)) return;
    std::lock_guard upper(upper_mu);
    NodeView v = view(node(ino));
    bool truncating_to_zero = (to_set & FUSE_SET_ATTR_SIZE) && attr->st_size == 0;
    if (auto r = ensure_upper(v, !truncating_to_zero); !r) {
      fuse_reply_err(req, err_of(r.error()));
      return;
    }
    v = view(node(ino));
    int up = layers.fd(0);
    const char* p = at_path(v.path);
    if (v.attached && (to_set & FUSE_SET_ATTR_MODE)) {
      if (::fchmodat(up, p, attr->st_mode & 07777, 0) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    }
    if (v.attached && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
      uid_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : static_cast<uid_t>(-1);
      gid_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : static_cast<gid_t>(-1);
      if (::fchownat(up, p, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
      int rc;
      auto* f = fi != nullptr ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr;
      if (f != nullptr && f->layer == 0) {
        rc = ::ftruncate(f->fd.get(), attr->st_size);
      } else {
        UniqueFd fd(::openat(up, p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
        rc = fd ? ::ftruncate(fd.get(), attr->st_size) : -1;
      }
      if (rc != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    }
    if (v.attached && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
      struct timespec ts[2];
      ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
      if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
        ts[0].tv_nsec = UTIME_NOW;
      } else if (to_set & FUSE_SET_ATTR_ATIME) {
        ts[0] = attr->st_atim;
      }
      if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
        ts[1].tv_nsec = UTIME_NOW;
      } else if (to_set & FUSE_SET_ATTR_MTIME) {
        ts[1] = attr->st_mtim;
      }
      if (::utimensat(up, p, ts, AT_SYMLINK_NOFOLLOW) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    }
    getattr(req, ino, fi);
  }

  void readlink(fuse_req_t req, fuse_ino_t ino) {
    NodeView v = view(node(ino));
    char buf[PATH_MAX + 1];
    ssize_t n = ::readlinkat(layers.fd(v.layer), at_path(v.path), buf, sizeof buf - 1);
    if (n < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    buf[n] = 0;
    fuse_reply_readlink(req, buf);
  }

  void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev,
             const char* link_target) {
    if (refuse_readonly(req)) return;
    std::lock_guard upper(upper_mu);
    Node* pn = node(parent);
    std::string rel;
    bool over_whiteout = false;
    if (int e = prepare_new(pn, name, rel, over_whiteout); e != 0) {
      fuse_reply_err(req, e);
      return;
    }
    int up = layers.fd(0);
    int rc;
    if (link_target != nullptr) {
      rc = ::symlinkat(link_target, up, rel.c_str());
    } else if (S_ISDIR(mode)) {
      rc = ::mkdirat(up, rel.c_str(), mode & 07777);
    } else {
      rc = ::mknodat(up, rel.c_str(), mode, rdev);
    }
    if (rc != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    std::string parent_rel = view(pn).path;
    if (int e = set_owner(req, parent_rel, rel); e != 0) {
      fuse_reply_err(req, e);
      return;
    }
    if (S_ISDIR(mode) && over_whiteout &&
        ::lsetxattr(layers.absolute(0, rel).c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    reply_new_entry(req, pn, name, rel, nullptr);
  }

  void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
    if (refuse_readonly(req)) return;
    std::lock_guard upper(upper_mu);
    NodeView v = view(node(ino));
    if (auto r = ensure_upper(v, true); !r) {
      fuse_reply_err(req, err_of(r.error()));
      return;
    }
    v = view(node(ino));
    Node* pn = node(new_parent);
    std::string rel;
    bool over_whiteout = false;
    if (int e = prepare_new(pn, new_name, rel, over_whiteout); e != 0) {
      fuse_reply_err(req, e);
      return;
    }
    if (::linkat(layers.fd(0), v.path.c_str(), layers.fd(0), rel.c_str(), 0) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    reply_new_entry(req, pn, new_name, rel, nullptr);
  }

  void unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool is_dir) {
    if (refuse_readonly(req)) return;
    std::lock_guard upper(upper_mu);
    Node* pn = node(parent);
    NodeView p = view(pn);
    std::string rel = join(p.path, name);
    Resolved r = layers.resolve(p.dir_layers, rel);
    if (!r.exists) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    if (is_dir != S_ISDIR(r.st.st_mode)) {
      fuse_reply_err(req, is_dir ? ENOTDIR : EISDIR);
      return;
    }
    if (is_dir && !list(r.dir_layers, rel).empty()) {
      fuse_reply_err(req, ENOTEMPTY);
      return;
    }
    bool in_lower = lower_has(p, rel, false);
    int up = layers.fd(0);
    if (!is_dir) pin_fd(pn, name);
    if (r.layer == 0) {
      if (is_dir) clear_whiteouts(rel);
      if (::unlinkat(up, rel.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0) {
        fuse_reply_err(req, errno);
        return;
      }
    }
    if (in_lower) {
      if (auto made = ensure_upper_dir(pn); !made) {
        fuse_reply_err(req, err_of(made.error()));
        return;
      }
      if (int e = make_whiteout(rel); e != 0) {
        fuse_reply_err(req, e);
        return;
      }
    }
    detach(pn, name);
    fuse_reply_err(req, 0);
  }

  // Removes the whiteouts of an upper directory whose merged view is empty.
  void clear_whiteouts(const std::string& rel) {
    int fd = ::openat(layers.fd(0), rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return;
    }
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(d)) {
      if (de->d_type == DT_CHR) names.emplace_back(de->d_name);
    }
    for (const auto& n : names) ::unlinkat(dirfd(d), n.c_str(), 0);
    ::closedir(d);
  }

  void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
    if (refuse_readonly(req)) return;
    if (flags & ~static_cast<unsigned int>(RENAME_NOREPLACE)) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    std::lock_guard upper(upper_mu);
    Node* pn = node(parent);
    Node* npn = node(new_parent);
    NodeView p = view(pn);
    NodeView np = view(npn);
    std::string src_rel = join(p.path, name);
    std::string dst_rel = join(np.path, new_name);
    Resolved src = layers.resolve(p.dir_layers, src_rel);
    Resolved dst = layers.resolve(np.dir_layers, dst_rel);
    if (!src.exists) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    if (src_rel == dst_rel) {
      fuse_reply_err(req, 0);
      return;
    }
    if (dst.exists && (flags & RENAME_NOREPLACE)) {
      fuse_reply_err(req, EEXIST);
      return;
    }
    bool src_dir = S_ISDIR(src.st.st_mode);
    if (src_dir && !(src.dir_layers.size() == 1 && src.dir_layers[0] == 0)) {
      fuse_reply_err(req, EXDEV);  // as overlay without redirect_dir
      return;
    }
    if (dst.exists) {
      bool dst_dir = S_ISDIR(dst.st.st_mode);
      if (src_dir && !dst_dir) {
        fuse_reply_err(req, ENOTDIR);
        return;
      }
      if (!src_dir && dst_dir) {
        fuse_reply_err(req, EISDIR);
        return;
      }
      if (dst_dir && !list(dst.dir_layers, dst_rel).empty()) {
        fuse_reply_err(req, ENOTEMPTY);
        return;
      }
      if (dst_dir && dst.layer == 0) clear_whiteouts(dst_rel);
    }
    bool src_in_lower = lower_has(p, src_rel, false);
    bool dst_in_lower = lower_has(np, dst_rel, true);
    if (auto r = copy_up_child(pn, name, true); !r) {
      fuse_reply_err(req, err_of(r.error()));
      return;
    }
    if (auto r = ensure_upper_dir(npn); !r) {
      fuse_reply_err(req, err_of(r.error()));
      return;
    }
    remove_upper_whiteout(dst_rel);
    if (dst.exists && !src_dir) pin_fd(npn, new_name);
    int up = layers.fd(0);
    if (dst.exists && dst.layer != 0) flags &= ~static_cast<unsigned int>(RENAME_NOREPLACE);
    if (::renameat2(up, src_rel.c_str(), up, dst_rel.c_str(), flags) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    if (src_dir && dst_in_lower &&
        ::lsetxattr(layers.absolute(0, dst_rel).c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    if (src_in_lower) {
      if (int e = make_whiteout(src_rel); e != 0) {
        fuse_reply_err(req, e);
        return;
      }
    }
    move(pn, name, npn, new_name);
    if (src_dir) {
      std::lock_guard lock(tree_mu);
      auto it = npn->children.find(new_name);
      if (it != npn->children.end()) it->second->dir_layers = {0};
    }
    fuse_reply_err(req, 0);
  }

  int open_flags(int flags, int layer) {
    flags &= ~(O_CREAT | O_EXCL | O_NOCTTY);
    flags |= O_CLOEXEC;
    if (layer != 0) flags |= O_NOATIME;
    return flags;
  }

  void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    int acc = fi->flags & O_ACCMODE;
    bool writes = acc != O_RDONLY || (fi->flags & O_TRUNC);
    NodeView v = view(node(ino));
    if (writes) {
      if (refuse_readonly(req)) return;
      std::lock_guard upper(upper_mu);
      if (auto r = ensure_upper(v, !(fi->flags & O_TRUNC)); !r) {
        fuse_reply_err(req, err_of(r.error()));
        return;
      }
      v = view(node(ino));
    }
    int fd = ::openat(layers.fd(v.layer), at_path(v.path), open_flags(fi->flags, v.layer));
    if (fd < 0 && errno == EPERM && v.layer != 0) {
      fd = ::openat(layers.fd(v.layer), at_path(v.path), open_flags(fi->flags, 0));
    }
    if (fd < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    auto* f = new OpenFile{UniqueFd(fd), v.layer};
    fi->fh = reinterpret_cast<uint64_t>(f);
    fi->keep_cache = v.layer != 0;
    fi->noflush = 1;
    if (fuse_reply_open(req, fi) != 0) delete f;
  }

  void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
    if (refuse_readonly(req)) return;
    std::lock_guard upper(upper_mu);
    Node* pn = node(parent);
    std::string rel;
    bool over_whiteout = false;
    if (int e = prepare_new(pn, name, rel, over_whiteout); e != 0) {
      fuse_reply_err(req, e);
      return;
    }
    int fd = ::openat(layers.fd(0), rel.c_str(), open_flags(fi->flags, 0) | O_CREAT | O_EXCL,
                      mode & 07777);
    if (fd < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    auto* f = new OpenFile{UniqueFd(fd), 0};
    if (int e = set_owner(req, view(pn).path, rel); e != 0) {
      delete f;
      fuse_reply_err(req, e);
      return;
    }
    fi->fh = reinterpret_cast<uint64_t>(f);
    fi->noflush = 1;
    reply_new_entry(req, pn, name, rel, fi);
  }

  void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    NodeView v = view(node(ino));
    if (!v.attached) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    auto* d = new OpenDir;
    d->entries = list(v.dir_layers, v.path);
    if (config.prefetch_files > 0) {
      auto scan = std::make_shared<std::vector<std::pair<std::string, int>>>();
      for (const auto& e : d->entries) {
        if (e.type == DT_REG && e.layer != 0) scan->emplace_back(e.name, e.layer);
      }
      std::lock_guard lock(tree_mu);
      Node* dn = node(ino);
      dn->scan = std::move(scan);
      dn->prefetched_to = 0;
    }
    fi->fh = reinterpret_cast<uint64_t>(d);
    bool lower_only = v.dir_layers.empty() || v.dir_layers[0] != 0;
    fi->cache_readdir = lower_only;
    fi->keep_cache = lower_only;
    if (fuse_reply_open(req, fi) != 0) delete d;
  }

  void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
               bool plus) {
    auto* d = reinterpret_cast<OpenDir*>(fi->fh);
    // The reply lets the kernel release the directory at once: unlock before replying.
    std::unique_lock dir_lock(d->mu);
    Node* dn = node(ino);
    NodeView v = view(dn);
    std::vector<char> buf(size);
    size_t used = 0;
    // Offsets: 1 and 2 follow "." and "..", then 3 + i follows entry i.
    size_t total = d->entries.size() + 2;
    for (size_t i = static_cast<size_t>(off); i < total; ++i) {
      const char* name;
      struct stat st {};
      fuse_entry_param e{};
      Resolved r;
      if (i < 2) {
        name = i == 0 ? "." : "..";
        st.st_mode = S_IFDIR;
        st.st_ino = 1;
      } else {
        const DirEntry& de = d->entries[i - 2];
        name = de.name.c_str();
        st.st_ino = LayerStack::inode_number(de.layer, de.ino);
        st.st_mode = DTTOIF(de.type);
        if (plus) {
          r = layers.resolve(v.dir_layers, join(v.path, de.name), de.position);
          if (!r.exists) continue;  // removed since opendir
        }
      }
      size_t rem = size - used;
      size_t need;
      if (!plus) {
        need = fuse_add_direntry(req, buf.data() + used, rem, name, &st, i + 1);
      } else if (i < 2) {
        e.attr = st;
        need = fuse_add_direntry_plus(req, buf.data() + used, rem, name, &e, i + 1);
      } else {
        need = fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0);
        if (need <= rem) {
          Node* n;
          {
            std::lock_guard lock(tree_mu);
            n = install_locked(dn, name, r);
          }
          e = entry_of(n, r);
          fuse_add_direntry_plus(req, buf.data() + used, rem, name, &e, i + 1);
        }
      }
      if (need > rem) break;
      used += need;
    }
    dir_lock.unlock();
    fuse_reply_buf(req, buf.data(), used);
  }

  void statfs(fuse_req_t req) {
    struct statvfs st;
    if (::fstatvfs(layers.fd(layers.has_upper() ? 0 : 1), &st) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    fuse_reply_statfs(req, &st);
  }

  void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    if (is_overlay_xattr(name)) {
      fuse_reply_err(req, ENODATA);
      return;
    }
    NodeView v = view(node(ino));
    std::string p = layers.absolute(v.layer, v.path);
    std::vector<char> buf(size);
    ssize_t n = ::lgetxattr(p.c_str(), name, size ? buf.data() : nullptr, size);
    if (n < 0) {
      fuse_reply_err(req, errno);
    } else if (size == 0) {
      fuse_reply_xattr(req, n);
    } else {
      fuse_reply_buf(req, buf.data(), n);
    }
  }

  void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    NodeView v = view(node(ino));
    std::string p = layers.absolute(v.layer, v.path);
    std::vector<char> raw(4096);
    ssize_t n;
    while ((n = ::llistxattr(p.c_str(), raw.data(), raw.size())) < 0 && errno == ERANGE) {
      raw.resize(raw.size() * 4);
    }
    if (n < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    std::string out;
    for (ssize_t off = 0; off < n; off += std::strlen(raw.data() + off) + 1) {
      const char* k = raw.data() + off;
      if (is_overlay_xattr(k)) continue;
      out.append(k);
      out.push_back('\0');
    }
    if (size == 0) {
      fuse_reply_xattr(req, out.size());
    } else if (out.size() > size) {
      fuse_reply_err(req, ERANGE);
    } else {
      fuse_reply_buf(req, out.data(), out.size());
    }
  }

  void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
    if (refuse_readonly(req)) return;
    if (is_overlay_xattr(name)) {
      fuse_reply_err(req, EOPNOTSUPP);
      return;
    }
    std::lock_guard upper(upper_mu);
    NodeView v = view(node(ino));
    if (auto r = ensure_upper(v, true); !r) {
      fuse_reply_err(req, err_of(r.error()));
      return;
    }
    v = view(node(ino));
    std::string p = layers.absolute(0, v.path);
    int rc = ::lsetxattr(p.c_str(), name, value, size, flags);
    fuse_reply_err(req, rc == 0 ? 0 : errno);
  }

  void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
    if (refuse_readonly(req)) return;
    if (is_overlay_xattr(name)) {
      fuse_reply_err(req, ENODATA);
      return;
    }
    std::lock_guard upper(upper_mu);
    NodeView v = view(node(ino));
    if (auto r = ensure_upper(v, true); !r) {
      fuse_reply_err(req, err_of(r.error()));
      return;
    }
    v = view(node(ino));
    int rc = ::lremovexattr(layers.absolute(0, v.path).c_str(), name);
    fuse_reply_err(req, rc == 0 ? 0 : errno);
  }

  void access(fuse_req_t req, fuse_ino_t ino, int mask) {
    NodeView v = view(node(ino));
    if ((mask & W_OK) && !config.writable) {
      fuse_reply_err(req, EROFS);
      return;
    }
    int rc = ::faccessat(layers.fd(v.layer), at_path(v.path), mask & ~W_OK, AT_EACCESS);
    fuse_reply_err(req, rc == 0 ? 0 : errno);
  }
};

namespace {

UnionFs::Impl* impl(fuse_req_t req) {
  return static_cast<UnionFs::Impl*>(fuse_req_userdata(req));
}

void op_init(void* userdata, fuse_conn_info* conn) {
  auto* fs = static_cast<UnionFs::Impl*>(userdata);
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  want(FUSE_CAP_ASYNC_READ);
  // With zero-message opens the kernel would truncate on open without telling us.
  if (fs->config.zero_message_open) {
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  } else {
    want(FUSE_CAP_ATOMIC_O_TRUNC);
  }
  want(FUSE_CAP_EXPORT_SUPPORT);
  if (fs->config.splice) {
    want(FUSE_CAP_SPLICE_WRITE);
    want(FUSE_CAP_SPLICE_MOVE);
    want(FUSE_CAP_SPLICE_READ);
  } else {
    conn->want &= ~(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_SPLICE_READ);
  }
  want(FUSE_CAP_READDIRPLUS);
  want(FUSE_CAP_PARALLEL_DIROPS);
  want(FUSE_CAP_CACHE_SYMLINKS);
  want(FUSE_CAP_ASYNC_DIO);
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  // Layers do not change under us: the kernel needs no invalidation on mtime changes.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_background = fs->config.max_background;
  conn->congestion_threshold = fs->config.max_background * 3 / 4;
  conn->time_gran = 1;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* fs = impl(req);
  fs->reply_lookup(req, fs->node(parent), name);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  impl(req)->forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  auto* fs = impl(req);
  for (size_t i = 0; i < count; ++i) fs->forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  impl(req)->getattr(req, ino, fi);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  impl(req)->setattr(req, ino, attr, to_set, fi);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  impl(req)->readlink(req, ino);
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  impl(req)->mknod(req, parent, name, mode, rdev, nullptr);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  impl(req)->mknod(req, parent, name, S_IFDIR | (mode & 07777), 0, nullptr);
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  impl(req)->mknod(req, parent, name, S_IFLNK | 0777, 0, target);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  impl(req)->unlink(req, parent, name, false);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  impl(req)->unlink(req, parent, name, true);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  impl(req)->rename(req, parent, name, new_parent, new_name, flags);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  impl(req)->link(req, ino, new_parent, new_name);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* fs = impl(req);
  if (fs->config.zero_message_open) {
    fuse_reply_err(req, ENOSYS);  // the kernel stops sending OPEN and RELEASE for files
    return;
  }
  fs->open(req, ino, fi);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  impl(req)->create(req, parent, name, mode, fi);
}

// The fd behind a request: the open file's, or the node's with zero-message opens.
std::shared_ptr<UniqueFd> io_fd(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, bool for_write,
                                int& err) {
  if (fi != nullptr && fi->fh != 0) {
    auto* f = reinterpret_cast<OpenFile*>(fi->fh);
    return std::shared_ptr<UniqueFd>(std::shared_ptr<UniqueFd>(), &f->fd);  // not owned
  }
  auto* fs = impl(req);
  auto r = fs->node_fd(fs->node(ino), for_write);
  if (!r) {
    err = err_of(r.error());
    return nullptr;
  }
  return *std::move(r);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  int err = 0;
  auto fd = io_fd(req, ino, fi, false, err);
  if (!fd) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = fd->get();
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void op_write_buf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  int err = 0;
  auto fd = io_fd(req, ino, fi, true, err);
  if (!fd) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  out.buf[0].fd = fd->get();
  out.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
  if (n < 0) {
    fuse_reply_err(req, static_cast<int>(-n));
  } else {
    fuse_reply_write(req, static_cast<size_t>(n));
  }
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, ENOSYS);  // nothing is buffered here; the kernel stops asking
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  if (fi->fh != 0) delete reinterpret_cast<OpenFile*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  int err = 0;
  auto fd = io_fd(req, ino, fi, false, err);
  if (!fd) {
    fuse_reply_err(req, err);
    return;
  }
  int rc = datasync ? ::fdatasync(fd->get()) : ::fsync(fd->get());
  fuse_reply_err(req, rc == 0 ? 0 : errno);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  impl(req)->opendir(req, ino, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  impl(req)->readdir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  impl(req)->readdir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<OpenDir*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  impl(req)->statfs(req);
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
  impl(req)->setxattr(req, ino, name, value, size, flags);
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  impl(req)->getxattr(req, ino, name, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  impl(req)->listxattr(req, ino, size);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  impl(req)->removexattr(req, ino, name);
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  impl(req)->access(req, ino, mask);
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                  fuse_file_info* fi) {
  int err = 0;
  auto fd = io_fd(req, ino, fi, true, err);
  if (!fd) {
    fuse_reply_err(req, err);
    return;
  }
  int rc = ::fallocate(fd->get(), mode, off, len);
  fuse_reply_err(req, rc == 0 ? 0 : errno);
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.symlink = op_symlink;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write_buf = op_write_buf;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  ops.access = op_access;
  ops.fallocate = op_fallocate;
  return ops;
}

}  // namespace

UnionFs::UnionFs(LayerStack layers, UnionFsConfig config)
    : impl_(std::make_unique<Impl>(std::move(layers), config)) {}

UnionFs::~UnionFs() = default;

const fuse_lowlevel_ops& UnionFs::operations() {
  static const fuse_lowlevel_ops ops = make_ops();
  return ops;
}

void* UnionFs::userdata() {
  return impl_.get();
}

}  // namespace gantry::runtime::fuse
