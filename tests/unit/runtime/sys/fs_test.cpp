#include "runtime/sys/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "runtime/sys/fd.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using gantry::testing::TempDir;
namespace sys = gantry::runtime::sys;

BOOST_AUTO_TEST_CASE(write_then_read_all) {
  TempDir tmp;
  std::string big(3 << 20, 'x');
  {
    sys::UniqueFd fd(open((tmp / "f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    BOOST_REQUIRE(fd);
    BOOST_REQUIRE(sys::write_all(fd.get(), big));
  }
  sys::UniqueFd fd(open((tmp / "f").c_str(), O_RDONLY | O_CLOEXEC));
  auto s = sys::read_all(fd.get());
  BOOST_REQUIRE(s);
  BOOST_TEST((*s == big));
  BOOST_TEST(sys::fsync_dir(tmp.path()).has_value());
}

BOOST_AUTO_TEST_CASE(remove_tree_does_not_follow_symlinks) {
  TempDir tmp;
  fs::create_directories(tmp / "keep");
  std::ofstream(tmp / "keep" / "precious") << "x";
  fs::create_directories(tmp / "victim/a/b");
  std::ofstream(tmp / "victim/a/b/file") << "y";
  fs::create_directory_symlink(tmp / "keep", tmp / "victim/a/link");
  sys::UniqueFd dir(open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  BOOST_REQUIRE(sys::remove_tree_at(dir.get(), "victim"));
  BOOST_TEST(!fs::exists(tmp / "victim"));
  BOOST_TEST(fs::exists(tmp / "keep" / "precious"));
  BOOST_TEST(sys::remove_tree_at(dir.get(), "missing").has_value());
  std::ofstream(tmp / "plain") << "z";
  BOOST_REQUIRE(sys::remove_tree_at(dir.get(), "plain"));
  BOOST_TEST(!fs::exists(tmp / "plain"));
}

BOOST_AUTO_TEST_CASE(xattrs_at_names) {
  TempDir tmp;
  std::ofstream(tmp / "f") << "x";
  sys::UniqueFd dir(open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto set = sys::set_xattr_at(dir.get(), "f", "user.b", "2");
  if (!set) {
    BOOST_TEST_MESSAGE("no user xattrs here: " << set.error().to_string());
    return;
  }
  BOOST_REQUIRE(sys::set_xattr_at(dir.get(), "f", "user.a", std::string("1\0x", 3)));
  auto all = sys::list_xattrs_at(dir.get(), "f");
  BOOST_REQUIRE(all);
  std::vector<std::pair<std::string, std::string>> user;
  for (auto& kv : *all)
    if (kv.first.starts_with("user.")) user.push_back(kv);
  BOOST_REQUIRE(user.size() == 2u);
  BOOST_TEST(user[0].first == "user.a");
  BOOST_TEST(user[0].second == std::string("1\0x", 3));
  auto missing = sys::get_xattr_at(dir.get(), "f", "user.none");
  BOOST_REQUIRE(missing);
  BOOST_TEST(!missing->has_value());
}

BOOST_AUTO_TEST_CASE(list_and_copy) {
  TempDir tmp;
  std::ofstream(tmp / "a") << "hello";
  fs::create_directory(tmp / "d");
  sys::UniqueFd dir(open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto names = sys::list_dir(dir.get());
  BOOST_REQUIRE(names);
  std::sort(names->begin(), names->end());
  BOOST_TEST(*names == (std::vector<std::string>{"a", "d"}), boost::test_tools::per_element());
  sys::UniqueFd in(open((tmp / "a").c_str(), O_RDONLY | O_CLOEXEC));
  sys::UniqueFd out(open((tmp / "b").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  BOOST_REQUIRE(sys::copy_data(in.get(), out.get()));
  std::ifstream b(tmp / "b");
  BOOST_TEST(std::string(std::istreambuf_iterator<char>(b), {}) == "hello");
}
