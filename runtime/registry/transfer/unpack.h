// Unpacking an image from any source (a registry above all) into a new directory, layers
// streaming into apply_layer as they arrive:
//
//   applier      one thread applies layers in order (image::apply_layer: inflate, untar, write).
//                When it reaches a layer nobody is downloading yet, it streams that layer
//                straight from the source (the first layer always does).
//   downloaders  up to transfers-1 threads take the next layers that nobody has claimed and
//                write them into unnamed temp files (in /dev/shm when there is one, else next
//                to the target). The applier follows
//                such a file while it grows (it never waits for a whole layer), and gets the
//                source's verdict (digest, size) before it accepts the end.
//
// Each layer is checked twice: the compressed bytes against the manifest's descriptor, the tar
// against the config's rootfs.diff_ids. The layers go into a sibling temp directory renamed to
// dir only when all succeeded; a failure removes it and names the layer ("layer 2 (sha256:..)").
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "model/base/result.h"
#include "runtime/image/layer_apply.h"
#include "runtime/image/manifest.h"
#include "runtime/registry/transfer/endpoint.h"
#include "runtime/registry/transfer/parallel.h"
#include "runtime/registry/transfer/progress.h"

namespace gantry::runtime::registry::transfer {

struct UnpackOptions {
  std::optional<image::Platform> platform;  // unset: current_platform()
  size_t transfers = kDefaultTransfers;
  image::ApplyOptions apply;
  Progress* progress = nullptr;
};

struct UnpackReport {
  Digest manifest_digest;
  std::vector<image::ApplyResult> layers;
  size_t streamed_layer_count = 0;  // applied straight from the source, no temp file
};

// dir must not exist.
Result<UnpackReport> unpack_image(ImageSource& source, const std::filesystem::path& dir,
                                  const UnpackOptions& options = {});

}  // namespace gantry::runtime::registry::transfer
