// The hot paths of unpack and repack, in process:
//   inflate + hash   DecompressingSource over an in-memory blob, both digests (gzip: ISA-L
//                    igzip; zstd: libzstd), with plain zlib inflate and ZSTD_decompressStream
//                    (no hashing) beside them as the raw tools' speed;
//   sha256           model/base/digest.h (OpenSSL);
//   apply            apply_layer of an in-memory layer (about 27 MB, 600 small files and 4 big
//                    ones) into tmpfs (/dev/shm) and onto disk ($GANTRY_BENCH_TMP or /var/tmp);
//   diff             diff_directories of a 2,000-file tree against a copy with 5% changed
//                    entries, and diff_overlay_upper of the same change as an overlay upper.
// Bytes per second are of the uncompressed stream (the tar), as peers.md gives them.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/payload.h"
#include "bench/scratch.h"
#include "model/base/digest.h"
#include "runtime/image/compression.h"
#include "runtime/image/layer_apply.h"
#include "runtime/image/layer_diff.h"
#include "runtime/image/layer_writer.h"
#include "runtime/sys/fs.h"

namespace {

using namespace gantry;
namespace image = gantry::runtime::image;
namespace sys = gantry::runtime::sys;
namespace fs = std::filesystem;

constexpr int64_t kFixedMtime = 1767225600;

#define BENCH_CHECK(expr)                                        \
  do {                                                           \
    auto&& bench_r_ = (expr);                                    \
    if (!bench_r_) {                                             \
      state.SkipWithError(bench_r_.error().to_string().c_str()); \
      return;                                                    \
    }                                                            \
  } while (0)

// A layer tar: 600 files of 1-64 KiB in 32 directories, 4 files of 2 MiB; half random, half
// text.
const std::string& layer_tar() {
  static const std::string tar = [] {
    std::string out;
    auto writer = image::LayerWriter::open(image::string_sink(out));
    if (!writer) std::abort();
    bench::Rng rng(11);
    std::map<std::string, std::string, image::CanonicalLess> files;
    std::string buf;
    for (int i = 0; i < 600; ++i) {
      bench::fill_mixed(rng, buf, rng.between(1024, 64 * 1024), 50);
      files["d" + std::to_string(i % 32) + "/f" + std::to_string(i)] = buf;
    }
    for (int i = 0; i < 4; ++i) {
      bench::fill_mixed(rng, buf, 2 << 20, 50);
      files["big/b" + std::to_string(i)] = buf;
    }
    std::string last_dir;
    for (const auto& [path, content] : files) {
      std::string dir(image::parent_path(path));
      if (dir != last_dir) {
        image::TarEntry d{.path = dir, .type = image::EntryType::directory, .mode = 0755};
        d.mtime_s = kFixedMtime;
        if (!(*writer)->add(d)) std::abort();
        last_dir = dir;
      }
      image::TarEntry e{.path = path, .type = image::EntryType::regular, .mode = 0644};
      e.mtime_s = kFixedMtime;
      e.size_bytes = static_cast<int64_t>(content.size());
      if (!(*writer)->add_file(e, content)) std::abort();
    }
    if (!(*writer)->finish()) std::abort();
    return out;
  }();
  return tar;
}

const std::string& compressed_layer(image::Compression c) {
  static std::map<image::Compression, std::string> cache;
  auto it = cache.find(c);
  if (it == cache.end()) {
    auto bytes = image::compress_bytes(layer_tar(), {.compression = c});
    if (!bytes) std::abort();
    it = cache.emplace(c, std::move(*bytes)).first;
  }
  return it->second;
}

image::Compression compression_arg(int64_t v) {
  return v == 0 ? image::Compression::none
                : (v == 1 ? image::Compression::gzip : image::Compression::zstd);
}

void report(benchmark::State& state, size_t uncompressed, size_t compressed) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * uncompressed));
  state.counters["ratio"] = static_cast<double>(uncompressed) / static_cast<double>(compressed);
}

void BM_InflateHash(benchmark::State& state) {
  image::Compression c = compression_arg(state.range(0));
  const std::string& blob = compressed_layer(c);
  state.SetLabel(std::string(image::to_string(c)));
  for (auto _ : state) {
    image::BytesSource src(blob);
    auto d = image::DecompressingSource::open(src, {.compression = c});
    BENCH_CHECK(d);
    BENCH_CHECK((*d)->drain());
    benchmark::DoNotOptimize((*d)->compressed_digest());
    benchmark::DoNotOptimize((*d)->uncompressed_digest());
  }
  report(state, layer_tar().size(), blob.size());
}

// zlib's inflate alone (what gunzip does), no hashing.
void BM_ZlibInflate(benchmark::State& state) {
  const std::string& blob = compressed_layer(image::Compression::gzip);
  std::vector<unsigned char> out(1 << 20);
  for (auto _ : state) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) std::abort();
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(blob.data()));
    z.avail_in = static_cast<uInt>(blob.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
    }
    if (rc != Z_STREAM_END) std::abort();
    inflateEnd(&z);
    benchmark::ClobberMemory();
  }
  report(state, layer_tar().size(), blob.size());
}

// libzstd's streaming decompression alone (what zstd -d does), no hashing.
void BM_ZstdDecompress(benchmark::State& state) {
  const std::string& blob = compressed_layer(image::Compression::zstd);
  std::vector<char> out(ZSTD_DStreamOutSize());
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  for (auto _ : state) {
    ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
    ZSTD_inBuffer in{blob.data(), blob.size(), 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      size_t rc = ZSTD_decompressStream(ctx, &o, &in);
      if (ZSTD_isError(rc)) std::abort();
    }
    benchmark::ClobberMemory();
  }
  ZSTD_freeDCtx(ctx);
  report(state, layer_tar().size(), blob.size());
}

void BM_Sha256(benchmark::State& state) {
  std::string data;
  bench::Rng rng(3);
  bench::fill_random(rng, data, 64 << 20);
  for (auto _ : state) {
    Sha256 h;
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      h.update(std::string_view(data).substr(off, 1 << 20));
    }
    benchmark::DoNotOptimize(h.finish());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

// range(0): 0 tmpfs, 1 disk; range(1): compression (0 none, 1 gzip, 2 zstd).
void BM_ApplyLayer(benchmark::State& state) {
  bool on_disk = state.range(0) == 1;
  image::Compression c = compression_arg(state.range(1));
  const std::string& blob = compressed_layer(c);
  bench::Scratch scratch(on_disk ? bench::default_scratch_base() : fs::path("/dev/shm"));
  state.SetLabel(std::string(on_disk ? "disk/" : "tmpfs/") + std::string(image::to_string(c)));
  for (auto _ : state) {
    state.PauseTiming();
    bench::Scratch::remove_below(scratch.path(), "root");
    fs::create_directory(scratch / "root");
    if (on_disk) ::sync();
    state.ResumeTiming();
    image::BytesSource src(blob);
    BENCH_CHECK(image::apply_layer(src, scratch / "root"));
  }
  report(state, layer_tar().size(), blob.size());
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 640,
                                                   benchmark::Counter::kIsRate);
}

void set_time(const fs::path& p, int64_t t) {
  std::array<timespec, 2> times{timespec{t, 0}, timespec{t, 0}};
  ::utimensat(AT_FDCWD, p.c_str(), times.data(), AT_SYMLINK_NOFOLLOW);
}

void write_file(const fs::path& p, const std::string& content, int64_t t) {
  sys::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd || !sys::write_all(fd.get(), content)) std::abort();
  set_time(p, t);
}

// lower: 2,000 files (1-16 KiB) in 40 dirs; upper: the same, with 5% of the files changed:
// 2.5% rewritten, 1.25% deleted, 1.25% added. overlay: only the change, in overlay's format.
struct DiffTrees {
  bench::Scratch scratch;
  fs::path lower = scratch / "lower";
  fs::path upper = scratch / "upper";
  fs::path overlay = scratch / "overlay";

  DiffTrees() {
    bench::Rng rng(5);
    std::string buf;
    for (const auto& root : {lower, upper, overlay}) fs::create_directories(root);
    for (int i = 0; i < 2000; ++i) {
      std::string dir = "d" + std::to_string(i % 40);
      std::string rel = dir + "/f" + std::to_string(i);
      bench::fill_mixed(rng, buf, rng.between(1024, 16 * 1024), 50);
      fs::create_directories(lower / dir);
      fs::create_directories(upper / dir);
      write_file(lower / rel, buf, kFixedMtime);
      uint64_t r = rng.below(1000);
      if (r < 25) {  // rewritten
        bench::fill_mixed(rng, buf, rng.between(1024, 16 * 1024), 50);
        write_file(upper / rel, buf, kFixedMtime + 60);
        fs::create_directories(overlay / dir);
        write_file(overlay / rel, buf, kFixedMtime + 60);
      } else if (r < 37) {  // deleted
        fs::create_directories(overlay / dir);
        if (::mknod((overlay / rel).c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) std::abort();
      } else {
        write_file(upper / rel, buf, kFixedMtime);
      }
      if (r >= 37 && r < 50) {  // added
        std::string added = dir + "/new" + std::to_string(i);
        bench::fill_mixed(rng, buf, rng.between(1024, 16 * 1024), 50);
        write_file(upper / added, buf, kFixedMtime + 60);
        fs::create_directories(overlay / dir);
        write_file(overlay / added, buf, kFixedMtime + 60);
      }
    }
    for (const auto& root : {lower, upper, overlay}) {
      for (const auto& e : fs::directory_iterator(root)) set_time(e.path(), kFixedMtime);
      set_time(root, kFixedMtime);
    }
  }
};

void BM_DiffDirectories(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root (whiteouts are device nodes)");
    return;
  }
  DiffTrees trees;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto r = image::diff_directories(trees.lower, trees.upper, image::null_sink());
    BENCH_CHECK(r);
    bytes = r->size_bytes;
  }
  state.counters["layer_bytes"] = static_cast<double>(bytes);
  state.counters["files/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 2000,
                                                 benchmark::Counter::kIsRate);
}

void BM_DiffOverlayUpper(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root (whiteouts are device nodes)");
    return;
  }
  DiffTrees trees;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto r = image::diff_overlay_upper(trees.overlay, {trees.lower}, image::null_sink());
    BENCH_CHECK(r);
    bytes = r->size_bytes;
  }
  state.counters["layer_bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_InflateHash)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ZlibInflate)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ZstdDecompress)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ApplyLayer)
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->ArgNames({"disk", "compression"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_DiffDirectories)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffOverlayUpper)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
