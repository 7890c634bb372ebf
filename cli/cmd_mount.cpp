// gantry mount, umount, repack: a writable layered view of an image, and its changes as a new
// image. The view is an active snapshot on top of the image's layers (unpacked once into the
// snapshotter and shared by later mounts); a record under <root>/mounts ties the directory to
// it for the later commands.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/mount_record.h"
#include "runtime/sys/mount.h"
#include "runtime/sys/system_env.h"
#include "runtime/unpack/layer_commit.h"
#include "runtime/unpack/unpacker.h"

namespace gantry::cli {

namespace image = runtime::image;
namespace unpack = runtime::unpack;

int run_mount(const GlobalOptions& g, const MountArgs& a) {
  auto target = canonical_target(a.dir);
  if (!target) return fail("mount", target.error());
  if (load_mount_record(g.root, *target)) {
    return fail("mount", Error(ErrorKind::already_exists, "'" + *target + "' is already mounted"));
  }
  auto opened = open_image(a.image);
  if (!opened) return fail("mount", opened.error());
  auto snapshotter = open_snapshotter(g.root, a.snapshotter);
  if (!snapshotter) return fail("mount", snapshotter.error());
  auto report = unpack::unpack_image(**snapshotter, opened->layout, opened->image);
  if (!report) return fail("mount", report.error().with_context("image '" + a.image + "'"));
  runtime::sys::SystemEnv env;
  std::string key = "mount/" + env.new_id().substr(0, 16);
  auto mounts = (*snapshotter)->prepare(key, report->top);
  if (!mounts) return fail("mount", mounts.error());
  MountRecord record{.target = *target,
                     .snapshotter = a.snapshotter,
                     .key = key,
                     .image = image::to_string(opened->ref),
                     .manifest = opened->image.descriptor.digest.str()};
  if (auto saved = save_mount_record(g.root, record); !saved) {
    (void)(*snapshotter)->remove(key);
    return fail("mount", saved.error());
  }
  if (auto done = runtime::sys::mount_all(*mounts, *target); !done) {
    (void)remove_mount_record(g.root, *target);
    (void)(*snapshotter)->remove(key);
    return fail("mount", done.error());
  }
  return 0;
}

int run_umount(const GlobalOptions& g, const UmountArgs& a) {
  auto target = canonical_target(a.dir);
  if (!target) return fail("umount", target.error());
  auto record = load_mount_record(g.root, *target);
  if (!record) return fail("umount", record.error());
  if (auto done = runtime::sys::unmount(*target); !done) return fail("umount", done.error());
  auto snapshotter = open_snapshotter(g.root, record->snapshotter);
  if (!snapshotter) return fail("umount", snapshotter.error());
  if (auto removed = (*snapshotter)->remove(record->key); !removed) {
    return fail("umount", removed.error());
  }
  if (auto removed = remove_mount_record(g.root, *target); !removed) {
    return fail("umount", removed.error());
  }
  return 0;
}

int run_repack(const GlobalOptions& g, const RepackArgs& a) {
  auto compression = parse_compression(a.compression);
  if (!compression) return fail("repack", compression.error());
  auto target = canonical_target(a.dir);
  if (!target) return fail("repack", target.error());
  auto record = load_mount_record(g.root, *target);
  if (!record) return fail("repack", record.error());
  auto base = open_image(record->image);
  if (!base) return fail("repack", base.error().with_context("the mounted image"));
  if (base->image.descriptor.digest.str() != record->manifest) {
    return fail("repack", Error(ErrorKind::conflict,
                                "image '" + record->image + "' changed since it was mounted"));
  }
  auto out = open_target(a.image);
  if (!out) return fail("repack", out.error());
  auto snapshotter = open_snapshotter(g.root, record->snapshotter);
  if (!snapshotter) return fail("repack", snapshotter.error());
  // Writes made through the mount must reach the upper directory before it is read.
  ::sync();
  auto layer =
      unpack::commit_snapshot_diff(**snapshotter, record->key, out->layout.store(), *compression);
  if (!layer) return fail("repack", layer.error());
  runtime::sys::SystemEnv env;
  auto desc = unpack::append_layer(out->layout,
                                   {.base_layout = &base->layout,
                                    .base = &base->image,
                                    .layer = *layer,
                                    .tag = out->ref.tag,
                                    .created_by = "gantry repack " + *target},
                                   env);
  if (!desc) return fail("repack", desc.error());
  std::cout << image::to_string(out->ref) << " " << desc->digest.str() << " layer "
            << layer->descriptor.digest.str() << " diff_id " << layer->diff_id.str() << "\n";
  return 0;
}

}  // namespace gantry::cli
