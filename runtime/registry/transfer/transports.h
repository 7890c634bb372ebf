// From a reference in skopeo's transport syntax (runtime/image/image_ref.h: oci:, docker://,
// docker-archive:) to the endpoint that reads or writes it.
#pragma once

#include <memory>
#include <string_view>

#include "runtime/image/image_ref.h"
#include "runtime/registry/client/registry_client.h"
#include "runtime/registry/transfer/endpoint.h"

namespace gantry::runtime::registry::transfer {

Result<std::unique_ptr<ImageSource>> open_source(const image::ImageRef& ref,
                                                 const ClientOptions& registry_options = {});
Result<std::unique_ptr<ImageDestination>> open_destination(
    const image::ImageRef& ref, const ClientOptions& registry_options = {});

// "user:password" (--src-creds, --dest-creds); the password may contain ':'.
Result<Credentials> parse_credentials(std::string_view text);

}  // namespace gantry::runtime::registry::transfer
