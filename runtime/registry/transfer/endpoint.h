// Endpoints of a transfer: where an image is read from (ImageSource) and written to
// (ImageDestination), whatever the transport (an OCI layout, a registry, a docker-archive).
//
// Vocabulary:
//   top        the document a reference names: an image manifest, or an index (OCI index or
//              Docker manifest list) whose entries are manifests.
//   raw        a manifest as bytes with its media type and digest. Bytes read from a source
//              travel to the destination unchanged (so digests stay the same) unless a layer
//              must change form (see LayerForm), and only then is a manifest written anew.
//   layer form what a destination wants of layers: `keep` (as the source has them), `gzip`
//              (uncompressed layers are compressed on the way: a registry or an OCI layout
//              fed from a docker-archive, as skopeo does), `uncompressed` (a docker-archive
//              holds plain tars).
//   location   a source's registry and repository, so that a destination on the same
//              registry can mount blobs instead of copying them.
//
// Every Source a source opens is verified: its read() returns an error instead of the final 0
// when the bytes do not match the descriptor's digest and size.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "runtime/image/compression.h"
#include "runtime/image/manifest.h"

namespace gantry::runtime::registry::transfer {

struct RawManifest {
  Digest digest;
  std::string media_type;
  std::string bytes;
};

struct Location {
  std::string registry;
  std::string repository;
};

enum class LayerForm { keep, gzip, uncompressed };

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // "oci:dir:tag", "docker://host/repo:tag", ... for messages.
  virtual std::string describe() const = 0;
  virtual Result<RawManifest> top() = 0;
  // A manifest that an index lists.
  virtual Result<RawManifest> manifest(const image::Descriptor& descriptor) = 0;
  // A verified stream of the blob.
  virtual Result<std::unique_ptr<image::Source>> open_blob(const image::Descriptor& blob) = 0;
  // A stream of the blob for a destination that checks digest and size itself
  // (ImageDestination::verifies_blobs): the same bytes without this side's sha256 pass.
  virtual Result<std::unique_ptr<image::Source>> open_blob_unhashed(const image::Descriptor& blob) {
    return open_blob(blob);
  }
  // The whole (small) blob, verified.
  virtual Result<std::string> read_blob(const image::Descriptor& blob) = 0;
  virtual std::optional<Location> location() const { return std::nullopt; }
};

// Opens a stream of a blob at an offset (a push that resumes asks again).
using StreamOpener = std::function<Result<std::unique_ptr<image::Source>>(uint64_t offset_bytes)>;

class ImageDestination {
 public:
  virtual ~ImageDestination() = default;
  virtual std::string describe() const = 0;
  virtual LayerForm layer_form() const { return LayerForm::keep; }
  // Whether it can hold an index (a docker-archive cannot: one platform is chosen).
  virtual bool accepts_index() const { return true; }
  // True when put_blob itself refuses bytes that do not match the descriptor's digest and size
  // (and keeps nothing of them): the source then need not hash them too.
  virtual bool verifies_blobs() const { return false; }
  // True when the destination already has the blob (nothing to send).
  virtual Result<bool> has_blob(const image::Descriptor& blob) = 0;
  // Tries a cross-repository mount from a source location; false when not possible.
  virtual Result<bool> mount_blob(const image::Descriptor&, const Location&) { return false; }
  // Stores the blob, read from open(0) (verified by the source, or by the destination when it
  // says so). Called after has_blob answered false, from several threads at once for
  // different blobs.
  virtual Result<void> put_blob(const image::Descriptor& blob, const StreamOpener& open) = 0;
  // Stores a manifest or index (the children of an index before the index itself).
  virtual Result<void> put_manifest(const RawManifest& manifest) = 0;
  // Names the top document (tag it) and makes the whole visible. Nothing is tagged before.
  virtual Result<void> commit(const RawManifest& top) = 0;
};

}  // namespace gantry::runtime::registry::transfer
