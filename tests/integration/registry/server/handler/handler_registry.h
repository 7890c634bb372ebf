// api::Registry over gantry-registry's RequestHandler, in process: each call becomes the HTTP
// request a client would send (method, target, headers, body) and the answer is read the way a
// client reads it (statuses, Location, Range, Docker-Content-Digest, Link, error bodies). No
// sockets: the conformance suite and the model-vs-server property run through the server's
// whole HTTP surface this way, fast and under sanitizers.
#pragma once

#include <map>
#include <memory>

#include "model/api/registry.h"
#include "runtime/registry/server/request_handler.h"
#include "runtime/registry/store/registry_store.h"
#include "tests/support/temp_dir.h"

namespace gantry::testing::registry {

class HandlerRegistry final : public api::Registry {
 public:
  explicit HandlerRegistry(runtime::registry::StoreOptions options = {},
                           runtime::registry::server::HandlerOptions handler_options = {});

  runtime::registry::server::RequestHandler& handler() { return *handler_; }
  runtime::registry::RegistryStore& store() { return *store_; }

  // One request through the handler; `body` of a file answer is read into `file_bytes`.
  struct Answer {
    runtime::registry::server::HttpResponse response;
    std::string file_bytes;
  };
  Answer send(runtime::registry::server::HttpRequest request);

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

 private:
  api::RegistryResult<api::UploadStatus> session_answer(const Answer& a, int want_status,
                                                        uint64_t expected_offset);
  std::string location(const std::string& repo, const api::SessionId& session);

  TempDir dir_;
  std::unique_ptr<runtime::registry::RegistryStore> store_;
  std::unique_ptr<runtime::registry::server::RequestHandler> handler_;
  std::map<api::SessionId, uint64_t> offsets_;  // what each session was last known to hold
};

}  // namespace gantry::testing::registry
