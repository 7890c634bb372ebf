// Unpacking images: the layers of an image in an OCI layout become either one flattened
// directory (gantry unpack) or a chain of committed snapshots (gantry mount, containers).
//
// Each layer's blob is checked while it streams: the compressed bytes against the manifest's
// descriptor (digest and size) and the tar against the config's rootfs.diff_ids. A mismatch,
// a hostile entry or a corrupt stream is an error naming the layer; what was written for it is
// discarded (a temporary directory, or an active snapshot that is removed), never left visible.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "runtime/image/layer_apply.h"
#include "runtime/image/oci_layout.h"
#include "runtime/snapshot/snapshotter.h"

namespace gantry::runtime::unpack {

struct LayerReport {
  Digest diff_id;
  Digest chain_id;
  bool reused = false;  // a committed snapshot for this chain already existed
  image::ApplyResult applied;
};

struct UnpackReport {
  std::string top;  // name of the committed snapshot of the whole stack ("" for no layers)
  std::vector<LayerReport> layers;
};

// Bounds and device policy for every layer (whiteout format and lowers are set per backend).
struct UnpackOptions {
  image::ApplyOptions apply;
};

// Flattens the image into dir, which must not exist yet: the layers are applied in order into
// a sibling temporary directory that is renamed to dir only when all of them succeeded.
Result<std::vector<image::ApplyResult>> flatten_image(const image::OciLayout& layout,
                                                      const image::LoadedImage& image,
                                                      const std::filesystem::path& dir,
                                                      const UnpackOptions& options = {});

// Makes sure the snapshotter holds one committed snapshot per layer, named by its chain id
// ("sha256:..."), and returns the top one. Existing snapshots are reused. Overlay-format
// backends get each layer applied straight into the new snapshot's upper directory (whiteouts
// as overlay writes them); the copy backend applies into a full copy of the parent.
Result<UnpackReport> unpack_image(snapshot::Snapshotter& snapshotter,
                                  const image::OciLayout& layout, const image::LoadedImage& image,
                                  const UnpackOptions& options = {});

// Applies one layer blob of the layout onto root, checking its descriptor and diff_id.
Result<image::ApplyResult> apply_layer_blob(const image::OciLayout& layout,
                                            const image::Descriptor& layer,
                                            const Digest& expected_diff_id,
                                            const std::filesystem::path& root,
                                            const image::ApplyOptions& options);

}  // namespace gantry::runtime::unpack
