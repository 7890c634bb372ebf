// The "copy" backend: every active or view snapshot is a full copy of its parent, mounted with a
// bind mount. Slow to prepare, but plain directories on any file system: the reference the
// union backends are checked against.
#include <sys/stat.h>

#include <cerrno>
#include <memory>

#include "runtime/snapshot/copy_tree.h"
#include "runtime/snapshot/dir_snapshotter.h"

namespace gantry::runtime::snapshot {

namespace {

class CopySnapshotter final : public DirSnapshotter {
 public:
  CopySnapshotter(const std::filesystem::path& root, Env& env) : DirSnapshotter(root, env) {}
  using DirSnapshotter::open;

  std::string_view backend() const override { return "copy"; }

 protected:
  Result<void> populate(const Place& place) override {
    if (place.parents.empty()) {
      if (mkdir(place.fs().c_str(), 0755) != 0) {
        return errno_error(errno, "create '" + place.fs().string() + "'");
      }
      return ok();
    }
    return copy_tree(place.parents.front(), place.fs());
  }

  std::vector<Mount> mounts_of(const Place& place) const override {
    std::vector<std::string> options = {"rbind"};
    options.push_back(place.kind == Kind::view ? "ro" : "rw");
    return {Mount{"bind", place.fs().string(), options}};
  }

  void seal(const Place&) override {}

  Layout layout_of(const Place& place) const override {
    Layout l;
    l.upper = place.fs();
    if (!place.parents.empty()) l.lowers = {place.parents.front()};
    l.overlay_format = false;
    return l;
  }
};

}  // namespace

Result<std::unique_ptr<Snapshotter>> open_copy_snapshotter(const std::filesystem::path& root,
                                                           Env& env) {
  auto s = std::make_unique<CopySnapshotter>(root, env);
  GANTRY_TRY(s->open("copy"));
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace gantry::runtime::snapshot
