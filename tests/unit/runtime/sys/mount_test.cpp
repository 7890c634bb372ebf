#include "runtime/sys/mount.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using gantry::runtime::sys::Mount;
using gantry::runtime::sys::mount_all;
using gantry::runtime::sys::unmount;
namespace fs = std::filesystem;

namespace {

// What failed, for a message built whether or not the check passes.
template <class T>
std::string why(const Result<T>& r) {
  return r ? std::string() : r.error().to_string();
}

bool is_mount_point(const fs::path& p) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point == p.string()) return true;
  }
  return false;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// errno of creating a file at p, 0 when it worked.
int create_errno(const fs::path& p) {
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

// A stand-in for gantry-fuse that keeps its contract (mount, write the pid file of a server
// that exits once unmounted, exit 0) with a kernel bind mount and a watcher process.
const char* const kFakeFuse = R"(#!/bin/sh
set -e
while [ $# -gt 1 ]; do
  case "$1" in
    -o) opts="$2"; shift 2;;
    --pid-file) pidfile="$2"; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
upper=$(echo "$opts" | tr ',' '\n' | sed -n 's/^upperdir=//p')
[ -n "$upper" ] || { echo "no upperdir in '$opts'" >&2; exit 3; }
mount --bind "$upper" "$1"
setsid sh -c 'while mountpoint -q "$2"; do sleep 0.02; done' fake "$pidfile" "$1" \
  </dev/null >/dev/null 2>&1 &
echo $! > "$pidfile"
)";

// Whether pid is a live process (a zombie that nobody reaped yet has exited).
bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

fs::path install_fake_fuse(const testing::TempDir& tmp) {
  fs::path bin = tmp / "gantry-fuse";
  write_file(bin, kFakeFuse);
  fs::permissions(bin, fs::perms::owner_all);
  setenv("GANTRY_FUSE_BIN", bin.c_str(), 1);
  return bin;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bind_mount_shows_source_and_unmounts) {
  if (!testing::require_root()) return;
  testing::TempDir tmp;
  fs::create_directories(tmp / "src");
  fs::create_directories(tmp / "mnt");
  write_file(tmp / "src" / "a", "hello");
  auto r = mount_all({{"bind", (tmp / "src").string(), {}}}, tmp / "mnt");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(is_mount_point(tmp / "mnt"));
  BOOST_TEST(read_file(tmp / "mnt" / "a") == "hello");
  BOOST_TEST(create_errno(tmp / "mnt" / "b") == 0);
  BOOST_REQUIRE(unmount(tmp / "mnt"));
  BOOST_TEST(!is_mount_point(tmp / "mnt"));
  BOOST_TEST(fs::exists(tmp / "src" / "b"));
}

BOOST_AUTO_TEST_CASE(read_only_bind_refuses_writes) {
  if (!testing::require_root()) return;
  testing::TempDir tmp;
  fs::create_directories(tmp / "src");
  fs::create_directories(tmp / "mnt");
  auto r = mount_all({{"bind", (tmp / "src").string(), {"ro"}}}, tmp / "mnt");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(create_errno(tmp / "mnt" / "x") == EROFS);
  BOOST_REQUIRE(unmount(tmp / "mnt"));
}

BOOST_AUTO_TEST_CASE(overlay_merges_lowers_over_upper) {
  if (!testing::require_overlay()) return;
  testing::TempDir tmp;
  for (auto d : {"l1", "l2", "u", "w", "mnt"}) fs::create_directories(tmp / d);
  write_file(tmp / "l2" / "a", "from l2");
  write_file(tmp / "l2" / "b", "from l2");
  write_file(tmp / "l1" / "b", "from l1");
  Mount m{"overlay",
          "overlay",
          {"lowerdir=" + (tmp / "l1").string() + ":" + (tmp / "l2").string(),
           "upperdir=" + (tmp / "u").string(), "workdir=" + (tmp / "w").string()}};
  auto r = mount_all({m}, tmp / "mnt");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(read_file(tmp / "mnt" / "a") == "from l2");
  BOOST_TEST(read_file(tmp / "mnt" / "b") == "from l1");
  write_file(tmp / "mnt" / "c", "new");
  BOOST_REQUIRE(unmount(tmp / "mnt"));
  BOOST_TEST(read_file(tmp / "u" / "c") == "new");
}

BOOST_AUTO_TEST_CASE(overlay_with_lowerdir_list_longer_than_a_page) {
  if (!testing::require_overlay()) return;
  testing::TempDir tmp;
  fs::path layers = tmp / std::string(60, 'd');
  std::string lowerdir = "lowerdir=";
  const int layer_count = 100;
  for (int i = 0; i < layer_count; ++i) {
    fs::path l = layers / ("layer-" + std::to_string(i)) / "fs";
    fs::create_directories(l);
    write_file(l / ("f" + std::to_string(i)), std::to_string(i));
    if (i > 0) lowerdir += ":";
    lowerdir += l.string();
  }
  BOOST_REQUIRE(lowerdir.size() > 4096);
  fs::create_directories(tmp / "mnt");
  auto r = mount_all({{"overlay", "overlay", {lowerdir, "ro"}}}, tmp / "mnt");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(read_file(tmp / "mnt" / "f0") == "0");
  BOOST_TEST(read_file(tmp / "mnt" / "f99") == "99");
  BOOST_REQUIRE(unmount(tmp / "mnt"));
}

BOOST_AUTO_TEST_CASE(failure_leaves_nothing_mounted) {
  if (!testing::require_overlay()) return;
  testing::TempDir tmp;
  for (auto d : {"src", "mnt"}) fs::create_directories(tmp / d);
  std::vector<Mount> mounts = {
      {"bind", (tmp / "src").string(), {}},
      {"bind", (tmp / "src").string(), {"ro"}},
      {"overlay",
       "overlay",
       {"lowerdir=" + (tmp / "missing").string() + ":" + (tmp / "src").string()}},
  };
  auto r = mount_all(mounts, tmp / "mnt");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::not_found);
  BOOST_TEST(r.error().message().find("mnt") != std::string::npos);
  BOOST_TEST(!is_mount_point(tmp / "mnt"));
}

BOOST_AUTO_TEST_CASE(unknown_type_is_invalid_argument) {
  testing::TempDir tmp;
  auto r = mount_all({{"nfs", "x", {}}}, tmp.path());
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(unmount_of_a_plain_directory_fails) {
  if (!testing::require_root()) return;
  testing::TempDir tmp;
  auto r = unmount(tmp.path());
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(fuse_mount_runs_the_program_and_unmount_waits_for_its_server) {
  if (!testing::require_root() || !testing::require_program("mountpoint")) return;
  testing::TempDir tmp;
  install_fake_fuse(tmp);
  for (auto d : {"u", "mnt"}) fs::create_directories(tmp / d);
  write_file(tmp / "u" / "a", "upper");
  auto r =
      mount_all({{"fuse.gantry", "gantry", {"lowerdir=/x:/y", "upperdir=" + (tmp / "u").string()}}},
                tmp / "mnt");
  unsetenv("GANTRY_FUSE_BIN");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(read_file(tmp / "mnt" / "a") == "upper");
  fs::path pid_dir = "/run/gantry/fuse";
  int pid_files = 0;
  pid_t server = 0;
  for (const auto& e : fs::directory_iterator(pid_dir)) {
    std::ifstream(e.path()) >> server;
    ++pid_files;
  }
  BOOST_REQUIRE(pid_files >= 1);
  BOOST_REQUIRE(unmount(tmp / "mnt"));
  BOOST_TEST(!is_mount_point(tmp / "mnt"));
  if (pid_files == 1) {
    BOOST_TEST(!running(server));       // the server is gone
    BOOST_TEST(fs::is_empty(pid_dir));  // and so is its pid file
  }
}

BOOST_AUTO_TEST_CASE(fuse_program_failure_is_reported_and_nothing_mounted) {
  if (!testing::require_root()) return;
  testing::TempDir tmp;
  install_fake_fuse(tmp);
  fs::create_directories(tmp / "src");
  fs::create_directories(tmp / "mnt");
  auto r =
      mount_all({{"bind", (tmp / "src").string(), {}}, {"fuse.gantry", "gantry", {"lowerdir=/x"}}},
                tmp / "mnt");
  unsetenv("GANTRY_FUSE_BIN");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::unavailable);
  BOOST_TEST(r.error().message().find("no upperdir") != std::string::npos, r.error().message());
  BOOST_TEST(!is_mount_point(tmp / "mnt"));
}
