// The private side of RegistryStore: the in-memory index of what is on disk, the upload
// sessions, and the locks. Only the store's .cpp files include this.
//
// Locks, always taken in this order (never the reverse):
//   gc_mu_      shared by everything that makes a blob reachable (commit + link, mount, the
//               blob check and write of put_manifest); exclusive by the gc sweep. So a blob that
//               a manifest was accepted over is never being removed, and a blob is never
//               removed between its commit and its link.
//   Repo::write_mu   one writer per repository: disk change and index change happen together,
//               so the index always says what the disk says.
//   meta_mu_    the index (repos_ and everything in each Repo): shared by readers (HEAD, GET,
//               listings), exclusive only for the short update after the disk change.
//   sessions_mu_  the session table; Session::mu the one session.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "model/api/registry_manifest.h"
#include "runtime/content/content_store.h"
#include "runtime/registry/store/registry_store.h"

namespace gantry::runtime::registry::detail {

using Clock = std::chrono::system_clock;

struct BlobLink {
  uint64_t size_bytes = 0;
  Clock::time_point linked_at;
};

struct ManifestEntry {
  std::string media_type;
  uint64_t size_bytes = 0;
  api::ParsedManifest parsed;
};

struct Repo {
  std::filesystem::path dir;  // root/repositories/<name>
  std::mutex write_mu;
  bool exists = false;  // something was committed to it (on disk: the _blobs directory)
  std::map<Digest, BlobLink> blobs;
  std::map<Digest, ManifestEntry> manifests;
  std::map<std::string, Digest> tags;  // byte-wise order: the listing order
};

struct Session {
  std::string id;
  std::string repo;
  std::filesystem::path dir;  // root/uploads/<id>
  std::mutex mu;
  sys::UniqueFd data_fd;
  sys::UniqueFd offset_fd;
  uint64_t offset_bytes = 0;   // acknowledged
  std::optional<Sha256> hash;  // of [0, offset_bytes) when set; unset after a restart or abort
  bool busy = false;           // a chunk is being received
  bool ended = false;          // completed, cancelled or expired
  bool synced_once = false;    // its directory entries were fsynced
  Clock::time_point touched;
};

class StoreImpl final : public RegistryStore {
 public:
  StoreImpl(std::filesystem::path root, StoreOptions options, content::ContentStore content);

  Result<void> recover();

  // api::Registry
  api::RegistryResult<api::BlobInfo> stat_blob(const std::string& repo,
                                               const std::string& digest) override;
  api::RegistryResult<api::BlobData> get_blob(const std::string& repo, const std::string& digest,
                                              std::optional<api::ByteRange> range) override;
  api::RegistryResult<api::Accepted> delete_blob(const std::string& repo,
                                                 const std::string& digest) override;
  api::RegistryResult<api::UploadStatus> start_upload(const std::string& repo) override;
  api::RegistryResult<api::BlobCreated> push_blob(const std::string& repo,
                                                  const std::string& digest,
                                                  const std::string& bytes) override;
  api::RegistryResult<api::UploadStatus> upload_chunk(const std::string& repo,
                                                      const api::SessionId& session,
                                                      uint64_t offset_bytes,
                                                      const std::string& bytes) override;
  api::RegistryResult<api::UploadStatus> upload_status(const std::string& repo,
                                                       const api::SessionId& session) override;
  api::RegistryResult<api::BlobCreated> complete_upload(const std::string& repo,
                                                        const api::SessionId& session,
                                                        const std::string& digest,
                                                        const std::string& last_chunk) override;
  api::RegistryResult<api::Accepted> cancel_upload(const std::string& repo,
                                                   const api::SessionId& session) override;
  api::RegistryResult<api::MountResult> mount_blob(const std::string& repo,
                                                   const std::string& digest,
                                                   const std::string& from_repo) override;
  api::RegistryResult<api::ManifestCreated> put_manifest(const std::string& repo,
                                                         const std::string& reference,
                                                         const std::string& media_type,
                                                         const std::string& bytes) override;
  api::RegistryResult<api::ManifestData> get_manifest(const std::string& repo,
                                                      const std::string& reference) override;
  api::RegistryResult<api::ManifestData> stat_manifest(const std::string& repo,
                                                       const std::string& reference) override;
  api::RegistryResult<api::Accepted> delete_manifest(const std::string& repo,
                                                     const std::string& reference) override;
  api::RegistryResult<api::Listing> list_tags(const std::string& repo,
                                              const api::Page& page) override;
  api::RegistryResult<api::Listing> catalog(const api::Page& page) override;
  api::RegistryResult<api::Referrers> referrers(
      const std::string& repo, const std::string& digest,
      const std::optional<std::string>& artifact_type) override;

  // RegistryStore
  api::RegistryResult<OpenBlob> open_blob(const std::string& repo,
                                          const std::string& digest) override;
  api::RegistryResult<std::unique_ptr<ChunkWriter>> begin_chunk(
      const std::string& repo, const api::SessionId& session, uint64_t offset_bytes,
      std::optional<uint64_t> content_length) override;
  api::RegistryResult<std::string> session_repository(const api::SessionId& session) override;
  Result<GcReport> collect_garbage() override;
  Result<uint64_t> expire_sessions(std::chrono::seconds idle) override;
  const std::filesystem::path& root() const override { return root_; }

  // Used by the chunk writer.
  const StoreOptions& options() const { return options_; }
  Result<void> persist_offset(Session& s);

 private:
  // --- repositories (registry_store.cpp) ---
  // The repository's index entry, created (not yet existing) when absent. Never removed.
  Repo& repo_entry(const std::string& name);
  // The repository if it exists (takes meta_mu_ shared; the pointer stays valid).
  Repo* existing_repo(const std::string& name);
  // The repository if it exists; caller holds meta_mu_.
  const Repo* find_repo(const std::string& name) const;
  // Makes the repository exist on disk and in the index; caller holds r.write_mu.
  Result<void> materialize(Repo& r);
  // Links digest into the repository (disk, then index); caller holds gc_mu_ shared.
  Result<void> link_blob(const std::string& repo, const Digest& d, uint64_t size_bytes);
  api::RegistryResult<api::BlobCreated> commit_bytes(const std::string& repo, const Digest& d,
                                                     const std::string& bytes);
  api::RegistryResult<api::ManifestData> read_manifest(const std::string& repo,
                                                       const std::string& reference,
                                                       bool with_bytes);
  Result<void> write_file(const std::filesystem::path& dir, const std::string& name,
                          std::string_view bytes);
  Result<void> recover_repositories();
  Result<void> load_repository(const std::string& name, const std::filesystem::path& dir);

  // --- sessions (upload_sessions.cpp) ---
  api::RegistryResult<std::shared_ptr<Session>> find_session(const std::string& repo,
                                                             const api::SessionId& id);
  api::RegistryResult<api::UploadStatus> new_session(const std::string& repo);
  // Removes the session from the table; it must not be busy. Caller holds s.mu.
  void end_session(Session& s);
  // Commits the session's data (verified against `want`) as a blob linked into repo.
  api::RegistryResult<api::BlobCreated> commit_session(Session& s, const Digest& want);
  Result<void> recover_sessions();
  // Renames a verified file (fd open on it) into the content store as blob d.
  Result<void> place_blob(const std::filesystem::path& file, int fd, const Digest& d);

  std::filesystem::path root_;
  StoreOptions options_;
  content::ContentStore content_;
  std::filesystem::path repos_dir_;
  std::filesystem::path uploads_dir_;

  std::shared_mutex gc_mu_;
  std::shared_mutex meta_mu_;
  std::map<std::string, std::unique_ptr<Repo>> repos_;

  std::mutex sessions_mu_;
  std::map<api::SessionId, std::shared_ptr<Session>> sessions_;
};

// Names of files below a repository directory. Repository name components start with
// [a-z0-9], so these cannot collide with a nested repository.
inline constexpr const char* kBlobsDir = "_blobs";
inline constexpr const char* kManifestsDir = "_manifests";
inline constexpr const char* kTagsDir = "_tags";
inline constexpr const char* kTempPrefix = ".tmp-";

// A random name for temp files and session ids (128 bits, hex).
std::string random_hex();

// Sessions idle this long are expired by collect_garbage.
std::chrono::seconds session_idle_limit();

}  // namespace gantry::runtime::registry::detail
