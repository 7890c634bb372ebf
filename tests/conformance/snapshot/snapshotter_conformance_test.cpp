// The Snapshotter conformance suite: the same named checks, run for every backend (copy,
// overlay, fuse), through the mounts each returns (performed with mount_all on a scratch
// target), so that what a caller sees is the same whichever backend is behind the interface.
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/snapshot/snapshotter.h"
#include "runtime/sys/mount.h"
#include "runtime/sys/process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using namespace gantry::runtime::snapshot;
namespace fs = std::filesystem;
namespace sys = gantry::runtime::sys;

namespace {

template <class T>
std::string why(const Result<T>& r) {
  return r ? std::string() : r.error().to_string();
}

#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    auto&& require_ok_r_ = (expr);                                         \
    BOOST_REQUIRE_MESSAGE(require_ok_r_, #expr ": " + why(require_ok_r_)); \
  } while (0)

#define CHECK_KIND(expr, expected_kind)                                                   \
  do {                                                                                    \
    auto&& check_kind_r_ = (expr);                                                        \
    BOOST_CHECK_MESSAGE(!check_kind_r_, #expr " should fail with " << (expected_kind));   \
    if (!check_kind_r_) BOOST_CHECK_EQUAL(check_kind_r_.error().kind(), (expected_kind)); \
  } while (0)

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  BOOST_REQUIRE_MESSAGE(out.good(), "write " + p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int create_errno(const fs::path& p) {
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Mounts on a fresh target and unmounts when it goes away.
class Mounted {
 public:
  Mounted(const std::vector<sys::Mount>& mounts, fs::path target) : target_(std::move(target)) {
    fs::create_directories(target_);
    auto r = sys::mount_all(mounts, target_);
    BOOST_REQUIRE_MESSAGE(r, "mount_all at " + target_.string() + ": " + why(r));
    mounted_ = true;
  }
  ~Mounted() {
    if (mounted_) {
      auto r = sys::unmount(target_);
      BOOST_CHECK_MESSAGE(r, "unmount " + target_.string() + ": " + why(r));
    }
  }
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;
  const fs::path& path() const { return target_; }
  fs::path operator/(const std::string& child) const { return target_ / child; }

 private:
  fs::path target_;
  bool mounted_ = false;
};

bool backend_available(const std::string& backend) {
  if (backend == "copy") return testing::require_root();  // bind mounts
  if (backend == "overlay") return testing::require_overlay();
  if (!testing::require_fuse()) return false;
  auto bin = sys::find_program("gantry-fuse", "GANTRY_FUSE_BIN");
  return testing::require(bool(bin), "the fuse backend needs gantry-fuse: " + why(bin));
}

struct Harness {
  explicit Harness(std::string b) : backend(std::move(b)) {}

  bool open() {
    auto r = open_snapshotter(backend, root());
    BOOST_REQUIRE_MESSAGE(r, "open " + backend + ": " + why(r));
    sn = std::move(*r);
    BOOST_TEST(sn->backend() == backend);
    return true;
  }
  fs::path root() const { return tmp / "root"; }
  fs::path target() { return tmp / ("mnt" + std::to_string(++targets)); }

  // prepare key on parent, write files through its mounts, commit as name.
  void layer(const std::string& name, const std::string& parent,
             const std::map<std::string, std::string>& files,
             const std::vector<std::string>& deletions = {}) {
    std::string key = name + "-active";
    auto mounts = sn->prepare(key, parent);
    REQUIRE_OK(mounts);
    {
      Mounted m(*mounts, target());
      for (const auto& d : deletions) BOOST_REQUIRE(fs::remove_all(m / d) > 0);
      for (const auto& [path, text] : files) {
        fs::create_directories((m / path).parent_path());
        write_file(m / path, text);
      }
    }
    REQUIRE_OK(sn->commit(name, key));
  }

  std::string backend;
  testing::TempDir tmp{"gantry-snap"};
  std::unique_ptr<Snapshotter> sn;
  int targets = 0;
};

using Check = void (*)(Harness&);

void run(std::string_view backend, Check check) {
  if (!backend_available(std::string(backend))) return;
  Harness h{std::string(backend)};
  if (!h.open()) return;
  check(h);
}

// ---- the checks ----

void check_prepare_on_empty_parent(Harness& h) {
  auto mounts = h.sn->prepare("a", "");
  REQUIRE_OK(mounts);
  BOOST_TEST(!mounts->empty());
  auto info = h.sn->stat("a");
  REQUIRE_OK(info);
  BOOST_TEST(info->name == "a");
  BOOST_TEST(info->parent == "");
  BOOST_TEST(info->kind == Kind::active);
  BOOST_TEST(info->created_ns > 0);
  Mounted m(*mounts, h.target());
  BOOST_TEST(names_in(m.path()).empty());
  write_file(m / "x", "1");
  BOOST_TEST(read_file(m / "x") == "1");
  auto again = h.sn->mounts("a");
  REQUIRE_OK(again);
  BOOST_TEST((*again == *mounts));
}

void check_prepare_write_commit_view_reads_it(Harness& h) {
  h.layer("base", "", {{"f", "hello"}, {"d/g", "deep"}});
  CHECK_KIND(h.sn->stat("base-active"), ErrorKind::not_found);  // the key went away
  auto info = h.sn->stat("base");
  REQUIRE_OK(info);
  BOOST_TEST(info->kind == Kind::committed);
  auto mounts = h.sn->view("v", "base");
  REQUIRE_OK(mounts);
  auto v = h.sn->stat("v");
  REQUIRE_OK(v);
  BOOST_TEST(v->kind == Kind::view);
  BOOST_TEST(v->parent == "base");
  Mounted m(*mounts, h.target());
  BOOST_TEST(read_file(m / "f") == "hello");
  BOOST_TEST(read_file(m / "d" / "g") == "deep");
}

void check_chain_of_three_with_deletion(Harness& h) {
  h.layer("l1", "", {{"keep", "1"}, {"gone", "1"}, {"dir/inner", "1"}, {"over", "1"}});
  h.layer("l2", "l1", {{"over", "2"}, {"new2", "2"}}, {"gone", "dir"});
  h.layer("l3", "l2", {{"new3", "3"}, {"dir/again", "3"}});
  auto mounts = h.sn->view("top", "l3");
  REQUIRE_OK(mounts);
  Mounted m(*mounts, h.target());
  BOOST_TEST(read_file(m / "keep") == "1");
  BOOST_TEST(read_file(m / "over") == "2");
  BOOST_TEST(read_file(m / "new2") == "2");
  BOOST_TEST(read_file(m / "new3") == "3");
  BOOST_TEST(!fs::exists(m / "gone"));
  BOOST_TEST(!fs::exists(m / "dir" / "inner"));  // the dir was deleted, then made again
  BOOST_TEST(read_file(m / "dir" / "again") == "3");
  std::vector<std::string> expected = {"dir", "keep", "new2", "new3", "over"};
  BOOST_TEST(names_in(m.path()) == expected, boost::test_tools::per_element());
  // The middle layer on its own still shows the deletion, the bottom one still has the files.
  auto mid = h.sn->view("mid", "l2");
  REQUIRE_OK(mid);
  Mounted mm(*mid, h.target());
  BOOST_TEST(!fs::exists(mm / "gone"));
  auto bottom = h.sn->view("bottom", "l1");
  REQUIRE_OK(bottom);
  Mounted mb(*bottom, h.target());
  BOOST_TEST(read_file(mb / "gone") == "1");
}

void check_commit_twice_fails(Harness& h) {
  REQUIRE_OK(h.sn->prepare("a", ""));
  REQUIRE_OK(h.sn->commit("c", "a"));
  CHECK_KIND(h.sn->commit("c2", "a"), ErrorKind::not_found);
  CHECK_KIND(h.sn->commit("c3", "c"), ErrorKind::failed_precondition);
  REQUIRE_OK(h.sn->prepare("b", ""));
  CHECK_KIND(h.sn->commit("c", "b"), ErrorKind::already_exists);
  auto b = h.sn->stat("b");
  REQUIRE_OK(b);
  BOOST_TEST(b->kind == Kind::active);  // a refused commit changes nothing
}

void check_view_cannot_be_committed(Harness& h) {
  h.layer("base", "", {{"f", "1"}});
  REQUIRE_OK(h.sn->view("v", "base"));
  CHECK_KIND(h.sn->commit("n", "v"), ErrorKind::failed_precondition);
  CHECK_KIND(h.sn->stat("n"), ErrorKind::not_found);
  REQUIRE_OK(h.sn->view("v0", ""));
  CHECK_KIND(h.sn->commit("n", "v0"), ErrorKind::failed_precondition);
}

void check_remove_parent_with_children_refused(Harness& h) {
  h.layer("base", "", {{"f", "1"}});
  REQUIRE_OK(h.sn->prepare("child", "base"));
  REQUIRE_OK(h.sn->view("v", "base"));
  CHECK_KIND(h.sn->remove("base"), ErrorKind::failed_precondition);
  REQUIRE_OK(h.sn->remove("child"));
  CHECK_KIND(h.sn->remove("base"), ErrorKind::failed_precondition);
  REQUIRE_OK(h.sn->remove("v"));
  REQUIRE_OK(h.sn->remove("base"));
  CHECK_KIND(h.sn->stat("base"), ErrorKind::not_found);
}

void check_parent_must_be_committed(Harness& h) {
  REQUIRE_OK(h.sn->prepare("a", ""));
  CHECK_KIND(h.sn->prepare("b", "a"), ErrorKind::failed_precondition);
  REQUIRE_OK(h.sn->view("v", ""));
  CHECK_KIND(h.sn->view("w", "v"), ErrorKind::failed_precondition);
  CHECK_KIND(h.sn->stat("b"), ErrorKind::not_found);
}

void check_unknown_key_not_found(Harness& h) {
  CHECK_KIND(h.sn->stat("nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->mounts("nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->commit("n", "nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->remove("nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->usage("nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->layout("nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->prepare("k", "nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->view("k", "nope"), ErrorKind::not_found);
  CHECK_KIND(h.sn->stat("k"), ErrorKind::not_found);
}

void check_duplicate_key_already_exists(Harness& h) {
  REQUIRE_OK(h.sn->prepare("a", ""));
  CHECK_KIND(h.sn->prepare("a", ""), ErrorKind::already_exists);
  CHECK_KIND(h.sn->view("a", ""), ErrorKind::already_exists);
  REQUIRE_OK(h.sn->commit("c", "a"));
  CHECK_KIND(h.sn->prepare("c", ""), ErrorKind::already_exists);
  CHECK_KIND(h.sn->view("c", "c"), ErrorKind::already_exists);
  // Keys are names, not paths.
  REQUIRE_OK(h.sn->prepare("sha256:abc/with/slashes", "c"));
  REQUIRE_OK(h.sn->stat("sha256:abc/with/slashes"));
}

void check_stat_and_walk_report_kinds(Harness& h) {
  h.layer("base", "", {{"f", "1"}});
  REQUIRE_OK(h.sn->prepare("act", "base"));
  REQUIRE_OK(h.sn->view("vw", "base"));
  std::map<std::string, std::pair<Kind, std::string>> seen;
  REQUIRE_OK(h.sn->walk([&](const Info& i) { seen[i.name] = {i.kind, i.parent}; }));
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST((seen["base"] == std::pair<Kind, std::string>{Kind::committed, ""}));
  BOOST_TEST((seen["act"] == std::pair<Kind, std::string>{Kind::active, "base"}));
  BOOST_TEST((seen["vw"] == std::pair<Kind, std::string>{Kind::view, "base"}));
  for (const auto& [name, kp] : seen) {
    auto info = h.sn->stat(name);
    REQUIRE_OK(info);
    BOOST_TEST(info->kind == kp.first);
    BOOST_TEST(info->parent == kp.second);
  }
  BOOST_TEST(to_string(Kind::view) == "view");
}

void check_usage_counts_bytes(Harness& h) {
  h.layer("base", "", {{"big-in-parent", std::string(50000, 'p')}});
  auto mounts = h.sn->prepare("a", "base");
  REQUIRE_OK(mounts);
  auto before = h.sn->usage("a");
  REQUIRE_OK(before);
  {
    Mounted m(*mounts, h.target());
    write_file(m / "f", std::string(10000, 'x'));
    fs::create_hard_link(m / "f", m / "f-link");
  }
  auto after = h.sn->usage("a");
  REQUIRE_OK(after);
  BOOST_TEST(after->size_bytes - before->size_bytes == 10000);  // the link counts once
  BOOST_TEST(after->inodes - before->inodes == 1);
  REQUIRE_OK(h.sn->commit("c", "a"));
  auto committed = h.sn->usage("c");
  REQUIRE_OK(committed);
  BOOST_TEST(committed->size_bytes == after->size_bytes);
  auto base = h.sn->usage("base");
  REQUIRE_OK(base);
  BOOST_TEST(base->size_bytes == 50000);
}

void check_mounts_of_active_are_writable_and_view_read_only(Harness& h) {
  h.layer("l1", "", {{"f", "1"}});
  h.layer("l2", "l1", {{"g", "2"}});
  auto act = h.sn->prepare("act", "l2");
  REQUIRE_OK(act);
  Mounted ma(*act, h.target());
  BOOST_TEST(create_errno(ma / "new") == 0);
  write_file(ma / "f", "changed");  // copy-up of a file from a lower layer
  BOOST_TEST(read_file(ma / "f") == "changed");
  for (const auto& [key, parent] : std::vector<std::pair<std::string, std::string>>{
           {"v-empty", ""}, {"v-one", "l1"}, {"v-chain", "l2"}}) {
    auto v = h.sn->view(key, parent);
    REQUIRE_OK(v);
    Mounted mv(*v, h.target());
    BOOST_TEST(create_errno(mv / "new") == EROFS, key);
  }
  // The active's writes stay in the active.
  auto v = h.sn->view("v-check", "l2");
  REQUIRE_OK(v);
  Mounted mv(*v, h.target());
  BOOST_TEST(read_file(mv / "f") == "1");
  BOOST_TEST(!fs::exists(mv / "new"));
  CHECK_KIND(h.sn->mounts("l1"), ErrorKind::failed_precondition);
}

void check_reopen_after_restart_keeps_metadata(Harness& h) {
  h.layer("base", "", {{"f", "base"}});
  auto act = h.sn->prepare("act", "base");
  REQUIRE_OK(act);
  {
    Mounted m(*act, h.target());
    write_file(m / "g", "active");
  }
  REQUIRE_OK(h.sn->view("vw", "base"));
  auto created = h.sn->stat("act");
  REQUIRE_OK(created);
  h.sn.reset();
  h.open();
  auto info = h.sn->stat("act");
  REQUIRE_OK(info);
  BOOST_TEST(info->kind == Kind::active);
  BOOST_TEST(info->parent == "base");
  BOOST_TEST(info->created_ns == created->created_ns);
  auto vw = h.sn->stat("vw");
  REQUIRE_OK(vw);
  BOOST_TEST(vw->kind == Kind::view);
  auto mounts = h.sn->mounts("act");
  REQUIRE_OK(mounts);
  BOOST_TEST((*mounts == *act));
  {
    Mounted m(*mounts, h.target());
    BOOST_TEST(read_file(m / "f") == "base");
    BOOST_TEST(read_file(m / "g") == "active");
  }
  // A new snapshot gets its own directory, not one of the old ones.
  auto fresh = h.sn->prepare("fresh", "");
  REQUIRE_OK(fresh);
  Mounted m(*fresh, h.target());
  BOOST_TEST(names_in(m.path()).empty());
  // A second snapshotter on the same root is refused while this one holds it.
  auto second = open_snapshotter(h.backend, h.root());
  CHECK_KIND(second, ErrorKind::conflict);
}

void check_remove_active_cleans_up_dirs(Harness& h) {
  h.layer("base", "", {{"f", "1"}});
  auto entries_before = names_in(h.root() / "snapshots");
  auto act = h.sn->prepare("act", "base");
  REQUIRE_OK(act);
  auto layout = h.sn->layout("act");
  REQUIRE_OK(layout);
  BOOST_TEST(fs::is_directory(layout->upper));
  BOOST_TEST(layout->lowers.size() == 1u);
  BOOST_TEST(layout->overlay_format == (h.backend != "copy"));
  {
    Mounted m(*act, h.target());
    write_file(m / "junk", "j");
  }
  REQUIRE_OK(h.sn->view("vw", "base"));
  REQUIRE_OK(h.sn->remove("act"));
  REQUIRE_OK(h.sn->remove("vw"));
  BOOST_TEST(!fs::exists(layout->upper));
  BOOST_TEST(names_in(h.root() / "snapshots") == entries_before, boost::test_tools::per_element());
  CHECK_KIND(h.sn->stat("act"), ErrorKind::not_found);
}

}  // namespace

#define SNAPSHOT_CHECKS(X)                            \
  X(prepare_on_empty_parent)                          \
  X(prepare_write_commit_view_reads_it)               \
  X(chain_of_three_with_deletion)                     \
  X(commit_twice_fails)                               \
  X(view_cannot_be_committed)                         \
  X(remove_parent_with_children_refused)              \
  X(parent_must_be_committed)                         \
  X(unknown_key_not_found)                            \
  X(duplicate_key_already_exists)                     \
  X(stat_and_walk_report_kinds)                       \
  X(usage_counts_bytes)                               \
  X(mounts_of_active_are_writable_and_view_read_only) \
  X(reopen_after_restart_keeps_metadata)              \
  X(remove_active_cleans_up_dirs)

#define SNAPSHOT_CASE(name)       \
  BOOST_AUTO_TEST_CASE(name) {    \
    run(kBackend, &check_##name); \
  }

#define SNAPSHOT_SUITE(backend)                   \
  BOOST_AUTO_TEST_SUITE(backend)                  \
  constexpr std::string_view kBackend = #backend; \
  SNAPSHOT_CHECKS(SNAPSHOT_CASE)                  \
  BOOST_AUTO_TEST_SUITE_END()

SNAPSHOT_SUITE(copy)
SNAPSHOT_SUITE(overlay)
SNAPSHOT_SUITE(fuse)

BOOST_AUTO_TEST_CASE(unknown_backend_is_invalid_argument) {
  testing::TempDir tmp;
  CHECK_KIND(open_snapshotter("zfs", tmp / "root"), ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(root_of_one_backend_refuses_another) {
  testing::TempDir tmp;
  {
    auto s = open_snapshotter("copy", tmp / "root");
    REQUIRE_OK(s);
  }
  CHECK_KIND(open_snapshotter("overlay", tmp / "root"), ErrorKind::failed_precondition);
}
