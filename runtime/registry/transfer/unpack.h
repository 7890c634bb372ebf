// Unpacking an image from any source (a registry above all) into a new directory, all layers
// at once:
//
//   decoders   up to `transfers` threads (at most one per core); each takes the lowest layer nobody
//   took, streams it
//              from the source (which verifies the compressed bytes as they pass: one sha256),
//              inflates it, hashes the tar (the diff_id) and hands the tar on in chunks. So the
//              costly work of every layer (sha256 twice, inflate) runs side by side.
//   applier    the calling thread writes the layers' tars into the directory strictly in the
//              image's order (image::apply_layer, with nothing hashed again): layer i+1 starts
//              only when layer i is complete, so whiteouts and opaque directories of an upper
//              layer remove what the lower ones wrote, exactly as a serial unpack does.
//
// Tars decoded ahead of the applier wait in memory, at most kAheadBytes (64 MiB) in all; the layer
// being applied never waits for that budget (its decoder only waits for the applier), so the
// applier always makes progress and memory stays bounded whatever the image's size.
//
// Each layer is checked twice: the compressed bytes against the manifest's descriptor (by the
// source), the tar against the config's rootfs.diff_ids. The layers go into a sibling temp
// directory renamed to dir only when all succeeded; a failure removes it and names the layer
// ("layer 2 (sha256:..)").
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

// Bytes of decoded tar that may wait ahead of the applier, all layers together.
inline constexpr uint64_t kAheadBytes = 64ull << 20;

struct UnpackOptions {
  std::optional<image::Platform> platform;  // unset: current_platform()
  size_t transfers = kDefaultTransfers;     // layers decoded at once (at most one per core)
  image::ApplyOptions apply;
  Progress* progress = nullptr;
};

struct UnpackReport {
  Digest manifest_digest;
  std::vector<image::ApplyResult> layers;  // compressed_digest and diff_id as verified
  size_t streamed_layer_count = 0;         // applied straight from the source, no temp file
};

// dir must not exist.
Result<UnpackReport> unpack_image(ImageSource& source, const std::filesystem::path& dir,
                                  const UnpackOptions& options = {});

}  // namespace gantry::runtime::registry::transfer
