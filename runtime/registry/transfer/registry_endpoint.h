// A registry (docker://<reference>) as the source or destination of a transfer, through the
// RegistryClient (which verifies what it reads and retries what it may).
//
// As a destination: blobs the repository has (HEAD) are not sent; a blob of a source on the
// same registry is mounted from the source's repository when the registry agrees (201); the
// top manifest is pushed last, by the reference's tag (or its digest when it has no tag).
#pragma once

#include <memory>
#include <string>

#include "runtime/registry/client/registry_client.h"
#include "runtime/registry/transfer/endpoint.h"

namespace gantry::runtime::registry::transfer {

Result<std::unique_ptr<ImageSource>> open_registry_source(const std::string& reference,
                                                          const ClientOptions& options);
Result<std::unique_ptr<ImageDestination>> open_registry_destination(const std::string& reference,
                                                                    const ClientOptions& options);

}  // namespace gantry::runtime::registry::transfer
