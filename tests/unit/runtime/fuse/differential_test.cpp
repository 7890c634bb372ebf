// The same operations on kernel overlayfs and on gantry-fuse give the same merged tree and the
// same upper directory (overlay's on-disk format is the contract with the differ).
#include <sys/time.h>

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <functional>
#include <iostream>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/runtime/fuse/fuse_fixture.h"

namespace gantry::testing::fuse {
namespace {

constexpr time_t kOld = 1000000;

void set_old_times(const fs::path& root) {
  struct timespec t[2] = {{kOld, 0}, {kOld, 0}};
  std::vector<fs::path> all;
  for (const auto& de : fs::recursive_directory_iterator(root)) all.push_back(de.path());
  std::sort(all.rbegin(), all.rend());  // children before parents
  for (const auto& p : all) ::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

void build_lowers(const fs::path& l1, const fs::path& l2) {
  write_file(l2 / "a/f1", "f1 lower");
  write_file(l2 / "a/f2", "f2 lower");
  write_file(l2 / "a/f3", "f3 lower");
  write_file(l2 / "a/deep/er/f4", "f4");
  write_file(l2 / "b/g", "g");
  write_file(l2 / "b/h", "h");
  write_file(l2 / "c/x", "x");
  write_file(l2 / "c/y", "y");
  write_file(l2 / "link/src", "linked");
  fs::create_hard_link(l2 / "link/src", l2 / "link/other");
  fs::create_symlink("../a/f1", l2 / "b/sym");
  ::setxattr((l2 / "a/f2").c_str(), "user.color", "red", 3, 0);
  ::chown((l2 / "a/f3").c_str(), 1000, 1000);
  ::chmod((l2 / "a").c_str(), 0750);
  write_file(l1 / "a/f2", "f2 top");
  write_file(l1 / "e/new", "e");
  make_whiteout(l1 / "b/h");
  make_opaque(l1 / "d");
  write_file(l1 / "d/only", "d");
  write_file(l2 / "d/hidden", "hidden");
  set_old_times(l1);
  set_old_times(l2);
}

// One operation on a mount root; returns 0 or the errno.
using Op = std::function<int(const fs::path&)>;

int rc(int r) {
  return r == 0 ? 0 : errno;
}

std::vector<std::pair<std::string, Op>> operations() {
  auto append = [](std::string rel, std::string data) {
    return [=](const fs::path& m) {
      int fd = ::open((m / rel).c_str(), O_WRONLY | O_APPEND);
      if (fd < 0) return errno;
      int r = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) ? 0 : EIO;
      ::close(fd);
      return r;
    };
  };
  return {
      {"append a/f1", append("a/f1", "+appended")},
      {"chmod a/f2", [](const fs::path& m) { return rc(::chmod((m / "a/f2").c_str(), 0600)); }},
      {"chown a/f3", [](const fs::path& m) { return rc(::lchown((m / "a/f3").c_str(), 7, 8)); }},
      {"unlink b/g", [](const fs::path& m) { return rc(::unlink((m / "b/g").c_str())); }},
      {"unlink b/h (whited out)",
       [](const fs::path& m) { return rc(::unlink((m / "b/h").c_str())); }},
      {"rmdir c (not empty)", [](const fs::path& m) { return rc(::rmdir((m / "c").c_str())); }},
      {"unlink c/x", [](const fs::path& m) { return rc(::unlink((m / "c/x").c_str())); }},
      {"unlink c/y", [](const fs::path& m) { return rc(::unlink((m / "c/y").c_str())); }},
      {"rmdir c", [](const fs::path& m) { return rc(::rmdir((m / "c").c_str())); }},
      {"mkdir c", [](const fs::path& m) { return rc(::mkdir((m / "c").c_str(), 0700)); }},
      {"create c/z", append("c/z", "")},
      {"mknod c/z",
       [](const fs::path& m) { return rc(::mknod((m / "c/z").c_str(), S_IFREG | 0644, 0)); }},
      {"mkdir new/sub",
       [](const fs::path& m) {
         int r = rc(::mkdir((m / "new").c_str(), 0755));
         return r != 0 ? r : rc(::mkdir((m / "new/sub").c_str(), 0755));
       }},
      {"symlink new/s",
       [](const fs::path& m) { return rc(::symlink("x/y", (m / "new/s").c_str())); }},
      {"fifo new/p", [](const fs::path& m) { return rc(::mkfifo((m / "new/p").c_str(), 0640)); }},
      {"rename a/deep/er/f4 -> a/f4",
       [](const fs::path& m) {
         return rc(::rename((m / "a/deep/er/f4").c_str(), (m / "a/f4").c_str()));
       }},
      {"rename e/new over a/f3",
       [](const fs::path& m) { return rc(::rename((m / "e/new").c_str(), (m / "a/f3").c_str())); }},
      {"rename dir a/deep",
       [](const fs::path& m) {
         return rc(::rename((m / "a/deep").c_str(), (m / "a/deep2").c_str()));
       }},
      {"rename upper dir new/sub",
       [](const fs::path& m) {
         return rc(::rename((m / "new/sub").c_str(), (m / "new/sub2").c_str()));
       }},
      {"link link/src",
       [](const fs::path& m) {
         return rc(::link((m / "link/src").c_str(), (m / "link/third").c_str()));
       }},
      {"setxattr a/f2",
       [](const fs::path& m) {
         return rc(::lsetxattr((m / "a/f2").c_str(), "user.size", "big", 3, 0));
       }},
      {"removexattr a/f2",
       [](const fs::path& m) { return rc(::lremovexattr((m / "a/f2").c_str(), "user.color")); }},
      {"truncate a/f4", [](const fs::path& m) { return rc(::truncate((m / "a/f4").c_str(), 2)); }},
      {"utimes b/sym",
       [](const fs::path& m) {
         struct timespec t[2] = {{2000000, 0}, {2000000, 0}};
         return rc(::utimensat(AT_FDCWD, (m / "b/sym").c_str(), t, AT_SYMLINK_NOFOLLOW));
       }},
      {"rmdir d (opaque, not empty)",
       [](const fs::path& m) { return rc(::rmdir((m / "d").c_str())); }},
      {"unlink d/only", [](const fs::path& m) { return rc(::unlink((m / "d/only").c_str())); }},
      {"rmdir d", [](const fs::path& m) { return rc(::rmdir((m / "d").c_str())); }},
      {"unlink upper-only new/p",
       [](const fs::path& m) { return rc(::unlink((m / "new/p").c_str())); }},
      {"unlink missing", [](const fs::path& m) { return rc(::unlink((m / "nothing").c_str())); }},
      {"mkdir existing", [](const fs::path& m) { return rc(::mkdir((m / "a").c_str(), 0755)); }},
  };
}

BOOST_AUTO_TEST_CASE(same_results_as_kernel_overlay) {
  if (!require_fuse() || !require_overlay()) return;
  TempDir dir("gantry-fuse-diff");
  fs::path l1 = dir / "l1", l2 = dir / "l2";
  build_lowers(l1, l2);
  fs::path ov_upper = dir / "ov-upper", ov_work = dir / "ov-work", ov_mnt = dir / "ov-mnt";
  fs::path gf_upper = dir / "gf-upper", gf_mnt = dir / "gf-mnt";
  for (const auto& p : {ov_upper, ov_work, ov_mnt, gf_upper, gf_mnt}) fs::create_directories(p);
  time_t start = ::time(nullptr) - 5;

  std::string lowers = l1.string() + ":" + l2.string();
  std::string ov_opts = "lowerdir=" + lowers + ",upperdir=" + ov_upper.string() +
                        ",workdir=" + ov_work.string() + ",redirect_dir=off,index=off,metacopy=off";
  BOOST_REQUIRE_MESSAGE(::mount("overlay", ov_mnt.c_str(), "overlay", 0, ov_opts.c_str()) == 0,
                        "mount overlay: " << std::strerror(errno));
  FuseMount gf(dir.path(), "lowerdir=" + lowers + ",upperdir=" + gf_upper.string(), gf_mnt);
  BOOST_REQUIRE_MESSAGE(gf.ok(), gf.result().err);

  WalkOptions merged{false, start};
  BOOST_TEST(describe(gf_mnt, merged) == describe(ov_mnt, merged));
  for (const auto& [name, op] : operations()) {
    int ov = op(ov_mnt);
    int g = op(gf_mnt);
    BOOST_TEST(g == ov,
               name << ": gantry-fuse " << std::strerror(g) << ", overlay " << std::strerror(ov));
  }
  BOOST_TEST(describe(gf_mnt, merged) == describe(ov_mnt, merged));
  ::umount2(ov_mnt.c_str(), 0);
  BOOST_TEST(gf.unmount());
  WalkOptions upper{true, start};
  std::string gf_desc = describe(gf_upper, upper);
  BOOST_TEST(gf_desc == describe(ov_upper, upper));
  // The walk sees what matters: whiteouts, the opaque dir, copied-up files.
  BOOST_TEST(gf_desc.find("b/g 20000 0:0") != std::string::npos, gf_desc);
  BOOST_TEST(gf_desc.find("trusted.overlay.opaque=y") != std::string::npos);
  BOOST_TEST(gf_desc.find("a/f1 100644 0:0 mtime=recent nlink=1 size=17") != std::string::npos);
  if (std::getenv("GANTRY_TEST_VERBOSE") != nullptr) std::cerr << gf_desc;
}

}  // namespace
}  // namespace gantry::testing::fuse
