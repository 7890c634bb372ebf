// RemoteRegistry: api::Registry over HTTP to any registry URL, one protocol exchange per
// operation, answering exactly what the registry answered (status, error code, digest, Link),
// so that the conformance suite and the model-vs-system properties can compare registries.
// Unlike RegistryClient it does not retry and does not hide protocol steps; it does send
// credentials (basic, or a bearer token fetched on a 401) when given.
#pragma once

#include <memory>
#include <string>

#include "model/api/registry.h"
#include "model/base/result.h"
#include "runtime/registry/client/registry_client.h"

namespace gantry::runtime::registry {

// base_url: "http://127.0.0.1:5000" or "https://host:port". invalid_argument for a malformed
// URL; nothing is dialled until the first operation.
Result<std::unique_ptr<api::Registry>> make_remote_registry(const std::string& base_url,
                                                            ClientOptions options = {});

}  // namespace gantry::runtime::registry
