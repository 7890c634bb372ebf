// OciLayout: an OCI image layout directory (image-spec, image-layout.md):
//   <dir>/oci-layout    {"imageLayoutVersion":"1.0.0"}
//   <dir>/index.json    an image index; entries carry their tag in the annotation
//                       org.opencontainers.image.ref.name
//   <dir>/blobs/sha256/ the blobs, which is exactly a ContentStore (ingests go to <dir>/.ingest)
//
// Vocabulary: a *tag* is the ref name of an index.json entry; *resolve* gives the descriptor
// that a tag names; *load* follows that descriptor (through an index, to the manifest for a
// platform) to the manifest and config of one image.
//
// Every blob read is checked against its descriptor: its sha256 must be the digest and its
// length the size. A blob that is not is corrupt, an internal error naming the blob.
// index.json is replaced atomically (temp, fsync, rename, fsync dir) under an flock on <dir>,
// so concurrent set_tag calls of cooperating processes do not lose updates.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/content/content_store.h"
#include "runtime/image/manifest.h"

namespace gantry::runtime::image {

struct LoadedImage {
  Descriptor descriptor;  // of the manifest (after following an index)
  ImageManifest manifest;
  ImageConfig config;
};

class OciLayout {
 public:
  // Makes a new, empty layout at dir (created if missing). already_exists when dir already
  // holds an oci-layout or index.json.
  static Result<OciLayout> create(const std::filesystem::path& dir);
  // Opens an existing layout: not_found without oci-layout or index.json, invalid_argument
  // when either is not what the spec says.
  static Result<OciLayout> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  content::ContentStore& store() { return store_; }
  const content::ContentStore& store() const { return store_; }

  // index.json as it is now (read afresh on each call: other tools may change it).
  Result<ImageIndex> index() const;
  // Tags in index.json order.
  Result<std::vector<std::string>> tags() const;
  // The descriptor that tag names; not_found naming the tag and the tags that exist.
  Result<Descriptor> resolve(std::string_view tag) const;
  // Points tag at descriptor (its ref-name annotation is set to tag), replacing the entries
  // that had that tag. The tag must be non-empty.
  Result<void> set_tag(std::string_view tag, const Descriptor& descriptor);
  // not_found when no entry has the tag.
  Result<void> remove_tag(std::string_view tag);

  // Blob bytes, checked against the descriptor (digest and size); larger than max_size_bytes
  // is invalid_argument.
  Result<std::string> read_blob(const Descriptor& descriptor,
                                int64_t max_size_bytes = 64 * 1024 * 1024) const;
  Result<ImageManifest> read_manifest(const Descriptor& descriptor) const;
  Result<ImageIndex> read_index(const Descriptor& descriptor) const;
  Result<ImageConfig> read_config(const Descriptor& descriptor) const;

  // Store the canonical JSON as a blob and return its descriptor (media type from the
  // document, or the OCI one when it has none).
  Result<Descriptor> write_manifest(const ImageManifest& manifest);
  Result<Descriptor> write_index(const ImageIndex& index);
  Result<Descriptor> write_config(const ImageConfig& config);
  Result<Descriptor> write_blob(std::string_view bytes, std::string_view media_type);

  // The image a tag names. When the tag names an index, the manifest for `platform` is chosen
  // (os and architecture equal; variant equal when both have one); not_found lists the
  // platforms the index has.
  Result<LoadedImage> load_image(std::string_view tag,
                                 const Platform& platform = current_platform()) const;

 private:
  OciLayout(std::filesystem::path dir, content::ContentStore store)
      : dir_(std::move(dir)), store_(std::move(store)) {}
  Result<void> write_index_json(const ImageIndex& index);

  std::filesystem::path dir_;
  content::ContentStore store_;
};

}  // namespace gantry::runtime::image
