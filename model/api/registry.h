// api::Registry: the OCI distribution protocol (distribution-spec 1.1) as an interface on
// values, implemented by the model (model/registry), by a client of any registry URL, and
// checked by one conformance suite (tests/conformance/registry) and by properties that run the
// same operations (RegistryOp) on two implementations and compare the outcomes.
//
// Vocabulary:
//   repository  a `<name>` (`library/busybox`); names follow the spec's grammar, else
//               NAME_INVALID. A repository exists once a blob or a manifest was committed to
//               it; listing the tags or referrers of one that does not gets NAME_UNKNOWN.
//   blob        bytes named by their digest, linked into a repository. Visible only after the
//               upload that carries it completes with the matching digest.
//   session     an upload in progress (the spec's "upload URL"), named by an opaque id that
//               each implementation chooses; it holds the bytes received so far (its offset).
//   manifest    a JSON document pushed with a media type (OCI image manifest or index, Docker
//               schema 2 manifest or manifest list), named by the sha256 of its exact bytes and
//               optionally by tags.
//   reference   a tag or a digest, as in `/v2/<name>/manifests/<reference>`.
//   referrer    a manifest whose `subject` names another manifest's digest.
//   page        `n` (at most this many entries) and `last` (start after this entry).
//
// Inputs are strings, also digests, so that malformed ones can be sent and get their error.
// Every answer is a value: the result, or a RegistryError with the distribution error code and
// the HTTP status (compared across implementations; the message is for people).
#pragma once

#include <cassert>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "model/api/http_status.h"
#include "model/base/digest.h"
#include "model/base/error.h"

namespace gantry::api {

// Media types of manifests (Content-Type of a manifest PUT and GET).
inline constexpr std::string_view kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestListType =
    "application/vnd.docker.distribution.manifest.list.v2+json";
// Annotation of a filtered referrers answer (spec: "Listing Referrers").
inline constexpr std::string_view kFiltersAppliedAnnotation =
    "org.opencontainers.referrers.filtersApplied";
// Manifests up to this size must be accepted (spec: "at least 4 megabytes").
inline constexpr uint64_t kManifestLimitBytes = 4 * 1024 * 1024;

class RegistryError {
 public:
  // The code's default status.
  RegistryError(RegistryErrorCode code, std::string message);
  RegistryError(RegistryErrorCode code, int http_status, std::string message);

  RegistryErrorCode code() const { return code_; }
  int http_status() const { return http_status_; }
  const std::string& message() const { return message_; }
  // As a Gantry error: the code's ErrorKind, message "BLOB_UNKNOWN: <message>".
  Error to_error() const;

  // Code and status only: the message is not part of the contract.
  friend bool operator==(const RegistryError& a, const RegistryError& b) {
    return a.code_ == b.code_ && a.http_status_ == b.http_status_;
  }

 private:
  RegistryErrorCode code_;
  int http_status_;
  std::string message_;
};

std::ostream& operator<<(std::ostream& os, const RegistryError& e);

// A value or a RegistryError (shaped like Result<T>).
template <class T>
class [[nodiscard]] RegistryResult {
 public:
  RegistryResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  RegistryResult(RegistryError e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  const RegistryError& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, RegistryError> v_;
};

// An inclusive byte range, as in HTTP `Range: bytes=first-last`.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// 202 for deletions (204 for a cancelled session).
struct Accepted {
  friend bool operator==(const Accepted&, const Accepted&) = default;
};

// HEAD of a blob: 200 with Docker-Content-Digest and Content-Length.
struct BlobInfo {
  Digest digest;
  uint64_t size_bytes = 0;
  friend bool operator==(const BlobInfo&, const BlobInfo&) = default;
};

// GET of a blob: 200 with the whole blob, or 206 with `range` (clamped to the blob's end).
struct BlobData {
  Digest digest;
  uint64_t size_bytes = 0;  // of the whole blob
  std::optional<ByteRange> range;
  std::string bytes;
  friend bool operator==(const BlobData&, const BlobData&) = default;
};

using SessionId = std::string;

// A session's state: `Range: 0-<offset_bytes - 1>` (202 after start or a chunk, 204 on GET).
struct UploadStatus {
  SessionId session;
  uint64_t offset_bytes = 0;
};

// 201: the blob is committed and linked into the repository.
struct BlobCreated {
  Digest digest;
  uint64_t size_bytes = 0;
  friend bool operator==(const BlobCreated&, const BlobCreated&) = default;
};

// end-11: 201 mounted (no session), or 202 with a new session (the fallback).
struct MountResult {
  bool mounted = false;
  Digest digest;                       // when mounted
  std::optional<UploadStatus> upload;  // when not
};

// 201 of a manifest PUT: the digest of the exact bytes (Docker-Content-Digest).
struct ManifestCreated {
  Digest digest;
  friend bool operator==(const ManifestCreated&, const ManifestCreated&) = default;
};

// GET (bytes filled) or HEAD (bytes empty) of a manifest.
struct ManifestData {
  Digest digest;
  std::string media_type;
  uint64_t size_bytes = 0;
  std::string bytes;
  friend bool operator==(const ManifestData&, const ManifestData&) = default;
};

struct Page {
  std::optional<uint32_t> n;
  std::optional<std::string> last;
  friend bool operator==(const Page&, const Page&) = default;
};

// One page of a listing. `next_last` is what the Link header carries: when set, the next page
// is `?n=<same n>&last=<next_last>` (present only when n was given and entries remain).
struct Listing {
  std::vector<std::string> entries;
  std::optional<std::string> next_last;
  friend bool operator==(const Listing&, const Listing&) = default;
};

// A descriptor of a referrer, as in the referrers index.
struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size_bytes = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

// The referrers answer: an OCI image index of descriptors (sorted by digest here; the spec
// leaves the order open, so comparisons sort).
struct Referrers {
  std::vector<Descriptor> manifests;
  bool filter_applied = false;  // the filtersApplied annotation says "artifactType"
  friend bool operator==(const Referrers&, const Referrers&) = default;
};

// The referrers answer as the JSON body of an OCI image index.
std::string referrers_index_json(const Referrers& r);

class Registry {
 public:
  virtual ~Registry() = default;

  // --- blobs (end-2, end-10) ---
  virtual RegistryResult<BlobInfo> stat_blob(const std::string& repo,
                                             const std::string& digest) = 0;
  virtual RegistryResult<BlobData> get_blob(const std::string& repo, const std::string& digest,
                                            std::optional<ByteRange> range) = 0;
  virtual RegistryResult<Accepted> delete_blob(const std::string& repo,
                                               const std::string& digest) = 0;

  // --- uploads (end-4a, end-4b, end-5, end-6, end-13, DELETE <location>) ---
  virtual RegistryResult<UploadStatus> start_upload(const std::string& repo) = 0;
  // The whole blob in one request: a single POST ?digest= (end-4b), or POST then PUT when the
  // registry answers the POST with 202 (the spec allows both; the outcome is the same).
  virtual RegistryResult<BlobCreated> push_blob(const std::string& repo, const std::string& digest,
                                                const std::string& bytes) = 0;
  // PATCH with `Content-Range: <offset>-<offset + size - 1>`; a chunk must start at the
  // session's offset, else 416 (the session stays).
  virtual RegistryResult<UploadStatus> upload_chunk(const std::string& repo,
                                                    const SessionId& session, uint64_t offset_bytes,
                                                    const std::string& bytes) = 0;
  virtual RegistryResult<UploadStatus> upload_status(const std::string& repo,
                                                     const SessionId& session) = 0;
  // PUT <location>?digest=, with an optional last chunk appended at the current offset. Any
  // error but 416 ends the session (spec: after a 4xx the upload is considered failed).
  virtual RegistryResult<BlobCreated> complete_upload(const std::string& repo,
                                                      const SessionId& session,
                                                      const std::string& digest,
                                                      const std::string& last_chunk) = 0;
  virtual RegistryResult<Accepted> cancel_upload(const std::string& repo,
                                                 const SessionId& session) = 0;
  virtual RegistryResult<MountResult> mount_blob(const std::string& repo, const std::string& digest,
                                                 const std::string& from_repo) = 0;

  // --- manifests (end-3, end-7, end-9) ---
  virtual RegistryResult<ManifestCreated> put_manifest(const std::string& repo,
                                                       const std::string& reference,
                                                       const std::string& media_type,
                                                       const std::string& bytes) = 0;
  virtual RegistryResult<ManifestData> get_manifest(const std::string& repo,
                                                    const std::string& reference) = 0;
  virtual RegistryResult<ManifestData> stat_manifest(const std::string& repo,
                                                     const std::string& reference) = 0;
  virtual RegistryResult<Accepted> delete_manifest(const std::string& repo,
                                                   const std::string& reference) = 0;

  // --- listings (end-8a/b, _catalog, end-12a/b) ---
  virtual RegistryResult<Listing> list_tags(const std::string& repo, const Page& page) = 0;
  virtual RegistryResult<Listing> catalog(const Page& page) = 0;
  virtual RegistryResult<Referrers> referrers(const std::string& repo, const std::string& digest,
                                              const std::optional<std::string>& artifact_type) = 0;
};

// ---------------------------------------------------------------------------------------------
// Operations as data. A session is named by its index among the sessions that `apply` saw
// started (start_upload, or a mount that fell back) in this run; an index beyond them stands
// for a session no implementation knows.

namespace op {
struct StatBlob {
  std::string repo, digest;
};
struct GetBlob {
  std::string repo, digest;
  std::optional<ByteRange> range;
};
struct DeleteBlob {
  std::string repo, digest;
};
struct StartUpload {
  std::string repo;
};
struct PushBlob {
  std::string repo, digest, bytes;
};
struct UploadChunk {
  std::string repo;
  size_t session = 0;
  uint64_t offset_bytes = 0;
  std::string bytes;
};
struct GetUploadStatus {
  std::string repo;
  size_t session = 0;
};
struct CompleteUpload {
  std::string repo;
  size_t session = 0;
  std::string digest, last_chunk;
};
struct CancelUpload {
  std::string repo;
  size_t session = 0;
};
struct MountBlob {
  std::string repo, digest, from_repo;
};
struct PutManifest {
  std::string repo, reference, media_type, bytes;
};
struct GetManifest {
  std::string repo, reference;
};
struct StatManifest {
  std::string repo, reference;
};
struct DeleteManifest {
  std::string repo, reference;
};
struct ListTags {
  std::string repo;
  Page page;
};
struct Catalog {
  Page page;
};
struct GetReferrers {
  std::string repo, digest;
  std::optional<std::string> artifact_type;
};
}  // namespace op

using RegistryOp =
    std::variant<op::StatBlob, op::GetBlob, op::DeleteBlob, op::StartUpload, op::PushBlob,
                 op::UploadChunk, op::GetUploadStatus, op::CompleteUpload, op::CancelUpload,
                 op::MountBlob, op::PutManifest, op::GetManifest, op::StatManifest,
                 op::DeleteManifest, op::ListTags, op::Catalog, op::GetReferrers>;

namespace op {
// In namespace op so that argument-dependent lookup finds it for the variant.
std::ostream& operator<<(std::ostream& os, const RegistryOp& o);
}  // namespace op

// What an operation answered, normalized so that two implementations compare equal when they
// behave the same: the HTTP status, the error code (on failure), and the result's digest,
// size or offset, media type, bytes, listing and Link. Session ids and messages are left out.
// Referrers become entries "<digest> <artifactType> <mediaType> <size> <k=v,...>", sorted.
struct RegistryOutcome {
  int http_status = 0;
  std::optional<RegistryErrorCode> error;
  std::optional<std::string> digest;
  std::optional<uint64_t> size_bytes;  // blob or manifest size, or a session's offset
  std::optional<std::string> media_type;
  std::optional<std::string> bytes;
  std::vector<std::string> entries;
  std::optional<std::string> next_last;
  bool filter_applied = false;

  bool ok() const { return !error.has_value(); }
  friend bool operator==(const RegistryOutcome&, const RegistryOutcome&) = default;
};

std::ostream& operator<<(std::ostream& os, const RegistryOutcome& o);

// The sessions seen by `apply` in one run, in the order they started.
struct SessionBook {
  std::vector<std::pair<std::string, SessionId>> started;  // (repository, id)
  // The id for the k-th session, or one that no implementation issues.
  SessionId id(size_t k) const;
};

// The one dispatcher: runs `op` on `registry`, records new sessions in `sessions`.
RegistryOutcome apply(Registry& registry, SessionBook& sessions, const RegistryOp& op);

}  // namespace gantry::api
