#include "runtime/image/layer_diff.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

#define REQUIRE_OK(r) \
  BOOST_REQUIRE_MESSAGE((r).has_value(), ((r) ? std::string() : (r).error().to_string()))

namespace gantry::runtime::image {
namespace {

namespace fs = std::filesystem;

// Builds a tree by hand; stamp() gives every node mtime 1000, so trees built the same way
// compare equal.
struct Builder {
  fs::path root;
  explicit Builder(fs::path r) : root(std::move(r)) { fs::create_directories(root); }
  fs::path at(const std::string& p) const { return root / p; }
  Builder& dir(const std::string& p, mode_t mode = 0755) {
    fs::create_directories(at(p));
    ::chmod(at(p).c_str(), mode);
    return *this;
  }
  Builder& file(const std::string& p, const std::string& content, mode_t mode = 0644) {
    std::ofstream(at(p), std::ios::binary | std::ios::trunc) << content;
    ::chmod(at(p).c_str(), mode);
    return *this;
  }
  Builder& symlink(const std::string& p, const std::string& target) {
    fs::create_symlink(target, at(p));
    return *this;
  }
  Builder& link(const std::string& p, const std::string& existing) {
    fs::create_hard_link(at(existing), at(p));
    return *this;
  }
  Builder& xattr(const std::string& p, const std::string& name, const std::string& value) {
    BOOST_REQUIRE(lsetxattr(at(p).c_str(), name.c_str(), value.data(), value.size(), 0) == 0);
    return *this;
  }
  Builder& whiteout(const std::string& p) {
    BOOST_REQUIRE(mknod(at(p).c_str(), S_IFCHR, makedev(0, 0)) == 0);
    return *this;
  }
  Builder& opaque(const std::string& p) { return xattr(p, "trusted.overlay.opaque", "y"); }
  Builder& mtime(const std::string& p, time_t t) {
    timespec ts[2] = {{t, 0}, {t, 0}};
    BOOST_REQUIRE(utimensat(AT_FDCWD, at(p).c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
    return *this;
  }
  Builder& stamp() {
    for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it)
      mtime(fs::relative(it->path(), root).string(), 1000);
    return *this;
  }
};

std::string line_of(const TarEntry& e) {
  std::string s = std::string(to_string(e.type)) + " " + e.path;
  if (e.type == EntryType::hardlink) s += " -> " + e.link_target;
  return s;
}

std::vector<std::string> lines_of(const std::string& tar) {
  auto members = read_tar_entries(tar);
  REQUIRE_OK(members);
  std::vector<std::string> out;
  for (const auto& m : *members) out.push_back(line_of(m.entry));
  return out;
}

std::string diff_dirs(const fs::path& lower, const fs::path& upper) {
  std::string tar;
  auto r = diff_directories(lower, upper, string_sink(tar));
  REQUIRE_OK(r);
  BOOST_TEST(r->diff_id == Digest::of(tar));
  BOOST_TEST(r->size_bytes == static_cast<int64_t>(tar.size()));
  return tar;
}

std::string diff_overlay(const fs::path& upper, const std::vector<fs::path>& lowers) {
  std::string tar;
  auto r = diff_overlay_upper(upper, lowers, string_sink(tar));
  REQUIRE_OK(r);
  BOOST_TEST(r->diff_id == Digest::of(tar));
  return tar;
}

using Lines = std::vector<std::string>;

void check_lines(const std::string& tar, const Lines& want) {
  Lines got = lines_of(tar);
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unchanged_tree_is_an_empty_tar) {
  testing::TempDir t;
  Builder(t / "L").dir("d").file("d/f", "x").symlink("s", "d").stamp();
  Builder(t / "U").dir("d").file("d/f", "x").symlink("s", "d").stamp();
  std::string tar = diff_dirs(t / "L", t / "U");
  BOOST_TEST(tar == std::string(1024, '\0'));
}

BOOST_AUTO_TEST_CASE(changed_content_of_the_same_size_and_ancestors) {
  testing::TempDir t;
  Builder(t / "L").dir("a/b/c").file("a/b/c/f", "aaaa").file("a/x", "same").stamp();
  Builder(t / "U").dir("a/b/c").file("a/b/c/f", "bbbb").file("a/x", "same").stamp();
  std::string tar = diff_dirs(t / "L", t / "U");
  check_lines(tar, {"directory a", "directory a/b", "directory a/b/c", "regular a/b/c/f"});
  auto members = read_tar_entries(tar);
  REQUIRE_OK(members);
  BOOST_TEST(members->back().content == "bbbb");
}

BOOST_AUTO_TEST_CASE(metadata_only_changes) {
  testing::TempDir t;
  Builder(t / "L").file("mode", "x").file("time", "x").file("xattr", "x").stamp();
  Builder(t / "L").xattr("xattr", "user.a", "1");
  Builder u(t / "U");
  u.file("mode", "x", 0600).file("time", "x").file("xattr", "x").stamp().mtime("time", 2000);
  u.xattr("xattr", "user.a", "2");
  check_lines(diff_dirs(t / "L", t / "U"), {"regular mode", "regular time", "regular xattr"});
}

BOOST_AUTO_TEST_CASE(directory_replaced_by_file_and_back) {
  testing::TempDir t;
  Builder(t / "L").dir("x/b").file("x/a", "1").file("x/b/c", "2").file("y", "file").stamp();
  Builder(t / "U").file("x", "now a file").dir("y").file("y/inner", "i").stamp();
  check_lines(diff_dirs(t / "L", t / "U"), {"regular x", "directory y", "regular y/inner"});
}

BOOST_AUTO_TEST_CASE(deleted_subtree_is_one_whiteout) {
  testing::TempDir t;
  Builder(t / "L").dir("d/sub/deep").file("d/sub/deep/a", "a").file("d/keep", "k").dir("top");
  Builder(t / "L").file("top/x", "x").stamp();
  Builder(t / "U").dir("d").file("d/keep", "k").stamp();
  check_lines(diff_dirs(t / "L", t / "U"),
              {"whiteout .wh.top", "directory d", "whiteout d/.wh.sub"});
}

BOOST_AUTO_TEST_CASE(hardlink_added_to_an_unchanged_file) {
  testing::TempDir t;
  Builder(t / "L").file("f", "content").file("z", "zz").stamp();
  Builder(t / "U").file("f", "content").link("g", "f").file("z", "zz").link("a", "z").stamp();
  check_lines(diff_dirs(t / "L", t / "U"),
              {"regular a", "regular f", "hardlink g -> f", "hardlink z -> a"});
}

BOOST_AUTO_TEST_CASE(symlinks_are_compared_not_followed) {
  testing::TempDir t;
  Builder(t / "L").symlink("out", "/etc/shadow").symlink("root", "/").stamp();
  Builder(t / "U").symlink("out", "/etc/passwd").symlink("root", "/").stamp();
  check_lines(diff_dirs(t / "L", t / "U"), {"symlink out"});
}

BOOST_AUTO_TEST_CASE(absent_lower_is_the_empty_tree) {
  testing::TempDir t;
  Builder(t / "U").dir("d").file("d/f", "x").link("d/g", "d/f").symlink("s", "d").stamp();
  Lines want = {"directory d", "regular d/f", "hardlink d/g -> d/f", "symlink s"};
  check_lines(diff_dirs("", t / "U"), want);
  check_lines(diff_dirs(t / "missing", t / "U"), want);
}

// ---- overlay format, by hand: the overlay diff must equal the diff of the merged trees ----

void check_same(const std::string& overlay_tar, const std::string& dirs_tar) {
  BOOST_TEST(lines_of(overlay_tar) == lines_of(dirs_tar), boost::test_tools::per_element());
  BOOST_TEST((overlay_tar == dirs_tar));
}

BOOST_AUTO_TEST_CASE(overlay_unchanged_copy_up_and_whiteouts) {
  if (!testing::require_root()) return;
  testing::TempDir t;
  Builder(t / "L").dir("d").file("d/f", "f").file("d/g", "g").file("d/h", "h").stamp();
  Builder(t / "Up").dir("d").file("d/f", "f").whiteout("d/g").file("d/new", "n").stamp();
  Builder(t / "M").dir("d").file("d/f", "f").file("d/h", "h").file("d/new", "n").stamp();
  std::string ov = diff_overlay(t / "Up", {t / "L"});
  check_same(ov, diff_dirs(t / "L", t / "M"));
  check_lines(ov, {"directory d", "whiteout d/.wh.g", "regular d/new"});
}

BOOST_AUTO_TEST_CASE(overlay_opaque_dir_becomes_whiteouts) {
  if (!testing::require_root()) return;
  testing::TempDir t;
  Builder(t / "L").dir("d/sub").file("d/a", "a").file("d/b", "b").file("d/sub/x", "x").stamp();
  Builder up(t / "Up");
  up.dir("d/sub").file("d/a", "a").file("d/c", "c").file("d/sub/y", "y").stamp().opaque("d");
  Builder(t / "M").dir("d/sub").file("d/a", "a").file("d/c", "c").file("d/sub/y", "y").stamp();
  std::string ov = diff_overlay(t / "Up", {t / "L"});
  check_same(ov, diff_dirs(t / "L", t / "M"));
  check_lines(ov, {"directory d", "whiteout d/.wh.b", "regular d/c", "directory d/sub",
                   "whiteout d/sub/.wh.x", "regular d/sub/y"});
}

BOOST_AUTO_TEST_CASE(overlay_hardlink_group_losing_a_member) {
  if (!testing::require_root()) return;
  testing::TempDir t;
  Builder(t / "L").dir("d").file("d/a", "linked").link("d/b", "d/a").link("d/c", "d/a").stamp();
  Builder(t / "L").file("other", "o").link("other2", "other").stamp();
  Builder(t / "Up").dir("d").whiteout("d/b").file("other", "o").stamp();  // unchanged copy-up
  Builder(t / "M").dir("d").file("d/a", "linked").link("d/c", "d/a").file("other", "o");
  Builder(t / "M").file("other2", "o").stamp();
  std::string ov = diff_overlay(t / "Up", {t / "L"});
  check_same(ov, diff_dirs(t / "L", t / "M"));
  // ".wh.b" sorts before "a" ('.' < 'a').
  check_lines(ov, {"directory d", "whiteout d/.wh.b", "regular d/a", "hardlink d/c -> d/a",
                   "regular other", "regular other2"});
}

BOOST_AUTO_TEST_CASE(overlay_several_lowers) {
  if (!testing::require_root()) return;
  testing::TempDir t;
  Builder(t / "L1").dir("x").file("x/a", "a").file("y", "y").dir("z").file("z/old", "o").stamp();
  Builder l2(t / "L2");
  l2.dir("x").file("x/b", "b").whiteout("y").dir("z").file("z/q", "q").stamp().opaque("z");
  Builder(t / "Lm").dir("x").file("x/a", "a").file("x/b", "b").dir("z").file("z/q", "q").stamp();
  Builder(t / "Up").dir("x").file("x/c", "c").whiteout("x/a").whiteout("y").stamp();
  Builder(t / "M").dir("x").file("x/b", "b").file("x/c", "c").dir("z").file("z/q", "q").stamp();
  std::string ov = diff_overlay(t / "Up", {t / "L2", t / "L1"});
  check_same(ov, diff_dirs(t / "Lm", t / "M"));
  check_lines(ov, {"directory x", "whiteout x/.wh.a", "regular x/c"});
}

// ---- a real overlay mount ----

int run(const std::string& cmd) {
  return std::system(cmd.c_str());
}

BOOST_AUTO_TEST_CASE(real_overlay_upper_equals_diff_of_merged_view) {
  if (!testing::require_overlay() || !testing::require_program("cp")) return;
  testing::TempDir t;
  Builder l(t / "L");
  l.dir("etc").file("etc/config", "a=1\n").dir("bin").file("bin/busybox", "BB", 0755);
  l.link("bin/sh", "bin/busybox").link("bin/ls", "bin/busybox");
  l.dir("data/sub/deep").file("data/sub/deep/x", "x").file("data/keep", "k");
  l.dir("keep").file("keep/k1", "1").file("keep/k2", "2").file("keep/k3", "3").file("keep/k4", "4");
  l.dir("dir_to_file").file("dir_to_file/x", "x").file("file_to_dir", "f");
  l.dir("docs").file("docs/readme", "read me").dir("opq").file("opq/a", "a").stamp();
  for (auto d : {"U", "W", "M"}) fs::create_directory(t / d);
  std::string opts = "lowerdir=" + (t / "L").string() + ",upperdir=" + (t / "U").string() +
                     ",workdir=" + (t / "W").string();
  if (::mount("overlay", (t / "M").c_str(), "overlay", 0,
              (opts + ",index=off,redirect_dir=off,metacopy=off").c_str()) != 0) {
    BOOST_REQUIRE_MESSAGE(::mount("overlay", (t / "M").c_str(), "overlay", 0, opts.c_str()) == 0,
                          "mount overlay: " << strerror(errno));
  }
  Builder m(t / "M");
  m.file("etc/config", "a=2\n");               // same size, new content
  ::chmod(m.at("docs/readme").c_str(), 0600);  // metadata only
  fs::remove_all(m.at("data/sub"));            // deleted subtree
  fs::remove_all(m.at("dir_to_file"));
  m.file("dir_to_file", "now a file");  // dir replaced by a file
  fs::remove(m.at("file_to_dir"));
  m.dir("file_to_dir").file("file_to_dir/inner", "in");  // and back
  m.link("keep/k1_link", "keep/k1");                     // hardlink to an unchanged file
  m.xattr("keep/k2", "user.new", "1").xattr("etc", "user.dir", "d");
  m.symlink("newlink", "/etc/passwd");  // symlink to outside
  fs::rename(m.at("keep/k3"), m.at("k3moved"));
  fs::remove(m.at("bin/ls"));                                  // hardlink group loses a member
  BOOST_REQUIRE(::chown(m.at("keep/k4").c_str(), 0, 0) == 0);  // unchanged copy-up
  fs::remove_all(m.at("opq"));
  m.dir("opq").file("opq/b", "b");  // an opaque directory in the upper
  m.dir("newdir/inner").file("newdir/inner/f", "new");
  BOOST_REQUIRE_EQUAL(run("cp -a " + m.at(".").string() + " " + (t / "C").string()), 0);
  BOOST_REQUIRE(::umount2((t / "M").c_str(), 0) == 0);

  std::string ov = diff_overlay(t / "U", {t / "L"});
  std::string dirs = diff_dirs(t / "L", t / "C");
  check_same(ov, dirs);
  for (const auto& line : lines_of(ov)) BOOST_TEST_MESSAGE(line);
  Lines got = lines_of(ov);
  for (const std::string want :
       {"regular etc/config", "regular docs/readme", "whiteout data/.wh.sub", "regular dir_to_file",
        "regular file_to_dir/inner", "hardlink keep/k1_link -> keep/k1", "regular keep/k2",
        "symlink newlink", "whiteout keep/.wh.k3", "regular k3moved", "whiteout bin/.wh.ls",
        "regular bin/busybox", "hardlink bin/sh -> bin/busybox", "whiteout opq/.wh.a",
        "regular newdir/inner/f"})
    BOOST_TEST((std::find(got.begin(), got.end(), want) != got.end()), want);
  BOOST_TEST((std::find(got.begin(), got.end(), "regular keep/k4") == got.end()));
}

// ---- speed: ~100 MB tree, ~5% changed ----

BOOST_AUTO_TEST_CASE(speed_of_diff_directories) {
  const char* env = std::getenv("GANTRY_DIFF_BENCH");
  if (env == nullptr) return;  // opt-in: GANTRY_DIFF_BENCH=1
  testing::TempDir t;
  Builder l(t / "L");
  std::string content(64 * 1024, 'x');
  int files = 1600;  // 1600 x 64 KiB = 100 MiB
  for (int i = 0; i < files; ++i) {
    std::string d = "d" + std::to_string(i / 100);
    if (i % 100 == 0) l.dir(d);
    content[0] = static_cast<char>('a' + i % 26);
    l.file(d + "/f" + std::to_string(i), content);
  }
  l.stamp();
  BOOST_REQUIRE_EQUAL(run("cp -a " + (t / "L").string() + " " + (t / "U").string()), 0);
  Builder u(t / "U");
  for (int i = 0; i < files; i += 20) {  // 5%
    std::string p = "d" + std::to_string(i / 100) + "/f" + std::to_string(i);
    content[1] = 'y';
    u.file(p, content).mtime(p, 1000);
  }
  auto start = std::chrono::steady_clock::now();
  auto r = diff_directories(t / "L", t / "U", null_sink());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  REQUIRE_OK(r);
  std::cerr << "diff_directories of " << files << " files (100 MiB), 5% changed: " << ms
            << " ms, tar " << r->size_bytes << " bytes, " << r->entry_count << " entries\n";
  start = std::chrono::steady_clock::now();
  auto full = diff_directories("", t / "U", null_sink());
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                             start)
           .count();
  REQUIRE_OK(full);
  std::cerr << "diff_directories of the same tree from empty (tar + sha256 of " << full->size_bytes
            << " bytes): " << ms << " ms\n";
}

}  // namespace
}  // namespace gantry::runtime::image
