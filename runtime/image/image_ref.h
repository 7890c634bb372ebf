// Image references in the offline forms that skopeo uses, plus room for the registry form:
//
//   oci:<layout-dir>[:<tag>]   an image in an OCI layout directory
//   <layout-dir>[:<tag>]       the same, without the transport prefix
//   docker://<reference>       an image in a registry; <reference> is kept as text here and
//                              parsed by the registry client (runtime/registry/client/reference.h)
//   docker-archive:<path>[:<docker-reference>]
//                              a `docker save` tarball. As skopeo: the path ends at the FIRST
//                              colon; the optional part names the image, "name:tag" (for
//                              reading: the archive's RepoTags entry; for writing: the RepoTags
//                              written) or "@N" (reading: the N-th image of the archive, 0-based).
//
// The tag is optional and defaults to "latest". Layout and tag are split at the LAST colon
// (skopeo splits at the first): so a layout directory may contain ':' ("oci:/a:b:v1" is
// directory "/a:b", tag "v1"), but then the tag must be given ("oci:/a:b" would mean directory
// "/a", tag "b"), and a tag itself cannot contain ':'. A tag must be an OCI ref-name component
// list: [A-Za-z0-9] runs joined by one of "-._@+" or "--", and "/" between components.
//
// Other skopeo transports (oci-archive:, dir:, containers-storage:, docker-daemon:) are
// not_implemented; a layout directory whose name is one of those words
// must be written with the oci: prefix or as "./name".
#pragma once

#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::image {

enum class Transport { oci, docker, docker_archive };

struct ImageRef {
  Transport transport = Transport::oci;
  std::string layout_dir;    // oci: the layout directory
  std::string tag;           // oci: the tag ("latest" when not given)
  std::string remote;        // docker: everything after "docker://", unparsed
  std::string archive_path;  // docker-archive: the tarball
  std::string archive_ref;   // docker-archive: "name:tag", "@N", or empty (not given)

  friend bool operator==(const ImageRef&, const ImageRef&) = default;
};

inline constexpr std::string_view kDefaultTag = "latest";

// invalid_argument for empty parts or a malformed tag; not_implemented for other transports.
Result<ImageRef> parse_image_ref(std::string_view text);

// The canonical text: "oci:<dir>:<tag>", "docker://<remote>" or
// "docker-archive:<path>[:<ref>]". parse(to_string(r)) == r.
std::string to_string(const ImageRef& ref);

// True when tag is a valid ref name (see above) and contains no ':'.
bool is_valid_tag(std::string_view tag);

}  // namespace gantry::runtime::image
