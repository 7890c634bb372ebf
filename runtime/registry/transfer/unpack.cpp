#include "runtime/registry/transfer/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/registry/transfer/copy.h"
#include "runtime/registry/transfer/verify_source.h"
#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::registry::transfer {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 1 << 20;
// Decoded ahead within the layer being applied (its decoder waits for the applier beyond).
constexpr uint64_t kCurrentLayerBytes = 16ull << 20;

std::string layer_name(size_t index, const image::Descriptor& d) {
  return "layer " + std::to_string(index + 1) + " (" + d.digest.str() + ")";
}

// Not zeroed: the decoder writes every byte the applier reads.
using Buffer = std::unique_ptr<uint8_t[]>;

struct Chunk {
  Buffer bytes;
  size_t size = 0;
};

// One layer as its decoder and the applier see it.
struct LayerPipe {
  std::deque<Chunk> chunks;
  uint64_t queued_bytes = 0;
  bool claimed = false;
  bool done = false;  // the whole blob was read, verified and inflated
  std::optional<Error> error;
  image::Compression compression = image::Compression::none;
  uint64_t compressed_bytes = 0;
  uint64_t uncompressed_bytes = 0;
  Digest diff_id;
  size_t line = 0;
};

struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<LayerPipe> layers;  // a deque: pipes never move
  std::vector<Buffer> spare;     // chunk buffers to reuse
  size_t applying = 0;
  bool cancel = false;

  // Under mu.
  uint64_t ahead_bytes() const {
    uint64_t n = 0;
    for (size_t i = applying + 1; i < layers.size(); ++i) n += layers[i].queued_bytes;
    return n;
  }
  Buffer take_buffer() {
    std::lock_guard lock(mu);
    if (spare.empty()) return Buffer(new uint8_t[kChunkBytes]);
    auto b = std::move(spare.back());
    spare.pop_back();
    return b;
  }
};

// Hands a decoded chunk of layer index to the applier, waiting for room.
Result<void> push_chunk(Shared& shared, size_t index, Buffer bytes, size_t size) {
  std::unique_lock lock(shared.mu);
  LayerPipe& pipe = shared.layers[index];
  shared.cv.wait(lock, [&] {
    if (shared.cancel) return true;
    if (index == shared.applying) return pipe.queued_bytes < kCurrentLayerBytes;
    return shared.ahead_bytes() < kAheadBytes;
  });
  if (shared.cancel) return Error(ErrorKind::unavailable, "cancelled");
  pipe.chunks.push_back(Chunk{std::move(bytes), size});
  pipe.queued_bytes += size;
  lock.unlock();
  shared.cv.notify_all();
  return ok();
}

// Streams one layer from the source, inflating it and hashing the tar (the source hashes the
// compressed bytes), into its pipe.
Result<void> decode(ImageSource& source, const image::Descriptor& d, Shared& shared, size_t index,
                    const UnpackOptions& options) {
  size_t line;
  {
    std::lock_guard lock(shared.mu);
    line = shared.layers[index].line;
  }
  GANTRY_ASSIGN_OR_RETURN(auto blob, source.open_blob(d));
  Progress* p = options.progress;
  CountingSource counted(std::move(blob), [p, line](uint64_t n) {
    if (p) p->advance(line, n);
  });
  image::DecompressOptions dopts;
  dopts.max_expanded_bytes = options.apply.max_expanded_bytes;
  dopts.max_ratio = options.apply.max_ratio;
  dopts.ratio_grace_bytes = options.apply.ratio_grace_bytes;
  dopts.hash_compressed = false;  // the source's verified stream hashes it
  GANTRY_ASSIGN_OR_RETURN(auto tar, image::DecompressingSource::open(counted, dopts));
  for (bool end = false; !end;) {
    Buffer buf = shared.take_buffer();
    size_t filled = 0;
    while (filled < kChunkBytes) {
      GANTRY_ASSIGN_OR_RETURN(size_t n,
                              tar->read(std::span(buf.get() + filled, kChunkBytes - filled)));
      if (n == 0) {
        end = true;
        break;
      }
      filled += n;
    }
    if (filled > 0) GANTRY_TRY(push_chunk(shared, index, std::move(buf), filled));
  }
  std::lock_guard lock(shared.mu);
  LayerPipe& pipe = shared.layers[index];
  pipe.compression = tar->compression();
  pipe.compressed_bytes = tar->compressed_bytes();
  pipe.uncompressed_bytes = tar->uncompressed_bytes();
  pipe.diff_id = tar->uncompressed_digest();
  return ok();
}

void decoder(ImageSource& source, const std::vector<image::Descriptor>& layers, Shared& shared,
             const UnpackOptions& options) {
  for (;;) {
    size_t index = layers.size();
    {
      std::lock_guard lock(shared.mu);
      if (shared.cancel) return;
      for (size_t i = 0; i < layers.size(); ++i) {
        if (!shared.layers[i].claimed) {
          shared.layers[i].claimed = true;
          index = i;
          break;
        }
      }
    }
    if (index == layers.size()) return;
    auto r = decode(source, layers[index], shared, index, options);
    {
      std::lock_guard lock(shared.mu);
      if (r) {
        shared.layers[index].done = true;
      } else {
        shared.layers[index].error = std::move(r).error();
      }
    }
    shared.cv.notify_all();
  }
}

// The decoded tar of one layer, as its decoder produces it.
class PipeSource final : public image::Source {
 public:
  PipeSource(Shared& shared, size_t index) : shared_(shared), index_(index) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    std::unique_lock lock(shared_.mu);
    LayerPipe& pipe = shared_.layers[index_];
    shared_.cv.wait(lock, [&] { return !pipe.chunks.empty() || pipe.error || pipe.done; });
    if (pipe.error) return *pipe.error;
    if (pipe.chunks.empty()) return size_t{0};
    Chunk& c = pipe.chunks.front();
    size_t n = std::min(buf.size(), c.size - offset_);
    std::memcpy(buf.data(), c.bytes.get() + offset_, n);
    offset_ += n;
    pipe.queued_bytes -= n;
    if (offset_ == c.size) {
      shared_.spare.push_back(std::move(c.bytes));
      pipe.chunks.pop_front();
      offset_ = 0;
    }
    lock.unlock();
    shared_.cv.notify_all();
    return n;
  }

 private:
  Shared& shared_;
  size_t index_;
  size_t offset_ = 0;
};

Result<image::ApplyResult> apply_one(const image::Descriptor& d, const Digest& diff_id,
                                     Shared& shared, size_t index, const fs::path& root,
                                     const UnpackOptions& options) {
  PipeSource input(shared, index);
  image::ApplyOptions apply = options.apply;
  apply.whiteout_format = image::WhiteoutFormat::plain;
  apply.lowers.clear();
  apply.compute_digests = false;  // the decoder hashed both streams
  GANTRY_ASSIGN_OR_RETURN(image::ApplyResult applied, image::apply_layer(input, root, apply));
  std::lock_guard lock(shared.mu);
  const LayerPipe& pipe = shared.layers[index];
  // apply_layer read the tar to its end: the decoder is done, and the source verified the
  // compressed bytes against d before it gave its end.
  applied.compressed_digest = d.digest;
  applied.compressed_size_bytes = pipe.compressed_bytes;
  applied.compression = pipe.compression;
  applied.uncompressed_size_bytes = pipe.uncompressed_bytes;
  applied.diff_id = pipe.diff_id;
  if (pipe.compressed_bytes != static_cast<uint64_t>(d.size)) {
    return Error(ErrorKind::invalid_argument, "blob does not match its descriptor: want " +
                                                  std::to_string(d.size) + " bytes, got " +
                                                  std::to_string(pipe.compressed_bytes));
  }
  if (applied.diff_id != diff_id) {
    return Error(ErrorKind::invalid_argument, "diff_id mismatch: config says " + diff_id.str() +
                                                  ", the tar is " + applied.diff_id.str());
  }
  return applied;
}

Result<fs::path> make_temp_dir(const fs::path& abs) {
  std::string tmpl = abs.parent_path().string() + "/." + abs.filename().string() + ".unpack-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return errno_error(errno, "mkdtemp '" + tmpl + "'");
  ::chmod(buf.data(), 0755);
  return fs::path(buf.data());
}

void remove_dir_tree(const fs::path& dir) {
  sys::UniqueFd parent(::open(dir.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (parent) (void)sys::remove_tree_at(parent.get(), dir.filename().string());
}

}  // namespace

Result<UnpackReport> unpack_image(ImageSource& source, const fs::path& dir,
                                  const UnpackOptions& options) {
  std::error_code ec;
  if (fs::symlink_status(dir, ec).type() != fs::file_type::not_found) {
    return Error(ErrorKind::already_exists, "unpack target '" + dir.string() + "' exists");
  }
  image::Platform platform = options.platform ? *options.platform : image::current_platform();
  GANTRY_ASSIGN_OR_RETURN(ResolvedManifest resolved, resolve_manifest(source, platform));
  const auto& layers = resolved.manifest.layers;
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string config_bytes, source.read_blob(resolved.manifest.config),
                              "config " + resolved.manifest.config.digest.str());
  GANTRY_ASSIGN_OR_RETURN_CTX(image::ImageConfig config, image::parse_config(config_bytes),
                              "config " + resolved.manifest.config.digest.str());
  if (config.rootfs.diff_ids.size() != layers.size()) {
    return Error(ErrorKind::invalid_argument,
                 "image " + resolved.raw.digest.str() + ": manifest has " +
                     std::to_string(layers.size()) + " layers but config rootfs has " +
                     std::to_string(config.rootfs.diff_ids.size()) + " diff_ids");
  }
  fs::path abs = fs::absolute(dir);
  fs::create_directories(abs.parent_path(), ec);
  if (ec) return errno_error(ec.value(), "create '" + abs.parent_path().string() + "'");
  GANTRY_ASSIGN_OR_RETURN(fs::path tmp, make_temp_dir(abs));

  Shared shared;
  shared.layers.resize(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    shared.layers[i].line =
        options.progress ? options.progress->start(layers[i].digest,
                                                   static_cast<uint64_t>(layers[i].size), "pulling")
                         : 0;
  }
  // Decoding is CPU work: more decoders than cores only take time from the applier.
  size_t cores = std::max<size_t>(std::thread::hardware_concurrency(), 2);
  size_t decoders = std::min({std::max<size_t>(options.transfers, 1), cores, layers.size()});
  std::vector<std::thread> threads;
  for (size_t t = 0; t < decoders; ++t) {
    threads.emplace_back([&] { decoder(source, layers, shared, options); });
  }
  UnpackReport report;
  report.manifest_digest = resolved.raw.digest;
  std::optional<Error> failure;
  for (size_t i = 0; i < layers.size(); ++i) {
    {
      std::lock_guard lock(shared.mu);
      shared.applying = i;
    }
    shared.cv.notify_all();
    auto applied = apply_one(layers[i], config.rootfs.diff_ids[i], shared, i, tmp, options);
    if (!applied) {
      failure = std::move(applied).error().with_context(layer_name(i, layers[i]));
      break;
    }
    ++report.streamed_layer_count;
    if (options.progress) options.progress->finish(shared.layers[i].line, "unpacked");
    report.layers.push_back(*applied);
  }
  {
    std::lock_guard lock(shared.mu);
    shared.cancel = true;
  }
  shared.cv.notify_all();
  for (auto& t : threads) t.join();
  if (failure) {
    remove_dir_tree(tmp);
    return *failure;
  }
  if (::rename(tmp.c_str(), abs.c_str()) != 0) {
    int e = errno;
    remove_dir_tree(tmp);
    return errno_error(e, "rename '" + tmp.string() + "' to '" + abs.string() + "'");
  }
  return report;
}

}  // namespace gantry::runtime::registry::transfer
