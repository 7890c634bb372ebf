#include "runtime/image/tree_walk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

#define REQUIRE_OK(r) \
  BOOST_REQUIRE_MESSAGE((r).has_value(), ((r) ? std::string() : (r).error().to_string()))

namespace gantry::runtime::image {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> paths_of(const std::vector<WalkNode>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n.meta.path);
  return out;
}

BOOST_AUTO_TEST_CASE(canonical_order_is_component_wise) {
  BOOST_TEST(canonical_less("a", "a/b"));
  BOOST_TEST(canonical_less("a/b", "a-b"));
  BOOST_TEST(canonical_less("a/z/z", "a-b"));
  BOOST_TEST(!canonical_less("a-b", "a/b"));
  BOOST_TEST(canonical_less("d", "d/.wh..wh..opq"));
  BOOST_TEST(canonical_less("d/.wh..wh..opq", "d/a"));
  BOOST_TEST(canonical_less("B", "a"));
  BOOST_TEST(canonical_less("a", "\xc3\xa9"));  // bytes are unsigned
}

BOOST_AUTO_TEST_CASE(walks_in_canonical_order) {
  testing::TempDir dir;
  for (auto p : {"a", "a/b", "a/b/c"}) fs::create_directory(dir / p);
  for (auto p : {"a-b", "a.b", "B", "a/b/c/x", "a/z", "\xc3\xa9"}) std::ofstream(dir / p) << p;
  auto nodes = walk_tree(dir.path());
  REQUIRE_OK(nodes);
  std::vector<std::string> want = {"B",   "a",   "a/b", "a/b/c",   "a/b/c/x",
                                   "a/z", "a-b", "a.b", "\xc3\xa9"};
  BOOST_TEST(paths_of(*nodes) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(reads_metadata_without_following_symlinks) {
  testing::TempDir dir;
  fs::create_directory(dir / "d");
  std::ofstream(dir / "d/f") << "12345";
  fs::create_directory_symlink("/etc", dir / "etc_link");
  fs::create_symlink("../../outside", dir / "d/rel");
  timespec times[2] = {{0, UTIME_OMIT}, {1600000000, 999999999}};
  BOOST_REQUIRE(utimensat(AT_FDCWD, (dir / "d/f").c_str(), times, 0) == 0);
  BOOST_REQUIRE(setxattr((dir / "d/f").c_str(), "user.k", "v", 1, 0) == 0);
  if (testing::is_root()) {
    BOOST_REQUIRE(setxattr((dir / "d/f").c_str(), "trusted.x", "t", 1, 0) == 0);
    BOOST_REQUIRE(::chown((dir / "d/f").c_str(), 123, 456) == 0);
  }
  ::chmod((dir / "d/f").c_str(), 04751);  // after chown, which clears setuid
  auto nodes = walk_tree(dir.path());
  REQUIRE_OK(nodes);
  BOOST_TEST(paths_of(*nodes) == (std::vector<std::string>{"d", "d/f", "d/rel", "etc_link"}),
             boost::test_tools::per_element());
  const WalkNode& f = (*nodes)[1];
  BOOST_TEST(f.meta.type == EntryType::regular);
  BOOST_TEST(f.meta.size_bytes == 5);
  BOOST_TEST(f.meta.mode == 04751u);
  BOOST_TEST(f.meta.mtime_s == 1600000000);
  BOOST_TEST((f.meta.xattrs == std::map<std::string, std::string>{{"user.k", "v"}}));
  if (testing::is_root()) BOOST_TEST(f.meta.uid == 123u);
  BOOST_TEST((*nodes)[2].meta.link_target == "../../outside");
  BOOST_TEST((*nodes)[3].meta.type == EntryType::symlink);
  BOOST_TEST((*nodes)[3].meta.link_target == "/etc");

  auto fd = open_tree(dir.path());
  REQUIRE_OK(fd);
  auto through = stat_node(fd->get(), "etc_link/passwd");
  REQUIRE_OK(through);
  BOOST_TEST(!through->has_value());
  auto direct = stat_node(fd->get(), "d/f");
  REQUIRE_OK(direct);
  BOOST_REQUIRE(direct->has_value());
  BOOST_TEST(((*direct)->meta == f.meta));
  BOOST_TEST(!open_in_tree(fd->get(), "etc_link/passwd", O_RDONLY));
  BOOST_TEST(!open_in_tree(fd->get(), "../x", O_RDONLY));
}

BOOST_AUTO_TEST_CASE(link_groups_collect_paths_by_inode) {
  testing::TempDir dir;
  fs::create_directory(dir / "d");
  std::ofstream(dir / "f") << "x";
  std::ofstream(dir / "single") << "y";
  fs::create_hard_link(dir / "f", dir / "d/g");
  fs::create_hard_link(dir / "f", dir / "z");
  auto nodes = walk_tree(dir.path());
  REQUIRE_OK(nodes);
  LinkGroups groups = link_groups(*nodes);
  BOOST_REQUIRE_EQUAL(groups.size(), 1u);
  BOOST_TEST(groups.begin()->second == (std::vector<std::string>{"d/g", "f", "z"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(overlay_format_reports_whiteouts_and_opaque_dirs) {
  if (!testing::require_root()) return;
  testing::TempDir dir;
  fs::create_directory(dir / "o");
  BOOST_REQUIRE(setxattr((dir / "o").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  BOOST_REQUIRE(mknod((dir / "gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  BOOST_REQUIRE(mknod((dir / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  auto plain = walk_tree(dir.path());
  REQUIRE_OK(plain);
  for (const auto& n : *plain) BOOST_TEST(!n.whiteout);
  for (const auto& n : *plain) BOOST_TEST(!n.opaque);
  auto ov = walk_tree(dir.path(), WalkOptions{.overlay_format = true});
  REQUIRE_OK(ov);
  BOOST_TEST(paths_of(*ov) == (std::vector<std::string>{"gone", "null", "o"}),
             boost::test_tools::per_element());
  BOOST_TEST((*ov)[0].whiteout);
  BOOST_TEST(!(*ov)[1].whiteout);
  BOOST_TEST((*ov)[1].meta.rdev_major == 1u);
  BOOST_TEST((*ov)[2].opaque);
  BOOST_TEST((*ov)[2].meta.xattrs.empty());
}

BOOST_AUTO_TEST_CASE(missing_root_is_not_found) {
  auto r = walk_tree(fs::path("/nonexistent/gantry/tree"));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::not_found);
}

}  // namespace
}  // namespace gantry::runtime::image
