#include "runtime/registry/transfer/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/registry/transfer/copy.h"
#include "runtime/registry/transfer/temp_blob.h"
#include "runtime/registry/transfer/verify_source.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::registry::transfer {

namespace fs = std::filesystem;

namespace {

std::string layer_name(size_t index, const image::Descriptor& d) {
  return "layer " + std::to_string(index + 1) + " (" + d.digest.str() + ")";
}

enum class Claim { none, streamed, downloading };

// What the downloaders and the applier share about one layer.
struct Slot {
  Claim claim = Claim::none;
  std::shared_ptr<sys::UniqueFd> fd;
  uint64_t written = 0;
  bool done = false;
  std::optional<Error> error;
  size_t line = 0;
};

struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Slot> slots;
  bool cancel = false;
};

// Reads a layer's temp file while its downloader is still writing it.
class FollowSource final : public image::Source {
 public:
  FollowSource(Shared& shared, size_t index) : shared_(shared), index_(index) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    std::shared_ptr<sys::UniqueFd> fd;
    uint64_t available = 0;
    {
      std::unique_lock lock(shared_.mu);
      Slot& s = shared_.slots[index_];
      shared_.cv.wait(lock, [&] { return s.error || s.done || s.written > offset_; });
      if (s.error) return *s.error;
      available = s.written - offset_;
      fd = s.fd;
    }
    if (available == 0) return size_t{0};
    size_t want = buf.size() < available ? buf.size() : static_cast<size_t>(available);
    ssize_t n = ::pread(fd->get(), buf.data(), want, static_cast<off_t>(offset_));
    if (n < 0) return errno_error(errno, "read downloaded layer");
    offset_ += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }

 private:
  Shared& shared_;
  size_t index_;
  uint64_t offset_ = 0;
};

Result<void> download(ImageSource& source, const image::Descriptor& d, Shared& shared, size_t index,
                      Progress* progress, const fs::path& temp_dir) {
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd tmp, make_temp_file(temp_dir));
  auto fd = std::make_shared<sys::UniqueFd>(std::move(tmp));
  size_t line;
  {
    std::lock_guard lock(shared.mu);
    shared.slots[index].fd = fd;
    line = shared.slots[index].line;
  }
  GANTRY_ASSIGN_OR_RETURN(auto blob, source.open_blob(d));
  std::vector<uint8_t> buf(1 << 20);
  uint64_t written = 0;
  for (;;) {
    {
      std::lock_guard lock(shared.mu);
      if (shared.cancel) return Error(ErrorKind::unavailable, "cancelled");
    }
    GANTRY_ASSIGN_OR_RETURN(size_t n, blob->read(buf));
    if (n == 0) break;
    GANTRY_TRY(sys::pwrite_all(fd->get(), std::span<const uint8_t>(buf.data(), n), written));
    written += n;
    if (progress) progress->advance(line, n);
    {
      std::lock_guard lock(shared.mu);
      shared.slots[index].written = written;
    }
    shared.cv.notify_all();
  }
  return ok();
}

void downloader(ImageSource& source, const std::vector<image::Descriptor>& layers, Shared& shared,
                Progress* progress, const fs::path& temp_dir) {
  for (;;) {
    size_t index = layers.size();
    {
      std::lock_guard lock(shared.mu);
      if (shared.cancel) return;
      for (size_t i = 1; i < layers.size(); ++i) {
        if (shared.slots[i].claim == Claim::none) {
          shared.slots[i].claim = Claim::downloading;
          index = i;
          break;
        }
      }
    }
    if (index == layers.size()) return;
    auto r = download(source, layers[index], shared, index, progress, temp_dir);
    {
      std::lock_guard lock(shared.mu);
      if (r) {
        shared.slots[index].done = true;
      } else {
        shared.slots[index].error = std::move(r).error();
      }
    }
    shared.cv.notify_all();
  }
}

Result<image::ApplyResult> apply_one(ImageSource& source, const image::Descriptor& d,
                                     const Digest& diff_id, Shared& shared, size_t index,
                                     const fs::path& root, const UnpackOptions& options,
                                     bool& streamed) {
  Claim claim;
  size_t line;
  {
    std::lock_guard lock(shared.mu);
    Slot& s = shared.slots[index];
    if (s.claim == Claim::none) s.claim = Claim::streamed;
    claim = s.claim;
    line = s.line;
  }
  std::unique_ptr<image::Source> input;
  if (claim == Claim::streamed) {
    streamed = true;
    GANTRY_ASSIGN_OR_RETURN(auto blob, source.open_blob(d));
    Progress* p = options.progress;
    input = std::make_unique<CountingSource>(std::move(blob), [p, line](uint64_t n) {
      if (p) p->advance(line, n);
    });
  } else {
    input = std::make_unique<FollowSource>(shared, index);
  }
  image::ApplyOptions apply = options.apply;
  apply.whiteout_format = image::WhiteoutFormat::plain;
  apply.lowers.clear();
  GANTRY_ASSIGN_OR_RETURN(image::ApplyResult applied, image::apply_layer(*input, root, apply));
  if (applied.compressed_digest != d.digest ||
      static_cast<int64_t>(applied.compressed_size_bytes) != d.size) {
    return Error(ErrorKind::invalid_argument,
                 "blob does not match its descriptor: want " + d.digest.str() + " (" +
                     std::to_string(d.size) + " bytes), got " + applied.compressed_digest.str() +
                     " (" + std::to_string(applied.compressed_size_bytes) + " bytes)");
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
  shared.slots.resize(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    shared.slots[i].line =
        options.progress ? options.progress->start(layers[i].digest,
                                                   static_cast<uint64_t>(layers[i].size), "pulling")
                         : 0;
  }
  size_t downloaders = options.transfers > 1 ? options.transfers - 1 : 1;
  if (layers.size() <= 1) downloaders = 0;
  downloaders = std::min(downloaders, layers.size() > 0 ? layers.size() - 1 : 0);
  // Downloads wait in memory-backed files when /dev/shm is there (no journal, no writeback
  // for bytes read once), else next to the target.
  fs::path temp_dir =
      ::access("/dev/shm", W_OK | X_OK) == 0 ? fs::path("/dev/shm") : abs.parent_path();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < downloaders; ++t) {
    threads.emplace_back([&] { downloader(source, layers, shared, options.progress, temp_dir); });
  }
  UnpackReport report;
  report.manifest_digest = resolved.raw.digest;
  std::optional<Error> failure;
  for (size_t i = 0; i < layers.size(); ++i) {
    bool streamed = false;
    auto applied =
        apply_one(source, layers[i], config.rootfs.diff_ids[i], shared, i, tmp, options, streamed);
    if (!applied) {
      failure = std::move(applied).error().with_context(layer_name(i, layers[i]));
      break;
    }
    if (streamed) ++report.streamed_layer_count;
    if (options.progress) options.progress->finish(shared.slots[i].line, "unpacked");
    report.layers.push_back(*applied);
    std::lock_guard lock(shared.mu);
    shared.slots[i].fd.reset();  // its temp file goes away
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
