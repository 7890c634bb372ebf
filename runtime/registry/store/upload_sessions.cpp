// Upload sessions: uploads/<id>/{repo,data,offset}. Bytes go to `data` as they arrive and are
// hashed on the way, so completing a session does not read the blob again (the first MiB of a
// chunk on the connection's thread, the rest by a hasher thread reading the page cache behind
// the writes, so that receiving and hashing use two cores); `offset` holds the
// acknowledged length (data beyond it is a chunk that was never acknowledged, cut on reopen).
// A completed session's data file is renamed into the content store after its digest and
// length are verified.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <thread>
#include <vector>

#include "model/api/registry_names.h"
#include "runtime/registry/store/store_impl.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::registry::detail {

using api::RegistryError;
using api::RegistryResult;
using Code = api::RegistryErrorCode;
namespace fs = std::filesystem;

namespace {

// Sessions idle this long are expired by gc (distribution's upload purging age).
constexpr std::chrono::hours kSessionIdleLimit{24 * 7};
constexpr size_t kOffsetFieldBytes = 21;  // 20 digits and a newline

std::optional<RegistryError> check_name(const std::string& repo) {
  if (api::valid_repository_name(repo)) return std::nullopt;
  return RegistryError(Code::name_invalid, "invalid repository name '" + repo + "'");
}

RegistryError io_error(Code code, const Error& e) {
  return RegistryError(code, 500, "storage: " + e.to_string());
}

RegistryError range_error(uint64_t offset_bytes, uint64_t at) {
  return RegistryError(Code::range_invalid, "chunk starts at " + std::to_string(offset_bytes) +
                                                ", the upload is at " + std::to_string(at));
}

void remove_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

Result<void> truncate_to(Session& s, uint64_t size_bytes) {
  if (::ftruncate(s.data_fd.get(), static_cast<off_t>(size_bytes)) != 0)
    return errno_error(errno, "truncate upload " + s.id);
  return ok();
}

// Hashes [from, end) of a data file on a thread of its own as the writer advances end: the
// bytes are read back from the page cache (pread), so the writer's buffer is free as soon as
// its write returns. The hash belongs to this thread until finish() returns.
class BackgroundHasher {
 public:
  BackgroundHasher(Sha256& hash, int fd, uint64_t from)
      : hash_(hash), fd_(fd), hashed_(from), available_(from) {
    thread_ = std::thread([this] { run(); });
  }
  ~BackgroundHasher() { (void)finish(); }
  BackgroundHasher(const BackgroundHasher&) = delete;
  BackgroundHasher& operator=(const BackgroundHasher&) = delete;

  // Bytes up to end are in the file.
  void advance(uint64_t end) {
    bool wake;
    {
      std::lock_guard l(mu_);
      available_ = end;
      wake = waiting_ && available_ - hashed_ >= kBatchBytes;
    }
    if (wake) cv_.notify_one();
  }

  // Waits until every advanced byte is hashed. False when the file could not be read back:
  // the hash is then incomplete and must not be used.
  bool finish() {
    if (thread_.joinable()) {
      {
        std::lock_guard l(mu_);
        stop_ = true;
      }
      cv_.notify_one();
      thread_.join();
    }
    return ok_;
  }

 private:
  static constexpr uint64_t kBatchBytes = 1 << 20;

  void run() {
    std::vector<uint8_t> buf(kBatchBytes);
    for (;;) {
      uint64_t end;
      {
        std::unique_lock l(mu_);
        waiting_ = true;
        cv_.wait(l, [&] { return stop_ || available_ - hashed_ >= kBatchBytes; });
        waiting_ = false;
        end = available_;
        if (stop_ && hashed_ == end) return;
      }
      uint64_t at = hashed_;
      while (at < end) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - at));
        ssize_t n = ::pread(fd_, buf.data(), want, static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          ok_ = false;
          return;
        }
        hash_.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
        at += static_cast<uint64_t>(n);
      }
      std::lock_guard l(mu_);
      hashed_ = at;
    }
  }

  Sha256& hash_;
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t hashed_;     // under mu_ (the thread alone writes it)
  uint64_t available_;  // under mu_
  bool waiting_ = false;
  bool stop_ = false;
  bool ok_ = true;  // written by the thread, read after join
  std::thread thread_;
};

class ChunkWriterImpl final : public ChunkWriter {
 public:
  ChunkWriterImpl(StoreImpl& store, std::shared_ptr<Session> s, std::optional<uint64_t> length)
      : store_(store), s_(std::move(s)), content_length_(length), start_(s_->offset_bytes) {}

  ~ChunkWriterImpl() override {
    if (done_) return;
    std::lock_guard l(s_->mu);
    drop();
  }

  Result<void> write(std::span<const uint8_t> data) override {
    if (done_) return Error(ErrorKind::failed_precondition, "chunk already finished");
    if (content_length_ && written_ + data.size() > *content_length_)
      return Error(ErrorKind::invalid_argument,
                   "chunk longer than its Content-Length " + std::to_string(*content_length_));
    if (s_->hash && !hasher_ && written_ + data.size() > kInlineHashBytes) {
      hasher_.emplace(*s_->hash, s_->data_fd.get(), start_ + written_);
    }
    GANTRY_TRY_CTX(sys::pwrite_all(s_->data_fd.get(), data, start_ + written_),
                   "write upload " + s_->id);
    if (hasher_) {
      hasher_->advance(start_ + written_ + data.size());
    } else if (s_->hash) {
      s_->hash->update(data);
    }
    written_ += data.size();
    // Start the writeback of what arrived so far without waiting for it: the fdatasync that
    // acknowledges the chunk (or the completion) then finds little left to write, and the disk
    // works while the rest of the body is received.
    if (store_.options().durable && written_ - flushed_ >= kWritebackBytes) {
      (void)::sync_file_range(s_->data_fd.get(), static_cast<off_t>(start_ + flushed_),
                              static_cast<off_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
      flushed_ = written_;
    }
    return ok();
  }

  RegistryResult<api::UploadStatus> finish() override { return finish_chunk(true); }
  RegistryResult<api::UploadStatus> finish_for_completion() override { return finish_chunk(false); }

 private:
  static constexpr uint64_t kWritebackBytes = 4 << 20;
  // Chunks up to this size are hashed on the connection's thread (no thread for small blobs).
  static constexpr uint64_t kInlineHashBytes = 1 << 20;

  // The session's hash covers what this chunk wrote; reset when that could not be done.
  void settle_hash() {
    if (!hasher_) return;
    bool hashed = hasher_->finish();
    hasher_.reset();
    if (!hashed) s_->hash.reset();  // completion then reads the data file once
  }

  RegistryResult<api::UploadStatus> finish_chunk(bool durable) {
    if (done_) return RegistryError(Code::blob_upload_invalid, "chunk already finished");
    settle_hash();
    std::lock_guard l(s_->mu);
    if (s_->ended) {  // cancelled while this chunk came in
      drop();
      return RegistryError(Code::blob_upload_unknown, "upload " + s_->id + " was cancelled");
    }
    if (content_length_ && *content_length_ != written_) {
      drop();
      return RegistryError(Code::blob_upload_invalid, "chunk of " + std::to_string(written_) +
                                                          " bytes, Content-Length " +
                                                          std::to_string(*content_length_));
    }
    s_->offset_bytes = start_ + written_;
    if (auto p = durable ? store_.persist_offset(*s_) : ok(); !p) {
      s_->offset_bytes = start_;
      drop();
      return io_error(Code::blob_upload_invalid, p.error());
    }
    done_ = true;
    s_->busy = false;
    s_->touched = Clock::now();
    return api::UploadStatus{s_->id, s_->offset_bytes};
  }

  // Back to the acknowledged offset; the hash has seen bytes that are gone, so it is dropped
  // (a completion then reads the data file once). Caller holds s_->mu.
  void drop() {
    done_ = true;
    hasher_.reset();  // stops reading before the file is cut
    (void)truncate_to(*s_, start_);
    if (written_ > 0) s_->hash.reset();
    s_->busy = false;
    s_->touched = Clock::now();
  }

  StoreImpl& store_;
  std::shared_ptr<Session> s_;
  std::optional<uint64_t> content_length_;
  uint64_t start_;
  uint64_t written_ = 0;
  uint64_t flushed_ = 0;  // bytes of this chunk whose writeback was started
  bool done_ = false;
  std::optional<BackgroundHasher> hasher_;  // owns s_->hash while set
};

Result<Digest> hash_file(int fd, uint64_t size_bytes) {
  Sha256 h;
  std::vector<uint8_t> buf(1 << 20);
  uint64_t done = 0;
  while (done < size_bytes) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size_bytes - done),
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "read upload data");
    if (n == 0) return Error(ErrorKind::internal, "upload data shorter than its offset");
    h.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  return h.finish();
}

}  // namespace

Result<void> StoreImpl::persist_offset(Session& s) {
  char field[kOffsetFieldBytes + 1];
  std::snprintf(field, sizeof field, "%020llu\n", static_cast<unsigned long long>(s.offset_bytes));
  GANTRY_TRY(sys::pwrite_all(
      s.offset_fd.get(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(field), kOffsetFieldBytes), 0));
  if (!options_.durable) return ok();
  if (::fdatasync(s.data_fd.get()) != 0) return errno_error(errno, "fsync upload " + s.id);
  if (::fdatasync(s.offset_fd.get()) != 0) return errno_error(errno, "fsync upload " + s.id);
  if (!s.synced_once) {
    sys::UniqueFd repo_fd(::open((s.dir / "repo").c_str(), O_RDONLY | O_CLOEXEC));
    if (!repo_fd || ::fsync(repo_fd.get()) != 0) return errno_error(errno, "fsync upload " + s.id);
    GANTRY_TRY(sys::fsync_dir(s.dir));
    GANTRY_TRY(sys::fsync_dir(uploads_dir_));
    s.synced_once = true;
  }
  return ok();
}

RegistryResult<api::UploadStatus> StoreImpl::new_session(const std::string& repo) {
  auto s = std::make_shared<Session>();
  s->id = random_hex();
  s->repo = repo;
  s->dir = uploads_dir_ / s->id;
  s->hash.emplace();
  s->touched = Clock::now();
  auto made = [&]() -> Result<void> {
    if (::mkdir(s->dir.c_str(), 0755) != 0)
      return errno_error(errno, "mkdir '" + s->dir.string() + "'");
    sys::UniqueFd repo_fd(
        ::open((s->dir / "repo").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!repo_fd) return errno_error(errno, "create session repo file");
    GANTRY_TRY(sys::write_all(repo_fd.get(), repo));
    s->data_fd.reset(::open((s->dir / "data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!s->data_fd) return errno_error(errno, "create session data file");
    s->offset_fd.reset(::open((s->dir / "offset").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!s->offset_fd) return errno_error(errno, "create session offset file");
    return ok();
  }();
  if (!made) {
    remove_dir(s->dir);
    return io_error(Code::blob_upload_invalid, made.error());
  }
  std::lock_guard l(sessions_mu_);
  sessions_[s->id] = s;
  return api::UploadStatus{s->id, 0};
}

RegistryResult<std::shared_ptr<Session>> StoreImpl::find_session(const std::string& repo,
                                                                 const api::SessionId& id) {
  std::lock_guard l(sessions_mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->repo != repo)
    return RegistryError(Code::blob_upload_unknown, "upload " + id + " unknown in " + repo);
  return it->second;
}

void StoreImpl::end_session(Session& s) {
  s.ended = true;
  std::lock_guard l(sessions_mu_);
  sessions_.erase(s.id);
}

RegistryResult<std::string> StoreImpl::session_repository(const api::SessionId& session) {
  std::lock_guard l(sessions_mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end())
    return RegistryError(Code::blob_upload_unknown, "upload " + session + " unknown");
  return it->second->repo;
}

RegistryResult<api::UploadStatus> StoreImpl::start_upload(const std::string& repo) {
  if (auto e = check_name(repo)) return *e;
  return new_session(repo);
}

RegistryResult<std::unique_ptr<ChunkWriter>> StoreImpl::begin_chunk(
    const std::string& repo, const api::SessionId& session, uint64_t offset_bytes,
    std::optional<uint64_t> content_length) {
  if (auto e = check_name(repo)) return *e;
  auto found = find_session(repo, session);
  if (!found) return found.error();
  std::shared_ptr<Session> s = std::move(found).value();
  std::lock_guard l(s->mu);
  if (s->ended)
    return RegistryError(Code::blob_upload_unknown, "upload " + session + " unknown in " + repo);
  if (s->busy)
    return RegistryError(Code::blob_upload_invalid, "upload " + session + " is receiving a chunk");
  if (offset_bytes != s->offset_bytes) return range_error(offset_bytes, s->offset_bytes);
  s->busy = true;
  return std::unique_ptr<ChunkWriter>(std::make_unique<ChunkWriterImpl>(*this, s, content_length));
}

RegistryResult<api::UploadStatus> StoreImpl::upload_chunk(const std::string& repo,
                                                          const api::SessionId& session,
                                                          uint64_t offset_bytes,
                                                          const std::string& bytes) {
  auto w = begin_chunk(repo, session, offset_bytes, bytes.size());
  if (!w) return w.error();
  auto written = (*w)->write(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!written) return io_error(Code::blob_upload_invalid, written.error());
  return (*w)->finish();
}

RegistryResult<api::UploadStatus> StoreImpl::upload_status(const std::string& repo,
                                                           const api::SessionId& session) {
  if (auto e = check_name(repo)) return *e;
  auto s = find_session(repo, session);
  if (!s) return s.error();
  std::lock_guard l((*s)->mu);
  if ((*s)->ended)
    return RegistryError(Code::blob_upload_unknown, "upload " + session + " unknown in " + repo);
  return api::UploadStatus{session, (*s)->offset_bytes};
}

RegistryResult<api::BlobCreated> StoreImpl::complete_upload(const std::string& repo,
                                                            const api::SessionId& session,
                                                            const std::string& digest,
                                                            const std::string& last_chunk) {
  if (auto e = check_name(repo)) return *e;
  auto found = find_session(repo, session);
  if (!found) return found.error();
  std::shared_ptr<Session> s = std::move(found).value();
  std::unique_lock l(s->mu);
  if (s->ended)
    return RegistryError(Code::blob_upload_unknown, "upload " + session + " unknown in " + repo);
  if (s->busy)
    return RegistryError(Code::blob_upload_invalid, "upload " + session + " is receiving a chunk");
  // From here every answer ends the session: a 4xx other than 416 fails the upload.
  end_session(*s);
  auto result = [&]() -> RegistryResult<api::BlobCreated> {
    auto d = api::parse_digest(digest);
    if (!d) return d.error();
    if (!last_chunk.empty()) {
      auto w = sys::pwrite_all(
          s->data_fd.get(),
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(last_chunk.data()),
                                   last_chunk.size()),
          s->offset_bytes);
      if (!w) return io_error(Code::blob_upload_invalid, w.error());
      if (s->hash) s->hash->update(last_chunk);
      s->offset_bytes += last_chunk.size();
    }
    return commit_session(*s, *d);
  }();
  remove_dir(s->dir);
  return result;
}

RegistryResult<api::BlobCreated> StoreImpl::commit_session(Session& s, const Digest& want) {
  Digest got;
  if (s.hash) {
    got = s.hash->finish();
    s.hash.reset();
  } else {  // resumed after a restart or a dropped chunk: read it once
    auto h = hash_file(s.data_fd.get(), s.offset_bytes);
    if (!h) return io_error(Code::blob_upload_invalid, h.error());
    got = *h;
  }
  if (got != want)
    return RegistryError(Code::digest_invalid,
                         "uploaded content is " + got.str() + ", not " + want.str());
  std::shared_lock gc(gc_mu_);
  if (!content_.contains(want)) {
    if (auto p = place_blob(s.dir / "data", s.data_fd.get(), want); !p)
      return io_error(Code::blob_upload_invalid, p.error());
  }
  if (auto l = link_blob(s.repo, want, s.offset_bytes); !l)
    return io_error(Code::blob_upload_invalid, l.error());
  return api::BlobCreated{want, s.offset_bytes};
}

RegistryResult<api::Accepted> StoreImpl::cancel_upload(const std::string& repo,
                                                       const api::SessionId& session) {
  if (auto e = check_name(repo)) return *e;
  auto found = find_session(repo, session);
  if (!found) return found.error();
  std::shared_ptr<Session> s = std::move(found).value();
  std::lock_guard l(s->mu);
  if (s->ended)
    return RegistryError(Code::blob_upload_unknown, "upload " + session + " unknown in " + repo);
  // A chunk still being received (its writer alive) is cancelled with the session: the writer
  // keeps writing into removed files and its finish() answers BLOB_UPLOAD_UNKNOWN.
  end_session(*s);
  remove_dir(s->dir);
  return api::Accepted{};
}

Result<uint64_t> StoreImpl::expire_sessions(std::chrono::seconds idle) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard l(sessions_mu_);
    for (const auto& [id, s] : sessions_) all.push_back(s);
  }
  uint64_t expired = 0;
  auto limit = Clock::now() - idle;
  for (const auto& s : all) {
    std::lock_guard l(s->mu);
    if (s->ended || s->busy || s->touched > limit) continue;
    end_session(*s);
    remove_dir(s->dir);
    ++expired;
  }
  return expired;
}

Result<void> StoreImpl::recover_sessions() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(uploads_dir_, ec)) {
    std::string id = e.path().filename().string();
    auto s = std::make_shared<Session>();
    s->id = id;
    s->dir = e.path();
    s->synced_once = true;
    auto repo = [&]() -> Result<std::string> {
      sys::UniqueFd fd(::open((s->dir / "repo").c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return errno_error(errno, "open repo");
      return sys::read_all(fd.get(), 1024);
    }();
    s->data_fd.reset(::open((s->dir / "data").c_str(), O_RDWR | O_CLOEXEC));
    s->offset_fd.reset(::open((s->dir / "offset").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    struct stat st {};
    if (id.empty() || id[0] == '.' || !repo || !api::valid_repository_name(*repo) || !s->data_fd ||
        !s->offset_fd || ::fstat(s->data_fd.get(), &st) != 0) {
      remove_dir(s->dir);  // never got far enough to be resumable
      continue;
    }
    s->repo = *repo;
    char field[kOffsetFieldBytes] = {};
    ssize_t n = ::pread(s->offset_fd.get(), field, sizeof field, 0);
    uint64_t acked = 0;
    if (n == static_cast<ssize_t>(kOffsetFieldBytes))
      std::from_chars(field, field + kOffsetFieldBytes - 1, acked);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    // Bytes past the acknowledged offset belong to a chunk that was never acknowledged.
    s->offset_bytes = std::min(acked, size);
    if (size > s->offset_bytes) GANTRY_TRY(truncate_to(*s, s->offset_bytes));
    s->touched = Clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    sessions_[id] = std::move(s);
  }
  if (ec) return errno_error(ec.value(), "list '" + uploads_dir_.string() + "'");
  return ok();
}

std::chrono::seconds session_idle_limit() {
  return kSessionIdleLimit;
}

// The file's digest and length were verified by the caller: it becomes the blob by rename,
// as ContentStore's commit does (without reading the bytes a second time).
Result<void> StoreImpl::place_blob(const fs::path& file, int fd, const Digest& d) {
  fs::path blob = content_.path_of(d);
  if (options_.durable && ::fdatasync(fd) != 0)
    return errno_error(errno, "fsync '" + file.string() + "'");
  if (::rename(file.c_str(), blob.c_str()) != 0)
    return errno_error(errno, "rename '" + file.string() + "' to '" + blob.string() + "'");
  if (options_.durable) GANTRY_TRY(sys::fsync_dir(blob.parent_path()));
  return ok();
}

}  // namespace gantry::runtime::registry::detail
