#include "runtime/content/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

#include "runtime/sys/fs.h"

namespace gantry::runtime::content {

namespace fs = std::filesystem;
using sys::UniqueFd;

namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr std::string_view kIngestSuffix = ".ingest";

Result<void> make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "create directory '" + dir.string() + "'");
  return ok();
}

bool is_blob_name(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Creates a locked temp file in dir. The lock tells clean_ingests that a writer is alive; the
// link check covers a clean_ingests that removed the file between create and lock.
Result<std::pair<UniqueFd, fs::path>> create_locked_temp(const fs::path& dir) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string tmpl = (dir / "XXXXXX.ingest").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    UniqueFd fd(::mkostemps(buf.data(), static_cast<int>(kIngestSuffix.size()), O_CLOEXEC));
    if (!fd) return errno_error(errno, "create ingest file in '" + dir.string() + "'");
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a cleaner holds it: retry
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      return errno_error(errno, "stat '" + std::string(buf.data()) + "'");
    if (st.st_nlink == 0) continue;  // removed by a cleaner before we locked it
    return std::pair<UniqueFd, fs::path>(std::move(fd), fs::path(buf.data()));
  }
  return Error(ErrorKind::unavailable, "create ingest file in '" + dir.string() +
                                           "': raced with clean_ingests too many times");
}

}  // namespace

// ---- Writer

Writer::Writer(fs::path blobs_dir, fs::path temp_path, UniqueFd fd, std::optional<Digest> expected,
               std::optional<int64_t> expected_size)
    : blobs_dir_(std::move(blobs_dir)),
      temp_path_(std::move(temp_path)),
      fd_(std::move(fd)),
      expected_(std::move(expected)),
      expected_size_(expected_size) {}

Writer::Writer(Writer&&) noexcept = default;

Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    abort();
    blobs_dir_ = std::move(o.blobs_dir_);
    temp_path_ = std::move(o.temp_path_);
    fd_ = std::move(o.fd_);
    expected_ = std::move(o.expected_);
    expected_size_ = o.expected_size_;
    hash_ = std::move(o.hash_);
    written_bytes_ = o.written_bytes_;
  }
  return *this;
}

Writer::~Writer() {
  abort();
}

void Writer::abort() {
  if (!fd_) return;
  ::unlink(temp_path_.c_str());
  fd_.reset();  // releases the lock after the name is gone
}

Result<void> Writer::fail(Error e) {
  abort();
  return e;
}

Result<void> Writer::write(std::span<const uint8_t> data) {
  if (!fd_) return Error(ErrorKind::failed_precondition, "write to a finished ingest");
  if (expected_size_ && written_bytes_ + static_cast<int64_t>(data.size()) > *expected_size_) {
    return fail(Error(ErrorKind::invalid_argument,
                      "ingest " + (expected_ ? expected_->str() : std::string("blob")) +
                          ": more than the expected " + std::to_string(*expected_size_) +
                          " bytes"));
  }
  if (auto r = sys::write_all(fd_.get(), data); !r) {
    return fail(std::move(r).error().with_context("write '" + temp_path_.string() + "'"));
  }
  hash_.update(data);
  written_bytes_ += static_cast<int64_t>(data.size());
  return ok();
}

Result<void> Writer::write(std::string_view data) {
  return write(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Result<Digest> Writer::commit() {
  if (!fd_) return Error(ErrorKind::failed_precondition, "commit of a finished ingest");
  Digest actual = hash_.finish();
  if (expected_size_ && written_bytes_ != *expected_size_) {
    std::string name = expected_ ? expected_->str() : actual.str();
    abort();
    return Error(ErrorKind::invalid_argument, "commit " + name + ": expected size " +
                                                  std::to_string(*expected_size_) + ", got " +
                                                  std::to_string(written_bytes_));
  }
  if (expected_ && *expected_ != actual) {
    abort();
    return Error(ErrorKind::invalid_argument,
                 "commit: expected digest " + expected_->str() + ", got " + actual.str());
  }
  std::string what = "commit " + actual.str();
  if (::fchmod(fd_.get(), 0644) != 0) {
    Error e = errno_error(errno, what + ": chmod '" + temp_path_.string() + "'");
    abort();
    return e;
  }
  if (::fsync(fd_.get()) != 0) {
    Error e = errno_error(errno, what + ": fsync '" + temp_path_.string() + "'");
    abort();
    return e;
  }
  fs::path target = blobs_dir_ / actual.hex();
  // RENAME_NOREPLACE: an existing blob (same digest, same bytes) stays and ours is dropped.
  int rc = ::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
    // The filesystem lacks RENAME_NOREPLACE; replacing equal bytes is harmless.
    rc = ::rename(temp_path_.c_str(), target.c_str());
  }
  if (rc != 0) {
    int err = errno;
    abort();
    if (err != EEXIST) {
      return errno_error(
          err, what + ": rename '" + temp_path_.string() + "' to '" + target.string() + "'");
    }
  } else {
    fd_.reset();
  }
  GANTRY_TRY_CTX(sys::fsync_dir(blobs_dir_), what);
  return actual;
}

// ---- ContentStore

Result<ContentStore> ContentStore::open(const fs::path& root, StoreOptions options) {
  fs::path blobs = root / "blobs" / "sha256";
  GANTRY_TRY_CTX(make_dirs(blobs), "open content store '" + root.string() + "'");
  fs::path ingest = options.ingest_dir.empty() ? root / "ingest" : options.ingest_dir;
  return ContentStore(root, std::move(blobs), std::move(ingest));
}

Result<Writer> ContentStore::ingest(std::optional<Digest> expected,
                                    std::optional<int64_t> expected_size) {
  if (expected && !expected->valid()) {
    return Error(ErrorKind::invalid_argument, "ingest: the expected digest is empty");
  }
  if (expected_size && *expected_size < 0) {
    return Error(ErrorKind::invalid_argument,
                 "ingest: negative expected size " + std::to_string(*expected_size));
  }
  GANTRY_TRY_CTX(make_dirs(ingest_dir_), "ingest");
  GANTRY_ASSIGN_OR_RETURN_CTX(auto temp, create_locked_temp(ingest_dir_), "ingest");
  return Writer(blobs_dir_, std::move(temp.second), std::move(temp.first), std::move(expected),
                expected_size);
}

Result<Digest> ContentStore::ingest_fd(int fd, std::optional<Digest> expected,
                                       std::optional<int64_t> expected_size) {
  GANTRY_ASSIGN_OR_RETURN(Writer w, ingest(expected, expected_size));
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  std::vector<uint8_t> buf(kChunkBytes);
  // Regular files: the kernel copies (or reflinks) a chunk, then we hash the chunk as it landed
  // in our file, from the page cache. So the digest is of what we store, even if the source
  // changes under us.
  while (regular) {
    size_t want = kChunkBytes;
    if (expected_size) {
      // One byte more than expected is enough to tell "too long".
      int64_t left = *expected_size - w.written_bytes_ + 1;
      want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(kChunkBytes)));
    }
    loff_t out_off = w.written_bytes_;
    ssize_t n = ::copy_file_range(fd, nullptr, w.fd_.get(), &out_off, want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (w.written_bytes_ == 0 &&
          (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        regular = false;  // fall back to read/write
        break;
      }
      return errno_error(errno, "ingest: copy_file_range to '" + w.temp_path_.string() + "'");
    }
    if (n == 0) return w.commit();
    if (expected_size && w.written_bytes_ + n > *expected_size) {
      w.abort();
      return Error(ErrorKind::invalid_argument,
                   "ingest " + (expected ? expected->str() : std::string("blob")) +
                       ": more than the expected " + std::to_string(*expected_size) + " bytes");
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t r =
          ::pread(w.fd_.get(), buf.data(), static_cast<size_t>(n - done), w.written_bytes_ + done);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        return errno_error(r < 0 ? errno : EIO,
                           "ingest: read back '" + w.temp_path_.string() + "'");
      }
      w.hash_.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(r)));
      done += r;
    }
    w.written_bytes_ += n;
    if (::lseek(w.fd_.get(), w.written_bytes_, SEEK_SET) < 0) {
      return errno_error(errno, "ingest: seek '" + w.temp_path_.string() + "'");
    }
  }
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "ingest: read source fd " + std::to_string(fd));
    }
    if (n == 0) break;
    GANTRY_TRY(w.write(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n))));
  }
  return w.commit();
}

Result<Digest> ContentStore::write_blob(std::string_view bytes, std::optional<Digest> expected) {
  GANTRY_ASSIGN_OR_RETURN(Writer w,
                          ingest(std::move(expected), static_cast<int64_t>(bytes.size())));
  GANTRY_TRY(w.write(bytes));
  return w.commit();
}

fs::path ContentStore::path_of(const Digest& digest) const {
  return blobs_dir_ / digest.hex();
}

Result<UniqueFd> ContentStore::open_blob(const Digest& digest) const {
  fs::path p = path_of(digest);
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open blob " + digest.str() + " in '" + root_.string() + "'");
  return fd;
}

Result<std::string> ContentStore::read_blob(const Digest& digest, int64_t max_size_bytes) const {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, open_blob(digest));
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string bytes, sys::read_all(fd.get(), max_size_bytes),
                              "read blob " + digest.str());
  Digest actual = Digest::of(bytes);
  if (actual != digest) {
    return Error(ErrorKind::internal, "blob " + digest.str() + " in '" + root_.string() +
                                          "' is corrupt: its content hashes to " + actual.str());
  }
  return bytes;
}

Result<BlobInfo> ContentStore::stat(const Digest& digest) const {
  struct stat st {};
  if (::stat(path_of(digest).c_str(), &st) != 0) {
    return errno_error(errno, "stat blob " + digest.str() + " in '" + root_.string() + "'");
  }
  return BlobInfo{static_cast<int64_t>(st.st_size)};
}

bool ContentStore::contains(const Digest& digest) const {
  return ::access(path_of(digest).c_str(), F_OK) == 0;
}

Result<void> ContentStore::remove(const Digest& digest) {
  if (::unlink(path_of(digest).c_str()) != 0) {
    return errno_error(errno, "remove blob " + digest.str() + " from '" + root_.string() + "'");
  }
  return sys::fsync_dir(blobs_dir_);
}

Result<void> ContentStore::walk(
    const std::function<void(const Digest&, const BlobInfo&)>& fn) const {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(blobs_dir_.c_str()), ::closedir);
  if (!dir) return errno_error(errno, "walk blobs in '" + blobs_dir_.string() + "'");
  int dfd = ::dirfd(dir.get());
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return errno_error(errno, "walk blobs in '" + blobs_dir_.string() + "'");
      break;
    }
    if (!is_blob_name(e->d_name)) continue;
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while we walked
      return errno_error(errno, "walk blobs: stat '" + std::string(e->d_name) + "'");
    }
    if (!S_ISREG(st.st_mode)) continue;
    auto digest = Digest::parse("sha256:" + std::string(e->d_name));
    assert(digest.has_value());
    fn(*digest, BlobInfo{static_cast<int64_t>(st.st_size)});
  }
  return ok();
}

Result<Usage> ContentStore::usage() const {
  Usage u;
  GANTRY_TRY(walk([&](const Digest&, const BlobInfo& info) {
    ++u.blob_count;
    u.size_bytes += info.size_bytes;
  }));
  return u;
}

Result<int64_t> ContentStore::clean_ingests() {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(ingest_dir_.c_str()), ::closedir);
  if (!dir) {
    if (errno == ENOENT) return int64_t{0};
    return errno_error(errno, "clean ingests in '" + ingest_dir_.string() + "'");
  }
  int dfd = ::dirfd(dir.get());
  int64_t removed = 0;
  std::vector<std::string> names;
  for (dirent* e; (e = ::readdir(dir.get())) != nullptr;) {
    std::string_view name = e->d_name;
    if (name.ends_with(kIngestSuffix)) names.emplace_back(name);
  }
  for (const auto& name : names) {
    UniqueFd fd(::openat(dfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) continue;                                        // committed or removed meanwhile
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a live writer holds it
    if (::unlinkat(dfd, name.c_str(), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      return errno_error(errno, "clean ingests: remove '" + (ingest_dir_ / name).string() + "'");
    }
  }
  return removed;
}

}  // namespace gantry::runtime::content
