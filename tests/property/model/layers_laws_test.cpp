// Laws of the layers model: diff and apply are inverse, whiteouts of missing names do
// nothing, a stack's union is the chain of its diffs, the tar round-trips, and a tree
// survives a trip through a real directory. RapidCheck prints the seed on failure.
#include <rapidcheck.h>
#include <rapidcheck/boost_test.h>

#include <boost/test/unit_test.hpp>
#include <sstream>

#include "model/layers/apply.h"
#include "model/layers/canonical_tar.h"
#include "model/layers/diff.h"
#include "tests/support/layers/disk.h"
#include "tests/support/layers/generators.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using namespace gantry::model::layers;
namespace tl = gantry::testing::layers;

namespace {

tl::TreeGenOptions all_kinds() {
  tl::TreeGenOptions o;
  o.devices = true;
  o.symlink_xattrs = true;
  o.long_names = true;
  o.odd_numbers = true;
  return o;
}

void require_same(const Tree& got, const Tree& want, const std::string& context) {
  if (!(got == want)) RC_FAIL(context + "\n" + tl::tree_diff(got, want));
}

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

RC_BOOST_PROP(apply_of_diff_gives_the_upper_tree, ()) {
  Tree lower = *tl::gen_tree(all_kinds());
  Tree upper = *tl::gen_changed_tree(lower, all_kinds());
  Changeset d = diff(lower, upper);
  RC_ASSERT(d.is_sorted());
  auto got = apply(lower, d);
  if (!got) RC_FAIL(got.error().to_string() + "\n" + show(d));
  require_same(*got, upper, show(d));
}

RC_BOOST_PROP(whiteout_of_a_missing_name_changes_nothing, ()) {
  Tree t = *tl::gen_tree(all_kinds());
  std::vector<std::string> dirs = {""};
  for (const auto& p : t.paths())
    if (t.is_dir(p)) dirs.push_back(p);
  std::string dir = *rc::gen::elementOf(dirs);
  std::string name = *rc::gen::element<std::string>("ghost", "a", "b", "x y");
  std::string path = join_path(dir, name);
  RC_PRE(!t.contains(path));
  Changeset c;
  c.entries = {Entry::whiteout(path)};
  auto got = apply(t, c);
  RC_ASSERT(got.has_value());
  require_same(*got, t, "whiteout " + path);
}

RC_BOOST_PROP(union_of_a_stack_is_the_chain_of_its_diffs, ()) {
  auto stack = *tl::gen_stack(8, all_kinds());
  std::vector<Tree> views = {Tree()};
  for (const auto& layer : stack) {
    auto next = apply(views.back(), layer);
    if (!next) RC_FAIL(next.error().to_string());
    views.push_back(*next);
  }
  auto u = union_of(stack);
  RC_ASSERT(u.has_value());
  require_same(*u, views.back(), "union_of");
  // Re-diffing consecutive views gives layers with the same union.
  std::vector<Changeset> diffs;
  for (size_t i = 1; i < views.size(); ++i) diffs.push_back(diff(views[i - 1], views[i]));
  auto from_diffs = union_of(diffs);
  RC_ASSERT(from_diffs.has_value());
  require_same(*from_diffs, *u, "union of diffs");
}

RC_BOOST_PROP(canonical_tar_then_read_is_the_identity, ()) {
  auto stack = *tl::gen_stack(3, all_kinds());
  for (const auto& layer : stack) {
    auto bytes = canonical_tar(layer);
    if (!bytes) RC_FAIL(bytes.error().to_string());
    auto back = read_tar(*bytes);
    if (!back) RC_FAIL(back.error().to_string());
    if (!(*back == layer)) RC_FAIL(show(layer) + "read back as\n" + show(*back));
  }
}

BOOST_AUTO_TEST_CASE(materialize_then_read_tree_is_the_identity) {
  // Owners, devices and arbitrary modes need root.
  if (!testing::require_root()) return;
  bool passed = rc::check("materialize then read_tree", [] {
    tl::TreeGenOptions o;
    o.devices = true;
    o.symlink_any_mode = false;
    Tree t = *tl::gen_tree(o);
    testing::TempDir dir("gantry-layers");
    auto made = tl::materialize(t, dir.path());
    if (!made) RC_FAIL(made.error().to_string());
    auto back = tl::read_tree(dir.path());
    if (!back) RC_FAIL(back.error().to_string());
    require_same(*back, t, "read_tree");
  });
  BOOST_TEST(passed);
}
