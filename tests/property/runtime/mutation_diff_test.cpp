// What a container does to an active snapshot, diffed by the runtime, is the layer the model
// predicts, byte for byte.
//
// A base tree T0 (gen_tree) is committed as a snapshot by applying the tar of diff({}, T0); an
// active snapshot on it is mounted and random mutations (tests/support/layers/mutations.h) are
// made through the mounted view and on the model (T0 -> T1), each with its mtime stamps. After
// unmounting, the runtime diffs the snapshot's layout (the upper over the lowers for overlay and
// fuse, the active copy against its parent for copy) into a tar, which must be the model's
// canonical_tar(diff(T0, T1)). On a mismatch both tars are shown as changesets (model read_tar).
//
// One property per backend, 30 cases each by default. Reproduce a failure with the seed printed:
//   GANTRY_BIN=<build>/bin RC_PARAMS="seed=<seed>"
//   <build>/tests/property_runtime_mutation_diff_test
//     --run_test=<backend>_diff_of_mutations_is_the_model_layer
#include <boost/test/unit_test.hpp>

#include "model/layers/canonical_tar.h"
#include "model/layers/diff.h"
#include "runtime/image/layer_diff.h"
#include "tests/property/runtime/harness.h"
#include "tests/support/layers/disk.h"
#include "tests/support/layers/generators.h"
#include "tests/support/layers/mutations.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using namespace gantry::model::layers;
namespace tl = gantry::testing::layers;
namespace tp = gantry::testing::property;
namespace snapshot = gantry::runtime::snapshot;
namespace image = gantry::runtime::image;

namespace {

constexpr int kCases = 30;

std::string as_changeset(const std::string& tar) {
  auto c = read_tar(tar);
  return c ? tp::show(*c) : "(model cannot read it: " + c.error().to_string() + ")\n";
}

Result<std::string> runtime_diff(snapshot::Snapshotter& sn, std::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(auto where, sn.layout(key));
  std::string bytes;
  if (where.overlay_format) {
    GANTRY_TRY(image::diff_overlay_upper(where.upper, where.lowers, image::string_sink(bytes)));
  } else {
    std::filesystem::path lower = where.lowers.empty() ? std::filesystem::path() : where.lowers[0];
    GANTRY_TRY(image::diff_directories(lower, where.upper, image::string_sink(bytes)));
  }
  return bytes;
}

void check_mutation_diff(const std::string& backend) {
  if (!tp::backend_available(backend)) return;
  tp::check_property(backend + " diff of mutations is the model layer", kCases, [backend] {
    tl::TreeGenOptions options = tp::real_tree_options();
    Tree t0 = *tl::gen_tree(options);
    auto mutations = *tl::gen_mutations(t0);
    Tree t1 = t0;
    for (const auto& m : mutations) {
      auto applied = tl::apply_to_model(t1, m);
      if (!applied) RC_FAIL("model: " + tp::show(m) + ": " + applied.error().to_string());
    }

    testing::TempDir tmp("gantry-prop-mut");
    auto sn = snapshot::open_snapshotter(backend, tmp / "root");
    if (!sn) RC_FAIL("open " + backend + ": " + sn.error().to_string());
    auto base_tar = canonical_tar(diff(Tree(), t0));
    if (!base_tar) RC_FAIL("model tar of T0: " + base_tar.error().to_string());
    auto prepared = (*sn)->prepare("base-active", "");
    if (!prepared) RC_FAIL("prepare base: " + prepared.error().to_string());
    auto base_applied = tp::apply_into(**sn, "base-active", *base_tar);
    if (!base_applied) RC_FAIL("apply base: " + base_applied.error().to_string());
    auto committed = (*sn)->commit("base", "base-active");
    if (!committed) RC_FAIL("commit base: " + committed.error().to_string());

    auto mounts = (*sn)->prepare("work", "base");
    if (!mounts) RC_FAIL("prepare work: " + mounts.error().to_string());
    {
      tp::Mounted mounted(*mounts, tmp / "mnt");
      if (!mounted.ok()) RC_FAIL("mount: " + mounted.error());
      for (size_t i = 0; i < mutations.size(); ++i) {
        auto done = tl::apply_to_directory(mounted.path(), mutations[i]);
        if (!done)
          RC_FAIL("mutation " + std::to_string(i + 1) + " (" + tp::show(mutations[i]) +
                  ") through the view: " + done.error().to_string());
      }
      auto unmounted = mounted.unmount();
      if (!unmounted) RC_FAIL("unmount: " + unmounted.error().to_string());
    }

    auto want = canonical_tar(diff(t0, t1));
    if (!want) RC_FAIL("model tar of the diff: " + want.error().to_string());
    auto got = runtime_diff(**sn, "work");
    if (!got) RC_FAIL("runtime diff: " + got.error().to_string());
    if (*got != *want) {
      RC_FAIL("runtime diff differs from the model's\nruntime:\n" + as_changeset(*got) +
              "model:\n" + as_changeset(*want) + "T0:\n" + tp::show(t0) + "\nT1:\n" + tp::show(t1));
    }
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(copy_diff_of_mutations_is_the_model_layer) {
  check_mutation_diff("copy");
}
BOOST_AUTO_TEST_CASE(overlay_diff_of_mutations_is_the_model_layer) {
  check_mutation_diff("overlay");
}
BOOST_AUTO_TEST_CASE(fuse_diff_of_mutations_is_the_model_layer) {
  check_mutation_diff("fuse");
}
