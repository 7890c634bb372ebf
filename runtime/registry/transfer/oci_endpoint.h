// An OCI image layout as the source or destination of a transfer (oci:<dir>[:<tag>]).
// The destination writes blobs through ContentStore ingests (visible only once verified) and
// sets the tag last, so a failed copy tags nothing and leaves no partial blob.
#pragma once

#include <memory>
#include <string>

#include "runtime/image/oci_layout.h"
#include "runtime/registry/transfer/endpoint.h"

namespace gantry::runtime::registry::transfer {

Result<std::unique_ptr<ImageSource>> open_oci_source(const std::string& dir,
                                                     const std::string& tag);
// The layout is created when missing.
Result<std::unique_ptr<ImageDestination>> open_oci_destination(const std::string& dir,
                                                               const std::string& tag);

// A blob's bytes as a Source, checked against the descriptor (digest and size).
Result<std::unique_ptr<image::Source>> open_verified_blob(const content::ContentStore& store,
                                                          const image::Descriptor& blob);

// The media type of a manifest or index from its own mediaType member, else from its shape.
std::string sniff_media_type(std::string_view bytes);

}  // namespace gantry::runtime::registry::transfer
