// Snapshotter latency per backend (copy, overlay, fuse): prepare, commit, view, remove, and
// mount + unmount of an active snapshot's mounts. The parent is a committed snapshot of
// kParentFiles small files (the copy backend copies it on prepare and view, so its figures
// grow with the parent; the union backends do not). The root is on disk ($GANTRY_BENCH_TMP or
// /var/tmp), as /var/lib/gantry would be; every metadata change is fsynced by the backend.
//
// Needs root (overlay mounts, FUSE); a backend that cannot open or mount is skipped with the
// reason.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bench/scratch.h"
#include "runtime/snapshot/snapshotter.h"
#include "runtime/sys/fs.h"
#include "runtime/sys/mount.h"

namespace {

using namespace gantry;
namespace snapshot = gantry::runtime::snapshot;
namespace sys = gantry::runtime::sys;
namespace fs = std::filesystem;

constexpr int kParentFiles = 256;  // in 16 directories, 4 KiB each: 1 MiB

const char* backend_name(int64_t index) {
  static const char* names[] = {"copy", "overlay", "fuse"};
  return names[index];
}

Result<void> fill(const fs::path& dir, int files, const std::string& tag) {
  std::string data(4096, 'x');
  for (int i = 0; i < files; ++i) {
    fs::path sub = dir / ("d" + std::to_string(i % 16));
    std::error_code ec;
    fs::create_directories(sub, ec);
    if (ec) return errno_error(ec.value(), "mkdir " + sub.string());
    sys::UniqueFd fd(::open((sub / (tag + std::to_string(i))).c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return errno_error(errno, "create in " + sub.string());
    GANTRY_TRY(sys::write_all(fd.get(), data));
  }
  return ok();
}

// A snapshotter under a scratch root with one committed parent "base".
struct Fixture {
  bench::Scratch scratch;
  std::unique_ptr<snapshot::Snapshotter> snapshotter;
  int next_key = 0;

  std::string key() { return "k" + std::to_string(next_key++); }

  Result<void> open(const char* backend) {
    GANTRY_ASSIGN_OR_RETURN(snapshotter, snapshot::open_snapshotter(backend, scratch / "root"));
    auto prepared = snapshotter->prepare("base-active", "");
    if (!prepared) return std::move(prepared).error();
    GANTRY_ASSIGN_OR_RETURN(auto layout, snapshotter->layout("base-active"));
    GANTRY_TRY(fill(layout.upper, kParentFiles, "f"));
    return snapshotter->commit("base", "base-active");
  }
};

bool setup(benchmark::State& state, Fixture& f) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root");
    return false;
  }
  if (auto r = f.open(backend_name(state.range(0))); !r) {
    state.SkipWithError(r.error().to_string().c_str());
    return false;
  }
  state.SetLabel(backend_name(state.range(0)));
  return true;
}

#define BENCH_CHECK(expr)                                        \
  do {                                                           \
    auto&& bench_r_ = (expr);                                    \
    if (!bench_r_) {                                             \
      state.SkipWithError(bench_r_.error().to_string().c_str()); \
      return;                                                    \
    }                                                            \
  } while (0)

void BM_Prepare(benchmark::State& state) {
  Fixture f;
  if (!setup(state, f)) return;
  for (auto _ : state) {
    std::string k = f.key();
    BENCH_CHECK(f.snapshotter->prepare(k, "base"));
    state.PauseTiming();
    BENCH_CHECK(f.snapshotter->remove(k));
    state.ResumeTiming();
  }
}

void BM_View(benchmark::State& state) {
  Fixture f;
  if (!setup(state, f)) return;
  for (auto _ : state) {
    std::string k = f.key();
    BENCH_CHECK(f.snapshotter->view(k, "base"));
    state.PauseTiming();
    BENCH_CHECK(f.snapshotter->remove(k));
    state.ResumeTiming();
  }
}

// Commit of an active snapshot holding 16 new files (4 KiB each).
void BM_Commit(benchmark::State& state) {
  Fixture f;
  if (!setup(state, f)) return;
  for (auto _ : state) {
    state.PauseTiming();
    std::string k = f.key();
    BENCH_CHECK(f.snapshotter->prepare(k, "base"));
    auto layout = f.snapshotter->layout(k);
    BENCH_CHECK(layout);
    BENCH_CHECK(fill(layout->upper, 16, "n"));
    std::string name = "c" + k;
    state.ResumeTiming();
    BENCH_CHECK(f.snapshotter->commit(name, k));
    state.PauseTiming();
    BENCH_CHECK(f.snapshotter->remove(name));
    state.ResumeTiming();
  }
}

void BM_Remove(benchmark::State& state) {
  Fixture f;
  if (!setup(state, f)) return;
  for (auto _ : state) {
    state.PauseTiming();
    std::string k = f.key();
    BENCH_CHECK(f.snapshotter->prepare(k, "base"));
    state.ResumeTiming();
    BENCH_CHECK(f.snapshotter->remove(k));
  }
}

// mount_all of an active snapshot's mounts on a directory, then unmount (for fuse: start
// gantry-fuse, wait for the mount, unmount, wait for the server to exit).
void BM_MountUnmount(benchmark::State& state) {
  Fixture f;
  if (!setup(state, f)) return;
  auto mounts = f.snapshotter->prepare("mounted", "base");
  BENCH_CHECK(mounts);
  fs::path target = f.scratch / "mnt";
  fs::create_directories(target);
  for (auto _ : state) {
    BENCH_CHECK(sys::mount_all(*mounts, target));
    BENCH_CHECK(sys::unmount(target));
  }
}

void backends(benchmark::internal::Benchmark* b) {
  b->ArgName("backend")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Prepare)->Apply(backends);
BENCHMARK(BM_View)->Apply(backends);
BENCHMARK(BM_Commit)->Apply(backends);
BENCHMARK(BM_Remove)->Apply(backends);
BENCHMARK(BM_MountUnmount)->Apply(backends);

}  // namespace

BENCHMARK_MAIN();
