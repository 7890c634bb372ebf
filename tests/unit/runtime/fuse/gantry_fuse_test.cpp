// gantry-fuse as a program: start it on layers in a scratch directory and look through it.
#include <boost/test/unit_test.hpp>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/runtime/fuse/fuse_fixture.h"

namespace gantry::testing::fuse {
namespace {

struct Layers {
  TempDir dir{"gantry-fuse"};
  fs::path l1 = dir / "l1";  // top lower
  fs::path l2 = dir / "l2";
  fs::path l3 = dir / "l3";
  fs::path upper = dir / "upper";
  fs::path mnt = dir / "mnt";
  Layers() {
    for (const auto& p : {l1, l2, l3, upper, mnt}) fs::create_directories(p);
  }
  std::string options(bool with_upper = true) const {
    std::string o = "lowerdir=" + l1.string() + ":" + l2.string() + ":" + l3.string();
    if (with_upper) o += ",upperdir=" + upper.string();
    return o;
  }
};

int errno_of(int rc) {
  return rc == 0 ? 0 : errno;
}

BOOST_AUTO_TEST_CASE(merged_read_of_three_layers) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "etc/base", "from l3");
  write_file(L.l3 / "shadowed", "l3");
  write_file(L.l2 / "etc/middle", "from l2");
  write_file(L.l2 / "shadowed", "l2");
  write_file(L.l1 / "top", "from l1");
  write_file(L.upper / "mine", "from upper");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(read_file(L.mnt / "etc/base") == "from l3");
  BOOST_TEST(read_file(L.mnt / "etc/middle") == "from l2");
  BOOST_TEST(read_file(L.mnt / "top") == "from l1");
  BOOST_TEST(read_file(L.mnt / "shadowed") == "l2");
  BOOST_TEST(read_file(L.mnt / "mine") == "from upper");
}

BOOST_AUTO_TEST_CASE(whiteout_hides_lower_file) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "a", "a");
  write_file(L.l3 / "b", "b");
  write_file(L.l3 / "d/c", "c");
  make_whiteout(L.l2 / "a");     // in a lower
  make_whiteout(L.upper / "b");  // in the upper
  make_whiteout(L.l1 / "d");     // a whole directory
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(!fs::exists(fs::symlink_status(L.mnt / "a")));
  BOOST_TEST(!fs::exists(fs::symlink_status(L.mnt / "b")));
  BOOST_TEST(!fs::exists(fs::symlink_status(L.mnt / "d")));
}

BOOST_AUTO_TEST_CASE(opaque_dir_hides_lower_children) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "d/old", "old");
  write_file(L.l3 / "e/old", "old");
  make_opaque(L.l2 / "d");  // in a lower
  write_file(L.l2 / "d/new", "new");
  make_opaque(L.upper / "e");  // in the upper
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(!fs::exists(L.mnt / "d/old"));
  BOOST_TEST(read_file(L.mnt / "d/new") == "new");
  BOOST_TEST(!fs::exists(L.mnt / "e/old"));
  BOOST_TEST(fs::is_directory(L.mnt / "e"));
  // trusted.overlay.* is overlay's business and stays hidden.
  char v[8];
  BOOST_TEST(::lgetxattr((L.mnt / "d").c_str(), "trusted.overlay.opaque", v, sizeof v) == -1);
}

BOOST_AUTO_TEST_CASE(write_copies_up_and_leaves_lower_untouched) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l2 / "dir/sub/f", "lower");
  ::chmod((L.l2 / "dir/sub").c_str(), 0750);
  ::setxattr((L.l2 / "dir/sub/f").c_str(), "user.k", "v", 1, 0);
  struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
  ::utimensat(AT_FDCWD, (L.l2 / "dir/sub/f").c_str(), old, 0);
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  {
    std::ofstream out(L.mnt / "dir/sub/f", std::ios::app);
    out << "+more";
  }
  BOOST_TEST(read_file(L.mnt / "dir/sub/f") == "lower+more");
  BOOST_TEST(read_file(L.l2 / "dir/sub/f") == "lower");
  BOOST_TEST(read_file(L.upper / "dir/sub/f") == "lower+more");
  BOOST_TEST((fs::status(L.upper / "dir/sub").permissions() == fs::perms(0750)));
  char v[8] = {};
  BOOST_TEST(::lgetxattr((L.upper / "dir/sub/f").c_str(), "user.k", v, sizeof v) == 1);
  BOOST_TEST(::lgetxattr((L.mnt / "dir/sub/f").c_str(), "user.k", v, sizeof v) == 1);
}

BOOST_AUTO_TEST_CASE(unlink_of_lower_file_makes_whiteout) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "d/f", "f");
  write_file(L.upper / "d/both", "u");
  write_file(L.l3 / "d/both", "l");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(errno_of(::unlink((L.mnt / "d/f").c_str())) == 0);
  BOOST_TEST(errno_of(::unlink((L.mnt / "d/both").c_str())) == 0);
  BOOST_TEST(!fs::exists(L.mnt / "d/f"));
  BOOST_TEST(!fs::exists(L.mnt / "d/both"));
  for (const char* name : {"d/f", "d/both"}) {
    struct stat st;
    BOOST_REQUIRE(::lstat((L.upper / name).c_str(), &st) == 0);
    BOOST_TEST(S_ISCHR(st.st_mode));
    BOOST_TEST(st.st_rdev == makedev(0, 0));
  }
  BOOST_TEST(fs::exists(L.l3 / "d/f"));
}

BOOST_AUTO_TEST_CASE(rmdir_then_mkdir_makes_opaque) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l2 / "d/x", "x");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(errno_of(::rmdir((L.mnt / "d").c_str())) == ENOTEMPTY);
  BOOST_TEST(errno_of(::unlink((L.mnt / "d/x").c_str())) == 0);
  BOOST_TEST(errno_of(::rmdir((L.mnt / "d").c_str())) == 0);
  BOOST_TEST(!fs::exists(L.mnt / "d"));
  BOOST_TEST(errno_of(::mkdir((L.mnt / "d").c_str(), 0755)) == 0);
  BOOST_TEST(fs::is_empty(L.mnt / "d"));
  char v[8] = {};
  BOOST_TEST(::lgetxattr((L.upper / "d").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1);
  BOOST_TEST(v[0] == 'y');
}

BOOST_AUTO_TEST_CASE(chmod_copies_up) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "f", "data");
  ::chmod((L.l3 / "f").c_str(), 0644);
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(errno_of(::chmod((L.mnt / "f").c_str(), 0600)) == 0);
  struct stat st;
  BOOST_REQUIRE(::stat((L.mnt / "f").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0600u);
  BOOST_REQUIRE(::stat((L.upper / "f").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0600u);
  BOOST_TEST(read_file(L.upper / "f") == "data");
  BOOST_REQUIRE(::stat((L.l3 / "f").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0644u);
}

BOOST_AUTO_TEST_CASE(hardlinks_share_inode_number) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l2 / "a", "linked");
  fs::create_hard_link(L.l2 / "a", L.l2 / "b");
  write_file(L.l1 / "c", "other");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  struct stat a, b, c, a2;
  BOOST_REQUIRE(::lstat((L.mnt / "a").c_str(), &a) == 0);
  BOOST_REQUIRE(::lstat((L.mnt / "b").c_str(), &b) == 0);
  BOOST_REQUIRE(::lstat((L.mnt / "c").c_str(), &c) == 0);
  BOOST_TEST(a.st_ino == b.st_ino);
  BOOST_TEST(a.st_ino != c.st_ino);
  BOOST_TEST(a.st_nlink == 2u);
  BOOST_REQUIRE(::lstat((L.mnt / "a").c_str(), &a2) == 0);
  BOOST_TEST(a.st_ino == a2.st_ino);
}

BOOST_AUTO_TEST_CASE(readdir_merges_without_duplicates_or_whiteouts) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "d/a", "");
  write_file(L.l3 / "d/b", "");
  write_file(L.l3 / "d/gone", "");
  write_file(L.l2 / "d/a", "");
  write_file(L.l2 / "d/c", "");
  write_file(L.upper / "d/b", "");
  write_file(L.upper / "d/e", "");
  make_whiteout(L.l1 / "d/gone");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  std::vector<std::string> names;
  for (const auto& de : fs::directory_iterator(L.mnt / "d")) names.push_back(de.path().filename());
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{"a", "b", "c", "e"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(read_only_refuses_writes) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "f", "data");
  for (bool with_upper : {true, false}) {
    std::string o = L.options(with_upper) + (with_upper ? ",ro" : "");
    FuseMount m(L.dir.path(), o, L.mnt);
    BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
    BOOST_TEST(read_file(L.mnt / "f") == "data");
    BOOST_TEST(::open((L.mnt / "f").c_str(), O_WRONLY) == -1);
    BOOST_TEST(errno == EROFS);
    BOOST_TEST(errno_of(::mkdir((L.mnt / "d").c_str(), 0755)) == EROFS);
    BOOST_TEST(errno_of(::unlink((L.mnt / "f").c_str())) == EROFS);
    BOOST_TEST(errno_of(::chmod((L.mnt / "f").c_str(), 0600)) == EROFS);
    BOOST_TEST(m.unmount());
  }
  BOOST_TEST(fs::is_empty(L.upper));
}

BOOST_AUTO_TEST_CASE(unmount_makes_server_exit) {
  if (!require_fuse()) return;
  Layers L;
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  pid_t pid = m.pid();
  BOOST_TEST(::kill(pid, 0) == 0);
  BOOST_TEST(m.unmount());
  BOOST_TEST(::kill(pid, 0) == -1);
  BOOST_TEST(fs::exists(L.upper));  // nothing else is removed
  BOOST_TEST(fs::exists(L.l1));
}

BOOST_AUTO_TEST_CASE(missing_lowerdir_fails_with_message) {
  if (!require_fuse()) return;
  Layers L;
  std::string o = "lowerdir=" + (L.dir / "nope").string() + ",upperdir=" + L.upper.string();
  FuseMount m(L.dir.path(), o, L.mnt);
  BOOST_TEST(m.result().exit_code != 0);
  BOOST_TEST(m.result().err.find("nope") != std::string::npos, m.result().err);
  FuseMount bad(L.dir.path(), "upperdir=" + L.upper.string() + ",bogus", L.mnt);
  BOOST_TEST(bad.result().exit_code != 0);
  BOOST_TEST(!bad.result().err.empty());
}

BOOST_AUTO_TEST_CASE(rename_of_lower_file_whiteouts_the_source) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l2 / "d/f", "f");
  write_file(L.l3 / "d/target", "old");
  fs::create_directories(L.l3 / "dir/inner");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  BOOST_TEST(errno_of(::rename((L.mnt / "d/f").c_str(), (L.mnt / "d/target").c_str())) == 0);
  BOOST_TEST(!fs::exists(L.mnt / "d/f"));
  BOOST_TEST(read_file(L.mnt / "d/target") == "f");
  struct stat st;
  BOOST_REQUIRE(::lstat((L.upper / "d/f").c_str(), &st) == 0);
  BOOST_TEST(S_ISCHR(st.st_mode));
  BOOST_TEST(errno_of(::rename((L.mnt / "dir").c_str(), (L.mnt / "dir2").c_str())) == EXDEV);
}

BOOST_AUTO_TEST_CASE(create_symlink_mknod_in_upper) {
  if (!require_fuse()) return;
  Layers L;
  make_whiteout(L.upper / "gone");
  write_file(L.l3 / "gone", "old");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  write_file(L.mnt / "gone", "new");
  BOOST_TEST(read_file(L.upper / "gone") == "new");
  BOOST_TEST(errno_of(::symlink("target", (L.mnt / "ln").c_str())) == 0);
  BOOST_TEST(fs::read_symlink(L.mnt / "ln") == "target");
  BOOST_TEST(fs::is_symlink(L.upper / "ln"));
  BOOST_TEST(errno_of(::mkfifo((L.mnt / "fifo").c_str(), 0600)) == 0);
  BOOST_TEST(fs::is_fifo(L.upper / "fifo"));
  BOOST_TEST(errno_of(::mknod((L.mnt / "null").c_str(), S_IFCHR | 0666, makedev(1, 3))) == 0);
  struct stat st;
  BOOST_REQUIRE(::lstat((L.mnt / "null").c_str(), &st) == 0);
  BOOST_TEST(st.st_rdev == makedev(1, 3));
  BOOST_TEST(errno_of(::link((L.mnt / "gone").c_str(), (L.mnt / "gone2").c_str())) == 0);
  struct stat a, b;
  BOOST_REQUIRE(::lstat((L.mnt / "gone").c_str(), &a) == 0);
  BOOST_REQUIRE(::lstat((L.mnt / "gone2").c_str(), &b) == 0);
  BOOST_TEST(a.st_ino == b.st_ino);
  BOOST_TEST(a.st_nlink == 2u);
}

BOOST_AUTO_TEST_CASE(open_files_survive_unlink_and_truncating_open_copies_up) {
  if (!require_fuse()) return;
  Layers L;
  write_file(L.l3 / "keep", "still readable");
  write_file(L.l3 / "trunc", "long lower content");
  write_file(L.upper / "up", "upper data");
  FuseMount m(L.dir.path(), L.options(), L.mnt);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.result().err);
  int keep = ::open((L.mnt / "keep").c_str(), O_RDONLY);
  int up = ::open((L.mnt / "up").c_str(), O_RDWR);
  BOOST_REQUIRE(keep >= 0);
  BOOST_REQUIRE(up >= 0);
  BOOST_TEST(errno_of(::unlink((L.mnt / "keep").c_str())) == 0);
  BOOST_TEST(errno_of(::unlink((L.mnt / "up").c_str())) == 0);
  char buf[64] = {};
  BOOST_TEST(::pread(keep, buf, sizeof buf, 0) == 14);
  BOOST_TEST(std::string(buf) == "still readable");
  BOOST_TEST(::pwrite(up, "UPPER", 5, 0) == 5);
  std::memset(buf, 0, sizeof buf);
  BOOST_TEST(::pread(up, buf, sizeof buf, 0) == 10);
  BOOST_TEST(std::string(buf) == "UPPER data");
  ::close(keep);
  ::close(up);
  write_file(L.mnt / "trunc", "short");  // open with O_TRUNC
  BOOST_TEST(read_file(L.mnt / "trunc") == "short");
  BOOST_TEST(read_file(L.upper / "trunc") == "short");
  BOOST_TEST(read_file(L.l3 / "trunc") == "long lower content");
}

}  // namespace
}  // namespace gantry::testing::fuse
