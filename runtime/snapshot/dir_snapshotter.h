// DirSnapshotter: what every backend here shares. Snapshots live in numbered directories under
// <root>/snapshots/<id>/ (their files in fs/, overlay's work dir in work/), metadata in
// <root>/metadata.json; a lock file keeps a second snapshotter off the same root.
//
// Each operation: check the metadata (under a mutex), act on directories, persist the metadata
// atomically. Directories are made before the metadata names them and removed after it stops
// naming them, so a crash leaves at worst an unnamed directory, which open() removes.
// The backends decide only what a new snapshot's directory holds, the mounts that show it,
// what commit tidies, and where the layers are for a differ.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "model/base/env.h"
#include "runtime/snapshot/metadata.h"
#include "runtime/snapshot/snapshotter.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::snapshot {

class DirSnapshotter : public Snapshotter {
 public:
  Result<Info> stat(std::string_view key) override;
  Result<std::vector<Mount>> mounts(std::string_view key) override;
  Result<std::vector<Mount>> prepare(std::string_view key, std::string_view parent) override;
  Result<std::vector<Mount>> view(std::string_view key, std::string_view parent) override;
  Result<void> commit(std::string_view name, std::string_view key) override;
  Result<void> remove(std::string_view key) override;
  Result<void> walk(const std::function<void(const Info&)>& fn) override;
  Result<Usage> usage(std::string_view key) override;
  Result<Layout> layout(std::string_view key) override;

 protected:
  // What a backend sees of a snapshot: its own directory and its committed ancestors' fs
  // directories, nearest first.
  struct Place {
    std::filesystem::path dir;
    std::vector<std::filesystem::path> parents;
    Kind kind = Kind::active;
    std::filesystem::path fs() const { return dir / "fs"; }
    std::filesystem::path work() const { return dir / "work"; }
  };

  DirSnapshotter(std::filesystem::path root, Env& env);
  // Loads the metadata, takes the lock, removes directories no snapshot names.
  Result<void> open(std::string_view backend);

  // Fills place.dir (which exists, empty) for a new active or view snapshot.
  virtual Result<void> populate(const Place& place) = 0;
  virtual std::vector<Mount> mounts_of(const Place& place) const = 0;
  // After the metadata says committed: drop what only an active snapshot needs.
  virtual void seal(const Place& place) = 0;
  virtual Layout layout_of(const Place& place) const = 0;

 private:
  Result<std::vector<Mount>> create(std::string_view key, std::string_view parent, Kind kind);
  Result<Place> place_of(const Record& record) const;
  std::filesystem::path dir_of(uint64_t id) const;
  std::filesystem::path metadata_file() const { return root_ / "metadata.json"; }
  Result<void> remove_orphans();

  std::filesystem::path root_;
  Env& env_;
  sys::UniqueFd lock_fd_;
  std::mutex mu_;
  Metadata md_;
};

// The backends.
Result<std::unique_ptr<Snapshotter>> open_copy_snapshotter(const std::filesystem::path& root,
                                                           Env& env);
// mount_type "overlay" or "fuse.gantry".
Result<std::unique_ptr<Snapshotter>> open_union_snapshotter(const std::filesystem::path& root,
                                                            Env& env, std::string_view backend);

}  // namespace gantry::runtime::snapshot
