// The distribution protocol over HTTP, without sockets: a request head goes in, a
// PendingRequest comes out that takes the body as it arrives and then gives the answer. The
// network layer (net/http_server.h) feeds it from a socket; tests and the fuzz target feed it
// from memory with handle().
//
// Vocabulary:
//   route     what the path names: the base (/v2/), the catalog, a repository's tags, a
//             manifest, a blob, an upload start (POST .../blobs/uploads/), an upload session
//             (.../blobs/uploads/<id>), referrers, or the token endpoint (/token).
//   pending   one request whose head was read: it decides before the body comes whether it
//             wants the body (a chunk, a manifest, a monolithic upload) or already has its
//             answer (an error, a GET); bodies of blobs go straight into the store's
//             ChunkWriter, manifests are collected up to the size limit and no further.
//
// The answers agree with the model (model/registry) status by status; docs/registry-server.md
// lists the headers of each.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "runtime/registry/server/auth.h"
#include "runtime/registry/server/http_message.h"
#include "runtime/registry/store/registry_store.h"

namespace gantry::runtime::registry::server {

struct HandlerOptions {
  uint64_t manifest_limit_bytes = api::kManifestLimitBytes;
};

class PendingRequest {
 public:
  virtual ~PendingRequest() = default;
  // False when the answer does not depend on the body (it is to be drained, or the connection
  // closed).
  virtual bool wants_body() const { return true; }
  // The next piece of the body. Errors are remembered and answered by finish().
  virtual void write(std::span<const uint8_t> data) = 0;
  // The answer, once the whole body was written.
  HttpResponse finish();

 protected:
  virtual HttpResponse answer() = 0;

 private:
  friend class RequestHandler;
  bool head_ = false;
};

class RequestHandler {
 public:
  // `auth` may be null (no authentication); both must outlive the handler.
  RequestHandler(RegistryStore& store, Authenticator* auth, HandlerOptions options = {});

  std::unique_ptr<PendingRequest> begin(const RequestHead& head);
  // begin + the whole body + finish.
  HttpResponse handle(const HttpRequest& request);

 private:
  std::unique_ptr<PendingRequest> route(const RequestHead& head);

  RegistryStore& store_;
  Authenticator* auth_;
  HandlerOptions options_;
};

}  // namespace gantry::runtime::registry::server
