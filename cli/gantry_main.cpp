// gantry: the command-line client. For now the commands that need no daemon: import, unpack,
// mount, umount, repack, layers, and copy, login, logout for registries.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"

namespace {

void add_registry_flags(CLI::App* c, gantry::cli::RegistryFlags& f, const std::string& prefix,
                        const std::string& what) {
  c->add_option("--" + prefix + "creds", f.creds, "USER:PASSWORD for the " + what);
  c->add_option("--" + prefix + "tls-verify", f.tls_verify,
                "verify the " + what + "'s TLS certificate (true or false)")
      ->capture_default_str();
  c->add_option("--" + prefix + "authfile", f.authfile,
                "docker config file with credentials for the " + what);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gantry::cli;
  CLI::App app{"gantry: images and layered filesystems (offline commands)"};
  app.require_subcommand(1);
  GlobalOptions g;
  const char* env_root = std::getenv("GANTRY_ROOT");
  g.root = env_root && *env_root ? env_root : "/var/lib/gantry";
  app.add_option("--root", g.root, "state directory (snapshots, mount records)")
      ->capture_default_str();
  int status = 0;

  ImportArgs import;
  auto* c = app.add_subcommand("import", "make a one-layer image from a directory");
  c->add_option("dir", import.dir, "root filesystem directory")->required();
  c->add_option("image", import.image, "oci:<layout>:<tag> (layout created when missing)")
      ->required();
  c->add_option("--compression", import.compression, "gzip, zstd or none")->capture_default_str();
  c->callback([&] { status = run_import(g, import); });

  UnpackArgs unpack;
  c = app.add_subcommand("unpack", "flatten an image's layers into a new directory");
  c->add_option("image", unpack.image,
                "oci:<layout>:<tag>, docker://<reference> or docker-archive:<path>[:<name:tag>]")
      ->required();
  c->add_option("dir", unpack.dir, "target directory (must not exist)")->required();
  add_registry_flags(c, unpack.registry, "", "registry");
  c->add_flag("--insecure", unpack.registry.insecure, "plain http to the registry");
  c->add_option("--platform", unpack.platform, "os/arch[/variant] to pick from an index");
  c->add_flag("-q,--quiet", unpack.quiet, "no progress");
  c->callback([&] { status = run_unpack(g, unpack); });

  MountArgs mount;
  c = app.add_subcommand("mount", "mount a writable layered view of an image");
  c->add_option("--snapshotter", mount.snapshotter, "copy, overlay or fuse")->capture_default_str();
  c->add_option("image", mount.image, "oci:<layout>:<tag>")->required();
  c->add_option("dir", mount.dir, "mount point (an existing directory)")->required();
  c->callback([&] { status = run_mount(g, mount); });

  UmountArgs umount;
  c = app.add_subcommand("umount", "unmount a view made by gantry mount and drop its changes");
  c->add_option("dir", umount.dir, "mount point")->required();
  c->callback([&] { status = run_umount(g, umount); });

  RepackArgs repack;
  c = app.add_subcommand("repack", "turn the changes made in a mounted view into a new image");
  c->add_option("dir", repack.dir, "mount point of gantry mount")->required();
  c->add_option("image", repack.image, "oci:<layout>:<new-tag>")->required();
  c->add_option("--compression", repack.compression, "gzip, zstd or none")->capture_default_str();
  c->callback([&] { status = run_repack(g, repack); });

  LayersArgs layers;
  c = app.add_subcommand("layers", "list an image's layers with their digests and diff_ids");
  c->add_option("image", layers.image, "oci:<layout>:<tag>")->required();
  c->callback([&] { status = run_layers(g, layers); });

  CopyArgs copy;
  c = app.add_subcommand("copy", "copy an image between oci:, docker:// and docker-archive:");
  c->add_option("source", copy.source,
                "oci:<layout>[:<tag>], docker://<ref>, docker-archive:<path>")
      ->required();
  c->add_option("destination", copy.destination, "same forms as the source")->required();
  add_registry_flags(c, copy.src, "src-", "source registry");
  add_registry_flags(c, copy.dest, "dest-", "destination registry");
  c->add_flag("--insecure", copy.src.insecure, "plain http to both registries");
  c->add_option("--platform", copy.platform, "os/arch[/variant]: copy only that image of an index");
  c->add_flag("-a,--all", copy.all, "copy every image of an index from a registry");
  c->add_option("--transfers", copy.transfers, "blobs moved at once")->capture_default_str();
  c->add_flag("-q,--quiet", copy.quiet, "no progress");
  c->callback([&] {
    copy.dest.insecure = copy.dest.insecure || copy.src.insecure;
    status = run_copy(g, copy);
  });

  LoginArgs login;
  c = app.add_subcommand("login", "check credentials with a registry and store them");
  c->add_option("registry", login.registry, "host[:port]")->capture_default_str();
  c->add_option("-u,--username", login.username, "user name")->required();
  c->add_option("-p,--password", login.password, "password");
  c->add_flag("--password-stdin", login.password_stdin, "read the password from stdin");
  c->add_option("--tls-verify", login.flags.tls_verify, "verify the registry's TLS certificate")
      ->capture_default_str();
  c->add_option("--authfile", login.flags.authfile, "docker config file to store them in");
  c->add_flag("--insecure", login.flags.insecure, "plain http");
  c->callback([&] { status = run_login(g, login); });

  LogoutArgs logout;
  c = app.add_subcommand("logout", "remove a registry's stored credentials");
  c->add_option("registry", logout.registry, "host[:port]")->capture_default_str();
  c->add_option("--authfile", logout.authfile, "docker config file");
  c->callback([&] { status = run_logout(g, logout); });

  CLI11_PARSE(app, argc, argv);
  return status;
}
