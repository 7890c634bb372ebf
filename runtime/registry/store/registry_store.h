// RegistryStore: gantry-registry's state on the filesystem. It implements api::Registry, so
// the registry conformance suite and the model-vs-system property run against it in process,
// and adds the streaming forms that the HTTP server uses so that no blob is held in memory.
//
// Vocabulary (api/registry.h has the protocol's):
//   root        the directory given by --root. Layout (each file replaced by write-temp and
//               rename; directories fsynced when a blob or manifest is acknowledged):
//                 blobs/sha256/<hex>               a runtime/content ContentStore: a blob is
//                                                  there only after its digest and length are
//                                                  verified
//                 uploads/<session>/               one upload session: its data file and what
//                                                  the store needs to resume it after a restart
//                 repositories/<name>/...          per-repository links: blobs linked, manifests
//                                                  (with their media type), tags, referrers
//               The exact layout below repositories/ and uploads/ is the store's business;
//               docs/registry-storage.md describes it.
//   link        a blob is in a repository when it was uploaded to it, mounted into it, or is
//               referenced by a manifest pushed to it. delete_blob removes the link only.
//   acknowledged  an operation that returned success. After a crash at any point (kill -9),
//               reopening the store gives: every acknowledged blob, manifest and tag intact; no
//               visible partial blob; every session that had acknowledged chunks resumable at
//               (at least) its last acknowledged offset.
//   gc          collect_garbage(): removes blobs that no manifest in any repository references
//               and no repository link protects. Safe while pushes go on: a blob linked within
//               the grace period, or held by an open session, is kept, and put_manifest and the
//               sweep exclude each other, so a manifest is never accepted over a blob that is
//               being removed.
//
// Thread-safe: the HTTP server calls it from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "model/api/registry.h"
#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::registry {

struct StoreOptions {
  // false: DELETE of a manifest by tag is 405 UNSUPPORTED (as distribution).
  bool tag_deletion = true;
  // false: every DELETE is 405 UNSUPPORTED (distribution's default `delete.enabled: false`).
  bool deletion = true;
  // Manifests larger than this get 413 (SIZE_INVALID with status 413, as the model;
  // api::kManifestLimitBytes).
  uint64_t manifest_limit_bytes = api::kManifestLimitBytes;
  // A linked blob that no manifest references survives gc this long after it was linked.
  std::chrono::seconds gc_grace{3600};
  // fsync blobs, manifests and links before acknowledging them (off only for benchmarks that
  // say so).
  bool durable = true;
};

// An open blob for streaming: the server sends [first, last] of fd with sendfile.
struct OpenBlob {
  Digest digest;
  uint64_t size_bytes = 0;
  sys::UniqueFd fd;
};

// A chunk being received: bytes go in with write() as they arrive from the socket, then
// finish() acknowledges them (status with the new offset). Destroyed without finish() (the
// client went away), the session keeps only what was acknowledged before this chunk.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual Result<void> write(std::span<const uint8_t> data) = 0;
  virtual api::RegistryResult<api::UploadStatus> finish() = 0;
  // As finish(), for a chunk that the same request completes at once (PUT ?digest= with a
  // body, monolithic POST): the new offset is not made durable, since no client is ever told
  // about it; the completion syncs the data before the blob becomes visible.
  virtual api::RegistryResult<api::UploadStatus> finish_for_completion() { return finish(); }
};

struct GcReport {
  uint64_t blobs_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t blobs_kept = 0;
  uint64_t sessions_expired = 0;
};

class RegistryStore : public api::Registry {
 public:
  // Opens or creates the store at root. Recovers after a crash: removes what no acknowledged
  // operation made visible, keeps sessions resumable.
  static Result<std::unique_ptr<RegistryStore>> open(const std::filesystem::path& root,
                                                     StoreOptions options = {});

  // --- streaming forms used by the HTTP server ---
  // The blob, linked into repo, ready to send (BLOB_UNKNOWN otherwise).
  virtual api::RegistryResult<OpenBlob> open_blob(const std::string& repo,
                                                  const std::string& digest) = 0;
  // Starts a PATCH chunk at offset_bytes (416 RANGE_INVALID when it is not the session's offset;
  // BLOB_UPLOAD_UNKNOWN for an unknown session). content_length, when known, is checked by
  // finish(). Only one chunk per session at a time (a second gets BLOB_UPLOAD_INVALID).
  virtual api::RegistryResult<std::unique_ptr<ChunkWriter>> begin_chunk(
      const std::string& repo, const api::SessionId& session, uint64_t offset_bytes,
      std::optional<uint64_t> content_length) = 0;
  // The session's repository, for routing checks (BLOB_UPLOAD_UNKNOWN when there is none).
  virtual api::RegistryResult<std::string> session_repository(const api::SessionId& session) = 0;

  // --- maintenance ---
  virtual Result<GcReport> collect_garbage() = 0;
  // Sessions untouched for this long are removed (counted in GcReport::sessions_expired by gc).
  virtual Result<uint64_t> expire_sessions(std::chrono::seconds idle) = 0;

  virtual const std::filesystem::path& root() const = 0;
};

}  // namespace gantry::runtime::registry
