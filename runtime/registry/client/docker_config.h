// Credentials in the docker config file, as docker, podman and skopeo read and write it:
//   {"auths": {"<registry>": {"auth": "<base64 of user:password>", "identitytoken": "..."}}}
// The file is $DOCKER_CONFIG/config.json when DOCKER_CONFIG is set, else ~/.docker/config.json.
// Entries are looked up by registry host[:port], also in the legacy forms docker accepts
// ("https://<registry>", "https://index.docker.io/v1/" for docker.io). Credential helpers
// (credsStore, credHelpers) are not run: a registry that names one gets not_implemented.
// Other keys of the file are kept untouched when an entry is written (atomically: temp, fsync,
// rename; mode 0600).
#pragma once

#include <optional>
#include <string>

#include "model/base/result.h"
#include "runtime/registry/client/registry_client.h"

namespace gantry::runtime::registry {

// The config file path (path when non-empty).
std::string docker_config_path(const std::string& path = "");

// nullopt when the file or the entry is missing; invalid_argument for a malformed file.
Result<std::optional<Credentials>> load_credentials(const std::string& registry,
                                                    const std::string& path = "");
Result<void> store_credentials(const std::string& registry, const Credentials& credentials,
                               const std::string& path = "");
// not_found when there was no entry.
Result<void> remove_credentials(const std::string& registry, const std::string& path = "");

}  // namespace gantry::runtime::registry
