// What the model-vs-system properties of this folder share: a RapidCheck run with a per-property
// default case count (RC_PARAMS still wins), backend availability (skip locally, fail in CI),
// a mount guard that always unmounts, and layer application the way runtime/unpack does it.
#pragma once

#include <rapidcheck.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "model/layers/canonical_tar.h"
#include "model/layers/changeset.h"
#include "runtime/image/layer_apply.h"
#include "runtime/snapshot/snapshotter.h"
#include "runtime/sys/mount.h"
#include "runtime/sys/process.h"
#include "tests/support/layers/generators.h"
#include "tests/support/require.h"

namespace gantry::testing::property {

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Runs the property with max_success cases unless RC_PARAMS names max_success; a failure
// (with RapidCheck's seed and shrunk case) fails the Boost test.
template <class Testable>
void check_property(const std::string& name, int max_success, Testable&& testable) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* env = std::getenv("RC_PARAMS");
  if (env == nullptr || std::string(env).find("max_success") == std::string::npos)
    params.maxSuccess = max_success;
  rc::detail::TestMetadata metadata;
  metadata.id = name;
  metadata.description = name;
  auto result = rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  std::ostringstream out;
  rc::detail::printResultMessage(result, out);
  const bool passed = result.template is<rc::detail::SuccessResult>();
  if (passed) std::cout << "- " << name << ": " << out.str() << std::endl;
  BOOST_TEST(passed, name + " (seed " + std::to_string(params.seed) +
                         ", reproduce with RC_PARAMS=\"seed=" + std::to_string(params.seed) +
                         "\")\n" + out.str());
}

inline bool backend_available(const std::string& backend) {
  if (backend == "copy") return require_root();  // bind mounts
  if (backend == "overlay") return require_overlay();
  if (!require_fuse()) return false;
  auto bin = runtime::sys::find_program("gantry-fuse", "GANTRY_FUSE_BIN");
  return require(bool(bin), "the fuse backend needs gantry-fuse: " +
                                (bin ? std::string() : bin.error().to_string()));
}

// Trees that real directories can hold: no device numbers or times outside what Linux and
// ext4 keep, symlinks 0777 without xattrs; devices only when we may mknod.
inline layers::TreeGenOptions real_tree_options() {
  layers::TreeGenOptions o;
  o.devices = is_root();
  o.symlink_xattrs = false;
  o.symlink_any_mode = false;
  o.long_names = true;
  o.odd_numbers = false;
  return o;
}

// The generators' later changes (set_mode, set_xattr) can still reach a symlink; Linux keeps
// neither, so a layer meant for a real directory gets them dropped. The union of the layers so
// changed is the union changed the same way (a symlink is always written whole).
inline void make_realizable(model::layers::Changeset& layer) {
  for (auto& e : layer.entries) {
    if (e.kind == model::layers::EntryKind::upsert &&
        e.node.type == model::layers::NodeType::symlink) {
      e.node.mode = 0777;
      e.node.xattrs.clear();
    }
  }
}

// Mounts on construction (check ok()), unmounts when it goes away or on unmount().
class Mounted {
 public:
  Mounted(const std::vector<runtime::sys::Mount>& mounts, std::filesystem::path target)
      : target_(std::move(target)) {
    std::filesystem::create_directories(target_);
    auto r = runtime::sys::mount_all(mounts, target_);
    if (r) {
      mounted_ = true;
    } else {
      error_ = r.error().to_string();
    }
  }
  ~Mounted() { (void)unmount(); }
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;

  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::filesystem::path& path() const { return target_; }
  Result<void> unmount() {
    if (!mounted_) return gantry::ok();
    mounted_ = false;
    return runtime::sys::unmount(target_);
  }

 private:
  std::filesystem::path target_;
  bool mounted_ = false;
  std::string error_;
};

// Applies a layer's tar into an active snapshot as runtime/unpack does: overlay whiteouts over
// the lowers for overlay-format backends, plain for the copy backend and the bottom layer.
inline Result<runtime::image::ApplyResult> apply_into(runtime::snapshot::Snapshotter& sn,
                                                      std::string_view key,
                                                      const std::string& tar) {
  GANTRY_ASSIGN_OR_RETURN(auto where, sn.layout(key));
  runtime::image::ApplyOptions options;
  if (where.overlay_format && !where.lowers.empty()) {
    options.whiteout_format = runtime::image::WhiteoutFormat::overlay;
    options.lowers = where.lowers;
  }
  runtime::image::BytesSource source(tar);
  return runtime::image::apply_layer(source, where.upper, options);
}

}  // namespace gantry::testing::property
