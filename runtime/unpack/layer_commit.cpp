#include "runtime/unpack/layer_commit.h"

#include <ctime>

#include "runtime/image/layer_diff.h"
#include "runtime/image/media_types.h"

namespace gantry::runtime::unpack {

namespace fs = std::filesystem;

namespace {

// The store's Writer as a compression Sink.
class WriterSink final : public image::Sink {
 public:
  explicit WriterSink(content::Writer& writer) : writer_(writer) {}
  Result<void> write(std::span<const uint8_t> data) override { return writer_.write(data); }

 private:
  content::Writer& writer_;
};

using DiffFn = std::function<Result<image::DiffResult>(const image::ByteSink&)>;

Result<NewLayer> commit_diff(content::ContentStore& store, image::Compression compression,
                             const DiffFn& diff) {
  GANTRY_ASSIGN_OR_RETURN(content::Writer writer, store.ingest());
  WriterSink blob(writer);
  std::unique_ptr<image::CompressingSink> compressor;
  image::Sink* tar_sink = &blob;
  if (compression != image::Compression::none) {
    GANTRY_ASSIGN_OR_RETURN(compressor,
                            image::CompressingSink::open(blob, {.compression = compression}));
    tar_sink = compressor.get();
  }
  image::ByteSink sink = [tar_sink](std::span<const uint8_t> bytes) {
    return tar_sink->write(bytes);
  };
  GANTRY_ASSIGN_OR_RETURN(image::DiffResult written, diff(sink));
  if (compressor) GANTRY_TRY(compressor->close());
  int64_t size = writer.written_bytes();
  GANTRY_ASSIGN_OR_RETURN(Digest digest, writer.commit());
  NewLayer layer;
  layer.descriptor.media_type = std::string(layer_media_type(compression));
  layer.descriptor.digest = digest;
  layer.descriptor.size = size;
  layer.diff_id = written.diff_id;
  layer.entry_count = written.entry_count;
  return layer;
}

std::string rfc3339(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string_view layer_media_type(image::Compression compression) {
  switch (compression) {
    case image::Compression::gzip:
      return image::media_types::kOciLayerTarGzip;
    case image::Compression::zstd:
      return image::media_types::kOciLayerTarZstd;
    case image::Compression::none:
      return image::media_types::kOciLayerTar;
  }
  return image::media_types::kOciLayerTar;
}

Result<NewLayer> commit_directory_diff(content::ContentStore& store, const fs::path& lower,
                                       const fs::path& upper, image::Compression compression) {
  return commit_diff(store, compression, [&](const image::ByteSink& sink) {
    return image::diff_directories(lower, upper, sink);
  });
}

Result<NewLayer> commit_snapshot_diff(snapshot::Snapshotter& snapshotter, std::string_view key,
                                      content::ContentStore& store,
                                      image::Compression compression) {
  GANTRY_ASSIGN_OR_RETURN(auto where, snapshotter.layout(key));
  if (where.overlay_format) {
    return commit_diff(store, compression, [&](const image::ByteSink& sink) {
      return image::diff_overlay_upper(where.upper, where.lowers, sink);
    });
  }
  fs::path lower = where.lowers.empty() ? fs::path() : where.lowers.front();
  return commit_directory_diff(store, lower, where.upper, compression);
}

Result<image::Descriptor> append_layer(image::OciLayout& target, const AppendRequest& request,
                                       Env& env) {
  image::ImageConfig config;
  image::ImageManifest manifest;
  manifest.media_type = std::string(image::media_types::kOciManifest);
  if (request.base != nullptr) {
    config = request.base->config;
    manifest.layers = request.base->manifest.layers;
    manifest.annotations = request.base->manifest.annotations;
    // Layers of a base in another layout are copied over (the store skips ones it has).
    if (request.base_layout != nullptr && request.base_layout->dir() != target.dir()) {
      for (const auto& layer : manifest.layers) {
        if (target.store().contains(layer.digest)) continue;
        GANTRY_ASSIGN_OR_RETURN(auto fd, request.base_layout->store().open_blob(layer.digest));
        GANTRY_TRY_CTX(target.store().ingest_fd(fd.get(), layer.digest, layer.size),
                       "copy layer " + layer.digest.str());
      }
    }
  } else {
    image::Platform p = image::current_platform();
    config.architecture = p.architecture;
    config.os = p.os;
    config.variant = p.variant;
  }
  std::string now = rfc3339(env.now_ns());
  config.created = now;
  config.rootfs.type = "layers";
  config.rootfs.diff_ids.push_back(request.layer.diff_id);
  config.history.push_back({.created = now, .created_by = request.created_by});
  manifest.layers.push_back(request.layer.descriptor);
  GANTRY_ASSIGN_OR_RETURN(manifest.config, target.write_config(config));
  GANTRY_ASSIGN_OR_RETURN(image::Descriptor descriptor, target.write_manifest(manifest));
  GANTRY_TRY(target.set_tag(request.tag, descriptor));
  return descriptor;
}

}  // namespace gantry::runtime::unpack
