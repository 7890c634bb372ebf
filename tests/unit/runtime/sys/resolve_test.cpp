#include "runtime/sys/resolve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "runtime/sys/fs.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using gantry::ErrorKind;
using gantry::testing::TempDir;
namespace sys = gantry::runtime::sys;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

// Every case runs twice: with openat2 and with the openat walk.
struct Both {
  template <class F>
  static void run(F f) {
    for (bool walk : {false, true}) {
      BOOST_TEST_CONTEXT("walk=" << walk) {
        sys::force_resolve_walk_for_testing(walk);
        f();
      }
    }
    sys::force_resolve_walk_for_testing(false);
  }
};

// A tree with an escape hatch in every shape: root/ and a sentinel next to it.
struct Fixture {
  TempDir tmp{"gantry-resolve"};
  fs::path root = tmp / "root";
  fs::path outside = tmp / "outside";
  Fixture() {
    fs::create_directories(root / "etc");
    fs::create_directories(outside);
    spit(root / "etc" / "passwd", "inside");
    spit(outside / "sentinel", "host");
    fs::create_symlink("/", root / "abs");
    fs::create_symlink("../../..", root / "up");
    fs::create_symlink(outside, root / "out");
    fs::create_symlink("etc", root / "rel");
    fs::create_symlink("loop", root / "loop");
  }
};

template <class R>
std::string err(const R& r) {
  return r ? std::string() : r.error().to_string();
}

std::string read_in(int root_fd, const std::string& rel) {
  auto fd = sys::open_in_root(root_fd, rel, O_RDONLY);
  BOOST_REQUIRE_MESSAGE(fd, rel << ": " << err(fd));
  auto s = sys::read_all(fd->get());
  BOOST_REQUIRE(s);
  return *s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(plain_paths_resolve) {
  Fixture f;
  Both::run([&] {
    auto root = sys::open_root(f.root);
    BOOST_REQUIRE(root);
    BOOST_TEST(read_in(root->get(), "etc/passwd") == "inside");
    BOOST_TEST(read_in(root->get(), "/etc/passwd") == "inside");
    BOOST_TEST(read_in(root->get(), "./etc//passwd") == "inside");
    BOOST_TEST(read_in(root->get(), "rel/passwd") == "inside");
  });
}

BOOST_AUTO_TEST_CASE(escapes_are_clamped_to_the_root) {
  Fixture f;
  Both::run([&] {
    auto root = sys::open_root(f.root);
    BOOST_REQUIRE(root);
    // "/" is the root: the host /etc/passwd is never what these name.
    BOOST_TEST(read_in(root->get(), "abs/etc/passwd") == "inside");
    BOOST_TEST(read_in(root->get(), "up/etc/passwd") == "inside");
    BOOST_TEST(read_in(root->get(), "../../../etc/passwd") == "inside");
    BOOST_TEST(read_in(root->get(), "etc/../../etc/passwd") == "inside");
    // A symlink to an absolute host path names that path under the root: missing here.
    auto r = sys::open_in_root(root->get(), "out/sentinel", O_RDONLY);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().kind() == ErrorKind::not_found);
  });
}

BOOST_AUTO_TEST_CASE(create_through_symlink_stays_inside) {
  Fixture f;
  Both::run([&] {
    auto root = sys::open_root(f.root);
    BOOST_REQUIRE(root);
    // The parent of the target is missing under the root: refused, host untouched.
    auto missing = sys::open_in_root(root->get(), "out/sentinel", O_WRONLY | O_CREAT, 0644);
    BOOST_REQUIRE(!missing);
    BOOST_TEST(missing.error().kind() == ErrorKind::not_found);
    // With the same directories under the root, the write lands there.
    fs::create_directories(f.root / f.outside.relative_path());
    fs::create_symlink(f.outside / "sentinel", f.root / "final");
    auto fd = sys::open_in_root(root->get(), "final", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_REQUIRE_MESSAGE(fd, err(fd));
    BOOST_REQUIRE(sys::write_all(fd->get(), "written"));
    BOOST_TEST(slurp(f.outside / "sentinel") == "host");
    BOOST_TEST(slurp(f.root / f.outside.relative_path() / "sentinel") == "written");
    fs::remove(f.root / "final");
    fs::remove_all(f.root / f.outside.relative_path().begin()->string());
  });
}

BOOST_AUTO_TEST_CASE(parent_and_name) {
  Fixture f;
  Both::run([&] {
    auto root = sys::open_root(f.root);
    BOOST_REQUIRE(root);
    auto pn = sys::open_parent_in_root(root->get(), "abs/etc/passwd", false);
    BOOST_REQUIRE_MESSAGE(pn, err(pn));
    BOOST_TEST(pn->name == "passwd");
    struct stat st {};
    BOOST_REQUIRE(fstatat(pn->dir.get(), "passwd", &st, AT_SYMLINK_NOFOLLOW) == 0);
    struct stat want {};
    BOOST_REQUIRE(stat((f.root / "etc" / "passwd").c_str(), &want) == 0);
    BOOST_TEST(st.st_ino == want.st_ino);

    // The final component is not followed.
    auto link = sys::open_parent_in_root(root->get(), "abs", false);
    BOOST_REQUIRE(link);
    BOOST_TEST(link->name == "abs");

    auto missing = sys::open_parent_in_root(root->get(), "a/b/c/file", false);
    BOOST_REQUIRE(!missing);
    BOOST_TEST(missing.error().kind() == ErrorKind::not_found);

    std::vector<std::string> created;
    auto made = sys::open_parent_in_root(root->get(), "a/b/c/file", true, &created);
    BOOST_REQUIRE_MESSAGE(made, err(made));
    BOOST_TEST(made->name == "file");
    BOOST_TEST(created == (std::vector<std::string>{"a", "a/b", "a/b/c"}),
               boost::test_tools::per_element());
    BOOST_TEST(fs::is_directory(f.root / "a/b/c"));
    BOOST_TEST(static_cast<int>(fs::status(f.root / "a/b/c").permissions() & fs::perms::all) ==
               0755);
    fs::remove_all(f.root / "a");

    // Parents created through an escaping symlink land inside.
    created.clear();
    auto through = sys::open_parent_in_root(root->get(), "abs/new/x", true, &created);
    BOOST_REQUIRE(through);
    BOOST_TEST(fs::is_directory(f.root / "new"));
    BOOST_TEST(!fs::exists("/new"));
    fs::remove_all(f.root / "new");

    for (const char* bad : {"", "/", ".", "a/..", "./"}) {
      auto r = sys::open_parent_in_root(root->get(), bad, true);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
    }
  });
}

BOOST_AUTO_TEST_CASE(symlink_loops_fail) {
  Fixture f;
  Both::run([&] {
    auto root = sys::open_root(f.root);
    BOOST_REQUIRE(root);
    auto r = sys::open_in_root(root->get(), "loop/x", O_RDONLY);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);  // ELOOP
  });
}

BOOST_AUTO_TEST_CASE(non_directory_parent_fails) {
  Fixture f;
  Both::run([&] {
    auto root = sys::open_root(f.root);
    BOOST_REQUIRE(root);
    auto r = sys::open_parent_in_root(root->get(), "etc/passwd/x", true);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);  // ENOTDIR
  });
}
