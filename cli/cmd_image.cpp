// gantry import, unpack, layers: images in OCI layouts, without a daemon.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "runtime/sys/system_env.h"
#include "runtime/unpack/layer_commit.h"
#include "runtime/unpack/unpacker.h"

namespace gantry::cli {

namespace image = runtime::image;
namespace unpack = runtime::unpack;

int run_import(const GlobalOptions&, const ImportArgs& a) {
  auto compression = parse_compression(a.compression);
  if (!compression) return fail("import", compression.error());
  auto target = open_target(a.image);
  if (!target) return fail("import", target.error());
  auto layer = unpack::commit_directory_diff(target->layout.store(), "", a.dir, *compression);
  if (!layer) return fail("import", layer.error().with_context("layer of '" + a.dir + "'"));
  runtime::sys::SystemEnv env;
  auto desc = unpack::append_layer(
      target->layout,
      {.layer = *layer, .tag = target->ref.tag, .created_by = "gantry import " + a.dir}, env);
  if (!desc) return fail("import", desc.error());
  std::cout << image::to_string(target->ref) << " " << desc->digest.str() << "\n";
  return 0;
}

int run_unpack_remote(const UnpackArgs& a, const image::ImageRef& ref);  // cmd_transfer.cpp

int run_unpack(const GlobalOptions&, const UnpackArgs& a) {
  if (auto ref = image::parse_image_ref(a.image); ref && ref->transport != image::Transport::oci) {
    return run_unpack_remote(a, *ref);
  }
  auto opened = open_image(a.image);
  if (!opened) return fail("unpack", opened.error());
  auto results = unpack::flatten_image(opened->layout, opened->image, a.dir);
  if (!results) return fail("unpack", results.error().with_context("image '" + a.image + "'"));
  uint64_t skipped = 0;
  for (const auto& r : *results) skipped += r.skipped_device_count;
  if (skipped > 0) {
    std::cerr << "gantry unpack: skipped " << skipped
              << " device node(s): creating them needs CAP_MKNOD\n";
  }
  return 0;
}

int run_layers(const GlobalOptions&, const LayersArgs& a) {
  auto opened = open_image(a.image);
  if (!opened) return fail("layers", opened.error());
  const auto& m = opened->image.manifest;
  const auto& diff_ids = opened->image.config.rootfs.diff_ids;
  std::cout << "manifest " << opened->image.descriptor.digest.str() << "\n";
  for (size_t i = 0; i < m.layers.size(); ++i) {
    std::cout << "layer " << i + 1 << " " << m.layers[i].digest.str() << " " << m.layers[i].size
              << " " << m.layers[i].media_type << " diff_id "
              << (i < diff_ids.size() ? diff_ids[i].str() : "?") << "\n";
  }
  return 0;
}

}  // namespace gantry::cli
