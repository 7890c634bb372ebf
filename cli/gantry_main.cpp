// gantry: the command-line client. For now the offline image commands (no daemon needed):
// import, unpack, mount, umount, repack, layers.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"

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
  c->add_option("image", unpack.image, "oci:<layout>:<tag>")->required();
  c->add_option("dir", unpack.dir, "target directory (must not exist)")->required();
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

  CLI11_PARSE(app, argc, argv);
  return status;
}
