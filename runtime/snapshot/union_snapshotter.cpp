// The "overlay" and "fuse" backends: a snapshot's directory holds only what it changes over its
// parents, in overlay's on-disk format (fs/, plus work/ while active for overlayfs). Mounts
// stack the parents' fs directories under it: with kernel overlayfs, or with gantry-fuse.
#include <sys/stat.h>

#include <memory>

#include "runtime/snapshot/dir_snapshotter.h"

namespace gantry::runtime::snapshot {

namespace {

namespace fs = std::filesystem;

std::string lowerdir(const std::vector<fs::path>& parents) {
  std::string s = "lowerdir=";
  for (size_t i = 0; i < parents.size(); ++i) {
    if (i > 0) s += ':';
    s += parents[i].string();
  }
  return s;
}

class UnionSnapshotter final : public DirSnapshotter {
 public:
  UnionSnapshotter(const fs::path& root, Env& env, std::string_view backend)
      : DirSnapshotter(root, env), backend_(backend) {}
  using DirSnapshotter::open;

  std::string_view backend() const override { return backend_; }

 protected:
  bool kernel() const { return backend_ == "overlay"; }

  Result<void> populate(const Place& place) override {
    if (mkdir(place.fs().c_str(), 0755) != 0) {
      return errno_error(errno, "create '" + place.fs().string() + "'");
    }
    if (kernel() && place.kind == Kind::active && mkdir(place.work().c_str(), 0700) != 0) {
      return errno_error(errno, "create '" + place.work().string() + "'");
    }
    return ok();
  }

  std::vector<Mount> mounts_of(const Place& place) const override {
    const bool active = place.kind == Kind::active;
    // Nothing below to merge with: the directory itself.
    if (place.parents.empty()) {
      return {Mount{"bind", place.fs().string(), {"rbind", active ? "rw" : "ro"}}};
    }
    // A view of one layer is that layer, read-only.
    if (!active && place.parents.size() == 1) {
      return {Mount{"bind", place.parents.front().string(), {"rbind", "ro"}}};
    }
    std::vector<std::string> options = {lowerdir(place.parents)};
    if (active) options.push_back("upperdir=" + place.fs().string());
    if (kernel()) {
      if (active) options.push_back("workdir=" + place.work().string());
      // The differ reads the upper directory in overlay's plain format: no index, no
      // redirects, no metadata-only copy-ups, whatever the module's defaults are.
      for (const char* o : {"index=off", "redirect_dir=off", "metacopy=off"}) {
        options.push_back(o);
      }
      return {Mount{"overlay", "overlay", options}};
    }
    return {Mount{"fuse.gantry", "gantry", options}};
  }

  void seal(const Place& place) override {
    std::error_code ec;
    fs::remove_all(place.work(), ec);  // best effort: open() retries
  }

  Layout layout_of(const Place& place) const override {
    Layout l;
    l.upper = place.fs();
    l.lowers = place.parents;
    l.overlay_format = true;
    return l;
  }

 private:
  std::string backend_;
};

}  // namespace

Result<std::unique_ptr<Snapshotter>> open_union_snapshotter(const fs::path& root, Env& env,
                                                            std::string_view backend) {
  // overlay's option syntax has no escapes: these characters would split a path.
  for (char c : {',', ':'}) {
    if (root.string().find(c) != std::string::npos) {
      return Error(ErrorKind::invalid_argument, "snapshotter root '" + root.string() + "': the " +
                                                    std::string(backend) +
                                                    " backend cannot use a path with '" + c + "'");
    }
  }
  auto s = std::make_unique<UnionSnapshotter>(root, env, backend);
  GANTRY_TRY(s->open(backend));
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace gantry::runtime::snapshot
