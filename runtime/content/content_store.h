// ContentStore: blobs named by the sha256 of their bytes, in a directory.
//
// Vocabulary:
//   blob     immutable bytes stored at <root>/blobs/sha256/<hex>, the layout of an OCI image
//            layout's blobs directory, so an OCI layout directory is a store.
//   ingest   a write in progress: a temp file under <root>/ingest/ (or the ingest dir given to
//            open, on the same filesystem). It is never visible as a blob.
//   commit   the end of an ingest: size and digest are checked against what the caller
//            expected, the file is fsynced and renamed into blobs/sha256/, and the directory is
//            fsynced. If the blob is already there, ours is discarded (so concurrent ingests of
//            one digest are safe: all succeed, one file stays).
//   stale    an ingest temp file whose writer is gone (a crash). Each live writer holds an
//            flock on its temp file; clean_ingests() removes the temp files nobody holds.
//
// Nothing half-written is ever visible under blobs/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::content {

struct BlobInfo {
  int64_t size_bytes = 0;
};

struct Usage {
  int64_t blob_count = 0;
  int64_t size_bytes = 0;
};

struct StoreOptions {
  // Where ingests live; empty means <root>/ingest. Must be on the filesystem of <root>/blobs.
  std::filesystem::path ingest_dir;
};

// A write in progress. Bytes go in with write(), hashed as they come; commit() makes the blob
// visible. A Writer destroyed (or abort()ed) without a successful commit leaves nothing.
class Writer {
 public:
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  // More bytes than the expected size is invalid_argument at once (the writer is then dead).
  Result<void> write(std::span<const uint8_t> data);
  Result<void> write(std::string_view data);

  // Checks size and digest (a mismatch is invalid_argument naming expected and actual), then
  // fsync, rename into place, fsync the directory. Returns the digest of what was written.
  // On failure nothing stays; the writer cannot be used again either way.
  Result<Digest> commit();

  // Drops what was written. Idempotent.
  void abort();

  int64_t written_bytes() const { return written_bytes_; }
  // The temp file (for tests and diagnostics).
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  friend class ContentStore;
  Writer(std::filesystem::path blobs_dir, std::filesystem::path temp_path, sys::UniqueFd fd,
         std::optional<Digest> expected, std::optional<int64_t> expected_size);
  Result<void> fail(Error e);

  std::filesystem::path blobs_dir_;
  std::filesystem::path temp_path_;
  sys::UniqueFd fd_;
  std::optional<Digest> expected_;
  std::optional<int64_t> expected_size_;
  Sha256 hash_;
  int64_t written_bytes_ = 0;
};

class ContentStore {
 public:
  // Opens (creating what is missing of) <root>/blobs/sha256. The ingest dir is created on the
  // first ingest, so a read-only layout can be opened for reading.
  static Result<ContentStore> open(const std::filesystem::path& root, StoreOptions options = {});

  const std::filesystem::path& root() const { return root_; }

  // Starts an ingest. expected and expected_size, when given, are checked at commit.
  Result<Writer> ingest(std::optional<Digest> expected = std::nullopt,
                        std::optional<int64_t> expected_size = std::nullopt);
  // Copies fd from its current offset to EOF into a blob (copy_file_range for regular files,
  // hashing as it goes; read/write otherwise) and commits it.
  Result<Digest> ingest_fd(int fd, std::optional<Digest> expected = std::nullopt,
                           std::optional<int64_t> expected_size = std::nullopt);
  // ingest + write + commit of bytes already in memory.
  Result<Digest> write_blob(std::string_view bytes, std::optional<Digest> expected = std::nullopt);

  // Read-only fd of the blob; not_found when absent.
  Result<sys::UniqueFd> open_blob(const Digest& digest) const;
  // The whole blob, its digest verified (a corrupt blob is internal, naming it). Larger than
  // max_size_bytes is invalid_argument: use open_blob for big blobs.
  Result<std::string> read_blob(const Digest& digest,
                                int64_t max_size_bytes = 64 * 1024 * 1024) const;
  Result<BlobInfo> stat(const Digest& digest) const;
  bool contains(const Digest& digest) const;
  // not_found when absent.
  Result<void> remove(const Digest& digest);
  // Calls fn for every blob (names that are not 64 lowercase hex digits are skipped), in no
  // particular order.
  Result<void> walk(const std::function<void(const Digest&, const BlobInfo&)>& fn) const;
  Result<Usage> usage() const;
  std::filesystem::path path_of(const Digest& digest) const;

  // Removes ingest temp files whose writer is gone (no process holds their lock). Returns how
  // many were removed. Safe to call while other writers are active.
  Result<int64_t> clean_ingests();

 private:
  ContentStore(std::filesystem::path root, std::filesystem::path blobs_dir,
               std::filesystem::path ingest_dir)
      : root_(std::move(root)),
        blobs_dir_(std::move(blobs_dir)),
        ingest_dir_(std::move(ingest_dir)) {}

  std::filesystem::path root_;
  std::filesystem::path blobs_dir_;  // <root>/blobs/sha256
  std::filesystem::path ingest_dir_;
};

}  // namespace gantry::runtime::content
