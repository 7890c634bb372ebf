#include "runtime/snapshot/copy_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using gantry::runtime::snapshot::copy_tree;
namespace fs = std::filesystem;

namespace {

template <class T>
std::string why(const Result<T>& r) {
  return r ? std::string() : r.error().to_string();
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

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE_MESSAGE(lstat(p.c_str(), &st) == 0, "lstat " + p.string());
  return st;
}

void set_mtime(const fs::path& p, time_t sec, long nsec) {
  timespec t[2] = {{sec, nsec}, {sec, nsec}};
  BOOST_REQUIRE(utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
}

std::string xattr_of(const fs::path& p, const char* name) {
  char buf[256];
  ssize_t n = lgetxattr(p.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

}  // namespace

BOOST_AUTO_TEST_CASE(copies_content_modes_and_times_of_files_and_dirs) {
  testing::TempDir tmp;
  fs::path src = tmp / "src";
  fs::create_directories(src / "d" / "e");
  write_file(src / "d" / "f", "hello");
  write_file(src / "empty", "");
  std::string big(1 << 20, 'x');
  write_file(src / "big", big);
  BOOST_REQUIRE(chmod((src / "d" / "f").c_str(), 04751) == 0);
  BOOST_REQUIRE(chmod((src / "d").c_str(), 01775) == 0);
  set_mtime(src / "d" / "f", 1000, 5);
  set_mtime(src / "d" / "e", 2000, 0);
  set_mtime(src / "d", 3000, 7);
  set_mtime(src, 4000, 0);

  auto r = copy_tree(src, tmp / "dst");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  fs::path dst = tmp / "dst";
  BOOST_TEST(read_file(dst / "d" / "f") == "hello");
  BOOST_TEST(read_file(dst / "big") == big);
  BOOST_TEST(read_file(dst / "empty").empty());
  BOOST_TEST((lstat_of(dst / "d" / "f").st_mode & 07777) == 04751u);
  BOOST_TEST((lstat_of(dst / "d").st_mode & 07777) == 01775u);
  BOOST_TEST(lstat_of(dst / "d" / "f").st_mtim.tv_sec == 1000);
  BOOST_TEST(lstat_of(dst / "d" / "f").st_mtim.tv_nsec == 5);
  BOOST_TEST(lstat_of(dst / "d" / "e").st_mtim.tv_sec == 2000);
  BOOST_TEST(lstat_of(dst / "d").st_mtim.tv_sec == 3000);  // set after its children
  BOOST_TEST(lstat_of(dst / "d").st_mtim.tv_nsec == 7);
  BOOST_TEST(lstat_of(dst).st_mtim.tv_sec == 4000);
}

BOOST_AUTO_TEST_CASE(copies_symlinks_without_following_them) {
  testing::TempDir tmp;
  fs::path src = tmp / "src";
  fs::create_directories(src);
  fs::create_symlink("/etc/passwd", src / "abs");
  fs::create_symlink("../../outside", src / "dangling");
  set_mtime(src / "abs", 1234, 0);
  BOOST_REQUIRE(copy_tree(src, tmp / "dst"));
  BOOST_TEST(fs::is_symlink(tmp / "dst" / "abs"));
  BOOST_TEST(fs::read_symlink(tmp / "dst" / "abs") == "/etc/passwd");
  BOOST_TEST(fs::read_symlink(tmp / "dst" / "dangling") == "../../outside");
  BOOST_TEST(lstat_of(tmp / "dst" / "abs").st_mtim.tv_sec == 1234);
}

BOOST_AUTO_TEST_CASE(keeps_hardlinks_inside_the_tree) {
  testing::TempDir tmp;
  fs::path src = tmp / "src";
  fs::create_directories(src / "a");
  fs::create_directories(src / "b");
  write_file(src / "a" / "one", "shared");
  fs::create_hard_link(src / "a" / "one", src / "b" / "two");
  fs::create_hard_link(src / "a" / "one", src / "three");
  write_file(tmp / "outside", "o");
  fs::create_hard_link(tmp / "outside", src / "linked-out");
  BOOST_REQUIRE(copy_tree(src, tmp / "dst"));
  fs::path dst = tmp / "dst";
  auto one = lstat_of(dst / "a" / "one");
  BOOST_TEST(one.st_nlink == 3u);
  BOOST_TEST(lstat_of(dst / "b" / "two").st_ino == one.st_ino);
  BOOST_TEST(lstat_of(dst / "three").st_ino == one.st_ino);
  BOOST_TEST(one.st_ino != lstat_of(src / "a" / "one").st_ino);
  BOOST_TEST(lstat_of(dst / "linked-out").st_nlink == 1u);  // its other link is not in the tree
}

BOOST_AUTO_TEST_CASE(copies_owners_devices_fifos_and_xattrs) {
  if (!testing::require_root()) return;
  testing::TempDir tmp;
  fs::path src = tmp / "src";
  fs::create_directories(src / "dir");
  write_file(src / "f", "x");
  BOOST_REQUIRE(chown((src / "f").c_str(), 1234, 5678) == 0);
  BOOST_REQUIRE(chmod((src / "f").c_str(), 06755) == 0);  // survives the chown of the copy
  BOOST_REQUIRE(chown((src / "dir").c_str(), 42, 43) == 0);
  BOOST_REQUIRE(mknod((src / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  BOOST_REQUIRE(mknod((src / "blk").c_str(), S_IFBLK | 0600, makedev(7, 9)) == 0);
  BOOST_REQUIRE(mknod((src / "whiteout").c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0);
  BOOST_REQUIRE(mkfifo((src / "fifo").c_str(), 0640) == 0);
  fs::create_symlink("f", src / "link");
  BOOST_REQUIRE(lchown((src / "link").c_str(), 7, 8) == 0);
  BOOST_REQUIRE(setxattr((src / "f").c_str(), "user.k", "v1", 2, 0) == 0);
  BOOST_REQUIRE(setxattr((src / "dir").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  BOOST_REQUIRE(lsetxattr((src / "link").c_str(), "trusted.t", "s", 1, 0) == 0);
  set_mtime(src / "fifo", 99, 0);

  auto r = copy_tree(src, tmp / "dst");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  fs::path dst = tmp / "dst";
  auto f = lstat_of(dst / "f");
  BOOST_TEST(f.st_uid == 1234u);
  BOOST_TEST(f.st_gid == 5678u);
  BOOST_TEST((f.st_mode & 07777) == 06755u);
  BOOST_TEST(lstat_of(dst / "dir").st_uid == 42u);
  auto null = lstat_of(dst / "null");
  BOOST_TEST(S_ISCHR(null.st_mode));
  BOOST_TEST(null.st_rdev == makedev(1, 3));
  BOOST_TEST(null.st_mode == lstat_of(src / "null").st_mode);
  auto blk = lstat_of(dst / "blk");
  BOOST_TEST(S_ISBLK(blk.st_mode));
  BOOST_TEST(blk.st_rdev == makedev(7, 9));
  auto wh = lstat_of(dst / "whiteout");
  BOOST_TEST(S_ISCHR(wh.st_mode));
  BOOST_TEST(wh.st_rdev == makedev(0, 0));
  auto fifo = lstat_of(dst / "fifo");
  BOOST_TEST(S_ISFIFO(fifo.st_mode));
  BOOST_TEST(fifo.st_mode == lstat_of(src / "fifo").st_mode);
  BOOST_TEST(fifo.st_mtim.tv_sec == 99);
  BOOST_TEST(lstat_of(dst / "link").st_uid == 7u);
  BOOST_TEST(xattr_of(dst / "f", "user.k") == "v1");
  BOOST_TEST(xattr_of(dst / "dir", "trusted.overlay.opaque") == "y");
  BOOST_TEST(xattr_of(dst / "link", "trusted.t") == "s");
}

BOOST_AUTO_TEST_CASE(existing_destination_is_already_exists_and_kept) {
  testing::TempDir tmp;
  fs::create_directories(tmp / "src");
  fs::create_directories(tmp / "dst");
  write_file(tmp / "dst" / "keep", "k");
  auto r = copy_tree(tmp / "src", tmp / "dst");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::already_exists);
  BOOST_TEST(fs::exists(tmp / "dst" / "keep"));
}

BOOST_AUTO_TEST_CASE(missing_source_is_not_found_and_leaves_nothing) {
  testing::TempDir tmp;
  auto r = copy_tree(tmp / "nope", tmp / "dst");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::not_found);
  BOOST_TEST(r.error().message().find("nope") != std::string::npos);
  BOOST_TEST(!fs::exists(tmp / "dst"));
}

BOOST_AUTO_TEST_CASE(source_that_is_a_symlink_is_refused) {
  testing::TempDir tmp;
  fs::create_directories(tmp / "real");
  fs::create_symlink(tmp / "real", tmp / "link");
  auto r = copy_tree(tmp / "link", tmp / "dst");
  BOOST_REQUIRE(!r);
  BOOST_TEST(!fs::exists(tmp / "dst"));
}
