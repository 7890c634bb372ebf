// Snapshotter: layered filesystem snapshots, in containerd's vocabulary.
//
//   key      the name of an active or view snapshot, chosen by the caller; unique.
//   name     the name of a committed snapshot; shares the namespace with keys.
//   parent   a committed snapshot that a new snapshot is based on ("" for an empty base).
//   active   a writable snapshot made by prepare(key, parent); commit(name, key) turns it
//            into a committed snapshot and the key goes away.
//   view     a read-only snapshot of a parent made by view(key, parent); it cannot be committed.
//   committed  immutable; the only kind that can be a parent, and it cannot be removed while it
//            has children.
//
// The snapshotter never mounts anything itself: prepare, view and mounts return the mounts that
// make the snapshot's filesystem (runtime/sys/mount.h performs them). A layer is unpacked by
// prepare -> mount -> apply -> unmount -> commit; a container's root is prepare on top of the
// image's top layer.
//
// Backends: "copy" (plain directories; each snapshot is a full copy; the reference),
// "overlay" (kernel overlayfs), "fuse" (gantry-fuse, our union filesystem on libfuse3).
// The upper directory of overlay and fuse uses overlay's on-disk format (whiteouts as 0:0
// character devices, opaque directories with trusted.overlay.opaque=y), so one diff works for
// both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/env.h"
#include "model/base/result.h"
#include "runtime/sys/mount.h"

namespace gantry::runtime::snapshot {

using sys::Mount;

enum class Kind { active, view, committed };
std::string_view to_string(Kind kind);
std::ostream& operator<<(std::ostream& os, Kind kind);

struct Info {
  std::string name;  // key or name
  std::string parent;
  Kind kind = Kind::active;
  std::map<std::string, std::string> labels;
  int64_t created_ns = 0;
  int64_t updated_ns = 0;
};

struct Usage {
  int64_t size_bytes = 0;  // bytes this snapshot adds over its parent
  int64_t inodes = 0;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  virtual std::string_view backend() const = 0;

  // Errors: not_found (unknown key or parent), already_exists (key taken),
  // failed_precondition (parent is not committed; commit of a view; remove of a parent).
  virtual Result<Info> stat(std::string_view key) = 0;
  virtual Result<std::vector<Mount>> mounts(std::string_view key) = 0;
  virtual Result<std::vector<Mount>> prepare(std::string_view key, std::string_view parent) = 0;
  virtual Result<std::vector<Mount>> view(std::string_view key, std::string_view parent) = 0;
  virtual Result<void> commit(std::string_view name, std::string_view key) = 0;
  virtual Result<void> remove(std::string_view key) = 0;
  virtual Result<void> walk(const std::function<void(const Info&)>& fn) = 0;
  virtual Result<Usage> usage(std::string_view key) = 0;

  // Where the upper (writable) directory of an active snapshot is, and the directories of its
  // parent chain (top first); what a differ needs to turn the snapshot into a layer.
  struct Layout {
    std::filesystem::path upper;                // the active directory itself for "copy"
    std::vector<std::filesystem::path> lowers;  // committed parents, top first
    bool overlay_format = false;                // upper holds overlay whiteouts (overlay, fuse)
  };
  virtual Result<Layout> layout(std::string_view key) = 0;
};

// Opens (creating when absent) the snapshotter of the backend under root.
// backend: "copy", "overlay" or "fuse"; anything else is invalid_argument. A root made by one
// backend opened as another is failed_precondition; a root that another open snapshotter holds
// is conflict (one owner at a time). Times (created_ns, updated_ns) come from env; the first
// form uses the system's clock.
Result<std::unique_ptr<Snapshotter>> open_snapshotter(std::string_view backend,
                                                      const std::filesystem::path& root);
Result<std::unique_ptr<Snapshotter>> open_snapshotter(std::string_view backend,
                                                      const std::filesystem::path& root, Env& env);

}  // namespace gantry::runtime::snapshot
