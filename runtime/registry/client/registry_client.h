// The registry client: what pull, push and copy need from any registry that speaks the OCI
// distribution protocol (gantry-registry, the distribution registry, and by design Docker Hub
// and GHCR), over HTTP/1.1 or HTTPS with Boost.Beast.
//
// Vocabulary:
//   registry    host[:port] as in a Reference ("docker.io" is dialled as
//               registry-1.docker.io).
//   scheme      https, except plain http for loopback hosts (localhost, 127.0.0.0/8, ::1) as
//               docker does, or when ClientOptions::plain_http says so.
//   auth        on a 401 the client reads WWW-Authenticate: `Basic` sends the credentials;
//               `Bearer realm=,service=,scope=` fetches a token from the realm (with the
//               credentials as basic auth, or anonymously) and retries once. Tokens are cached
//               per scope until they expire. Credentials come from ClientOptions, else from the
//               docker config file (docker_config.h).
//   retry       connection failures and 5xx/429 answers are retried (max_attempts in all);
//               a blob read that breaks in the middle resumes with a Range request at the
//               offset reached. 4xx answers are not retried.
//   verify      every blob and manifest read is checked against its digest (and size, when
//               known); a mismatch is an error naming both digests, and nothing partial is
//               returned as good.
//
// Thread-safe: one RegistryClient is shared by the threads that move layers in parallel; it
// keeps a pool of connections (at most max_connections open at once).
//
// Errors: Result's ErrorKind follows the registry's answer: 404 / *_UNKNOWN -> not_found,
// 401 -> permission_denied (unauthorized), 403 DENIED -> permission_denied, 400 / *_INVALID ->
// invalid_argument, 429 / 5xx after retries -> unavailable, connection and TLS failures ->
// unavailable; the message names the method, URL, status and the registry's error code.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "runtime/image/compression.h"
#include "runtime/registry/client/reference.h"

namespace gantry::runtime::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // docker config "identitytoken" (an OAuth refresh token)
};

struct ClientOptions {
  // nullopt: plain http for loopback hosts only.
  std::optional<bool> plain_http;
  std::string ca_file;  // extra CA bundle for TLS (PEM); empty: the system's
  bool tls_verify = true;
  // nullopt: look them up in the docker config file.
  std::optional<Credentials> credentials;
  std::string auth_file;  // empty: $DOCKER_CONFIG/config.json, else ~/.docker/config.json
  int max_attempts = 3;
  size_t max_connections = 8;
  std::string user_agent = "gantry/0.1";
  // See TransportOptions (http_transport.h): a stalled server is an unavailable error that says
  // it timed out; 0 waits forever.
  int connect_timeout_ms = 30'000;
  int io_timeout_ms = 120'000;
};

struct Manifest {
  Digest digest;           // Docker-Content-Digest, checked against the bytes' sha256
  std::string media_type;  // Content-Type
  std::string bytes;
};

// Opens a source positioned at offset_bytes of the blob to push (called again to resume).
using BlobOpener = std::function<Result<std::unique_ptr<image::Source>>(uint64_t offset_bytes)>;

class RegistryClient {
 public:
  static Result<std::shared_ptr<RegistryClient>> create(std::string registry,
                                                        ClientOptions options = {});
  virtual ~RegistryClient() = default;

  virtual const std::string& registry() const = 0;

  // GET /v2/ with auth: ok when the credentials (or anonymous access) are accepted;
  // permission_denied otherwise. What `gantry login` checks.
  virtual Result<void> check_auth(const std::string& repository_hint = "") = 0;

  // GET of a manifest; Accept lists the four manifest types (OCI manifest and index, Docker
  // schema 2 manifest and list). When reference is a digest the bytes are checked against it.
  virtual Result<Manifest> get_manifest(const std::string& repo, const std::string& reference) = 0;
  // HEAD: the digest and media type without the body (bytes empty); not_found when absent.
  virtual Result<Manifest> stat_manifest(const std::string& repo, const std::string& reference) = 0;
  // PUT; returns the digest the registry answered (checked against the bytes' sha256).
  virtual Result<Digest> put_manifest(const std::string& repo, const std::string& reference,
                                      const std::string& media_type, const std::string& bytes) = 0;

  // HEAD of a blob: its size, or nullopt when the registry does not have it in repo.
  virtual Result<std::optional<uint64_t>> stat_blob(const std::string& repo,
                                                    const Digest& digest) = 0;
  // A stream of the blob's bytes (redirects followed, resumed on a broken connection). The
  // source's read() returns an error instead of the final 0 when the size or digest does not
  // match; size_bytes, when known, also bounds what is read.
  virtual Result<std::unique_ptr<image::Source>> open_blob(
      const std::string& repo, const Digest& digest,
      std::optional<uint64_t> size_bytes = std::nullopt) = 0;
  // open_blob without the sha256 pass, for a caller that hashes the bytes itself anyway (a
  // content store ingest checks the digest at commit): size checked and resumed all the same.
  virtual Result<std::unique_ptr<image::Source>> open_blob_unhashed(const std::string& repo,
                                                                    const Digest& digest,
                                                                    uint64_t size_bytes) = 0;
  // The whole blob in memory (configs, small blobs); larger than max_size_bytes is
  // invalid_argument.
  virtual Result<std::string> read_blob(const std::string& repo, const Digest& digest,
                                        uint64_t max_size_bytes = 64 << 20) = 0;

  // Uploads a blob: POST, one streaming PATCH, PUT ?digest= (a monolithic PUT for small blobs
  // is the implementation's choice). After a broken PATCH it asks the session's offset and
  // resumes from there with `open(offset)`. A blob the registry already has (HEAD) is not sent.
  virtual Result<void> push_blob(const std::string& repo, const Digest& digest, uint64_t size_bytes,
                                 const BlobOpener& open) = 0;
  // push_blob without the HEAD first, for a caller that just asked (stat_blob).
  virtual Result<void> upload_blob(const std::string& repo, const Digest& digest,
                                   uint64_t size_bytes, const BlobOpener& open) = 0;
  // Cross-repository mount: true when the registry mounted it (201); false when it did not
  // (202: the session it started is cancelled) and the caller must push_blob.
  virtual Result<bool> mount_blob(const std::string& repo, const Digest& digest,
                                  const std::string& from_repo) = 0;

  // Every tag, following the Link pages.
  virtual Result<std::vector<std::string>> list_tags(const std::string& repo) = 0;
};

// A client for the registry of a reference (with the docker.io endpoint mapping).
Result<std::shared_ptr<RegistryClient>> client_for(const Reference& ref,
                                                   ClientOptions options = {});

}  // namespace gantry::runtime::registry
