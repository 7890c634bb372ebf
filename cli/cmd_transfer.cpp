// gantry copy, gantry unpack of registry and docker-archive images, gantry login and logout:
// images between machines without a daemon (runtime/registry/transfer).
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "runtime/registry/client/docker_config.h"
#include "runtime/registry/client/reference.h"
#include "runtime/registry/transfer/copy.h"
#include "runtime/registry/transfer/platform.h"
#include "runtime/registry/transfer/transports.h"
#include "runtime/registry/transfer/unpack.h"

namespace gantry::cli {

namespace image = runtime::image;
namespace registry = runtime::registry;
namespace transfer = runtime::registry::transfer;

namespace {

Result<registry::ClientOptions> client_options(const RegistryFlags& f) {
  registry::ClientOptions o;
  o.tls_verify = f.tls_verify;
  if (f.insecure) o.plain_http = true;
  o.auth_file = f.authfile;
  if (!f.creds.empty()) {
    GANTRY_ASSIGN_OR_RETURN(o.credentials, transfer::parse_credentials(f.creds));
  }
  return o;
}

Result<std::optional<image::Platform>> platform_flag(const std::string& text) {
  if (text.empty()) return std::optional<image::Platform>();
  GANTRY_ASSIGN_OR_RETURN(image::Platform p, transfer::parse_platform(text));
  return std::optional<image::Platform>(p);
}

}  // namespace

int run_unpack_remote(const UnpackArgs& a, const image::ImageRef& ref) {
  auto options = client_options(a.registry);
  if (!options) return fail("unpack", options.error());
  auto platform = platform_flag(a.platform);
  if (!platform) return fail("unpack", platform.error());
  auto source = transfer::open_source(ref, *options);
  if (!source) return fail("unpack", source.error());
  transfer::Progress progress(transfer::progress_mode_for(STDERR_FILENO, a.quiet), stderr);
  auto r = transfer::unpack_image(**source, a.dir, {.platform = *platform, .progress = &progress});
  if (!r) return fail("unpack", r.error().with_context("image '" + a.image + "'"));
  uint64_t skipped = 0;
  for (const auto& l : r->layers) skipped += l.skipped_device_count;
  if (skipped > 0) {
    std::cerr << "gantry unpack: skipped " << skipped
              << " device node(s): creating them needs CAP_MKNOD\n";
  }
  return 0;
}

int run_copy(const GlobalOptions&, const CopyArgs& a) {
  auto src_ref = image::parse_image_ref(a.source);
  if (!src_ref) return fail("copy", src_ref.error());
  auto dst_ref = image::parse_image_ref(a.destination);
  if (!dst_ref) return fail("copy", dst_ref.error());
  auto src_options = client_options(a.src);
  if (!src_options) return fail("copy", src_options.error().with_context("--src-creds"));
  auto dst_options = client_options(a.dest);
  if (!dst_options) return fail("copy", dst_options.error().with_context("--dest-creds"));
  auto platform = platform_flag(a.platform);
  if (!platform) return fail("copy", platform.error());
  if (a.transfers < 1 || a.transfers > 64) {
    return fail("copy", Error(ErrorKind::invalid_argument, "--transfers: want 1..64"));
  }
  auto source = transfer::open_source(*src_ref, *src_options);
  if (!source) return fail("copy", source.error());
  auto destination = transfer::open_destination(*dst_ref, *dst_options);
  if (!destination) return fail("copy", destination.error());
  transfer::Progress progress(transfer::progress_mode_for(STDERR_FILENO, a.quiet), stderr);
  transfer::CopyOptions options;
  options.platform = *platform;
  // From a registry, skopeo copies the current platform's image unless told --all; what an
  // OCI layout or an archive holds is copied whole.
  options.all_platforms = a.all || src_ref->transport != image::Transport::docker;
  options.transfers = static_cast<size_t>(a.transfers);
  options.progress = &progress;
  auto r = transfer::copy_image(**source, **destination, options);
  if (!r) return fail("copy", r.error());
  std::cout << r->top_digest.str() << "\n";
  return 0;
}

#ifndef GANTRY_NO_REGISTRY_CLIENT
int run_login(const GlobalOptions&, const LoginArgs& a) {
  registry::Credentials creds;
  creds.username = a.username;
  if (a.password_stdin) {
    if (!a.password.empty()) {
      return fail("login", Error(ErrorKind::invalid_argument,
                                 "--password and --password-stdin are exclusive"));
    }
    std::getline(std::cin, creds.password);
    if (!creds.password.empty() && creds.password.back() == '\r') creds.password.pop_back();
  } else {
    creds.password = a.password;
  }
  if (creds.username.empty() || creds.password.empty()) {
    return fail("login",
                Error(ErrorKind::invalid_argument,
                      "a username (-u) and a password (-p or --password-stdin) are needed"));
  }
  registry::ClientOptions options;
  options.tls_verify = a.flags.tls_verify;
  if (a.flags.insecure) options.plain_http = true;
  options.credentials = creds;
  auto client = registry::RegistryClient::create(a.registry, options);
  if (!client) return fail("login", client.error().with_context(a.registry));
  auto checked = (*client)->check_auth();
  if (!checked) return fail("login", checked.error().with_context(a.registry));
  auto stored = registry::store_credentials(a.registry, creds, a.flags.authfile);
  if (!stored) return fail("login", stored.error());
  std::cout << "Login Succeeded\n";
  return 0;
}

int run_logout(const GlobalOptions&, const LogoutArgs& a) {
  auto removed = registry::remove_credentials(a.registry, a.authfile);
  if (!removed) return fail("logout", removed.error().with_context(a.registry));
  std::cout << "Removed login credentials for " << a.registry << "\n";
  return 0;
}

#else
int run_login(const GlobalOptions&, const LoginArgs&) {
  return fail("login", Error(ErrorKind::not_implemented, "this build has no registry client"));
}
int run_logout(const GlobalOptions&, const LogoutArgs&) {
  return fail("logout", Error(ErrorKind::not_implemented, "this build has no registry client"));
}
#endif

}  // namespace gantry::cli
