#include "runtime/snapshot/dir_snapshotter.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <set>
#include <utility>

namespace gantry::runtime::snapshot {

namespace {

namespace fs = std::filesystem;

std::string in_quotes(std::string_view key) {
  return "'" + std::string(key) + "'";
}

Error not_found(std::string_view key) {
  return Error(ErrorKind::not_found, "snapshot " + in_quotes(key) + ": not found");
}

Result<void> make_dir(const fs::path& p) {
  if (mkdir(p.c_str(), 0700) != 0) return errno_error(errno, "create '" + p.string() + "'");
  return ok();
}

Result<void> remove_tree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) return errno_error(ec.value(), "remove '" + p.string() + "'");
  return ok();
}

// Bytes and inodes below dir, each inode once however many links it has.
Result<Usage> disk_usage(const fs::path& dir) {
  Usage u;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto count = [&](const fs::path& p) -> Result<void> {
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) return errno_error(errno, "stat '" + p.string() + "'");
    if (!seen.emplace(st.st_dev, st.st_ino).second) return ok();
    ++u.inodes;
    if (!S_ISDIR(st.st_mode)) u.size_bytes += st.st_size;
    return ok();
  };
  GANTRY_TRY(count(dir));
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    GANTRY_TRY(count(it->path()));
  }
  if (ec) return errno_error(ec.value(), "walk '" + dir.string() + "'");
  return u;
}

}  // namespace

DirSnapshotter::DirSnapshotter(fs::path root, Env& env) : root_(std::move(root)), env_(env) {}

fs::path DirSnapshotter::dir_of(uint64_t id) const {
  return root_ / "snapshots" / std::to_string(id);
}

Result<void> DirSnapshotter::open(std::string_view backend) {
  std::error_code ec;
  fs::create_directories(root_ / "snapshots", ec);
  if (ec) return errno_error(ec.value(), "create '" + (root_ / "snapshots").string() + "'");
  fs::path lock = root_ / "lock";
  lock_fd_.reset(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_fd_) return errno_error(errno, "open '" + lock.string() + "'");
  if (flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error(ErrorKind::conflict,
                   "snapshotter root '" + root_.string() + "' is in use by another snapshotter",
                   errno);
    }
    return errno_error(errno, "lock '" + lock.string() + "'");
  }
  GANTRY_ASSIGN_OR_RETURN(md_, Metadata::load(metadata_file(), backend));
  if (!fs::exists(metadata_file(), ec)) GANTRY_TRY(md_.save(metadata_file()));  // claim the root
  return remove_orphans();
}

// The metadata is the claim; directories are reconciled with it: one that no snapshot names
// is what a crash left between making it and saving the metadata, or after saving a removal.
Result<void> DirSnapshotter::remove_orphans() {
  std::set<uint64_t> named;
  for (const auto& [_, r] : md_.records) named.insert(r.id);
  std::error_code ec;
  for (fs::directory_iterator it(root_ / "snapshots", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    uint64_t id = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), id);
    bool numbered = err == std::errc() && ptr == name.data() + name.size();
    if (numbered && named.count(id) != 0) continue;
    if (numbered && id >= md_.next_id) md_.next_id = id + 1;  // never reuse a number
    GANTRY_TRY_CTX(remove_tree(it->path()), "remove orphan");
  }
  if (ec) return errno_error(ec.value(), "list '" + (root_ / "snapshots").string() + "'");
  for (const auto& [_, r] : md_.records) {
    if (r.info.kind != Kind::committed) continue;
    GANTRY_ASSIGN_OR_RETURN(Place place, place_of(r));
    seal(place);  // a crash between committing and sealing
  }
  return ok();
}

Result<DirSnapshotter::Place> DirSnapshotter::place_of(const Record& record) const {
  Place place{dir_of(record.id), {}, record.info.kind};
  std::string parent = record.info.parent;
  while (!parent.empty()) {
    const Record* p = md_.find(parent);
    if (p == nullptr) return Error(ErrorKind::internal, "parent " + in_quotes(parent) + " missing");
    place.parents.push_back(dir_of(p->id) / "fs");
    parent = p->info.parent;
  }
  return place;
}

Result<Info> DirSnapshotter::stat(std::string_view key) {
  std::lock_guard lock(mu_);
  const Record* r = md_.find(key);
  if (r == nullptr) return not_found(key);
  return r->info;
}

Result<std::vector<Mount>> DirSnapshotter::mounts(std::string_view key) {
  std::lock_guard lock(mu_);
  const Record* r = md_.find(key);
  if (r == nullptr) return not_found(key);
  if (r->info.kind == Kind::committed) {
    return Error(ErrorKind::failed_precondition, "mounts of snapshot " + in_quotes(key) +
                                                     ": committed snapshots are not mounted; "
                                                     "make a view of it");
  }
  GANTRY_ASSIGN_OR_RETURN(Place place, place_of(*r));
  return mounts_of(place);
}

Result<std::vector<Mount>> DirSnapshotter::prepare(std::string_view key, std::string_view parent) {
  auto r = create(key, parent, Kind::active);
  if (!r) return std::move(r).error().with_context("prepare " + in_quotes(key));
  return r;
}

Result<std::vector<Mount>> DirSnapshotter::view(std::string_view key, std::string_view parent) {
  auto r = create(key, parent, Kind::view);
  if (!r) return std::move(r).error().with_context("view " + in_quotes(key));
  return r;
}

Result<std::vector<Mount>> DirSnapshotter::create(std::string_view key, std::string_view parent,
                                                  Kind kind) {
  std::lock_guard lock(mu_);
  if (key.empty()) return Error(ErrorKind::invalid_argument, "empty key");
  if (md_.find(key) != nullptr) return Error(ErrorKind::already_exists, "key already exists");
  if (!parent.empty()) {
    const Record* p = md_.find(parent);
    if (p == nullptr)
      return Error(ErrorKind::not_found, "parent " + in_quotes(parent) + " not found");
    if (p->info.kind != Kind::committed) {
      return Error(ErrorKind::failed_precondition, "parent " + in_quotes(parent) + " is " +
                                                       std::string(to_string(p->info.kind)) +
                                                       ", not committed");
    }
  }
  Record record;
  record.id = md_.next_id;
  record.info.name = key;
  record.info.parent = parent;
  record.info.kind = kind;
  record.info.created_ns = record.info.updated_ns = env_.now_ns();
  GANTRY_ASSIGN_OR_RETURN(Place place, place_of(record));

  Metadata next = md_;
  next.next_id += 1;
  next.records.emplace(key, record);
  GANTRY_TRY(make_dir(place.dir));
  auto made = populate(place);
  if (made) made = next.save(metadata_file());
  if (!made) {
    (void)remove_tree(place.dir);
    return std::move(made).error();
  }
  md_ = std::move(next);
  return mounts_of(place);
}

Result<void> DirSnapshotter::commit(std::string_view name, std::string_view key) {
  std::lock_guard lock(mu_);
  std::string context = "commit " + in_quotes(key) + " as " + in_quotes(name);
  const Record* r = md_.find(key);
  if (r == nullptr) return not_found(key).with_context(context);
  if (r->info.kind != Kind::active) {
    return Error(ErrorKind::failed_precondition, context + ": snapshot is " +
                                                     std::string(to_string(r->info.kind)) +
                                                     "; only an active snapshot can be committed");
  }
  if (name.empty()) return Error(ErrorKind::invalid_argument, context + ": empty name");
  if (name != key && md_.find(name) != nullptr) {
    return Error(ErrorKind::already_exists, context + ": name already exists");
  }
  Record record = *r;
  record.info.name = name;
  record.info.kind = Kind::committed;
  record.info.updated_ns = env_.now_ns();
  Metadata next = md_;
  next.records.erase(next.records.find(key));
  next.records.emplace(name, record);
  GANTRY_TRY_CTX(next.save(metadata_file()), context);
  md_ = std::move(next);
  GANTRY_ASSIGN_OR_RETURN(Place place, place_of(record));
  seal(place);
  return ok();
}

Result<void> DirSnapshotter::remove(std::string_view key) {
  std::lock_guard lock(mu_);
  std::string context = "remove " + in_quotes(key);
  const Record* r = md_.find(key);
  if (r == nullptr) return not_found(key).with_context(context);
  if (md_.has_children(key)) {
    return Error(ErrorKind::failed_precondition, context + ": it is the parent of other snapshots");
  }
  fs::path dir = dir_of(r->id);
  Metadata next = md_;
  next.records.erase(next.records.find(key));
  GANTRY_TRY_CTX(next.save(metadata_file()), context);
  md_ = std::move(next);
  // The snapshot is gone; a directory that resists removal is an orphan for the next open.
  GANTRY_TRY_CTX(remove_tree(dir), context);
  return ok();
}

Result<void> DirSnapshotter::walk(const std::function<void(const Info&)>& fn) {
  std::vector<Info> infos;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, r] : md_.records) infos.push_back(r.info);
  }
  for (const auto& info : infos) fn(info);  // fn may call back into us
  return ok();
}

Result<Usage> DirSnapshotter::usage(std::string_view key) {
  fs::path fs_dir;
  {
    std::lock_guard lock(mu_);
    const Record* r = md_.find(key);
    if (r == nullptr) return not_found(key).with_context("usage");
    fs_dir = dir_of(r->id) / "fs";
  }
  auto u = disk_usage(fs_dir);
  if (!u) return std::move(u).error().with_context("usage of " + in_quotes(key));
  return u;
}

Result<Snapshotter::Layout> DirSnapshotter::layout(std::string_view key) {
  std::lock_guard lock(mu_);
  const Record* r = md_.find(key);
  if (r == nullptr) return not_found(key).with_context("layout");
  GANTRY_ASSIGN_OR_RETURN(Place place, place_of(*r));
  return layout_of(place);
}

}  // namespace gantry::runtime::snapshot
