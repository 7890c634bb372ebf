// ModelRegistry: the OCI distribution protocol (spec 1.1) as an executable specification. In
// memory, deterministic (session ids are "model-<n>" in the order sessions start), and a
// copyable value: a copy driven by the same operations answers the same. Digests are real
// sha256, so they compare exactly with any registry's.
//
// The rules it applies, with the spec's section for each and the choices where the spec
// allows several answers, are in docs/registry-model.md.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "model/api/registry.h"
#include "model/api/registry_manifest.h"

namespace gantry::model::registry {

using api::ManifestKind;
using api::ParsedManifest;

struct ModelRegistryOptions {
  // DELETE /v2/<name>/manifests/<tag>: true removes the tag (202, the manifest stays); false
  // answers 405 UNSUPPORTED, as a registry with tag deletion disabled may (spec: 400 or 405).
  bool tag_deletion = true;
  // Larger manifests get 413 SIZE_INVALID; the spec asks for at least 4 MiB.
  uint64_t manifest_limit_bytes = api::kManifestLimitBytes;
};

class ModelRegistry : public api::Registry {
 public:
  explicit ModelRegistry(ModelRegistryOptions options = {}) : options_(options) {}

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

  // Sessions in progress (for tests: a failed completion must leave none behind).
  size_t session_count() const { return sessions_.size(); }

 private:
  struct StoredManifest {
    std::string media_type;
    std::string bytes;
    ParsedManifest parsed;
  };
  struct Repository {
    std::set<Digest> blobs;  // links into the shared content
    std::map<Digest, StoredManifest> manifests;
    std::map<std::string, Digest> tags;  // std::map: byte-wise order, the listing order
  };
  struct Session {
    std::string repo;
    std::string bytes;
  };

  api::RegistryResult<Session*> find_session(const std::string& repo, const api::SessionId& id);
  api::UploadStatus new_session(const std::string& repo);
  api::BlobCreated commit_blob(const std::string& repo, const Digest& digest, std::string bytes);
  const Repository* find_repo(const std::string& repo) const;
  api::RegistryResult<api::ManifestData> read_manifest(const std::string& repo,
                                                       const std::string& reference,
                                                       bool with_bytes) const;

  ModelRegistryOptions options_;
  std::map<Digest, std::string> content_;  // every committed blob, shared by repositories
  std::map<std::string, Repository> repos_;
  std::map<api::SessionId, Session> sessions_;
  uint64_t sessions_started_ = 0;
};

}  // namespace gantry::model::registry
