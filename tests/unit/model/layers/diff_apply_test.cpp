// The hard cases of diff and apply (docs/layers.md), each small enough to read.
#include <boost/test/unit_test.hpp>

#include "model/layers/apply.h"
#include "model/layers/diff.h"

using namespace gantry;
using namespace gantry::model::layers;

namespace {

Tree make(std::initializer_list<std::pair<std::string, Node>> nodes) {
  Tree t;
  for (const auto& [p, n] : nodes) BOOST_REQUIRE(t.put(p, n));
  return t;
}

Tree applied(const Tree& t, const Changeset& c) {
  auto r = apply(t, c);
  if (!r) BOOST_FAIL(r.error().to_string());
  return *r;
}

Node stamped(Node n, int64_t mtime) {
  n.mtime = mtime;
  return n;
}

// apply(L, diff(L, U)) == U, with the diff printed on failure.
void round_trip(const Tree& lower, const Tree& upper) {
  Changeset d = diff(lower, upper);
  BOOST_TEST(d.is_sorted());
  BOOST_TEST(applied(lower, d) == upper, "diff:\n" << d);
}

}  // namespace

BOOST_AUTO_TEST_CASE(whiteout_of_a_directory_with_children_is_one_entry) {
  Tree lower = make({{"d", Node::dir()},
                     {"d/x", Node::dir()},
                     {"d/x/a", Node::file("a")},
                     {"d/y", Node::file("y")}});
  Tree upper = lower;
  upper.remove("d/x");
  Changeset d = diff(lower, upper);
  BOOST_REQUIRE_EQUAL(d.entries.size(), 2u);
  BOOST_TEST(d.entries[0] == Entry::upsert("d", Node::dir()));  // ancestor, unchanged
  BOOST_TEST(d.entries[1] == Entry::whiteout("d/x"));
  BOOST_TEST(d.entries[1].tar_name() == "d/.wh.x");
  round_trip(lower, upper);
}

BOOST_AUTO_TEST_CASE(directory_replaced_by_a_file_and_back) {
  Tree with_dir = make({{"p", Node::dir()},
                        {"p/c", Node::file("c")},
                        {"p/d", Node::dir()},
                        {"p/d/e", Node::fifo()}});
  Tree with_file = make({{"p", Node::file("now a file")}});
  Changeset down = diff(with_dir, with_file);
  // No whiteouts below a directory that became a file.
  BOOST_REQUIRE_EQUAL(down.entries.size(), 1u);
  BOOST_TEST(down.entries[0].kind == EntryKind::upsert);
  round_trip(with_dir, with_file);
  round_trip(with_file, with_dir);
  Tree back = applied(applied(with_dir, down), diff(with_file, with_dir));
  BOOST_TEST(back == with_dir);
}

BOOST_AUTO_TEST_CASE(opaque_directory_re_adds_children) {
  Tree lower = make({{"d", Node::dir()},
                     {"d/old", Node::file("old")},
                     {"d/keep", Node::dir()},
                     {"d/keep/below", Node::file("b")},
                     {"e", Node::file("e")}});
  Changeset layer;
  layer.entries = {Entry::upsert("d", stamped(Node::dir(0700), 9)), Entry::opaque("d"),
                   Entry::upsert("d/keep", Node::dir()), Entry::upsert("d/new", Node::file("n")),
                   Entry::upsert("d/sub/deep", Node::file("x"))};
  layer.sort();
  BOOST_TEST(layer.entries[1].kind == EntryKind::opaque);  // right after its directory
  Tree want = make({{"d", stamped(Node::dir(0700), 9)},
                    {"d/keep", Node::dir()},
                    {"d/new", Node::file("n")},
                    {"d/sub", Node::dir()},
                    {"d/sub/deep", Node::file("x")},
                    {"e", Node::file("e")}});
  BOOST_TEST(applied(lower, layer) == want);
  // Wherever the marker stands in the tar, the effect is the same.
  std::rotate(layer.entries.begin(), layer.entries.begin() + 1, layer.entries.end());
  BOOST_TEST(applied(lower, layer) == want);
}

BOOST_AUTO_TEST_CASE(hardlinks_across_layers) {
  Tree base = make({{"bin", Node::dir()}, {"bin/tool", Node::file("ELF", 0755)}});
  // A later layer adds a second name for the file below it.
  Changeset link;
  link.entries = {Entry::upsert("sbin", Node::dir()),
                  Entry::hardlink("sbin/tool", "bin/tool", *base.find("bin/tool"))};
  Tree linked = applied(base, link);
  BOOST_TEST(linked.same_inode("bin/tool", "sbin/tool"));
  BOOST_REQUIRE(linked.set_content("sbin/tool", "ELF2"));
  BOOST_TEST(linked.find("bin/tool")->content == "ELF2");  // one inode, two names
  // diff writes the group in full once, then links to the first member.
  Changeset d = diff(base, linked);
  round_trip(base, linked);
  bool has_link = false;
  for (const auto& e : d.entries) {
    if (e.kind == EntryKind::hardlink) {
      BOOST_TEST(e.path == "sbin/tool");
      BOOST_TEST(e.link_target == "bin/tool");
      has_link = true;
    }
  }
  BOOST_TEST(has_link);
  // Breaking the group changes the group of the remaining member too.
  Tree split = linked;
  split.remove("sbin/tool");
  BOOST_REQUIRE(split.put("sbin/tool", Node::file("ELF2", 0755)));
  round_trip(linked, split);
  // A hardlink to a missing or non-regular target is invalid_argument.
  Changeset bad;
  bad.entries = {Entry::hardlink("x", "missing", Node::file(""))};
  BOOST_TEST(apply(base, bad).error().kind() == ErrorKind::invalid_argument);
  bad.entries = {Entry::hardlink("x", "bin", Node::file(""))};
  BOOST_TEST(apply(base, bad).error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(symlinks_pointing_outside_the_root_are_plain_values) {
  Tree lower;
  Tree upper = make({{"esc", Node::symlink("../../../../etc/shadow")},
                     {"abs", Node::symlink("/etc/passwd")},
                     {"root", Node::symlink("/")}});
  Changeset d = diff(lower, upper);
  BOOST_TEST(d.entries.size() == 3u);
  round_trip(lower, upper);
  // A layer can not reach through a symlink: a path below one is refused.
  Changeset through;
  through.entries = {Entry::upsert("root/etc/passwd", Node::file("pwned"))};
  BOOST_TEST(apply(upper, through).error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(whiteout_of_a_missing_name_changes_nothing) {
  Tree t = make({{"d", Node::dir()}, {"d/a", Node::file("a")}});
  Changeset c;
  c.entries = {Entry::whiteout("d/nothing"), Entry::whiteout("nothing"),
               Entry::whiteout("missing/parent/x")};
  BOOST_TEST(applied(t, c) == t);
}

BOOST_AUTO_TEST_CASE(missing_parents_are_made_0755_root_mtime_0) {
  Changeset c;
  c.entries = {Entry::upsert("a/b/c", Node::file("c"))};
  Tree t = applied(Tree(), c);
  BOOST_TEST(*t.find("a") == Node::dir(0755));
  BOOST_TEST(*t.find("a/b") == Node::dir(0755));
}

BOOST_AUTO_TEST_CASE(directory_onto_directory_keeps_children) {
  Tree t = make({{"d", Node::dir()}, {"d/a", Node::file("a")}});
  Changeset c;
  c.entries = {Entry::upsert("d", stamped(Node::dir(0711), 42))};
  Tree after = applied(t, c);
  BOOST_TEST(after.contains("d/a"));
  BOOST_TEST(after.find("d")->mode == 0711u);
  // Anything else replaces the directory with all it holds.
  c.entries = {Entry::upsert("d", Node::symlink("elsewhere"))};
  BOOST_TEST(!applied(t, c).contains("d/a"));
}

BOOST_AUTO_TEST_CASE(canonical_order) {
  Changeset c;
  c.entries = {Entry::upsert("a-b", Node::file("")),
               Entry::upsert("a/b", Node::file("")),
               Entry::whiteout("a/c"),
               Entry::opaque("a"),
               Entry::upsert("a/-", Node::file("")),
               Entry::upsert("a", Node::dir())};
  c.sort();
  std::vector<std::string> names;
  for (const auto& e : c.entries) names.push_back(e.tar_name());
  std::vector<std::string> want = {"a/", "a/.wh..wh..opq", "a/-", "a/.wh.c", "a/b", "a-b"};
  BOOST_TEST(names == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tree_refuses_what_layers_cannot_carry) {
  Tree t;
  BOOST_TEST(t.put("a/b", Node::file("")).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(t.put(".wh.x", Node::file("")).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(t.put("../x", Node::file("")).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(t.put("/x", Node::file("")).error().kind() == ErrorKind::invalid_argument);
  Node f = Node::fifo();
  f.xattrs["user.a"] = "1";
  BOOST_TEST(t.put("f", f).error().kind() == ErrorKind::invalid_argument);
  Node g = Node::file("");
  g.xattrs["trusted.overlay.opaque"] = "y";
  BOOST_TEST(t.put("g", g).error().kind() == ErrorKind::invalid_argument);
}
