#include "runtime/registry/transfer/transports.h"

#include "runtime/registry/transfer/archive_endpoint.h"
#include "runtime/registry/transfer/oci_endpoint.h"
#include "runtime/registry/transfer/registry_endpoint.h"

namespace gantry::runtime::registry::transfer {
namespace {
#ifdef GANTRY_NO_REGISTRY_CLIENT
Error no_client(const std::string& remote) {
  return Error(ErrorKind::not_implemented,
               "docker://" + remote + ": this build has no registry client");
}
#endif
}  // namespace
}  // namespace gantry::runtime::registry::transfer

namespace gantry::runtime::registry::transfer {

Result<std::unique_ptr<ImageSource>> open_source(const image::ImageRef& ref,
                                                 const ClientOptions& registry_options) {
  switch (ref.transport) {
    case image::Transport::oci:
      return open_oci_source(ref.layout_dir, ref.tag);
    case image::Transport::docker:
#ifdef GANTRY_NO_REGISTRY_CLIENT
      (void)registry_options;
      return no_client(ref.remote);
#else
      return open_registry_source(ref.remote, registry_options);
#endif
    case image::Transport::docker_archive:
      return open_archive_source(ref.archive_path, ref.archive_ref);
  }
  return Error(ErrorKind::internal, "unknown transport");
}

Result<std::unique_ptr<ImageDestination>> open_destination(const image::ImageRef& ref,
                                                           const ClientOptions& registry_options) {
  switch (ref.transport) {
    case image::Transport::oci:
      return open_oci_destination(ref.layout_dir, ref.tag);
    case image::Transport::docker:
#ifdef GANTRY_NO_REGISTRY_CLIENT
      (void)registry_options;
      return no_client(ref.remote);
#else
      return open_registry_destination(ref.remote, registry_options);
#endif
    case image::Transport::docker_archive:
      return open_archive_destination(ref.archive_path, ref.archive_ref);
  }
  return Error(ErrorKind::internal, "unknown transport");
}

Result<Credentials> parse_credentials(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error(ErrorKind::invalid_argument, "credentials: want USER:PASSWORD");
  }
  Credentials c;
  c.username = std::string(text.substr(0, colon));
  c.password = std::string(text.substr(colon + 1));
  return c;
}

}  // namespace gantry::runtime::registry::transfer
