// gen_tree: deterministic file trees for the benchmarks (bench/make_images.sh).
//
//   gen_tree tree DIR SEED TOTAL_BYTES [RANDOM_PERCENT]
//       A new tree of about TOTAL_BYTES: 40% of the bytes in many small files (100 B - 64 KiB, in
//       d00..d63/sNN/ directories), 60% in big files (1-6 MiB, in big/). RANDOM_PERCENT of the
//       files (default 50) hold random bytes, the others text-like lines (compressible, about
//       4x with gzip).
//   gen_tree mutate DIR SEED ADD_BYTES
//       Changes an existing tree (a mounted snapshot, say) as a layer would: deletes about 3% of
//       its files and one directory, rewrites about 3% of them, appends to 1%, and adds new files
//       of about ADD_BYTES in existing and new directories.
//   gen_tree bulk DIR SEED BIG_COUNT BIG_BYTES SMALL_COUNT
//       BIG_COUNT random files of BIG_BYTES in big/, SMALL_COUNT random files of 4-64 KiB in
//       usr/d0..d99 (the read-throughput tree of bench/notes-fuse.md).
//
// Same arguments, same bytes, names and times: every file and directory written gets the mtime
// 2026-01-01, so the layers built from these trees have the same digests on every run.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/payload.h"

namespace fs = std::filesystem;
using namespace gantry;

namespace {

constexpr time_t kFixedMtime = 1767225600;  // 2026-01-01T00:00:00Z

using bench::fill_mixed;
using bench::fill_random;
using bench::fill_text;
using bench::Rng;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "gen_tree: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void set_fixed_time(const fs::path& p) {
  std::array<timespec, 2> times{timespec{kFixedMtime, 0}, timespec{kFixedMtime, 0}};
  if (::utimensat(AT_FDCWD, p.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
    die("utimensat " + p.string());
  }
}

void write_file(const fs::path& p, std::string_view bytes, bool append = false) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd = ::open(p.c_str(), flags, 0644);
  if (fd < 0) die("open " + p.string());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) die("write " + p.string());
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  set_fixed_time(p);
}

fs::path g_base;  // the tree's root: directory times are fixed up to it, never above

void make_dirs(const fs::path& dir, std::set<fs::path>& touched) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    errno = ec.value();
    die("mkdir " + dir.string());
  }
  for (fs::path p = dir; p.string().size() >= g_base.string().size(); p = p.parent_path()) {
    touched.insert(p);
    if (p == g_base || !p.has_relative_path()) break;
  }
}

// Directories get their time last: writing into them moves it.
void fix_dir_times(std::set<fs::path>& dirs) {
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (fs::is_directory(*it)) set_fixed_time(*it);
  }
}

int cmd_tree(const fs::path& dir, uint64_t seed, uint64_t total, int random_percent) {
  Rng rng(seed);
  std::string buf;
  std::set<fs::path> dirs;
  make_dirs(dir, dirs);
  uint64_t small_budget = total * 4 / 10;
  uint64_t written = 0;
  for (int i = 0; written < small_budget; ++i) {
    fs::path sub = dir / ("d" + std::to_string(100 + rng.below(64)).substr(1)) /
                   ("s" + std::to_string(100 + rng.below(8)).substr(1));
    make_dirs(sub, dirs);
    // Mostly small (100 B - 8 KiB), some up to 64 KiB: about 10 KiB on average.
    size_t size = rng.below(5) == 0 ? rng.between(8 << 10, 64 << 10) : rng.between(100, 8 << 10);
    fill_mixed(rng, buf, size, random_percent);
    write_file(sub / ("f" + std::to_string(i) + (buf[0] & 1 ? ".txt" : ".bin")), buf);
    written += size;
  }
  make_dirs(dir / "big", dirs);
  for (int i = 0; written < total; ++i) {
    size_t size = rng.between(1 << 20, 6 << 20);
    fill_mixed(rng, buf, size, random_percent);
    write_file(dir / "big" / ("blob" + std::to_string(i)), buf);
    written += size;
  }
  fix_dir_times(dirs);
  return 0;
}

std::vector<fs::path> sorted_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_regular_file() && !it->is_symlink()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

int cmd_mutate(const fs::path& dir, uint64_t seed, uint64_t add_bytes) {
  Rng rng(seed);
  std::string buf;
  std::set<fs::path> dirs;
  std::vector<fs::path> files = sorted_files(dir);
  // One whole directory goes (a deleted dir: whiteout of the dir itself).
  std::vector<fs::path> subdirs;
  for (const auto& f : files) {
    if (f.parent_path() != dir && f.parent_path().parent_path() != dir) {
      subdirs.push_back(f.parent_path());
    }
  }
  if (!subdirs.empty()) {
    fs::path victim = subdirs[rng.below(subdirs.size())];
    fs::remove_all(victim);
    dirs.insert(victim.parent_path());
  }
  for (const auto& f : files) {
    if (!fs::exists(f)) continue;
    uint64_t r = rng.below(100);
    if (r < 3) {
      fs::remove(f);
      dirs.insert(f.parent_path());
    } else if (r < 6) {
      size_t size = rng.between(1024, 64 * 1024);
      fill_mixed(rng, buf, size, 50);
      write_file(f, buf);
      dirs.insert(f.parent_path());
    } else if (r < 7) {
      fill_text(rng, buf, rng.between(100, 4096));
      write_file(f, buf, true);
      dirs.insert(f.parent_path());
    }
  }
  uint64_t written = 0;
  std::string tag = std::to_string(seed);
  for (int i = 0; written < add_bytes; ++i) {
    bool fresh_dir = rng.below(4) == 0;
    fs::path sub = fresh_dir ? dir / ("new" + tag) / ("n" + std::to_string(rng.below(16)))
                             : dir / ("d" + std::to_string(100 + rng.below(64)).substr(1));
    make_dirs(sub, dirs);
    size_t size = rng.below(40) == 0 ? rng.between(1 << 20, 4 << 20) : rng.between(100, 16 << 10);
    fill_mixed(rng, buf, size, 50);
    write_file(sub / ("a" + tag + "_" + std::to_string(i)), buf);
    written += size;
  }
  fix_dir_times(dirs);
  return 0;
}

int cmd_bulk(const fs::path& dir, uint64_t seed, uint64_t big_count, uint64_t big_bytes,
             uint64_t small_count) {
  Rng rng(seed);
  std::string buf;
  std::set<fs::path> dirs;
  make_dirs(dir / "big", dirs);
  for (uint64_t i = 0; i < big_count; ++i) {
    fill_random(rng, buf, big_bytes);
    write_file(dir / "big" / ("s" + std::to_string(seed) + "_" + std::to_string(i)), buf);
  }
  for (uint64_t i = 0; i < small_count; ++i) {
    fs::path sub = dir / "usr" / ("d" + std::to_string(i % 100));
    make_dirs(sub, dirs);
    fill_random(rng, buf, rng.between(4 << 10, 64 << 10));
    write_file(sub / ("f" + std::to_string(seed) + "_" + std::to_string(i)), buf);
  }
  make_dirs(dir / "usr", dirs);
  fix_dir_times(dirs);
  return 0;
}

uint64_t number(const char* s) {
  char* end = nullptr;
  errno = 0;
  uint64_t v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    std::fprintf(stderr, "gen_tree: not a number: '%s'\n", s);
    std::exit(2);
  }
  return v;
}

int usage() {
  std::fprintf(stderr,
               "usage: gen_tree tree DIR SEED TOTAL_BYTES [RANDOM_PERCENT]\n"
               "       gen_tree mutate DIR SEED ADD_BYTES\n"
               "       gen_tree bulk DIR SEED BIG_COUNT BIG_BYTES SMALL_COUNT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string_view cmd = argv[1];
  if (argc > 2) g_base = fs::path(argv[2]).lexically_normal();
  if (!g_base.has_filename()) g_base = g_base.parent_path();  // "dir/"
  if (cmd == "tree" && (argc == 5 || argc == 6)) {
    return cmd_tree(argv[2], number(argv[3]), number(argv[4]),
                    argc == 6 ? static_cast<int>(number(argv[5])) : 50);
  }
  if (cmd == "mutate" && argc == 5) return cmd_mutate(argv[2], number(argv[3]), number(argv[4]));
  if (cmd == "bulk" && argc == 7) {
    return cmd_bulk(argv[2], number(argv[3]), number(argv[4]), number(argv[5]), number(argv[6]));
  }
  return usage();
}
