// Image references in a registry, in the grammar docker, podman and containerd accept
// (distribution's reference package, documented in its README and the OCI distribution spec):
//
//   [registry/]name[:tag][@digest]
//
//   registry  the first component when it contains '.' or ':' or is "localhost"
//             (`localhost:5000/x`, `ghcr.io/x`); otherwise the image is on Docker Hub,
//             registry "docker.io", and a one-component name gets "library/" in front
//             (`busybox` is `docker.io/library/busybox`).
//   name      components of [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, joined by '/'; at most 255
//             characters with the registry (docker's limit).
//   tag       [A-Za-z0-9_][A-Za-z0-9._-]{0,127}; "latest" when neither tag nor digest is given.
//   digest    sha256:<64 lowercase hex> (the only algorithm Gantry accepts).
//
// A reference with both tag and digest resolves by the digest (the tag is kept for display).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/base/digest.h"
#include "model/base/result.h"

namespace gantry::runtime::registry {

inline constexpr std::string_view kDockerHub = "docker.io";
// Where Docker Hub's API really is (what docker.io means on the wire).
inline constexpr std::string_view kDockerHubEndpoint = "registry-1.docker.io";

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000", "127.0.0.1:5000", "ghcr.io"
  std::string repository;  // "library/busybox"
  std::optional<std::string> tag;
  std::optional<Digest> digest;

  // The tag or digest to ask the registry for: the digest when there is one, else the tag,
  // else "latest".
  std::string manifest_reference() const;
  friend bool operator==(const Reference&, const Reference&) = default;
};

// invalid_argument naming the part that is wrong ("invalid tag 'A:B' in ...").
Result<Reference> parse_reference(std::string_view text);

// The fully qualified form: "docker.io/library/busybox:latest",
// "localhost:5000/x@sha256:...". parse_reference(to_string(r)) == r.
std::string to_string(const Reference& ref);

}  // namespace gantry::runtime::registry
