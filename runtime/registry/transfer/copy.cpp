#include "runtime/registry/transfer/copy.h"

#include <algorithm>

#include <atomic>
#include <vector>

#include "runtime/image/media_types.h"
#include "runtime/registry/transfer/archive_endpoint.h"
#include "runtime/registry/transfer/platform.h"
#include "runtime/registry/transfer/temp_blob.h"
#include "runtime/registry/transfer/verify_source.h"

namespace gantry::runtime::registry::transfer {

namespace media_types = image::media_types;

namespace {

enum class Change { none, compress, decompress };

bool is_uncompressed_layer(std::string_view media_type) {
  return media_type == kDockerLayerTar || media_type == media_types::kOciLayerTar;
}

Change change_for(const image::Descriptor& layer, LayerForm form) {
  if (form == LayerForm::gzip && layer.media_type == kDockerLayerTar) return Change::compress;
  if (form == LayerForm::uncompressed && !is_uncompressed_layer(layer.media_type)) {
    return Change::decompress;
  }
  return Change::none;
}

struct Counters {
  std::atomic<size_t> sent{0};
  std::atomic<size_t> present{0};
  std::atomic<size_t> mounted{0};
};

std::function<void(uint64_t)> progress_fn(Progress* progress, size_t line) {
  if (progress == nullptr) return {};
  return [progress, line](uint64_t n) { progress->advance(line, n); };
}

size_t start_line(Progress* progress, const image::Descriptor& d, const char* action) {
  return progress ? progress->start(d.digest, static_cast<uint64_t>(d.size), action) : 0;
}

// A layer in its new form, in an unnamed temp file.
struct Converted {
  image::Descriptor descriptor;
  std::shared_ptr<sys::UniqueFd> fd;
};

Result<void> pump(image::Source& from, image::Sink& to) {
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, from.read(buf));
    if (n == 0) return to.close();
    GANTRY_TRY(to.write(std::span<const uint8_t>(buf.data(), n)));
  }
}

Result<Converted> convert_layer(ImageSource& source, const image::Descriptor& layer, Change change,
                                bool docker, Progress* progress) {
  size_t line =
      start_line(progress, layer, change == Change::compress ? "compressing" : "decompressing");
  GANTRY_ASSIGN_OR_RETURN(auto blob, source.open_blob(layer));
  CountingSource counted(std::move(blob), progress_fn(progress, line));
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd tmp, make_temp_file());
  image::FdSink file(tmp.get());
  Converted out;
  out.descriptor = layer;
  if (change == Change::compress) {
    GANTRY_ASSIGN_OR_RETURN(auto gz, image::CompressingSink::open(file));
    GANTRY_TRY(pump(counted, *gz));
    out.descriptor.digest = gz->compressed_digest();
    out.descriptor.size = static_cast<int64_t>(gz->compressed_bytes());
    out.descriptor.media_type =
        std::string(docker ? media_types::kDockerLayerGzip : media_types::kOciLayerTarGzip);
  } else {
    GANTRY_ASSIGN_OR_RETURN(auto plain, image::DecompressingSource::open(counted));
    GANTRY_TRY(pump(*plain, file));
    out.descriptor.digest = plain->uncompressed_digest();
    out.descriptor.size = static_cast<int64_t>(plain->uncompressed_bytes());
    out.descriptor.media_type = std::string(docker ? kDockerLayerTar : media_types::kOciLayerTar);
  }
  if (progress) progress->finish(line, "converted");
  out.fd = std::make_shared<sys::UniqueFd>(std::move(tmp));
  return out;
}

Result<void> move_blob(ImageSource& source, ImageDestination& destination,
                       const image::Descriptor& d, const StreamOpener& open, Progress* progress,
                       Counters& counters) {
  GANTRY_ASSIGN_OR_RETURN(bool present, destination.has_blob(d));
  if (present) {
    if (progress) progress->finish(start_line(progress, d, "exists"), "exists");
    ++counters.present;
    return ok();
  }
  if (auto from = source.location()) {
    GANTRY_ASSIGN_OR_RETURN(bool mounted, destination.mount_blob(d, *from));
    if (mounted) {
      if (progress) progress->finish(start_line(progress, d, "mounted"), "mounted");
      ++counters.mounted;
      return ok();
    }
  }
  size_t line = start_line(progress, d, "copying");
  auto counted = [&](uint64_t offset) -> Result<std::unique_ptr<image::Source>> {
    GANTRY_ASSIGN_OR_RETURN(auto s, open(offset));
    return std::unique_ptr<image::Source>(
        std::make_unique<CountingSource>(std::move(s), progress_fn(progress, line)));
  };
  GANTRY_TRY(destination.put_blob(d, counted));
  if (progress) progress->finish(line);
  ++counters.sent;
  return ok();
}

Result<RawManifest> copy_manifest(ImageSource& source, ImageDestination& destination,
                                  const RawManifest& raw, const CopyOptions& options,
                                  Counters& counters) {
  GANTRY_ASSIGN_OR_RETURN_CTX(image::ImageManifest m, image::parse_manifest(raw.bytes),
                              "manifest " + raw.digest.str());
  bool docker = raw.media_type == media_types::kDockerManifest;
  LayerForm form = destination.layer_form();
  std::vector<image::Descriptor> out_layers = m.layers;
  bool changed = false;
  for (const auto& l : m.layers) changed = changed || change_for(l, form) != Change::none;

  // Largest first: with fewer transfers than blobs, the last one to start is then a small one
  // (often the config) and does not stretch the copy; index 0 is the config, i the layer i-1.
  std::vector<size_t> order(m.layers.size() + 1);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto size_of = [&](size_t i) { return i == 0 ? m.config.size : m.layers[i - 1].size; };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return size_of(a) > size_of(b); });
  GANTRY_TRY(parallel_for(order.size(), options.transfers, [&](size_t k) -> Result<void> {
    size_t i = order[k];
    const image::Descriptor& d = i == 0 ? m.config : m.layers[i - 1];
    std::string what =
        (i == 0 ? std::string("config ") : "layer " + std::to_string(i) + " ") + d.digest.str();
    Change change = i == 0 ? Change::none : change_for(d, form);
    if (change == Change::none) {
      auto r = move_blob(
          source, destination, d,
          [&source, &destination, &d](uint64_t offset) -> Result<std::unique_ptr<image::Source>> {
            // One sha256 per blob: the destination's when it checks, else the source's.
            GANTRY_ASSIGN_OR_RETURN(auto s, destination.verifies_blobs()
                                                ? source.open_blob_unhashed(d)
                                                : source.open_blob(d));
            if (offset > 0) GANTRY_TRY(skip_bytes(*s, offset));
            return s;
          },
          options.progress, counters);
      if (!r) return std::move(r).error().with_context(what);
      return ok();
    }
    auto converted = convert_layer(source, d, change, docker, options.progress);
    if (!converted) return std::move(converted).error().with_context(what);
    out_layers[i - 1] = converted->descriptor;
    auto fd = converted->fd;
    auto r = move_blob(
        source, destination, converted->descriptor,
        [fd](uint64_t offset) -> Result<std::unique_ptr<image::Source>> {
          return std::unique_ptr<image::Source>(std::make_unique<PreadSource>(fd, offset));
        },
        options.progress, counters);
    if (!r) return std::move(r).error().with_context(what);
    return ok();
  }));
  if (!changed) return raw;
  m.layers = std::move(out_layers);
  std::string bytes = image::to_json(m);
  return RawManifest{Digest::of(bytes), raw.media_type, std::move(bytes)};
}

}  // namespace

Result<ResolvedManifest> resolve_manifest(ImageSource& source, const image::Platform& platform) {
  GANTRY_ASSIGN_OR_RETURN(RawManifest top, source.top());
  GANTRY_ASSIGN_OR_RETURN_CTX(auto parsed, image::parse_manifest_or_index(top.bytes),
                              source.describe() + ": " + top.digest.str());
  if (auto* index = std::get_if<image::ImageIndex>(&parsed)) {
    GANTRY_ASSIGN_OR_RETURN_CTX(image::Descriptor d, select_manifest(*index, platform),
                                source.describe());
    GANTRY_ASSIGN_OR_RETURN(top, source.manifest(d));
    GANTRY_ASSIGN_OR_RETURN_CTX(image::ImageManifest m, image::parse_manifest(top.bytes),
                                source.describe() + ": manifest " + top.digest.str());
    return ResolvedManifest{std::move(top), std::move(m)};
  }
  return ResolvedManifest{std::move(top), std::get<image::ImageManifest>(std::move(parsed))};
}

Result<CopyReport> copy_image(ImageSource& source, ImageDestination& destination,
                              const CopyOptions& options) {
  Counters counters;
  GANTRY_ASSIGN_OR_RETURN(RawManifest top, source.top());
  GANTRY_ASSIGN_OR_RETURN_CTX(auto parsed, image::parse_manifest_or_index(top.bytes),
                              source.describe() + ": " + top.digest.str());
  RawManifest out;
  if (auto* index = std::get_if<image::ImageIndex>(&parsed)) {
    bool narrow = options.platform || !options.all_platforms || !destination.accepts_index();
    if (narrow) {
      image::Platform p = options.platform ? *options.platform : image::current_platform();
      GANTRY_ASSIGN_OR_RETURN_CTX(image::Descriptor d, select_manifest(*index, p),
                                  source.describe());
      GANTRY_ASSIGN_OR_RETURN(RawManifest child, source.manifest(d));
      GANTRY_ASSIGN_OR_RETURN(out, copy_manifest(source, destination, child, options, counters));
    } else {
      for (const auto& d : index->manifests) {
        if (!d.media_type.empty() && !media_types::is_manifest(d.media_type)) {
          return Error(ErrorKind::not_implemented, source.describe() + ": index entry " +
                                                       d.digest.str() + " is a " + d.media_type +
                                                       " (only image manifests are copied)");
        }
        GANTRY_ASSIGN_OR_RETURN(RawManifest child, source.manifest(d));
        GANTRY_ASSIGN_OR_RETURN(RawManifest sent,
                                copy_manifest(source, destination, child, options, counters));
        if (sent.digest != d.digest) {
          return Error(ErrorKind::not_implemented,
                       source.describe() + ": manifest " + d.digest.str() +
                           " would change form in an index (copy one platform instead)");
        }
        GANTRY_TRY_CTX(destination.put_manifest(sent), destination.describe());
        if (options.progress) options.progress->note("manifest " + sent.digest.str());
      }
      out = top;
    }
  } else {
    GANTRY_ASSIGN_OR_RETURN(out, copy_manifest(source, destination, top, options, counters));
  }
  GANTRY_TRY_CTX(destination.commit(out), destination.describe());
  if (options.progress) options.progress->note("wrote " + out.digest.str());
  CopyReport report;
  report.top_digest = out.digest;
  report.blobs_sent = counters.sent;
  report.blobs_present = counters.present;
  report.blobs_mounted = counters.mounted;
  return report;
}

}  // namespace gantry::runtime::registry::transfer
