// Each snapshotter's mounted view of a random stack of layers is the model's union of it.
//
// For up to 8 layers of random trees (every entry type, hardlinks, whiteouts of present and
// missing names, opaque directories; gen_stack), each layer's canonical tar (the model's bytes)
// is applied the way runtime/unpack does it: prepare on the previous layer, apply_layer into
// the snapshot's upper directory (overlay whiteouts over the lowers for overlay and fuse, plain
// for copy and for the bottom layer), commit. The apply must report the model's diff_id. Then a
// view of the top is mounted, read back with read_tree and compared with union_of(stack).
//
// One property per backend, 40 cases each by default. Reproduce a failure with the seed printed:
//   GANTRY_BIN=<build>/bin RC_PARAMS="seed=<seed>" <build>/tests/property_runtime_union_view_test
//     --run_test=<backend>_view_is_the_model_union
#include <boost/test/unit_test.hpp>

#include "model/layers/apply.h"
#include "model/layers/canonical_tar.h"
#include "tests/property/runtime/harness.h"
#include "tests/support/layers/disk.h"
#include "tests/support/layers/generators.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using namespace gantry::model::layers;
namespace tl = gantry::testing::layers;
namespace tp = gantry::testing::property;
namespace snapshot = gantry::runtime::snapshot;

namespace {

constexpr int kCases = 40;

void check_union_view(const std::string& backend) {
  if (!tp::backend_available(backend)) return;
  tp::check_property(backend + " view is the model union", kCases, [backend] {
    auto stack = *tl::gen_stack(8, tp::real_tree_options());
    for (auto& layer : stack) tp::make_realizable(layer);
    auto want = union_of(stack);
    if (!want) RC_FAIL("model union: " + want.error().to_string());

    testing::TempDir tmp("gantry-prop-union");
    auto sn = snapshot::open_snapshotter(backend, tmp / "root");
    if (!sn) RC_FAIL("open " + backend + ": " + sn.error().to_string());
    std::string parent;
    for (size_t i = 0; i < stack.size(); ++i) {
      std::string at = "layer " + std::to_string(i + 1) + " of " + std::to_string(stack.size());
      auto tar = canonical_tar(stack[i]);
      if (!tar) RC_FAIL(at + ": model tar: " + tar.error().to_string());
      std::string key = "extract-" + std::to_string(i);
      auto prepared = (*sn)->prepare(key, parent);
      if (!prepared) RC_FAIL(at + ": prepare: " + prepared.error().to_string());
      auto applied = tp::apply_into(**sn, key, *tar);
      if (!applied)
        RC_FAIL(at + ": apply: " + applied.error().to_string() + "\n" + tp::show(stack[i]));
      auto want_id = diff_id(stack[i]);
      RC_ASSERT(want_id.has_value());
      if (applied->diff_id != *want_id)
        RC_FAIL(at + ": apply reports diff_id " + applied->diff_id.str() + ", model " +
                want_id->str());
      std::string name = "layer-" + std::to_string(i);
      auto committed = (*sn)->commit(name, key);
      if (!committed) RC_FAIL(at + ": commit: " + committed.error().to_string());
      parent = name;
    }

    auto mounts = (*sn)->view("view", parent);
    if (!mounts) RC_FAIL("view: " + mounts.error().to_string());
    tp::Mounted mounted(*mounts, tmp / "mnt");
    if (!mounted.ok()) RC_FAIL("mount view: " + mounted.error());
    auto got = tl::read_tree(mounted.path());
    auto unmounted = mounted.unmount();
    if (!got) RC_FAIL("read view: " + got.error().to_string());
    if (!(*got == *want)) {
      std::string layers;
      for (size_t i = 0; i < stack.size(); ++i)
        layers += "layer " + std::to_string(i + 1) + ":\n" + tp::show(stack[i]);
      RC_FAIL("view (left) differs from the model's union (right):\n" + tl::tree_diff(*got, *want) +
              layers);
    }
    if (!unmounted) RC_FAIL("unmount: " + unmounted.error().to_string());
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(copy_view_is_the_model_union) {
  check_union_view("copy");
}
BOOST_AUTO_TEST_CASE(overlay_view_is_the_model_union) {
  check_union_view("overlay");
}
BOOST_AUTO_TEST_CASE(fuse_view_is_the_model_union) {
  check_union_view("fuse");
}
