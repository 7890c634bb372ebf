// The runtime-spec features document (features.md), as `runc features` prints it, built from
// this library's own tables (mount options, namespaces, capabilities, seccomp names).
#pragma once

#include <string>

namespace gantry::runtime::oci::spec {

// The document, pretty-printed (indent 4) with a trailing newline. `annotations` keys follow
// runc's ("org.opencontainers.runc.*" is runc's; ours are "io.github.gantry.oci.*").
std::string features_json();

}  // namespace gantry::runtime::oci::spec
